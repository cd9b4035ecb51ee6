"""The session record: what one measurement session is, its running summary, its JSON form.

Pure data (no Home Assistant imports) so the summary arithmetic is testable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .const import Actor, SessionStatus


@dataclass(frozen=True, slots=True)
class ActorRef:
    """Who or what started/stopped a session: an actor kind plus, when known, a user."""

    kind: Actor
    user_id: str | None = None
    name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"kind": self.kind.value, "user_id": self.user_id, "name": self.name}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActorRef:
        """Inverse of ``as_dict``."""
        return cls(Actor(data["kind"]), data.get("user_id"), data.get("name"))


@dataclass(slots=True)
class Session:
    """One measurement session of one device, with a summary kept up to date per reading."""

    id: int
    device_id: str  # the device's subentry id: stable across renames
    device_name: str
    started_at: datetime
    started_by: ActorRef
    status: SessionStatus = SessionStatus.ACTIVE
    ended_at: datetime | None = None
    stopped_by: ActorRef | None = None
    readings: int = 0
    temperature_sum: float = 0.0
    temperature_min: float | None = None
    temperature_max: float | None = None
    last_reading_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether readings still belong to this session."""
        return self.status is SessionStatus.ACTIVE

    def add_reading(self, temperature: float, at: datetime) -> None:
        """Fold one reading into the running summary (O(1): sessions keep no raw series)."""
        self.readings += 1
        self.temperature_sum += temperature
        if self.temperature_min is None or temperature < self.temperature_min:
            self.temperature_min = temperature
        if self.temperature_max is None or temperature > self.temperature_max:
            self.temperature_max = temperature
        self.last_reading_at = at

    def end(self, status: SessionStatus, by: ActorRef, at: datetime) -> None:
        """Close the session."""
        self.status = status
        self.stopped_by = by
        self.ended_at = at

    def duration(self, now: datetime) -> float:
        """Seconds from start to end (or to ``now`` while active)."""
        return max(0.0, ((self.ended_at or now) - self.started_at).total_seconds())

    def summary(self, now: datetime) -> dict[str, Any]:
        """Readings, min/max/avg temperature and duration."""
        return {
            "readings": self.readings,
            "temperature_min": self.temperature_min,
            "temperature_max": self.temperature_max,
            "temperature_avg": (
                round(self.temperature_sum / self.readings, 2) if self.readings else None
            ),
            "duration": round(self.duration(now), 1),
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored in the Store."""
        return {
            "id": self.id,
            "device_id": self.device_id,
            "device_name": self.device_name,
            "started_at": self.started_at.isoformat(),
            "started_by": self.started_by.as_dict(),
            "status": self.status.value,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "stopped_by": self.stopped_by.as_dict() if self.stopped_by else None,
            "readings": self.readings,
            "temperature_sum": self.temperature_sum,
            "temperature_min": self.temperature_min,
            "temperature_max": self.temperature_max,
            "last_reading_at": self.last_reading_at.isoformat() if self.last_reading_at else None,
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
            status=SessionStatus(data["status"]),
            ended_at=_time("ended_at"),
            stopped_by=ActorRef.from_dict(data["stopped_by"]) if data.get("stopped_by") else None,
            readings=data["readings"],
            temperature_sum=data["temperature_sum"],
            temperature_min=data["temperature_min"],
            temperature_max=data["temperature_max"],
            last_reading_at=_time("last_reading_at"),
        )

    def as_public_dict(self, now: datetime) -> dict[str, Any]:
        """What actions and events show: the record without running sums, plus the summary."""
        data = self.as_dict()
        for key in ("temperature_sum", "temperature_min", "temperature_max", "readings"):
            data.pop(key)
        data["summary"] = self.summary(now)
        return data
