"""Where sessions live on disk, and the rule that nothing is announced before it is there.

Three places, each small or append-only:

- the sessions Store (``iot_hub.sessions.<entry>``): the running sessions (and finished ones
  not yet in the archive), the next id and each device's kind state. Readings only re-arm a
  save of this Store, at most every ``SAVE_DELAY`` seconds: its size follows the running
  sessions, never the history.
- the archive (``archive.py``): finished sessions, appended once each.
- the safety Store (``store.safety_store``): the next id and the kind states again, so a lost
  sessions file never resets a latch, an id or a total.

``then(announce)`` is the barrier: everything changed so far is written (archive first, then
both Stores, each write awaited in the executor) before ``announce`` runs; announcements run
in the order they were asked for. Starting and ending a session go through it, so a device,
an app or the bus hears of a session only once a crash can no longer lose it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
import logging
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_call_later

from .archive import Archive
from .record import MeasureLoader, Session
from .recovery import async_report_lost, async_set_aside, read_records
from .store import SessionStore, safety_store

_LOGGER = logging.getLogger(__name__)

SAVE_DELAY: Final = 10  # seconds: readings of a running session a crash can lose at most

type Saved = Callable[[dict[str, dict[str, Any]]], None]


@dataclass(slots=True)
class Loaded:
    """What the disk held: every readable session (by id), the next id, the kind states."""

    sessions: list[Session]
    next_id: int
    devices: dict[str, dict[str, Any]]


class Disk:
    """The Stores and the archive of one hub entry, written in the order the manager needs."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        running: Callable[[], dict[str, Any]],
        saved: Saved,
    ) -> None:
        """Bind to the manager.

        ``running()`` gives next_id, the running sessions and the devices' states;
        ``saved(devices)`` is told what device states are on disk after each write.
        """
        self._hass = hass
        self._entry_id = entry_id
        self.store = SessionStore(hass, entry_id)
        self.safety = safety_store(hass, entry_id)
        self.archive = Archive(hass, entry_id)
        self._running = running
        self._saved = saved
        self._unarchived: list[dict[str, Any]] = []  # ended, not yet appended
        self._announce: list[Callable[[], None]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._dirty = False
        self._timer: CALLBACK_TYPE | None = None
        self._unsub_final_write: CALLBACK_TYPE | None = None
        self.compaction: Callable[[], Coroutine[Any, Any, None]] | None = None

    async def async_load(self, load_measure: MeasureLoader) -> Loaded:
        """Read the Stores and the archive record by record; bad records are set aside.

        Finished sessions found in the sessions Store (written by 1.1/1.2, or ended just
        before a crash) move to the archive at the first write; a session the archive already
        holds is taken from there (it ended).
        """
        data = await self.store.async_load()
        if data is None:
            await async_report_lost(self._hass, self.store, self._entry_id)
        data = data if isinstance(data, dict) else {}
        safety = await self.safety.async_load() or {}
        archived_raw, bad_lines = await self.archive.async_load()
        archived, bad_archived = read_records(archived_raw, load_measure)
        raws = data.get("sessions", [])
        running, bad_running = read_records(
            raws if isinstance(raws, list) else [raws], load_measure
        )
        if bad := [*bad_lines, *bad_archived, *bad_running]:
            await async_set_aside(self._hass, self._entry_id, bad)
        if bad_lines or bad_archived:
            await self.archive.async_drop([raw for raw, _why in bad_archived])
        # A crash between an append and the Store's rewrite may append a session twice.
        by_id = {s.id: s for s in archived}
        in_archive = by_id.keys()
        sessions = list(by_id.values())
        for session in running:
            if session.id not in in_archive:
                sessions.append(session)
                if not session.active:
                    self._unarchived.append(session.as_dict())
        sessions.sort(key=lambda s: s.id)
        # Ids are never reused: the highest any source knows of wins.
        known = [s.id for s in sessions] + [r["id"] for r, _ in bad if _has_int_id(r)]
        loaded = Loaded(
            sessions,
            max(_int(data.get("next_id")), _int(safety.get("next_id")), max(known, default=0) + 1),
            {**_dicts(data.get("devices")), **_dicts(safety.get("devices"))},
        )
        if bad_running or self._unarchived or not safety:
            self.then()  # the Store without them, the archive with them, a lost safety Store
        # HA does not unload entries when it stops: write what is left at its final write.
        self._unsub_final_write = self._hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_FINAL_WRITE, self._async_final_write
        )
        return loaded

    async def _async_final_write(self, _event: Event) -> None:
        self._unsub_final_write = None
        await self.async_flush()

    # -- what is written -------------------------------------------------------------------

    def _data(self) -> dict[str, Any]:
        data = self._running()
        data["sessions"].extend(self._unarchived)
        return data

    @callback
    def finished(self, record: dict[str, Any]) -> None:
        """A session ended: its record goes to the archive at the next write."""
        self._unarchived.append(record)

    @callback
    def forget(self, device_id: str) -> None:
        """A device was removed: its archived sessions go too."""
        self._unarchived.append({"forget": device_id})

    # -- when ------------------------------------------------------------------------------

    @callback
    def soon(self) -> None:
        """Write within ``SAVE_DELAY`` (readings): a throttle, so a stream cannot postpone it."""
        if self._timer is None:
            self._timer = async_call_later(self._hass, SAVE_DELAY, self._timer_fired)

    @callback
    def _timer_fired(self, _now: datetime) -> None:
        self._timer = None
        self.then()

    @callback
    def then(self, announce: Callable[[], None] | None = None) -> None:
        """Write everything now; run ``announce`` once it is on disk (in order)."""
        if announce is not None:
            self._announce.append(announce)
        self._dirty = True
        if self._flushing is None or self._flushing.done():
            # Not eager: the caller finishes its change before the write looks at it.
            self._flushing = self._hass.async_create_task(
                self._flush(), "iot_hub flush", eager_start=False
            )

    async def async_flush(self) -> None:
        """Write everything now and wait for it (and for the announcements it lets out)."""
        self.then()
        while (flushing := self._flushing) is not None and not flushing.done():
            await flushing

    async def _flush(self) -> None:
        # Each round writes what changed before it; what changes during a write (a latch, a
        # start) makes another round. No await between the last check and the task's end.
        while self._dirty:
            self._dirty = False
            announce, self._announce = self._announce, []
            try:
                await self._write_now()
            except (OSError, HomeAssistantError) as err:
                # A failing disk must not silence the hub: say so, and carry on.
                _LOGGER.error("iot_hub could not write its sessions: %s", err)
            for run in announce:
                run()

    async def _write_now(self) -> None:
        if self._timer is not None:  # this write covers what it was waiting for
            self._timer()
            self._timer = None
        if pending := list(self._unarchived):
            await self.archive.async_append(pending)
            del self._unarchived[: len(pending)]
        data = self._data()
        await self.store.async_save(data)
        await self.safety.async_save({"next_id": data["next_id"], "devices": data["devices"]})
        self._saved(data["devices"])
        if self.compaction is not None:
            await self.compaction()

    async def async_close(self) -> None:
        """Unload: write what is left."""
        if self._unsub_final_write is not None:
            self._unsub_final_write()
            self._unsub_final_write = None
        await self.async_flush()


def _int(value: Any) -> int:
    return value if type(value) is int else 1


def _has_int_id(raw: Any) -> bool:
    return isinstance(raw, dict) and type(raw.get("id")) is int


def _dicts(value: Any) -> dict[str, dict[str, Any]]:
    """Per-device states as stored; anything else is dropped."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, dict)}
