"""Session lifecycle: start, stop, readings, bounded history, restart recovery, bus events.

One ``SessionManager`` per hub entry, for every kind: a kind brings its measure and, if it has
any, a small per-device state (a charger's lifetime energy and emergency latch) that is kept
with the sessions. ``persist.py`` says where and when they are written: readings at most
every ``SAVE_DELAY`` seconds, a start or an end at once, and only once that write is on disk
are the device, its apps and the bus told (``iot_hub_session_started`` /
``iot_hub_session_ended``, which the recorder keeps and the logbook describes).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..const import EVENT_SESSION_ENDED, EVENT_SESSION_STARTED, Actor, SessionStatus
from ..errors import ErrorKey, IotHubError
from .persist import SAVE_DELAY, Disk
from .record import ActorRef, Measure, MeasureLoader, Session

_LOGGER = logging.getLogger(__name__)

__all__ = ["SAVE_DELAY", "SessionManager"]

type StateProvider = Callable[[], dict[str, Any]]
type StateSaved = Callable[[dict[str, Any]], None]
type Announce = Callable[[], None]


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
        self._disk = Disk(hass, entry_id, self._running, self._states_saved)
        self._disk.compaction = self._compact
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
        self._state_saved: dict[str, StateSaved] = {}
        self._unannounced: set[int] = set()  # started or ended, not yet on disk
        # Each running session's JSON as last built, dropped when it takes a reading: a write
        # rebuilds only what is missing, so ending n sessions one by one is not n x n dicts.
        self._as_stored: dict[int, dict[str, Any]] = {}

    # -- storage ---------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Load sessions; sessions active at shutdown wait ``resume_grace`` for their device.

        Records that cannot be read are set aside (``recovery.py``); a lost sessions file costs
        its sessions, not the safety state, which has its own Store.
        """
        loaded = await self._disk.async_load(self._load_measure)
        self._next_id = loaded.next_id
        self._device_state = loaded.devices
        for session in loaded.sessions:
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

    def _running(self) -> dict[str, Any]:
        """What the sessions Store holds: small, whatever the history (``persist.py``)."""
        for device_id, provide in self._state_providers.items():
            self._device_state[device_id] = provide()
        built = self._as_stored
        self._as_stored = stored = {  # ended sessions drop out here
            s.id: built.get(s.id) or s.as_dict() for s in self._active.values()
        }
        return {
            "next_id": self._next_id,
            "sessions": list(stored.values()),
            "devices": self._device_state,
        }

    def _states_saved(self, devices: dict[str, dict[str, Any]]) -> None:
        for device_id, saved in self._state_saved.items():
            if (state := devices.get(device_id)) is not None:
                saved(state)

    async def _compact(self) -> None:
        kept = sum(len(history) for history in self._history.values())
        await self._disk.archive.async_compact(self._history_size, kept)

    @callback
    def schedule_save(self, now: bool = False) -> None:
        """Write soon (within ``SAVE_DELAY``): a reading or a kind's device state changed.

        ``now``: safety state changed (an emergency latch): written at once.
        """
        if now:
            self._disk.then()
        else:
            self._disk.soon()

    async def async_flush(self) -> None:
        """Write everything now; return once it is on disk and announced."""
        await self._disk.async_flush()

    async def async_shutdown(self) -> None:
        """Cancel timers and write everything now (unload, reload)."""
        for cancel in self._resume_timers.values():
            cancel()
        self._resume_timers.clear()
        await self._disk.async_close()

    def set_history_size(self, size: int) -> None:
        """Apply a new history bound (options flow)."""
        self._history_size = size
        for device_id, history in list(self._history.items()):
            self._history[device_id] = deque(history, maxlen=size)
        self.schedule_save()

    def device_state(self, device_id: str) -> dict[str, Any]:
        """What the device's kind stored with the sessions (empty when nothing)."""
        return self._device_state.get(device_id, {})

    def keep_device_state(
        self, device_id: str, provide: StateProvider, saved: StateSaved | None = None
    ) -> None:
        """Store what ``provide`` returns for this device at every save.

        ``saved`` is told what was written once it is on disk (a total shown from there can
        never be shown higher than what a crash would leave).
        """
        self._state_providers[device_id] = provide
        if saved is not None:
            self._state_saved[device_id] = saved

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

    def announced(self, session_id: int) -> bool:
        """Whether the session's last start or end is on disk and was told."""
        return session_id not in self._unannounced

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
        announce: Announce | None = None,
    ) -> Session:
        """Start a session; raises ``IotHubError`` when one is already active.

        It is written at once; the bus, the apps and then ``announce`` (which tells the
        device) hear of it once it is on disk.
        """
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
        _LOGGER.info("Session %s of %s started by %s", session.id, device_name, by.kind)
        self._disk.then(self._announcement(EVENT_SESSION_STARTED, session, context, announce))
        return session

    def _announcement(
        self, event: str, session: Session, context: Context | None, then: Announce | None
    ) -> Announce:
        data = self._event_data(session)
        self._unannounced.add(session.id)

        @callback
        def _announce() -> None:
            self._unannounced.discard(session.id)
            self._hass.bus.async_fire(event, data, context=context)
            self._on_change(session.device_id)
            if then is not None:
                then()

        return _announce

    @callback
    def stop(
        self,
        device_id: str,
        device_name: str,
        by: ActorRef,
        context: Context | None,
        status: SessionStatus = SessionStatus.STOPPED,
        *,
        announce: Announce | None = None,
    ) -> Session:
        """End the active session (stopped, or emergency); ``IotHubError`` when there is none.

        As with ``start``: announced (``announce`` last) once the end is on disk.
        """
        if (session := self._active.get(device_id)) is None:
            raise IotHubError(ErrorKey.NO_ACTIVE_SESSION, device_name)
        if (cancel := self._resume_timers.pop(device_id, None)) is not None:
            cancel()
        self._end(session, status, by, context, announce)
        return session

    @callback
    def _end(
        self,
        session: Session,
        status: SessionStatus,
        by: ActorRef,
        context: Context | None,
        announce: Announce | None = None,
    ) -> None:
        session.end(status, by, dt_util.utcnow())
        del self._active[session.device_id]
        self._history_of(session.device_id).append(session)
        self._disk.finished(session.as_dict())
        _LOGGER.info("Session %s of %s ended (%s)", session.id, session.device_name, status)
        self._disk.then(self._announcement(EVENT_SESSION_ENDED, session, context, announce))

    @callback
    def record(self, device_id: str, at: datetime) -> Session | None:
        """The device's active session, if any, marked as measured at ``at``.

        The caller folds its reading into ``session.measure``; the save is scheduled here.
        """
        if (session := self._active.get(device_id)) is not None:
            session.last_reading_at = at
            self._as_stored.pop(session.id, None)
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
        self._state_saved.pop(device_id, None)
        self._disk.forget(device_id)
        self._disk.soon()

    def _event_data(self, session: Session) -> dict[str, Any]:
        """The session as its event carries it (as it is now, not when announced)."""
        data = self.public(session)
        data["session_id"] = data.pop("id")
        return data
