"""Session lifecycle and storage: start, stop, readings, bounded history, restart recovery.

One ``SessionManager`` per hub entry. Sessions live in a versioned ``Store`` that is written
at most every ``SAVE_DELAY`` seconds (and on shutdown), never per reading. Starting and ending
a session fires ``iot_hub_session_started`` / ``iot_hub_session_ended`` on the bus, which the
recorder keeps and the logbook platform describes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
import logging
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, EVENT_SESSION_ENDED, EVENT_SESSION_STARTED, Actor, SessionStatus
from .metering import LifetimeTotal
from .session_model import ActorRef, Measure, Session, migrate_stored_session

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 2  # 1.2: per-kind 'measure' (chargers joined ovens)
SAVE_DELAY: Final = 10  # seconds; bounds what a power cut can lose to one window


class SessionError(Exception):
    """A session operation that cannot be done now; ``key`` names the translated message."""

    def __init__(self, key: str, device_name: str) -> None:
        """Remember which message and device."""
        super().__init__(key)
        self.key = key
        self.device_name = device_name


class SessionStore(Store[dict[str, Any]]):
    """The sessions' Store, which migrates what older versions wrote."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        if old_major_version == 1 and old_minor_version < 2:
            old_data = {
                **old_data,
                "sessions": [migrate_stored_session(s) for s in old_data.get("sessions", [])],
            }
        return old_data


class SessionManager:
    """Owns every session of one hub: the active ones and each device's bounded history."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        history_size: int,
        resume_grace: timedelta,
        ha_device_id: Callable[[str], str | None],
        on_change: Callable[[str], None],
    ) -> None:
        """Set up an empty manager; call ``async_load`` before use."""
        self._hass = hass
        self._store: Store[dict[str, Any]] = SessionStore(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.sessions.{entry_id}",
            minor_version=STORAGE_MINOR_VERSION,
        )
        self._history_size = history_size
        self._resume_grace = resume_grace
        self._ha_device_id = ha_device_id
        self._on_change = on_change
        self._next_id = 1
        self._active: dict[str, Session] = {}
        self._history: dict[str, deque[Session]] = {}
        self._resume_timers: dict[str, CALLBACK_TYPE] = {}
        # Per device, kept with the sessions: a charger's lifetime energy (never decreases,
        # for the Energy dashboard) and its emergency latch (cleared only by the user).
        self._lifetime: dict[str, LifetimeTotal] = {}
        self._lifetime_cost: dict[str, float] = {}  # may fall: spot prices can be negative
        self._emergency: set[str] = set()
        self._save_pending = False

    # -- storage ---------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load sessions; sessions active at shutdown wait ``resume_grace`` for their device."""
        data = await self._store.async_load() or {}
        self._next_id = data.get("next_id", 1)
        for device_id, state in data.get("devices", {}).items():
            self._lifetime[device_id] = LifetimeTotal.from_dict(state["lifetime"])
            self._lifetime_cost[device_id] = state.get("lifetime_cost", 0.0)
            if state.get("emergency"):
                self._emergency.add(device_id)
        for raw in data.get("sessions", []):
            session = Session.from_dict(raw)
            if session.active:
                self._active[session.device_id] = session
                self._resume_timers[session.device_id] = async_call_later(
                    self._hass,
                    self._resume_grace,
                    self._interrupt_callback(session.device_id),
                )
            else:
                self._history_of(session.device_id).append(session)

    def _interrupt_callback(self, device_id: str) -> Callable[[datetime], None]:
        @callback
        def _interrupt(_now: datetime) -> None:
            self._resume_timers.pop(device_id, None)
            if (session := self._active.get(device_id)) is None:
                return
            _LOGGER.warning(
                "Session %s of %s interrupted: the device did not return within %s",
                session.id,
                session.device_name,
                self._resume_grace,
            )
            self._end(session, SessionStatus.INTERRUPTED, ActorRef(Actor.SYSTEM), None)

        return _interrupt

    def _data_to_save(self) -> dict[str, Any]:
        self._save_pending = False
        sessions = [s.as_dict() for history in self._history.values() for s in history]
        sessions.extend(s.as_dict() for s in self._active.values())
        devices = {
            device_id: {
                "lifetime": self.lifetime(device_id).as_dict(),
                "lifetime_cost": self._lifetime_cost.get(device_id, 0.0),
                "emergency": device_id in self._emergency,
            }
            for device_id in self._lifetime.keys() | self._emergency
        }
        return {"next_id": self._next_id, "sessions": sessions, "devices": devices}

    @callback
    def _schedule_save(self) -> None:
        # A throttle, not Store's debounce: a steady reading stream must not postpone the
        # write forever.
        if not self._save_pending:
            self._save_pending = True
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    async def async_shutdown(self) -> None:
        """Cancel timers and write everything now (unload, reload)."""
        for cancel in self._resume_timers.values():
            cancel()
        self._resume_timers.clear()
        await self._store.async_save(self._data_to_save())

    def set_history_size(self, size: int) -> None:
        """Apply a new history bound (options flow)."""
        self._history_size = size
        for device_id, history in list(self._history.items()):
            self._history[device_id] = deque(history, maxlen=size)
        self._schedule_save()

    # -- queries ---------------------------------------------------------------------------

    def device_ids(self) -> set[str]:
        """Every device the manager holds anything of."""
        return self._active.keys() | self._history.keys() | self._lifetime.keys() | self._emergency

    def _history_of(self, device_id: str) -> deque[Session]:
        if (history := self._history.get(device_id)) is None:
            history = self._history[device_id] = deque(maxlen=self._history_size)
        return history

    def active(self, device_id: str) -> Session | None:
        """The device's active session, if any."""
        return self._active.get(device_id)

    def last_ended(self, device_id: str) -> Session | None:
        """The device's most recent finished session, if any."""
        history = self._history.get(device_id)
        return history[-1] if history else None

    def query(
        self,
        device_ids: Iterable[str] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Session]:
        """Sessions (newest first) of the given devices that overlap ``[start, end]``."""
        wanted = set(device_ids) if device_ids is not None else None
        found = [
            s
            for s in (*self._active.values(), *(s for h in self._history.values() for s in h))
            if (wanted is None or s.device_id in wanted)
            and (start is None or (s.ended_at or dt_util.utcnow()) >= start)
            and (end is None or s.started_at <= end)
        ]
        found.sort(key=lambda s: s.id, reverse=True)
        return found[:limit] if limit is not None else found

    # -- lifecycle -------------------------------------------------------------------------

    @callback
    def device_returned(self, device_id: str) -> None:
        """A device reconnected: a session waiting for it after a restart continues."""
        if (cancel := self._resume_timers.pop(device_id, None)) is not None:
            cancel()
            session = self._active[device_id]
            _LOGGER.info("Session %s of %s continues", session.id, session.device_name)

    @callback
    def start(
        self,
        device_id: str,
        device_name: str,
        measure: Measure,
        by: ActorRef,
        context: Context | None,
    ) -> Session:
        """Start a session; raises ``SessionError`` when one is already active."""
        if device_id in self._active:
            raise SessionError("session_already_active", device_name)
        session = Session(
            id=self._next_id,
            device_id=device_id,
            device_name=device_name,
            started_at=dt_util.utcnow(),
            started_by=by,
            measure=measure,
        )
        self._next_id += 1
        self._active[device_id] = session
        self._schedule_save()
        self._fire(EVENT_SESSION_STARTED, session, context)
        _LOGGER.info("Session %s of %s started by %s", session.id, device_name, by.kind)
        self._on_change(device_id)
        return session

    @callback
    def stop(
        self,
        device_id: str,
        device_name: str,
        by: ActorRef,
        context: Context | None,
        status: SessionStatus = SessionStatus.STOPPED,
    ) -> Session:
        """End the active session (stopped, or emergency); ``SessionError`` when there is none."""
        if (session := self._active.get(device_id)) is None:
            raise SessionError("no_active_session", device_name)
        if (cancel := self._resume_timers.pop(device_id, None)) is not None:
            cancel()
        self._end(session, status, by, context)
        return session

    @callback
    def _end(
        self, session: Session, status: SessionStatus, by: ActorRef, context: Context | None
    ) -> None:
        session.end(status, by, dt_util.utcnow())
        del self._active[session.device_id]
        self._history_of(session.device_id).append(session)
        self._schedule_save()
        self._fire(EVENT_SESSION_ENDED, session, context)
        _LOGGER.info("Session %s of %s ended (%s)", session.id, session.device_name, status)
        self._on_change(session.device_id)

    def lifetime(self, device_id: str) -> LifetimeTotal:
        """The device's lifetime energy total (kWh)."""
        if (total := self._lifetime.get(device_id)) is None:
            total = self._lifetime[device_id] = LifetimeTotal()
        return total

    def lifetime_cost(self, device_id: str) -> float:
        """What the device's energy has cost over its life in iot_hub."""
        return self._lifetime_cost.get(device_id, 0.0)

    def add_energy(self, device_id: str, kwh: float, cost: float) -> None:
        """Count a session's energy increment and its cost into the device's lifetime totals."""
        self.lifetime(device_id).add(kwh)
        self._lifetime_cost[device_id] = self.lifetime_cost(device_id) + cost

    def emergency(self, device_id: str) -> bool:
        """Whether the device's emergency stop is latched."""
        return device_id in self._emergency

    @callback
    def set_emergency(self, device_id: str, latched: bool) -> None:
        """Latch or clear the device's emergency stop (kept across restarts)."""
        if latched:
            self._emergency.add(device_id)
        else:
            self._emergency.discard(device_id)
        self._schedule_save()

    @callback
    def record(self, device_id: str, at: datetime) -> Session | None:
        """The device's active session, if any, marked as measured at ``at``.

        The caller folds its reading into ``session.measure``; the save is scheduled here.
        """
        if (session := self._active.get(device_id)) is not None:
            session.last_reading_at = at
            self._schedule_save()
        return session

    @callback
    def forget_device(self, device_id: str) -> None:
        """Drop a removed device's sessions (its HA device is gone too)."""
        if (cancel := self._resume_timers.pop(device_id, None)) is not None:
            cancel()
        self._active.pop(device_id, None)
        self._history.pop(device_id, None)
        self._lifetime.pop(device_id, None)
        self._lifetime_cost.pop(device_id, None)
        self._emergency.discard(device_id)
        self._schedule_save()

    def _fire(self, event_type: str, session: Session, context: Context | None) -> None:
        data = session.as_public_dict(dt_util.utcnow())
        data["session_id"] = data.pop("id")
        data["iot_hub_device_id"] = data.pop("device_id")
        # The logbook's device filter matches on the device registry id.
        data["device_id"] = self._ha_device_id(session.device_id)
        self._hass.bus.async_fire(event_type, data, context=context)
