"""Runtime state of one iot_hub device, owned by the hub and read by entities."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from .const import DeviceKind

if TYPE_CHECKING:
    from .session_model import Session
    from .sessions import SessionManager
    from .transport.link import Link


class Update(StrEnum):
    """What changed on a device; entities listen only to what they show."""

    READING = "reading"
    SESSION = "session"
    CONNECTION = "connection"


@dataclass(slots=True, eq=False)
class DeviceRuntime:
    """A configured device: identity from its subentry, live state from its connection."""

    id: str  # subentry id; also the HA device identifier
    name: str
    kind: DeviceKind
    token_hash: str
    sessions: SessionManager
    station_id: str | None = None  # chargers: the estacionId firmware and dashboards use
    link: Link | None = None
    clients: set[Link] = field(default_factory=set)
    # Chargers: sessions told to stop on the current connection (emptied on each connect).
    stops_sent: set[int] = field(default_factory=set)
    temperature: float | None = None  # ovens
    voltage: float | None = None  # chargers: the last metrics
    current: float | None = None
    power: float | None = None
    last_reading_at: datetime | None = None

    @property
    def emergency(self) -> bool:
        """Whether a charger's emergency stop is latched (until the user clears it)."""
        return self.sessions.emergency(self.id)

    @property
    def lifetime_kwh(self) -> float:
        """A charger's energy over its whole life in iot_hub (never decreases)."""
        return self.sessions.lifetime(self.id).value

    @property
    def connected(self) -> bool:
        """Whether the device itself (not an app) is connected now."""
        return self.link is not None

    @property
    def active_session(self) -> Session | None:
        """The running session, if any."""
        return self.sessions.active(self.id)

    @property
    def last_session(self) -> Session | None:
        """The most recent finished session, if any."""
        return self.sessions.last_ended(self.id)

    @property
    def lifetime_cost(self) -> float:
        """What a charger's energy has cost over its life in iot_hub (the price then in force)."""
        return self.sessions.lifetime_cost(self.id)
