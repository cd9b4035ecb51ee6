"""Session lifecycle: start, stop, readings, bounded history, restart recovery, bus events.

One ``SessionManager`` per hub entry, for every kind: a kind brings its measure and, if it has
any, a small per-device state (a charger's lifetime energy and emergency latch) that is kept
in the same Store. The Store is written at most every ``SAVE_DELAY`` seconds (and on
shutdown), never per reading. Starting and ending a session fires ``iot_hub_session_started``
/ ``iot_hub_session_ended`` on the bus, which the recorder keeps and the logbook describes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
import logging
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..const import EVENT_SESSION_ENDED, EVENT_SESSION_STARTED, Actor, SessionStatus
from ..errors import ErrorKey, IotHubError
from .record import ActorRef, Measure, MeasureLoader, Session
from .recovery import async_report_lost, async_set_aside, read_records
from .store import SessionStore, safety_store

_LOGGER = logging.getLogger(__name__)

SAVE_DELAY: Final = 10  # seconds; bounds what a power cut can lose to one window

type StateProvider = Callable[[], dict[str, Any]]


class SessionManager:
    """Owns every session of one hub: the active ones and each device's bounded history."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        *,
        history_size: int,
        resume_grace: timedelta,
        load_measure: MeasureLoader,
        ha_device_id: Callable[[str], str | None],
        on_change: Callable[[str], None],
    ) -> None:
        """Set up an empty manager; call ``async_load`` before use."""
        self._hass = hass
        self._entry_id = entry_id
        self._store = SessionStore(hass, entry_id)
        # Latches, the next id and lifetime totals: small, written at once when they matter.
        self._safety = safety_store(hass, entry_id)
        self._history_size = history_size
        self._resume_grace = resume_grace
        self._load_measure = load_measure
        self._ha_device_id = ha_device_id
        self._on_change = on_change
        self._next_id = 1
        self._active: dict[str, Session] = {}
        self._history: dict[str, deque[Session]] = {}
        self._resume_timers: dict[str, CALLBACK_TYPE] = {}
        # Per device, what its kind keeps with the sessions (JSON), and who provides it now.
        self._device_state: dict[str, dict[str, Any]] = {}
        self._state_providers: dict[str, StateProvider] = {}
        self._save_pending = False
        self._safety_pending = False

    # -- storage ---------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load sessions; sessions active at shutdown wait ``resume_grace`` for their device.

        Records that cannot be read are set aside (``recovery.py``); a lost sessions file costs
        its sessions, not the safety state, which has its own Store.
        """
        data = await self._store.async_load()
        if data is None:
            await async_report_lost(self._hass, self._store, self._entry_id)
        data = data if isinstance(data, dict) else {}
        safety = await self._safety.async_load() or {}
        raws = data.get("sessions", [])
        sessions, bad = read_records(raws if isinstance(raws, list) else [raws], self._load_measure)
        if bad:
            await async_set_aside(self._hass, self._entry_id, bad)
        # Ids are never reused: the highest any source knows of wins.
        known = [s.id for s in sessions] + [r["id"] for r, _ in bad if _has_int_id(r)]
        self._next_id = max(
            _int(data.get("next_id")), _int(safety.get("next_id")), max(known, default=0) + 1
        )
        self._device_state = {**_dicts(data.get("devices")), **_dicts(safety.get("devices"))}
        for session in sessions:
            if session.active:
                self._active[session.device_id] = session
                self._resume_timers[session.device_id] = async_call_later(
                    self._hass,
                    self._resume_grace,
                    self._interrupt_callback(session.device_id),
                )
            else:
                self._history_of(session.device_id).append(session)
        if bad or not safety:
            self.schedule_save()  # the archive without them; the safety Store, if it was lost

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

    def _collect_device_states(self) -> dict[str, dict[str, Any]]:
        for device_id, provide in self._state_providers.items():
            self._device_state[device_id] = provide()
        return self._device_state

    def _data_to_save(self) -> dict[str, Any]:
        self._save_pending = False
        sessions = [s.as_dict() for history in self._history.values() for s in history]
        sessions.extend(s.as_dict() for s in self._active.values())
        devices = self._collect_device_states()
        return {"next_id": self._next_id, "sessions": sessions, "devices": devices}

    def _safety_data(self) -> dict[str, Any]:
        self._safety_pending = False
        return {"next_id": self._next_id, "devices": self._collect_device_states()}

    @callback
    def schedule_save(self, now: bool = False) -> None:
        """Write soon (within ``SAVE_DELAY``): a session or a kind's device state changed.

        ``now``: what changed is safety state (a latch, the next id): its Store is written at
        once, not at the end of the window.
        """
        # A throttle, not Store's debounce: a steady reading stream must not postpone the
        # write forever.
        if not self._save_pending:
            self._save_pending = True
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)
        if now:
            self._hass.async_create_task(
                self._safety.async_save(self._safety_data()), "iot_hub safety save"
            )
        elif not self._safety_pending:
            self._safety_pending = True
            self._safety.async_delay_save(self._safety_data, SAVE_DELAY)

    async def async_shutdown(self) -> None:
        """Cancel timers and write everything now (unload, reload)."""
        for cancel in self._resume_timers.values():
            cancel()
        self._resume_timers.clear()
        await self._store.async_save(self._data_to_save())
        await self._safety.async_save(self._safety_data())

    def set_history_size(self, size: int) -> None:
        """Apply a new history bound (options flow)."""
        self._history_size = size
        for device_id, history in list(self._history.items()):
            self._history[device_id] = deque(history, maxlen=size)
        self.schedule_save()

    def device_state(self, device_id: str) -> dict[str, Any]:
        """What the device's kind stored with the sessions (empty when nothing)."""
        return self._device_state.get(device_id, {})

    def keep_device_state(self, device_id: str, provide: StateProvider) -> None:
        """Store what ``provide`` returns for this device at every save."""
        self._state_providers[device_id] = provide

    # -- queries ---------------------------------------------------------------------------

    def device_ids(self) -> set[str]:
        """Every device the manager holds anything of."""
        return self._active.keys() | self._history.keys() | self._device_state.keys()

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

    def public(self, session: Session) -> dict[str, Any]:
        """The session as actions, events and diagnostics show it (HA's device id)."""
        return session.as_public_dict(dt_util.utcnow(), self._ha_device_id(session.device_id))

    # -- lifecycle -------------------------------------------------------------------------

    @callback
    def device_returned(self, device_id: str) -> None:
        """A device reconnected: a session waiting for it after a restart continues."""
        if (cancel := self._resume_timers.pop(device_id, None)) is not None:
            cancel()
            session = self._active[device_id]
            _LOGGER.info("Session %s of %s continues", session.id, session.device_name)

    @callback
    def start(  # noqa: PLR0917  (one session's identity, as the device context passes it)
        self,
        device_id: str,
        device_name: str,
        kind: str,
        measure: Measure,
        by: ActorRef,
        context: Context | None,
    ) -> Session:
        """Start a session; raises ``IotHubError`` when one is already active."""
        if device_id in self._active:
            raise IotHubError(ErrorKey.SESSION_ALREADY_ACTIVE, device_name)
        session = Session(
            id=self._next_id,
            device_id=device_id,
            device_name=device_name,
            kind=kind,
            started_at=dt_util.utcnow(),
            started_by=by,
            measure=measure,
        )
        self._next_id += 1
        self._active[device_id] = session
        self.schedule_save(now=True)
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
        """End the active session (stopped, or emergency); ``IotHubError`` when there is none."""
        if (session := self._active.get(device_id)) is None:
            raise IotHubError(ErrorKey.NO_ACTIVE_SESSION, device_name)
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
        self.schedule_save()
        self._fire(EVENT_SESSION_ENDED, session, context)
        _LOGGER.info("Session %s of %s ended (%s)", session.id, session.device_name, status)
        self._on_change(session.device_id)

    @callback
    def record(self, device_id: str, at: datetime) -> Session | None:
        """The device's active session, if any, marked as measured at ``at``.

        The caller folds its reading into ``session.measure``; the save is scheduled here.
        """
        if (session := self._active.get(device_id)) is not None:
            session.last_reading_at = at
            self.schedule_save()
        return session

    @callback
    def forget_device(self, device_id: str) -> None:
        """Drop a removed device's sessions and state (its HA device is gone too)."""
        if (cancel := self._resume_timers.pop(device_id, None)) is not None:
            cancel()
        self._active.pop(device_id, None)
        self._history.pop(device_id, None)
        self._device_state.pop(device_id, None)
        self._state_providers.pop(device_id, None)
        self.schedule_save()

    def _fire(self, event_type: str, session: Session, context: Context | None) -> None:
        data = self.public(session)
        data["session_id"] = data.pop("id")
        self._hass.bus.async_fire(event_type, data, context=context)


def _int(value: Any) -> int:
    return value if type(value) is int else 1


def _has_int_id(raw: Any) -> bool:
    return isinstance(raw, dict) and type(raw.get("id")) is int


def _dicts(value: Any) -> dict[str, dict[str, Any]]:
    """Per-device states as stored; anything else is dropped."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, dict)}
