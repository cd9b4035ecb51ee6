"""What the load benchmarks share: the sender fleet, the measurement and its baselines, the report.

``benchmarks.ovens`` and ``benchmarks.chargers`` differ in the frames their devices send and in
how a delivered frame is recognised; everything else is here: the lean senders on their own
event loop in a thread (``SenderFleet``, subclassed per device kind), the matching of delivered
values to send times (``Collector``), one load phase (``measure_load``), the raw-aiohttp and
bare-HA baselines, the report's common lines and the command line's common arguments.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
import concurrent.futures
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
import gc
import logging
import math
import os
import platform
import resource
import statistics
import sys
import time
from typing import Any, Final, Protocol

import aiohttp
from aiohttp import web
from homeassistant import const as ha_const
from homeassistant.components.sensor import SensorEntity
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_component import EntityComponent
from homeassistant.helpers.entity_platform import EntityPlatform

from custom_components.iot_hub.capacity import devices_per_hub
from custom_components.iot_hub.kinds import kind_named
from custom_components.iot_hub.transport.limits import INBOUND_RATE

from .home_assistant import free_port

_LOGGER = logging.getLogger(__name__)

DEFAULT_RATE: Final = 10.0
DEFAULT_SECONDS: Final = 10.0
DEFAULT_BARE_SECONDS: Final = 1.5
# After the last frame: how long in-flight frames get to arrive before the count is final.
SETTLE_TIMEOUT: Final = 5.0
CONNECT_TIMEOUT: Final = 30.0

# Hooks a load phase's deliveries into a server; returns the undo.
Install = Callable[["Collector"], Callable[[], None]]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def median(values: Iterable[float]) -> float:
    """The median of the known values (NaN when none is known)."""
    known = [value for value in values if not math.isnan(value)]
    return statistics.median(known) if known else math.nan


def median_ratio(pairs: Iterable[tuple[float, float]]) -> float:
    """The median of ``value / base`` over ``(value, base)`` pairs (one per run, say).

    A pair with an unknown figure or a zero base has no ratio; NaN when no pair has one.
    """
    return median(
        value / base
        for value, base in pairs
        if not (math.isnan(value) or math.isnan(base) or base == 0)
    )


def thread_cpu_seconds() -> float:
    """CPU time (user + system) of the calling thread."""
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


@dataclass(slots=True)
class Collector:
    """Matches each delivered value to its send time; written by both threads.

    A frame's value is its sequence number / 10 (plus a fixed offset the caller removes). The
    sender thread writes ``sent_at[device][seq]`` just before sending the frame and the HA loop
    reads that slot only after the frame arrived, so they never race for a slot.
    """

    devices: int
    per_device: int
    sent_at: list[list[float]] = field(init=False)
    latencies: list[float] = field(default_factory=list)
    sent: int = 0  # written by the sender thread only
    delivered: int = 0
    unmatched: int = 0
    last_delivery: float = math.nan
    # Latencies against each frame's due time by the schedule (when the fleet knows it).
    due_latencies: list[float] = field(default_factory=list)
    # Set (on the HA loop) once ``delivered`` reaches ``expected``.
    expected: float = math.inf
    all_delivered: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        """Preallocate the send-time table."""
        self.sent_at = [[math.nan] * self.per_device for _ in range(self.devices)]

    def deliver(self, device: int, value: float) -> None:
        """Value ``value`` (sequence number / 10) of device ``device`` arrived now (HA loop)."""
        now = time.perf_counter()
        seq = round(value * 10)
        if not 0 <= seq < self.per_device or math.isnan(sent := self.sent_at[device][seq]):
            self.unmatched += 1
            return
        self.delivered += 1
        self.latencies.append(now - sent)
        self.last_delivery = now
        if self.delivered >= self.expected:
            self.all_delivered.set()

    def expect(self, count: int) -> None:
        """No more frames will be sent than ``count``."""
        self.expected = count
        if self.delivered >= count:
            self.all_delivered.set()

    @property
    def first_sent(self) -> float:
        """When the first frame went out."""
        return min((row[0] for row in self.sent_at if not math.isnan(row[0])), default=math.nan)

    def span(self) -> float:
        """Seconds from the first frame sent to the last one delivered (NaN: none)."""
        return self.last_delivery - self.first_sent


@dataclass(slots=True)
class GcWatch:
    """Garbage collections while installed: count, total and longest pause (seconds).

    Per generation too: full (generation 2) collections are the long pauses.
    """

    count: int = 0
    total: float = 0.0
    longest: float = 0.0
    by_generation: list[int] = field(default_factory=lambda: [0, 0, 0])
    total_by_generation: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    _started: float = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.count += 1
        self.total += pause
        self.longest = max(self.longest, pause)
        generation = min(info.get("generation", 0), 2)
        self.by_generation[generation] += 1
        self.total_by_generation[generation] += pause

    @contextlib.contextmanager
    def watching(self) -> Iterator[GcWatch]:
        """Count collections within the block."""
        gc.callbacks.append(self._on_gc)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._on_gc)


def _census_name(obj: object) -> str:
    """What the census calls an object: its type, with the module it comes from."""
    kind = type(obj)
    module = kind.__module__.partition(".")[0] if isinstance(kind.__module__, str) else ""
    return f"{module}.{kind.__qualname__}" if module != "builtins" else kind.__qualname__


@dataclass(slots=True)
class GcCensus:
    """Which objects each young collection promoted into the oldest generation, by type.

    Python runs a full collection once the objects promoted into generation 2 since the last
    one pass a quarter of that generation: these are what sets how often the long pauses
    come (freed or not by the time it runs). From ``after`` seconds into the window, for
    ``stretch`` seconds: at the start of each generation-1 collection, the ids of the young
    objects (no references kept, so nothing is held alive); at its end, those of them now in
    generation 2. Listing generation 2 (~600,000 objects) stalls the loop each time: a run
    with a census is for the census, not for its latencies.
    """

    after: float
    stretch: float
    promoted: Counter[str] = field(default_factory=Counter)
    collections: int = 0
    done: bool = False
    _young: set[int] | None = None

    @property
    def per_second(self) -> float:
        """Objects promoted into generation 2 per second of the stretch."""
        return self.promoted.total() / self.stretch if self.done else math.nan

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 1:
            return
        if phase == "start":
            self._young = {id(obj) for young in (0, 1) for obj in gc.get_objects(young)}
        elif (young := self._young) is not None:
            self._young = None
            self.collections += 1
            self.promoted.update(
                _census_name(obj) for obj in gc.get_objects(generation=2) if id(obj) in young
            )

    async def take(self) -> None:
        """Wait ``after`` s, then count what young collections promote for ``stretch`` s."""
        await asyncio.sleep(self.after)
        gc.callbacks.append(self._on_gc)
        try:
            await asyncio.sleep(self.stretch)
            self.done = True
        finally:
            gc.callbacks.remove(self._on_gc)

    @staticmethod
    @contextlib.contextmanager
    def taking(census: GcCensus | None) -> Iterator[None]:
        """Take ``census`` (if any) while the block runs; a window shorter than it ends it."""
        task = asyncio.get_running_loop().create_task(census.take()) if census else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()

    def lines(self, name: str, top: int = 12) -> list[str]:
        """The census in the report."""
        if not self.done:
            return [
                f"  {name:<20} no census (the window was shorter than {self.after + self.stretch:g} s)"
            ]
        kinds = ", ".join(
            f"{kind} {count / self.stretch:,.0f}" for kind, count in self.promoted.most_common(top)
        )
        line = (
            f"  {name:<20} {self.per_second:,.0f} objects/s promoted into generation 2 "
            f"({self.collections} generation-1 collections): {kinds}"
        )
        return [line]


def fresh_heap() -> None:
    """A full collection before a measured window, outside it.

    Python starts a full collection once the objects that survived the younger generations
    since the last one pass a quarter of the old generation: without this, whether a window
    gets one or two of them would depend on what the phases before it left pending.
    """
    gc.collect()


def peak_rss_kib() -> int:
    """This process's peak resident set size so far, KiB (``ru_maxrss``; Linux counts KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def process_cpu_seconds() -> float:
    """CPU time (user + system) of this whole process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Latencies:
    """p50 and p99 of a result's sorted ``latencies`` (a base of the benchmarks' results)."""

    __slots__ = ()
    latencies: tuple[float, ...]  # sorted, seconds

    @property
    def p50(self) -> float:
        """Median latency in seconds."""
        return percentile(self.latencies, 0.50)

    @property
    def p99(self) -> float:
        """99th percentile latency in seconds."""
        return percentile(self.latencies, 0.99)


@dataclass(frozen=True, slots=True)
class Result(Latencies):
    """One measured path."""

    name: str
    sent: int
    delivered: int
    seconds: float  # the measured window
    latencies: tuple[float, ...]  # sorted, seconds
    cpu_seconds: float  # HA loop thread, within the window
    note: str = ""
    due_latencies: tuple[float, ...] = ()  # sorted, seconds, against the schedule
    process_cpu_seconds: float = math.nan  # HA's whole process, within the window
    gc: GcWatch | None = None  # collections within the window
    peak_rss_kib: int = 0  # this process's peak RSS at the window's end
    peak_rss_growth_kib: int = 0  # how much the window raised it
    state_writes: int = -1  # every state_changed in the window (-1: not counted)

    @property
    def due_p50(self) -> float:
        """Median latency against the schedule, seconds."""
        return percentile(self.due_latencies, 0.50)

    @property
    def due_p99(self) -> float:
        """99th percentile latency against the schedule, seconds."""
        return percentile(self.due_latencies, 0.99)

    @property
    def due_max(self) -> float:
        """Longest latency against the schedule, seconds."""
        return self.due_latencies[-1] if self.due_latencies else math.nan

    @property
    def max_latency(self) -> float:
        """Longest latency against the send, seconds."""
        return self.latencies[-1] if self.latencies else math.nan

    @property
    def process_cpu_per_item(self) -> float:
        """HA process CPU seconds (every thread) per delivered frame."""
        return self.process_cpu_seconds / self.delivered if self.delivered else math.nan

    @property
    def gc_per_item(self) -> float:
        """Seconds of garbage collection per delivered frame."""
        if self.gc is None or not self.delivered:
            return math.nan
        return self.gc.total / self.delivered

    @property
    def writes_per_item(self) -> float:
        """State changes of any entity in the window per delivered frame (NaN: not counted)."""
        if self.state_writes < 0 or not self.delivered:
            return math.nan
        return self.state_writes / self.delivered

    @property
    def rate(self) -> float:
        """Delivered frames (or state writes) per second."""
        return self.delivered / self.seconds if self.seconds > 0 else math.nan

    @property
    def cpu_per_item(self) -> float:
        """HA loop-thread CPU seconds per delivered frame."""
        return self.cpu_seconds / self.delivered if self.delivered else math.nan

    @property
    def busy(self) -> float:
        """Share of one core the HA loop thread used during the window."""
        return self.cpu_seconds / self.seconds if self.seconds > 0 else math.nan


@dataclass(slots=True)
class SenderReport:
    """What the sender thread saw besides its own frames going out."""

    commands: int = 0  # session commands (sessions started by the benchmark)
    error_frames: list[str] = field(default_factory=list)
    send_failures: list[str] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)


class SenderFleet:
    """N lean devices on their own event loop in a thread: connect, then send on cue.

    Lean on purpose: the simulators' models and printing would add noise, so these send
    exactly the seed's frames on a fixed schedule. The two loops signal each other with
    ``call_soon_threadsafe`` only, so nothing polls on HA's loop while it is measured.
    Subclasses say what a device sends (``_frame``), how it announces itself (``_hello``) and
    what it does with what the server sends (``_read``).
    """

    # How a device is named in the notes ("oven 3: ...").
    noun = "device"

    def __init__(self, urls: Sequence[str], rate: float, per_device: int) -> None:
        """Plan ``per_device`` frames at ``rate``/s to each URL (call on the HA loop)."""
        self._urls = list(urls)
        self._rate = rate
        self.per_device = per_device
        self.collector = Collector(len(self._urls), per_device)
        self.report = SenderReport()
        self._main_loop = asyncio.get_running_loop()
        self._connected: asyncio.Future[None] = self._main_loop.create_future()
        self._all_sent = asyncio.Event()
        self._sender_loop: asyncio.AbstractEventLoop | None = None
        self._begin: asyncio.Event | None = None
        self._finish: asyncio.Event | None = None
        self._started_at = 0.0
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="senders")
        self._thread: asyncio.Future[None] | None = None

    def _frame(self, index: int, seq: int) -> str:
        """Frame number ``seq`` of device ``index`` (sender thread)."""
        raise NotImplementedError

    async def _hello(self, ws: aiohttp.ClientWebSocketResponse, greeting: asyncio.Event) -> None:
        """Whatever a device does after connecting, before it counts as connected."""

    async def _read(
        self, index: int, ws: aiohttp.ClientWebSocketResponse, greeting: asyncio.Event
    ) -> None:
        """Read what the server sends so it is reported and never piles up."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the sender thread; it connects every device."""
        self._thread = asyncio.wrap_future(self._executor.submit(asyncio.run, self._main()))

    async def wait_connected(self) -> None:
        """Until every device is connected and identified.

        Raises:
            TimeoutError: Not within ``CONNECT_TIMEOUT``.
            Exception: Whatever made the sender thread fail.
        """
        assert self._thread is not None
        done, _ = await asyncio.wait(
            {self._connected, self._thread},
            timeout=CONNECT_TIMEOUT,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self._connected in done:
            return
        if self._thread in done:
            self._thread.result()
            raise RuntimeError("the senders stopped before connecting")
        await self.finish()
        raise TimeoutError(f"the {self.noun}s did not connect")

    def go(self) -> None:
        """Start sending (from the HA loop)."""
        assert self._sender_loop is not None
        self._sender_loop.call_soon_threadsafe(self._on_go)

    async def wait_sent(self) -> None:
        """Until every device sent its last frame (or gave up)."""
        assert self._thread is not None
        sent = asyncio.create_task(self._all_sent.wait())
        waiting: set[asyncio.Future[Any]] = {sent, self._thread}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        sent.cancel()
        if self._thread.done():
            self._thread.result()

    async def finish(self) -> None:
        """Close every connection and end the thread."""
        if self._sender_loop is not None and self._finish is not None:
            self._sender_loop.call_soon_threadsafe(self._finish.set)
        assert self._thread is not None
        try:
            await self._thread
        finally:
            self._executor.shutdown()

    def _on_go(self) -> None:
        assert self._begin is not None
        # A little ahead, so every device's first beat is in the future when it wakes.
        self._started_at = time.perf_counter() + 0.02
        self._begin.set()

    async def _main(self) -> None:
        self._sender_loop = asyncio.get_running_loop()
        begin = self._begin = asyncio.Event()
        finish = self._finish = asyncio.Event()
        connected_all = asyncio.Event()
        connected = finished = 0

        async def device(index: int, url: str, session: aiohttp.ClientSession) -> None:
            nonlocal connected, finished
            ws = await session.ws_connect(url)
            greeting = asyncio.Event()
            reader = asyncio.create_task(self._read(index, ws, greeting))
            try:
                await self._hello(ws, greeting)
                connected += 1
                if connected == len(self._urls):
                    connected_all.set()
                await begin.wait()
                await self._send_all(index, ws, finish)
                finished += 1
                if finished == len(self._urls):
                    self._main_loop.call_soon_threadsafe(self._all_sent.set)
                await finish.wait()
            finally:
                await ws.close()
                await reader
                self.report.close_codes.append(ws.close_code)

        # No connection limit: aiohttp's default (100) would hold device 101 back forever.
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            tasks = [
                asyncio.create_task(device(i, url, session)) for i, url in enumerate(self._urls)
            ]
            waiter = asyncio.create_task(connected_all.wait())
            await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():  # a device failed to connect: surface its error
                waiter.cancel()
                await asyncio.gather(*tasks)
            self._main_loop.call_soon_threadsafe(self._connected.set_result, None)
            await asyncio.gather(*tasks)

    async def _send_all(
        self, index: int, ws: aiohttp.ClientWebSocketResponse, finish: asyncio.Event
    ) -> None:
        # Stagger the devices evenly within one period: real devices are not in sync.
        start = self._started_at + index / (len(self._urls) * self._rate)
        row = self.collector.sent_at[index]
        for seq in range(self.per_device):
            if finish.is_set():
                return
            delay = start + seq / self._rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = self._frame(index, seq)
            row[seq] = time.perf_counter()
            try:
                await ws.send_str(frame)
            except (ConnectionError, RuntimeError) as err:
                row[seq] = math.nan
                self.report.send_failures.append(f"{self.noun} {index}: {err}")
                return
            self.collector.sent += 1


class Fleet(Protocol):
    """What ``measure_load`` drives: senders in a thread or in other processes."""

    per_device: int

    @property
    def collector(self) -> Collector:
        """Where deliveries are matched to sends."""

    @property
    def report(self) -> SenderReport:
        """What the senders saw."""

    def start(self) -> None:
        """Start the senders; they connect every device."""

    async def wait_connected(self) -> None:
        """Until every device is connected."""

    def go(self) -> None:
        """Start sending."""

    async def wait_sent(self) -> None:
        """Until every device sent its last frame; ``collector.sent`` is final then."""

    async def finish(self) -> None:
        """Close every connection; latencies are final then."""


async def measure_load(
    name: str,
    fleet: Fleet,
    *,
    rate: float,
    install: Install,
    before_go: Callable[[], Awaitable[None]] | None = None,
    after_load: Callable[[], Awaitable[None]] | None = None,
    hass: HomeAssistant | None = None,
    census: GcCensus | None = None,
) -> Result:
    """Drive ``fleet`` against one server; ``install`` hooks deliveries and returns an undo.

    ``before_go`` runs once every device is connected; ``after_load`` the moment the last
    frame arrived (or the settle timeout passed), outside the measured window and before the
    devices disconnect. With ``hass``, every state change in the window is counted; with
    ``census``, it takes its census during the window.
    """
    collector = fleet.collector
    uninstall = install(collector)
    try:
        fleet.start()
        await fleet.wait_connected()
        if before_go is not None:
            await before_go()
        fresh_heap()
        with Window.measuring(hass, census) as window:
            fleet.go()
            await fleet.wait_sent()
            collector.expect(collector.sent)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SETTLE_TIMEOUT):
                    await collector.all_delivered.wait()
        if after_load is not None:
            await after_load()
        await fleet.finish()
    finally:
        uninstall()
    # The planned window, or longer if the server fell behind and finished late.
    planned = fleet.per_device / rate
    span = collector.span()
    return Result(
        name=name,
        sent=collector.sent,
        delivered=collector.delivered,
        seconds=max(planned, span) if not math.isnan(span) else planned,
        latencies=tuple(sorted(collector.latencies)),
        cpu_seconds=window.cpu_seconds,
        note=_notes(fleet.report, collector),
        due_latencies=tuple(sorted(collector.due_latencies)),
        process_cpu_seconds=window.process_cpu_seconds,
        gc=window.gc,
        peak_rss_kib=window.peak_rss_kib,
        peak_rss_growth_kib=window.peak_rss_growth_kib,
        state_writes=window.writes.count,
    )


@dataclass(slots=True)
class StateWrites:
    """Every ``state_changed`` on ``hass``'s bus while counting (-1 without ``hass``)."""

    hass: HomeAssistant | None
    count: int = -1

    @callback
    def _on_state_changed(self, _event: Event[EventStateChangedData]) -> None:
        self.count += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[StateWrites]:
        """Count within the block."""
        if self.hass is None:
            yield self
            return
        self.count = 0
        unsub = self.hass.bus.async_listen(EVENT_STATE_CHANGED, self._on_state_changed)
        try:
            yield self
        finally:
            unsub()


@dataclass(slots=True)
class Window:
    """What a measured window cost HA's process: CPU, collections, state writes, memory."""

    gc: GcWatch
    writes: StateWrites
    cpu_seconds: float = math.nan  # HA's loop thread (the thread that measured)
    process_cpu_seconds: float = math.nan  # every thread of HA's process
    peak_rss_kib: int = 0  # at the window's end
    peak_rss_growth_kib: int = 0  # how much the window raised it

    @staticmethod
    @contextlib.contextmanager
    def measuring(
        hass: HomeAssistant | None = None, census: GcCensus | None = None
    ) -> Iterator[Window]:
        """Measure the block; with ``hass``, count its state writes; with ``census``, take it."""
        window = Window(GcWatch(), StateWrites(hass))
        rss_before = peak_rss_kib()
        process_before = process_cpu_seconds()
        cpu_before = thread_cpu_seconds()
        with window.gc.watching(), window.writes.counting(), GcCensus.taking(census):
            yield window
        window.cpu_seconds = thread_cpu_seconds() - cpu_before
        window.process_cpu_seconds = process_cpu_seconds() - process_before
        window.peak_rss_kib = peak_rss_kib()
        window.peak_rss_growth_kib = window.peak_rss_kib - rss_before


def _notes(report: SenderReport, collector: Collector) -> str:
    notes = []
    if report.error_frames:
        notes.append(f"{len(report.error_frames)} error frames, e.g. {report.error_frames[0]}")
    if report.send_failures:
        notes.append(f"{len(report.send_failures)} send failures")
    if collector.unmatched:
        notes.append(f"{collector.unmatched} unmatched values")
    unexpected = sorted({code for code in report.close_codes if code not in (1000, None)})
    if unexpected:
        notes.append(f"close codes {unexpected}")
    return "; ".join(notes)


@contextlib.asynccontextmanager
async def raw_aiohttp_server(
    device_of: Callable[[Mapping[str, str]], int],
    value_of: Callable[[str], float | None],
) -> AsyncIterator[tuple[int, Install]]:
    """A plain ``aiohttp.web`` WebSocket server at ``/ws`` on 127.0.0.1, on this loop.

    Args:
        device_of: The device index of a connection, from its query.
        value_of: The value a text frame carries (for ``Collector.deliver``), or None.

    Yields:
        Its port, and how to hook a load phase's collector into it.
    """
    sink: list[Collector] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        # Same limits as iot_hub's endpoint, so only what happens per frame differs.
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=16 * 1024)
        await ws.prepare(request)
        device = device_of(request.query)
        collector = sink[0]
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT and (value := value_of(msg.data)) is not None:
                collector.deliver(device, value)
        return ws

    def install(collector: Collector) -> Callable[[], None]:
        sink.append(collector)
        return sink.clear

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield port, install
    finally:
        await runner.cleanup()


class TrivialEntity(Entity):
    """An entity with nothing but a state: what HA's write path costs by itself."""

    _attr_should_poll = False
    _attr_name = "Trivial"

    def __init__(self) -> None:
        """Start with state 0."""
        self.entity_id = "bench.trivial"
        self._attr_state = 0


async def measure_bare_ha(hass: HomeAssistant, seconds: float) -> list[Result]:
    """HA's state-write ceiling: a trivial entity, then ``states.async_set``, in tight loops."""
    component: EntityComponent[Entity] = EntityComponent(_LOGGER, "bench", hass)
    entity = TrivialEntity()
    await component.async_add_entities([entity])
    await hass.async_block_till_done()

    def write_entity(seq: int) -> None:
        entity._attr_state = seq  # noqa: SLF001  (the entity's own field, set as it would)
        entity.async_write_ha_state()

    def set_state(seq: int) -> None:
        hass.states.async_set("bench.raw_state", str(seq))

    results = []
    for name, entity_id, write in (
        ("bare HA async_write_ha_state", entity.entity_id, write_entity),
        ("bare HA states.async_set", "bench.raw_state", set_state),
    ):
        results.append(await _tight_loop(hass, name, entity_id, write, seconds))
    return results


# How the paced baseline writes: HA's state machine, HA's own sensor entities, or not at all.
PACED_STATES: Final = "bare HA, paced states.async_set"
PACED_ENTITIES: Final = "bare HA, paced sensor entities"
PACED_BEAT: Final = "the same beat, no write"


class MirrorSensor(SensorEntity):
    """A bare HA sensor shaped like one of iot_hub's: its device class, unit and state class.

    What HA's own ``SensorEntity`` write path costs for such a sensor (a registry entry, the
    unit and precision handling, the state machine), with no integration code around it.
    """

    _attr_should_poll = False

    def __init__(self, number: int, like: State, precision: int | None) -> None:
        """Mirror the state ``like`` (``number`` makes the entity id and unique id)."""
        self.entity_id = f"sensor.bench_mirror_{number}"
        self._attr_unique_id = f"bench_mirror_{number}"
        self._attr_name = like.attributes.get("friendly_name")
        self._attr_device_class = like.attributes.get("device_class")
        self._attr_native_unit_of_measurement = like.attributes.get("unit_of_measurement")
        self._attr_state_class = like.attributes.get("state_class")
        self._attr_suggested_display_precision = precision
        self._attr_native_value = 0.0

    @callback
    def show(self, value: float) -> None:
        """Show ``value`` now."""
        self._attr_native_value = value
        self.async_write_ha_state()


async def _mirrors(hass: HomeAssistant, entity_ids: Iterable[str]) -> dict[str, MirrorSensor]:
    """A ``MirrorSensor`` for each numeric sensor among ``entity_ids``, added to HA."""
    registry = er.async_get(hass)
    mirrors: dict[str, MirrorSensor] = {}
    for entity_id in entity_ids:
        state = hass.states.get(entity_id)
        if state is None or not entity_id.startswith("sensor."):
            continue
        try:
            float(state.state)
        except ValueError:
            continue  # unavailable, or not a number: written through the state machine
        entry = registry.async_get(entity_id)
        options: Mapping[str, Any] = entry.options.get("sensor", {}) if entry is not None else {}
        precision = options.get("suggested_display_precision")
        mirrors[entity_id] = MirrorSensor(len(mirrors), state, precision)
    platform = EntityPlatform(
        hass=hass,
        logger=_LOGGER,
        domain="sensor",
        platform_name="bench_mirror",
        platform=None,
        scan_interval=timedelta(seconds=30),
        entity_namespace=None,
    )
    await platform.async_add_entities(mirrors.values())
    return mirrors


async def measure_paced_writes(
    hass: HomeAssistant,
    groups: Sequence[Mapping[str, int]],
    *,
    rate: float,
    per_device: int,
    how: str = PACED_STATES,
    census: GcCensus | None = None,
) -> Result:
    """Bare HA under the load's schedule: the same entities' states set on the same beat.

    ``groups[i]`` are the entities device *i*'s frames changed, each with how many of its
    ``per_device`` frames changed it (its first is the one whose state counts as delivered,
    changed by every frame). Device *i*'s beat *k* falls at ``t0 + k / rate + i / (n *
    rate)``, as the senders send; the entities due to change at that beat (spread evenly
    over the beats) are then written, so bare HA makes as many writes as iot_hub did, in the
    same process and heap, without any transport or integration. ``how``:

    - ``PACED_STATES``: ``hass.states.async_set`` with the attributes they have now (HA's
      state machine and event bus alone);
    - ``PACED_ENTITIES``: ``async_write_ha_state`` of HA's own ``SensorEntity`` shaped like
      each (``MirrorSensor``; added once, before the window): HA's entity write path too;
    - ``PACED_BEAT``: nothing written (latency: the wake-up's): what waking on this schedule
      costs by itself, to take from the others' CPU.

    Latency is against each beat's due time, measured in the ``state_changed`` listener; a
    beat the loop could not keep (a collection, a busy loop) is written at once and counts
    its lateness, like a frame that arrived late. Collections, CPU and memory are watched as
    in ``measure_load``.
    """
    count = len(groups)
    mirrors = (
        await _mirrors(hass, {e for group in groups for e in group})
        if how == PACED_ENTITIES
        else {}
    )

    def writer(entity_id: str) -> Callable[[float], None]:
        if (mirror := mirrors.get(entity_id)) is not None:
            return mirror.show
        state = hass.states.get(entity_id)
        attributes = dict(state.attributes) if state is not None else {}
        return lambda value: hass.states.async_set(entity_id, f"{value:.1f}", attributes)

    plan = [
        [(changes / per_device, writer(entity_id)) for entity_id, changes in group.items()]
        for group in groups
    ]
    watched = frozenset(
        mirror.entity_id if (mirror := mirrors.get(first)) else first
        for group in groups
        if group and (first := next(iter(group)))
    )
    latencies: list[float] = []
    due_now = math.nan

    @callback
    def on_state_changed(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] in watched:
            latencies.append(time.perf_counter() - due_now)

    period = 1 / rate
    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state_changed)
    fresh_heap()
    start = time.perf_counter() + 0.02
    try:
        with Window.measuring(hass, census) as window:
            for slot in range(count * per_device):
                seq, index = divmod(slot, count)
                due = start + seq * period + index * period / count
                if (delay := due - time.perf_counter()) > 0:
                    await asyncio.sleep(delay)
                due_now = due
                if how == PACED_BEAT:
                    latencies.append(time.perf_counter() - due)
                    continue
                value = 20 + seq / 10  # changes with every beat, as readings do
                for share, write in plan[index]:
                    if math.floor((seq + 1) * share) > math.floor(seq * share):
                        write(value)
    finally:
        unsub()
    ordered = tuple(sorted(latencies))
    return Result(
        name=how,
        sent=count * per_device,
        delivered=len(latencies),
        seconds=max(per_device * period, time.perf_counter() - start),
        latencies=ordered,
        cpu_seconds=window.cpu_seconds,
        note="no network: latency is against the schedule",
        due_latencies=ordered,
        process_cpu_seconds=window.process_cpu_seconds,
        gc=window.gc,
        peak_rss_kib=window.peak_rss_kib,
        peak_rss_growth_kib=window.peak_rss_growth_kib,
        state_writes=window.writes.count,
    )


@dataclass(frozen=True, slots=True)
class Paced:
    """Bare HA on the load's schedule, three ways (``measure_paced``)."""

    states: Result  # PACED_STATES
    entities: Result  # PACED_ENTITIES
    beat: Result  # PACED_BEAT

    @property
    def all(self) -> tuple[Result, Result, Result]:
        """The three, in the report's order."""
        return (self.states, self.entities, self.beat)


async def measure_paced(
    hass: HomeAssistant,
    groups: Sequence[Mapping[str, int]],
    *,
    rate: float,
    per_device: int,
    census: GcCensus | None = None,
) -> Paced:
    """The paced baselines: the state machine (with ``census``), sensor entities, the beat."""
    states = await measure_paced_writes(
        hass, groups, rate=rate, per_device=per_device, census=census
    )
    entities = await measure_paced_writes(
        hass, groups, rate=rate, per_device=per_device, how=PACED_ENTITIES
    )
    beat = await measure_paced_writes(
        hass, [{}] * len(groups), rate=rate, per_device=per_device, how=PACED_BEAT
    )
    return Paced(states, entities, beat)


async def _tight_loop(
    hass: HomeAssistant,
    name: str,
    entity_id: str,
    write: Callable[[int], None],
    seconds: float,
) -> Result:
    latencies: list[float] = []
    written_at = math.nan
    delivered = 0

    @callback
    def on_state_changed(event: Event[EventStateChangedData]) -> None:
        nonlocal delivered
        if event.data["entity_id"] == entity_id:
            delivered += 1
            latencies.append(time.perf_counter() - written_at)

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state_changed)
    seq = 1
    cpu_before = thread_cpu_seconds()
    started = time.perf_counter()
    deadline = started + seconds
    try:
        while time.perf_counter() < deadline:
            for _ in range(256):
                seq += 1
                written_at = time.perf_counter()
                write(seq)
            # Let the loop run its other callbacks between batches, as HA would.
            await asyncio.sleep(0)
    finally:
        unsub()
    elapsed = time.perf_counter() - started
    return Result(
        name=name,
        sent=seq - 1,
        delivered=delivered,
        seconds=elapsed,
        latencies=tuple(sorted(latencies)),
        cpu_seconds=thread_cpu_seconds() - cpu_before,
        note="tight loop, no network",
    )


def ms(seconds: float) -> str:
    """Seconds as milliseconds for the report ("-" when unknown)."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.3f}"


def us(seconds: float) -> str:
    """Seconds as microseconds for the report ("-" when unknown)."""
    return "-" if math.isnan(seconds) else f"{seconds * 1e6:.1f}"


def ratio(value: float, base: float) -> str:
    """``value / base`` as "1.23x" ("n/a" when unknown)."""
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "n/a"
    return f"{value / base:.2f}x"


def _row(result: Result) -> str:
    row = (
        f"{result.name:<30} {result.sent:>8} {result.delivered:>9} {result.rate:>10.1f} "
        f"{ms(result.p50):>8} {ms(result.p99):>8} {us(result.cpu_per_item):>9} "
        f"{result.busy * 100:>6.1f}%"
    )
    return f"{row}   ({result.note})" if result.note else row


def table(
    results: Sequence[Result], cpu_column: str, senders: str = "senders on their own thread"
) -> list[str]:
    """The report's opening: the machine, then a table of every path."""
    header = (
        f"{'path':<30} {'sent':>8} {'delivered':>9} {'per s':>10} {'p50 ms':>8} "
        f"{'p99 ms':>8} {cpu_column:>9} {'loop':>7}"
    )
    return [
        (
            f"Home Assistant {ha_const.__version__}, Python {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs; {senders}"
        ),
        "",
        header,
        "-" * len(header),
        *(_row(result) for result in results),
    ]


def comparison(
    *, hub: Result, raw: Result, write: Result, items: str, offered: float, cpu_label: str
) -> list[str]:
    """iot_hub against the raw-aiohttp baseline: throughput, latency, CPU, loop share."""
    return [
        (
            f"  throughput           {ratio(hub.rate, raw.rate)} raw aiohttp "
            f"({hub.rate:.1f} vs {raw.rate:.1f} {items}/s; offered {offered:g}/s)"
        ),
        (
            f"  latency p50          {ratio(hub.p50, raw.p50)} raw aiohttp "
            f"({ms(hub.p50)} vs {ms(raw.p50)} ms)"
        ),
        (
            f"  latency p99          {ratio(hub.p99, raw.p99)} raw aiohttp "
            f"({ms(hub.p99)} vs {ms(raw.p99)} ms)"
        ),
        (
            f"  {cpu_label:<21}{ratio(hub.cpu_per_item, raw.cpu_per_item)} raw aiohttp, "
            f"{ratio(hub.cpu_per_item, write.cpu_per_item)} one bare async_write_ha_state "
            f"({us(hub.cpu_per_item)} vs {us(raw.cpu_per_item)} vs "
            f"{us(write.cpu_per_item)} µs)"
        ),
        (
            f"  HA loop busy         {ratio(hub.busy, raw.busy)} raw aiohttp "
            f"({hub.busy * 100:.1f}% vs {raw.busy * 100:.1f}% of one core)"
        ),
    ]


def _gc_cells(result: Result) -> str:
    watch = result.gc
    if watch is None:
        return f"{'-':>16} {'-':>9} {'-':>9} {'-':>8}"
    generations = "/".join(str(count) for count in watch.by_generation)
    return (
        f"{generations:>16} {watch.total * 1000:>9.1f} {watch.longest * 1000:>9.1f} "
        f"{us(result.gc_per_item):>8}"
    )


def schedule_table(results: Sequence[Result], *, senders: str) -> list[str]:
    """Latency against the schedule and the send, process CPU, GC and memory of each path."""
    header = (
        f"{'path':<30} {'p50 due':>8} {'p99 due':>8} {'max due':>8} {'p99 sent':>8} "
        f"{'max sent':>8} {'proc µs':>8} {'GC g0/g1/g2':>16} {'GC ms':>9} {'GC max':>9} "
        f"{'GC µs':>8} {'RSS MiB':>8} {'+window':>8}"
    )
    rows = [
        (
            f"{result.name:<30} {ms(result.due_p50):>8} {ms(result.due_p99):>8} "
            f"{ms(result.due_max):>8} {ms(result.p99):>8} {ms(result.max_latency):>8} "
            f"{us(result.process_cpu_per_item):>8} {_gc_cells(result)} "
            f"{result.peak_rss_kib / 1024:>8.1f} {result.peak_rss_growth_kib / 1024:>8.1f}"
        )
        for result in results
    ]
    return [
        f"Against the schedule ({senders}):",
        header,
        "-" * len(header),
        *rows,
        "",
        (
            "due: ms from when each frame was due by the schedule to its state written; sent:"
            " from the sender's stamp; proc µs: HA's whole process (every thread) CPU per item;"
        ),
        (
            "GC g0/g1/g2: collections of each generation in the window; GC ms: their total"
            " pause; GC max: the longest, ms; GC µs: pause per item; RSS: peak RSS of HA's"
            " process at the window's end, and how much the window raised it."
        ),
    ]


def gc_ratio(value: float, base: float) -> str:
    """``ratio``, or "∞ (none in)" when the baseline collected nothing in the window at all."""
    if base == 0 and value > 0:
        return "∞ (none in)"
    return ratio(value, base)


def schedule_comparison(*, hub: Result, raw: Result, items: str) -> list[str]:
    """iot_hub against raw aiohttp on what the separate-process senders measure."""
    hub_gc, raw_gc = hub.gc or GcWatch(), raw.gc or GcWatch()
    return [
        (
            f"  p99 against schedule {ratio(hub.due_p99, raw.due_p99)} raw aiohttp "
            f"({ms(hub.due_p99)} vs {ms(raw.due_p99)} ms; max {ms(hub.due_max)} vs "
            f"{ms(raw.due_max)} ms)"
        ),
        (
            f"  p50 against schedule {ratio(hub.due_p50, raw.due_p50)} raw aiohttp "
            f"({ms(hub.due_p50)} vs {ms(raw.due_p50)} ms)"
        ),
        (
            f"  process CPU per item {ratio(hub.process_cpu_per_item, raw.process_cpu_per_item)}"
            f" raw aiohttp ({us(hub.process_cpu_per_item)} vs "
            f"{us(raw.process_cpu_per_item)} µs, every thread of HA's process)"
        ),
        (
            f"  GC work per item     {gc_ratio(hub.gc_per_item, raw.gc_per_item)} raw aiohttp "
            f"({us(hub.gc_per_item)} vs {us(raw.gc_per_item)} µs per {items.removesuffix('s')};"
            f" {hub_gc.count} vs {raw_gc.count} collections, "
            f"{hub_gc.by_generation[2]} vs {raw_gc.by_generation[2]} full)"
        ),
        (
            f"  longest GC pause     {gc_ratio(hub_gc.longest, raw_gc.longest)} raw aiohttp "
            f"({ms(hub_gc.longest)} vs {ms(raw_gc.longest)} ms; total "
            f"{ms(hub_gc.total)} vs {ms(raw_gc.total)} ms)"
        ),
        (
            f"  peak RSS growth      {hub.peak_rss_growth_kib / 1024:.1f} vs "
            f"{raw.peak_rss_growth_kib / 1024:.1f} MiB in the window (raw ran first, on a "
            f"fresh process: growth shows new peaks only)"
        ),
    ]


def paced_comparison(*, hub: Result, raw: Result, bare: Paced, items: str) -> list[str]:
    """iot_hub against bare HA writing the same entities on the same schedule.

    What is left between them is iot_hub's (and the network's); what both show (full
    collections of a heap of this size, say) is Home Assistant's. With the raw server's
    result and the bare beat's, iot_hub's process CPU per item is split into the network's
    (raw aiohttp's), HA's state machine (paced ``states.async_set`` less the beat), HA's
    sensor entities' write path (paced ``SensorEntity`` writes less paced
    ``states.async_set``) and the rest, iot_hub's own.
    """
    paced, entities, beat = bare.all
    hub_gc, paced_gc, entities_gc = (
        hub.gc or GcWatch(),
        paced.gc or GcWatch(),
        entities.gc or GcWatch(),
    )
    item = items.removesuffix("s")
    network = raw.process_cpu_per_item
    machine = paced.process_cpu_per_item - beat.process_cpu_per_item
    entity = entities.process_cpu_per_item - paced.process_cpu_per_item
    own = hub.process_cpu_per_item - network - machine - entity
    split = [
        (
            f"  CPU per {item:<12}{us(hub.process_cpu_per_item)} µs = network {us(network)} "
            f"(raw aiohttp) + HA's state machine {us(machine)} (paced states.async_set "
            f"{us(paced.process_cpu_per_item)} less the beat alone "
            f"{us(beat.process_cpu_per_item)}) + HA's sensor entities {us(entity)} (paced "
            f"SensorEntity writes {us(entities.process_cpu_per_item)} less paced "
            f"states.async_set) + iot_hub's own {us(own)}"
        ),
        (
            f"  HA-bound share       {ratio(network + machine + entity, network)} raw "
            f"aiohttp is the network and HA's writes; iot_hub's own adds {ratio(own, network)}"
        ),
        (
            f"  bare sensor entities p99 against schedule {ms(entities.due_p99)} ms, "
            f"{entities_gc.by_generation[2]} full collections (longest "
            f"{ms(entities_gc.longest)} ms), GC {us(entities.gc_per_item)} µs per {item}"
        ),
    ]
    return [
        "iot_hub against bare HA on the same schedule (paced states.async_set, no network)",
        (
            f"  p99 against schedule {ratio(hub.due_p99, paced.due_p99)} bare HA "
            f"({ms(hub.due_p99)} vs {ms(paced.due_p99)} ms; max {ms(hub.due_max)} vs "
            f"{ms(paced.due_max)} ms)"
        ),
        (
            f"  GC work per item     {gc_ratio(hub.gc_per_item, paced.gc_per_item)} bare HA "
            f"({us(hub.gc_per_item)} vs {us(paced.gc_per_item)} µs per {item}; "
            f"{hub_gc.by_generation[2]} vs {paced_gc.by_generation[2]} full collections, "
            f"longest {ms(hub_gc.longest)} vs {ms(paced_gc.longest)} ms)"
        ),
        (
            f"  state writes         {hub.writes_per_item:.2f} vs {paced.writes_per_item:.2f}"
            f" per {item} (every state_changed in the window)"
        ),
        (
            f"  process CPU per item {ratio(hub.process_cpu_per_item, paced.process_cpu_per_item)}"
            f" bare HA ({us(hub.process_cpu_per_item)} vs {us(paced.process_cpu_per_item)} µs)"
        ),
        *split,
    ]


def peak_rss_line() -> str:
    """The report's last line: this process's peak resident set size."""
    peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return f"peak RSS of this process: {peak_rss_kib / 1024:.1f} MiB"


def build_parser(
    *,
    prog: str,
    description: str,
    devices: str,
    default_devices: int,
    rate_help: str,
    default_rate: float = DEFAULT_RATE,
    default_seconds: float = DEFAULT_SECONDS,
) -> argparse.ArgumentParser:
    """The command line both benchmarks share: ``--<devices> --rate --seconds --bare-seconds``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        f"--{devices}",
        type=int,
        default=default_devices,
        help=f"simulated {devices} (default %(default)s)",
    )
    parser.add_argument(
        "--rate", type=float, default=default_rate, help=f"{rate_help} (default %(default)s)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=default_seconds,
        help="length of each load phase in seconds (default %(default)s)",
    )
    parser.add_argument(
        "--bare-seconds",
        type=float,
        default=DEFAULT_BARE_SECONDS,
        help="length of each bare-HA tight loop (default %(default)s)",
    )
    return parser


def add_sender_options(parser: argparse.ArgumentParser) -> None:
    """``--senders process|thread`` and ``--sender-processes``: where the devices run."""
    parser.add_argument(
        "--senders",
        choices=("process", "thread"),
        default="process",
        help=(
            "where the devices run: separate processes, latency also against the schedule; or"
            " a thread of HA's process, as before (default %(default)s)"
        ),
    )
    parser.add_argument(
        "--sender-processes",
        type=int,
        default=1,
        help="how many sender processes share the devices (default %(default)s)",
    )


def senders_text(args: argparse.Namespace) -> str:
    """How the report names the senders."""
    if args.senders == "thread":
        return "senders on their own thread"
    return f"senders in {args.sender_processes} separate process(es)"


def hub_capacity(kind: str) -> int:
    """How many devices of ``kind`` one hub holds (HA's cap on an entry's enabled entities)."""
    found = kind_named(kind)
    assert found is not None
    return devices_per_hub(found)


def frames_per_device(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    *,
    devices: str,
    least: int,
    most: int,
    items: str,
    most_devices: int = 1000,
) -> int:
    """Check the load arguments (exiting on bad ones) and return the frames per device.

    Args:
        parser: Reports a bad argument and exits.
        args: Its parsed arguments.
        devices: The name of the device-count option, plural ("ovens").
        least: The fewest frames per device the benchmark can work with.
        most: The most frames per device whose values stay unique and plausible.
        items: What a frame carries, plural ("readings").
        most_devices: The most devices the benchmark drives (the hub's capacity, say).
    """
    per_device: int = math.floor(args.rate * args.seconds)
    if not 1 <= getattr(args, devices) <= most_devices:
        parser.error(f"--{devices} must be between 1 and {most_devices}")
    if not 1 <= getattr(args, "sender_processes", 1) <= getattr(args, devices):
        parser.error(f"--sender-processes must be between 1 and --{devices}")
    if not 0 < args.rate <= 1000 or not 0 < args.seconds <= 600:
        parser.error("--rate must be in (0, 1000] and --seconds in (0, 600]")
    if not least <= per_device <= most:
        parser.error(
            f"--rate x --seconds must give {least}..{most} {items} per {devices.removesuffix('s')}"
        )
    if args.rate > INBOUND_RATE:
        print(
            f"note: iot_hub admits {INBOUND_RATE:g} frames/s per connection; "
            f"{items} above that are dropped by design",
            file=sys.stderr,
        )
    return per_device


def run(
    async_main: Callable[[Sequence[str] | None], Coroutine[Any, Any, int]],
    argv: Sequence[str] | None,
) -> int:
    """Run a benchmark's ``async_main(argv)`` with the benchmarks' logging."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Known start-up notices that say nothing about the benchmark.
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)  # "custom integration"
    logging.getLogger("aiohttp_fast_zlib").setLevel(logging.ERROR)  # "isal not available"
    return asyncio.run(async_main(argv))
