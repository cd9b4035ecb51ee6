"""What an oven session measures, and how its summary reads in the logbook (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class OvenMeasure:
    """A running temperature summary (O(1) per reading)."""

    readings: int = 0
    temperature_sum: float = 0.0
    temperature_min: float | None = None
    temperature_max: float | None = None

    def add(self, temperature: float) -> None:
        """Fold one reading in; sessions keep no raw series (the recorder has the sensor's)."""
        self.readings += 1
        self.temperature_sum += temperature
        if self.temperature_min is None or temperature < self.temperature_min:
            self.temperature_min = temperature
        if self.temperature_max is None or temperature > self.temperature_max:
            self.temperature_max = temperature

    def summary(self) -> dict[str, Any]:
        """Readings and min/max/avg temperature."""
        return {
            "readings": self.readings,
            "temperature_min": self.temperature_min,
            "temperature_max": self.temperature_max,
            "temperature_avg": (
                round(self.temperature_sum / self.readings, 2) if self.readings else None
            ),
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored in the Store."""
        return {
            "readings": self.readings,
            "temperature_sum": self.temperature_sum,
            "temperature_min": self.temperature_min,
            "temperature_max": self.temperature_max,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OvenMeasure:
        """Inverse of ``as_dict``."""
        return cls(
            readings=data["readings"],
            temperature_sum=data["temperature_sum"],
            temperature_min=data["temperature_min"],
            temperature_max=data["temperature_max"],
        )


def logbook_summary(summary: dict[str, Any]) -> str:
    """An oven session's summary in a few words: readings and temperatures."""
    parts = [f"{summary['readings']} readings"]
    if summary.get("temperature_max") is not None:
        parts.append(
            f"{summary['temperature_min']}-{summary['temperature_max']} °C"
            f" (avg {summary['temperature_avg']} °C)"
        )
    return ", ".join(parts)
