"""Seed 004's live streams, per consumer: what each one holds and who listens (one per hub).

A sensor device with a ``consumer_id`` feeds its consumer's streams (``stream_codec.STREAMS``):

- ``sensor_data``: every reading with an accelerometer or gyroscope value becomes a seed-004
  reading (``codec.motion_reading``), kept in a ring of the last ``SNAPSHOT_SIZE`` per
  consumer and written to disk (debounced), so the snapshot survives a restart as the
  legacy database did; a stored record that cannot be read is dropped alone.
- ``heart_rate_today`` / ``heart_rate_stats``: the local day's heart rates. The day is read
  from the recorder (the history of the consumer's heart-rate sensor since local midnight,
  ``heart_rate.py``) when first needed, then every reading is added as it comes.
- ``desires_tracking`` / ``desires_stats``: the day's desires (a reading's ``desire`` or
  ``deseo``, an intensity), kept on disk with the ring.

Listeners (``Subscriber``: a WebSocket client, a ``websocket_api`` subscription) join the
group of one stream of one consumer; a push is encoded once per group and handed to each,
whose own bounded queue drops it alone when it stops reading. Unknown consumers have groups
too (empty until a device with that id reports), as the legacy server filtered to ``[]``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
import json
import logging
from typing import Any, Final, Protocol

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...const import DOMAIN
from ...feed import FeedEvent, FeedKind
from ...kind import HubContext
from . import stream_codec as sc
from .codec import SNAPSHOT_SIZE, motion_reading, sensor_update_push, sensor_update_snapshot
from .const import KIND
from .handler import SensorHandler
from .heart_rate import recorded_heart_rates

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 5.0  # seconds: a 50 Hz wearable writes its ring at most this often
UNLOADING: Final = "iot_hub is unloading"


class Frame:
    """A frame for a group: the object, and its JSON text made once for every WebSocket."""

    __slots__ = ("_text", "obj")

    def __init__(self, obj: dict[str, Any]) -> None:
        """Not encoded until a WebSocket client needs it."""
        self.obj = obj
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The JSON text (encoded once)."""
        if self._text is None:
            self._text = json.dumps(self.obj)
        return self._text


class Subscriber(Protocol):
    """One listener of a stream: a WebSocket client or a ``websocket_api`` subscription."""

    def send(self, frame: Frame) -> None:
        """Queue a frame (a listener that stops reading drops itself)."""

    def end(self, reason: str) -> None:
        """The stream ends (the hub unloads)."""


@dataclass(slots=True)
class HeartRate:
    """A consumer's heart rates of the day, and whether the recorder's part is read yet."""

    log: sc.DayLog
    current: float | None = None
    loaded: bool = False  # the recorder's part of ``log.day`` is in
    task: asyncio.Task[None] | None = None
    pending: list[tuple[datetime, float]] = field(default_factory=list)  # while reading it


def _today() -> Any:
    return dt_util.now().date()


class Streams:
    """Every consumer's streams, their listeners, and what survives a restart."""

    def __init__(self, hub: HubContext) -> None:
        """Nothing is read until ``async_load``."""
        self.hub = hub
        self.hass: HomeAssistant = hub.hass
        self._groups: dict[tuple[str, str], dict[int, Subscriber]] = {}
        self._motion: dict[str, deque[dict[str, Any]]] = {}
        self._heart: dict[str, HeartRate] = {}
        self._desires: dict[str, sc.DayLog] = {}
        self._last_at: dict[str, datetime] = {}
        self._store: Store[dict[str, Any]] = Store(
            hub.hass, STORAGE_VERSION, f"{DOMAIN}.sensor_streams.{hub.entry_id}"
        )
        self._save_scheduled = False

    # -- what is kept -----------------------------------------------------------------------

    async def async_load(self) -> None:
        """Read the rings and the day's desires; what cannot be read is dropped alone."""
        stored = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        today = _today()
        for consumer, records in _items(stored.get(sc.SENSOR_DATA)):
            ring = [r for raw in _list(records) if (r := sc.motion_record(raw)) is not None]
            if ring:
                self._motion[consumer] = deque(ring[:SNAPSHOT_SIZE], maxlen=SNAPSHOT_SIZE)
        for consumer, raw in _items(stored.get("desires")):
            self._desires[consumer] = sc.DayLog.from_stored(raw, today)

    def _save_soon(self) -> None:
        # Scheduled once, not per reading: HA's delayed save restarts its timer on each call,
        # and a 50 Hz wearable would then never be written while it streams.
        if not self._save_scheduled:
            self._save_scheduled = True
            self._store.async_delay_save(self._stored, SAVE_DELAY)

    def _stored(self) -> dict[str, Any]:
        self._save_scheduled = False
        return {
            sc.SENSOR_DATA: {c: list(ring) for c, ring in self._motion.items()},
            "desires": {c: log.as_stored() for c, log in self._desires.items()},
        }

    async def async_shutdown(self) -> None:
        """End every stream; write what is kept."""
        for group in self._groups.values():
            for subscriber in list(group.values()):
                subscriber.end(UNLOADING)
        self._groups.clear()
        for heart in self._heart.values():
            if heart.task is not None:
                heart.task.cancel()
        await self._store.async_save(self._stored())

    # -- listeners --------------------------------------------------------------------------

    @callback
    def subscribe(self, stream: str, consumer: str, subscriber: Subscriber) -> Callable[[], None]:
        """Join a group; the callable returned leaves it."""
        group = self._groups.setdefault((stream, consumer), {})
        key = id(subscriber)
        group[key] = subscriber

        @callback
        def leave() -> None:
            if (members := self._groups.get((stream, consumer))) is not None:
                members.pop(key, None)
                if not members:
                    del self._groups[(stream, consumer)]

        return leave

    def _push(self, stream: str, consumer: str, build: Callable[[], dict[str, Any]]) -> None:
        if not (group := self._groups.get((stream, consumer))):
            return  # built only when someone listens
        frame = Frame(build())
        for subscriber in list(group.values()):
            subscriber.send(frame)

    async def async_prepare(self, stream: str, consumer: str) -> None:
        """Have what the snapshot of ``stream`` needs (the recorder's heart rates of today)."""
        if stream in (sc.HEART_RATE_TODAY, sc.HEART_RATE_STATS):
            await self._heart_rate_loaded(consumer)

    @callback
    def snapshot(self, stream: str, consumer: str) -> Frame:
        """The frame sent on connect and on ``request_data``."""
        match stream:
            case sc.SENSOR_DATA:
                return Frame(sensor_update_snapshot(list(self._motion.get(consumer, ()))))
            case sc.HEART_RATE_TODAY:
                heart = self._heart_of(consumer)
                return Frame(sc.frame(stream, sc.heart_rate_today(heart.log, heart.current)))
            case sc.HEART_RATE_STATS:
                return Frame(sc.frame(stream, self._heart_of(consumer).log.stats()))
            case sc.DESIRES_TRACKING:
                return Frame(sc.frame(stream, sc.desires_today(self._desires_of(consumer))))
            case _:
                return Frame(sc.frame(stream, self._desires_of(consumer).stats()))

    # -- readings ---------------------------------------------------------------------------

    def consumer_of(self, device_id: str) -> str | None:
        """The consumer a sensor device reports for, if it has one."""
        device = self.hub.device(device_id)
        handler = getattr(device, "handler", None)
        return handler.consumer_id if isinstance(handler, SensorHandler) else None

    def device_of(self, consumer: str) -> str | None:
        """The sensor device (subentry id) of a consumer, if any."""
        for device in self.hub.devices_of(KIND):
            handler = getattr(device, "handler", None)
            if isinstance(handler, SensorHandler) and handler.consumer_id == consumer:
                return device.id
        return None

    @callback
    def on_feed(self, event: FeedEvent) -> None:
        """A reading of a sensor with a consumer: into its streams, out to their listeners."""
        if event.kind is not FeedKind.READING or event.device_kind != KIND:
            return
        data = event.data
        if (consumer := self.consumer_of(event.device_id)) is None:
            return
        values: dict[str, float] = data["values"]
        self._last_at[consumer] = event.at
        if sc.has_motion(values):
            record = motion_reading(data["id"], values, data["taken_at"])
            self._motion.setdefault(consumer, deque(maxlen=SNAPSHOT_SIZE)).appendleft(record)
            self._save_soon()
            self._push(sc.SENSOR_DATA, consumer, lambda: sensor_update_push(record))
        if (bpm := sc.first_of(values, sc.HEART_RATE_KEYS)) is not None:
            self._heart_rate(consumer, event.at, bpm)
        if (intensity := sc.first_of(values, sc.DESIRE_KEYS)) is not None:
            log = self._desires_of(consumer, dt_util.as_local(event.at).date())
            log.add(event.at, intensity)
            self._save_soon()
            self._push_desires(consumer)

    def _push_desires(self, consumer: str) -> None:
        log = self._desires_of(consumer)
        self._push(
            sc.DESIRES_TRACKING,
            consumer,
            lambda: sc.frame(sc.DESIRES_TRACKING, sc.desires_today(log)),
        )
        self._push(sc.DESIRES_STATS, consumer, lambda: sc.frame(sc.DESIRES_STATS, log.stats()))

    def _desires_of(self, consumer: str, day: Any = None) -> sc.DayLog:
        day = day or _today()
        log = self._desires.get(consumer)
        if log is None or log.day < day:
            log = self._desires[consumer] = sc.DayLog.empty(day)
        return log

    # -- heart rate -------------------------------------------------------------------------

    def _heart_of(self, consumer: str) -> HeartRate:
        today = _today()
        heart = self._heart.get(consumer)
        if heart is None or heart.log.day < today:
            heart = self._heart[consumer] = HeartRate(sc.DayLog.empty(today))
        return heart

    def _heart_rate(self, consumer: str, at: datetime, bpm: float) -> None:
        heart = self._heart_of(consumer)
        heart.current = bpm
        if not heart.loaded:
            if len(heart.pending) < sc.DAY_READINGS:
                heart.pending.append((at, bpm))
            self._start_loading(consumer, heart)
            return
        heart.log.add(at, bpm)
        self._push_heart_rate(consumer, heart)

    def _push_heart_rate(self, consumer: str, heart: HeartRate) -> None:
        self._push(
            sc.HEART_RATE_TODAY,
            consumer,
            lambda: sc.frame(sc.HEART_RATE_TODAY, sc.heart_rate_today(heart.log, heart.current)),
        )
        self._push(
            sc.HEART_RATE_STATS, consumer, lambda: sc.frame(sc.HEART_RATE_STATS, heart.log.stats())
        )

    def _start_loading(self, consumer: str, heart: HeartRate) -> asyncio.Task[None]:
        if heart.task is None:
            heart.task = self.hass.async_create_background_task(
                self._load_heart_rate(consumer, heart), f"{DOMAIN} heart rate of {consumer}"
            )
        return heart.task

    async def _heart_rate_loaded(self, consumer: str) -> None:
        heart = self._heart_of(consumer)
        if not heart.loaded:
            await asyncio.shield(self._start_loading(consumer, heart))

    async def _load_heart_rate(self, consumer: str, heart: HeartRate) -> None:
        """Today's recorded heart rates, then those that came while they were read."""
        start = dt_util.start_of_local_day(heart.log.day)
        try:
            recorded = await recorded_heart_rates(self.hass, self.device_of(consumer), start)
        except Exception:  # a broken database must not break the streams
            _LOGGER.exception("Could not read today's heart rates of consumer %s", consumer)
            recorded = []
        for at, bpm in recorded:
            heart.log.add(at, bpm)
        last = recorded[-1][0] if recorded else None
        if recorded and heart.current is None:
            heart.current = recorded[-1][1]
        # A reading already written to the recorder is recorded at or after it arrived.
        for at, bpm in heart.pending:
            if last is None or at > last:
                heart.log.add(at, bpm)
        heart.pending.clear()
        heart.loaded = True
        heart.task = None
        self._push_heart_rate(consumer, heart)

    # -- diagnostics ------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """Listeners per group, the last reading per consumer, what the rings hold."""
        return {
            "subscribers": {
                f"{stream}_{consumer}": len(group)
                for (stream, consumer), group in sorted(self._groups.items())
            },
            "last_reading_at": {c: at.isoformat() for c, at in self._last_at.items()},
            "sensor_data_buffered": {c: len(ring) for c, ring in self._motion.items()},
            "heart_rates_today": {c: h.log.count for c, h in self._heart.items()},
            "desires_today": {c: log.count for c, log in self._desires.items()},
        }


def _items(raw: object) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in raw.items() if isinstance(k, str)] if isinstance(raw, dict) else []


def _list(raw: object) -> list[Any]:
    return raw if isinstance(raw, list) else []
