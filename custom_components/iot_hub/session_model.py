"""The session record: what one session is, what it measured (per device kind), its JSON form.

Pure data (no Home Assistant imports) so the summary arithmetic is testable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .const import Actor, DeviceKind, SessionStatus
from .metering import CostMeter, EnergyMeter


@dataclass(frozen=True, slots=True)
class ActorRef:
    """Who or what started/stopped a session: an actor kind plus, when known, a user."""

    kind: Actor
    user_id: str | None = None
    name: str | None = None
    card: str | None = None  # Actor.CARD: the NFC uid

    def as_dict(self) -> dict[str, Any]:
        """JSON form (``card`` only for cards)."""
        data = {"kind": self.kind.value, "user_id": self.user_id, "name": self.name}
        if self.card is not None:
            data["card"] = self.card
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActorRef:
        """Inverse of ``as_dict``."""
        return cls(Actor(data["kind"]), data.get("user_id"), data.get("name"), data.get("card"))


@dataclass(slots=True)
class OvenMeasure:
    """What an oven session measures: a running temperature summary (O(1) per reading)."""

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


@dataclass(slots=True)
class ChargeMeasure:
    """What a charging session measures: energy, its cost, peak power, who charged."""

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


type Measure = OvenMeasure | ChargeMeasure
MEASURES: dict[DeviceKind, type[Measure]] = {
    DeviceKind.OVEN: OvenMeasure,
    DeviceKind.CHARGER: ChargeMeasure,
}


def new_measure(kind: DeviceKind, by: ActorRef) -> Measure:
    """What a new session of this kind measures, already knowing who started it."""
    if kind is DeviceKind.CHARGER:
        return ChargeMeasure(user_name=by.name, card=by.card)
    return OvenMeasure()


@dataclass(slots=True)
class Session:
    """One session of one device; what it measured lives in ``measure`` (per device kind)."""

    id: int
    device_id: str  # the device's subentry id: stable across renames
    device_name: str
    started_at: datetime
    started_by: ActorRef
    measure: Measure
    status: SessionStatus = SessionStatus.ACTIVE
    ended_at: datetime | None = None
    stopped_by: ActorRef | None = None
    last_reading_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether readings still belong to this session."""
        return self.status is SessionStatus.ACTIVE

    @property
    def kind(self) -> DeviceKind:
        """The kind of device the session ran on, from what it measures."""
        return next(kind for kind, measure in MEASURES.items() if isinstance(self.measure, measure))

    def end(self, status: SessionStatus, by: ActorRef, at: datetime) -> None:
        """Close the session."""
        self.status = status
        self.stopped_by = by
        self.ended_at = at

    def duration(self, now: datetime) -> float:
        """Seconds from start to end (or to ``now`` while active)."""
        return max(0.0, ((self.ended_at or now) - self.started_at).total_seconds())

    def summary(self, now: datetime) -> dict[str, Any]:
        """What the session measured, and its duration in seconds."""
        return {**self.measure.summary(), "duration": round(self.duration(now), 1)}

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored in the Store."""
        return {
            "id": self.id,
            "device_id": self.device_id,
            "device_name": self.device_name,
            "kind": self.kind.value,
            "started_at": self.started_at.isoformat(),
            "started_by": self.started_by.as_dict(),
            "status": self.status.value,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "stopped_by": self.stopped_by.as_dict() if self.stopped_by else None,
            "last_reading_at": self.last_reading_at.isoformat() if self.last_reading_at else None,
            "measure": self.measure.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        """Inverse of ``as_dict``."""

        def _time(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if value else None

        started_at = _time("started_at")
        assert started_at is not None
        return cls(
            id=data["id"],
            device_id=data["device_id"],
            device_name=data["device_name"],
            started_at=started_at,
            started_by=ActorRef.from_dict(data["started_by"]),
            measure=MEASURES[DeviceKind(data["kind"])].from_dict(data["measure"]),
            status=SessionStatus(data["status"]),
            ended_at=_time("ended_at"),
            stopped_by=ActorRef.from_dict(data["stopped_by"]) if data.get("stopped_by") else None,
            last_reading_at=_time("last_reading_at"),
        )

    def as_public_dict(self, now: datetime) -> dict[str, Any]:
        """What actions and events show: the record without running sums, plus the summary."""
        data = self.as_dict()
        del data["measure"]
        data["summary"] = self.summary(now)
        return data


def migrate_stored_session(data: dict[str, Any]) -> dict[str, Any]:
    """A session stored by version 1.1 (oven fields at the top) in the 1.2 shape."""
    if "measure" in data:
        return data
    keys = ("readings", "temperature_sum", "temperature_min", "temperature_max")
    rest = {key: value for key, value in data.items() if key not in keys}
    return {**rest, "kind": DeviceKind.OVEN.value, "measure": {key: data[key] for key in keys}}
