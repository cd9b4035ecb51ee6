"""What a charging session measures, and how its summary reads in the logbook (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .metering import CostMeter, EnergyMeter


@dataclass(slots=True)
class ChargeMeasure:
    """Energy, its cost, peak power, who charged."""

    energy: EnergyMeter = field(default_factory=EnergyMeter)
    cost: CostMeter = field(default_factory=CostMeter)
    user_name: str | None = None
    card: str | None = None  # the NFC uid that started it, if a card did

    def add(self, kwh_delta: float, price_per_kwh: float | None) -> float:
        """Cost an energy increment the meter accepted (the meter holds it); the cost added."""
        return self.cost.add(kwh_delta, price_per_kwh)

    def summary(self) -> dict[str, Any]:
        """kWh, cost (None until any kWh was priced), peak power, user and card."""
        return {
            "kwh": round(self.energy.kwh, 3),
            "cost": round(self.cost.cost, 2) if self.cost.priced_kwh else None,
            "cost_complete": self.cost.cost_complete,
            "peak_power": round(self.energy.peak_w, 1),
            "user_name": self.user_name,
            "card": self.card,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored in the Store (meters included: a session resumes after restarts)."""
        return {
            "energy": self.energy.as_dict(),
            "cost": self.cost.as_dict(),
            "user_name": self.user_name,
            "card": self.card,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChargeMeasure:
        """Inverse of ``as_dict``."""
        return cls(
            energy=EnergyMeter.from_dict(data["energy"]),
            cost=CostMeter.from_dict(data["cost"]),
            user_name=data.get("user_name"),
            card=data.get("card"),
        )


def logbook_summary(summary: dict[str, Any]) -> str:
    """A charging session's summary in a few words: energy and cost."""
    parts = [f"{summary['kwh']} kWh"]
    if summary.get("cost") is not None:
        parts.append(f"cost {summary['cost']}")
    return ", ".join(parts)
