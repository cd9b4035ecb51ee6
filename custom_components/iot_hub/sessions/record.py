"""The session record: who started it, what it measured (the kind's ``Measure``), its JSON form.

Pure data (no Home Assistant imports). A kind brings only its measure: what a session of that
kind summarises; the record around it is the same for every kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..const import Actor, SessionStatus


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


class Measure(Protocol):
    """What a session of one kind measures; the kind folds its readings into it."""

    def summary(self) -> dict[str, Any]:
        """The figures actions, events and the logbook show."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form kept in the Store (running sums included, so a session resumes)."""


# How the sessions Store turns a stored measure back into one: (kind, JSON) -> Measure.
type MeasureLoader = Callable[[str, dict[str, Any]], Measure]


@dataclass(slots=True)
class Session:
    """One session of one device; what it measured lives in ``measure`` (per device kind)."""

    id: int
    device_id: str  # the device's subentry id: stable across renames
    device_name: str
    kind: str  # the device's kind: says how to read ``measure``
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
            "kind": self.kind,
            "started_at": self.started_at.isoformat(),
            "started_by": self.started_by.as_dict(),
            "status": self.status.value,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "stopped_by": self.stopped_by.as_dict() if self.stopped_by else None,
            "last_reading_at": self.last_reading_at.isoformat() if self.last_reading_at else None,
            "measure": self.measure.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], load_measure: MeasureLoader) -> Session:
        """Inverse of ``as_dict``; the kind's loader reads the measure."""

        def _time(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if value else None

        started_at = _time("started_at")
        assert started_at is not None
        return cls(
            id=data["id"],
            device_id=data["device_id"],
            device_name=data["device_name"],
            kind=data["kind"],
            started_at=started_at,
            started_by=ActorRef.from_dict(data["started_by"]),
            measure=load_measure(data["kind"], data["measure"]),
            status=SessionStatus(data["status"]),
            ended_at=_time("ended_at"),
            stopped_by=ActorRef.from_dict(data["stopped_by"]) if data.get("stopped_by") else None,
            last_reading_at=_time("last_reading_at"),
        )

    def as_public_dict(self, now: datetime, ha_device_id: str | None) -> dict[str, Any]:
        """What actions, events and diagnostics show: the record, without running sums.

        ``device_id`` is Home Assistant's device id everywhere iot_hub shows one (what
        automations and the logbook filter on); the device's subentry id is
        ``iot_hub_device_id``.
        """
        data = self.as_dict()
        del data["measure"]
        data["iot_hub_device_id"] = data.pop("device_id")
        data["device_id"] = ha_device_id
        data["summary"] = self.summary(now)
        return data
