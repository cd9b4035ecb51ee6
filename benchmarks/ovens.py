"""How many oven readings per second iot_hub turns into Home Assistant states, and how fast.

``python -m benchmarks.ovens [--ovens N] [--rate R] [--seconds S]`` starts a real Home
Assistant in this process (temporary config dir, ``http`` on an ephemeral 127.0.0.1 port,
iot_hub with N oven subentries), connects N simulated ovens, and has each send R readings per
second for S seconds. Measured:

* iot_hub: readings per second that became states of the ovens' temperature sensors
  (``state_changed`` events), and the latency from "frame sent" to "state written";
* baseline "raw aiohttp": the same senders and load against a plain ``aiohttp.web``
  WebSocket server on another port of the same event loop, which parses the float and calls
  a callback, i.e. the floor any WebSocket-to-Python path pays;
* baseline "bare HA": how fast Home Assistant itself writes states of a trivial entity
  (``async_write_ha_state``, and ``hass.states.async_set``) in a tight loop, counted the
  same way, i.e. HA's own ceiling for state writes on this machine.

Every reading carries a unique value (its sequence number / 10), so a state is matched to the
frame that caused it; the senders run on their own event loop in a thread (devices are not on
HA's loop) and ``time.perf_counter`` is shared by both. CPU is the HA loop thread's own
(``RUSAGE_THREAD``), so the senders' cost is not counted against the server.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
import concurrent.futures
import contextlib
from dataclasses import dataclass, field
import logging
import math
import os
import platform
import resource
import sys
import time
from typing import Any, Final

import aiohttp
from aiohttp import web
from homeassistant import const as ha_const
from homeassistant.const import ATTR_DEVICE_ID, EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_component import EntityComponent

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.transport.limits import INBOUND_RATE

from .home_assistant import RunningHomeAssistant, free_port, running_home_assistant

_LOGGER = logging.getLogger(__name__)

DEFAULT_OVENS: Final = 20
DEFAULT_RATE: Final = 10.0
DEFAULT_SECONDS: Final = 10.0
DEFAULT_BARE_SECONDS: Final = 1.5
# A reading's value is its sequence number / 10, which must stay within the oven codec's
# plausible range (≤ 2000 °C): at most this many readings per oven.
MAX_READINGS_PER_OVEN: Final = 20_000
# After the last frame: how long in-flight frames get to arrive before the count is final.
SETTLE_TIMEOUT: Final = 5.0
CONNECT_TIMEOUT: Final = 30.0
IDENTIFY_FRAME: Final = '{"type": "esp32"}'


def reading_text(seq: int) -> str:
    """The frame of reading number ``seq``: a unique, plausible temperature."""
    return f"{seq / 10:.1f}"


def reading_seq(value: float) -> int:
    """Inverse of ``reading_text``."""
    return round(value * 10)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN when there are none)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def thread_cpu_seconds() -> float:
    """CPU time (user + system) of the calling thread."""
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime


@dataclass(slots=True)
class Collector:
    """Matches each delivered reading to its send time; written by both threads.

    The sender thread writes ``sent_at[oven][seq]`` just before sending the frame and the HA
    loop reads that slot only after the frame arrived, so they never race for a slot.
    """

    ovens: int
    per_oven: int
    sent_at: list[list[float]] = field(init=False)
    latencies: list[float] = field(default_factory=list)
    sent: int = 0  # written by the sender thread only
    delivered: int = 0
    unmatched: int = 0
    last_delivery: float = math.nan
    # Set (on the HA loop) once ``delivered`` reaches ``expected``.
    expected: float = math.inf
    all_delivered: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        """Preallocate the send-time table."""
        self.sent_at = [[math.nan] * self.per_oven for _ in range(self.ovens)]

    def deliver(self, oven: int, value: float) -> None:
        """Reading ``value`` of oven ``oven`` reached its destination now (HA loop)."""
        now = time.perf_counter()
        seq = reading_seq(value)
        if not 0 <= seq < self.per_oven or math.isnan(sent := self.sent_at[oven][seq]):
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


@dataclass(frozen=True, slots=True)
class Result:
    """One measured path."""

    name: str
    sent: int
    delivered: int
    seconds: float  # the measured window
    latencies: tuple[float, ...]  # sorted, seconds
    cpu_seconds: float  # HA loop thread, within the window
    note: str = ""

    @property
    def rate(self) -> float:
        """Delivered readings (or state writes) per second."""
        return self.delivered / self.seconds if self.seconds > 0 else math.nan

    @property
    def p50(self) -> float:
        """Median latency in seconds."""
        return percentile(self.latencies, 0.50)

    @property
    def p99(self) -> float:
        """99th percentile latency in seconds."""
        return percentile(self.latencies, 0.99)

    @property
    def cpu_per_item(self) -> float:
        """HA loop-thread CPU seconds per delivered reading."""
        return self.cpu_seconds / self.delivered if self.delivered else math.nan

    @property
    def busy(self) -> float:
        """Share of one core the HA loop thread used during the window."""
        return self.cpu_seconds / self.seconds if self.seconds > 0 else math.nan


@dataclass(slots=True)
class SenderReport:
    """What the sender thread saw besides its own frames going out."""

    commands: int = 0  # START/STOP frames (sessions started by the benchmark)
    error_frames: list[str] = field(default_factory=list)
    send_failures: list[str] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)


class SenderFleet:
    """N lean ovens on their own event loop in a thread: connect, then send on cue.

    Lean on purpose: the simulator's thermal model and printing would add noise, so these
    send exactly the seed's frames (``{"type": "esp32"}``, then bare numbers) on a fixed
    schedule. The two loops signal each other with ``call_soon_threadsafe`` only, so nothing
    polls on HA's loop while it is measured.
    """

    def __init__(self, urls: Sequence[str], rate: float, per_oven: int) -> None:
        """Plan ``per_oven`` readings at ``rate``/s to each URL (call on the HA loop)."""
        self._urls = list(urls)
        self._rate = rate
        self._per_oven = per_oven
        self.collector = Collector(len(self._urls), per_oven)
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

    def start(self) -> None:
        """Start the sender thread; it connects every oven."""
        self._thread = asyncio.wrap_future(self._executor.submit(asyncio.run, self._main()))

    async def wait_connected(self) -> None:
        """Until every oven is connected and identified.

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
        raise TimeoutError("the ovens did not connect")

    def go(self) -> None:
        """Start sending (from the HA loop)."""
        assert self._sender_loop is not None
        self._sender_loop.call_soon_threadsafe(self._on_go)

    async def wait_sent(self) -> None:
        """Until every oven sent its last frame (or gave up)."""
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
        # A little ahead, so every oven's first beat is in the future when it wakes.
        self._started_at = time.perf_counter() + 0.02
        self._begin.set()

    async def _main(self) -> None:
        self._sender_loop = asyncio.get_running_loop()
        begin = self._begin = asyncio.Event()
        finish = self._finish = asyncio.Event()
        connected_all = asyncio.Event()
        connected = finished = 0

        async def oven(index: int, url: str, session: aiohttp.ClientSession) -> None:
            nonlocal connected, finished
            ws = await session.ws_connect(url)
            reader = asyncio.create_task(self._drain(ws))
            try:
                await ws.send_str(IDENTIFY_FRAME)
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

        # No connection limit: aiohttp's default (100) would hold oven 101 back forever.
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            tasks = [asyncio.create_task(oven(i, url, session)) for i, url in enumerate(self._urls)]
            waiter = asyncio.create_task(connected_all.wait())
            await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():  # an oven failed to connect: surface its error
                waiter.cancel()
                await asyncio.gather(*tasks)
            self._main_loop.call_soon_threadsafe(self._connected.set_result, None)
            await asyncio.gather(*tasks)

    async def _send_all(
        self, index: int, ws: aiohttp.ClientWebSocketResponse, finish: asyncio.Event
    ) -> None:
        # Stagger the ovens evenly within one period: real ovens are not in sync.
        start = self._started_at + index / (len(self._urls) * self._rate)
        row = self.collector.sent_at[index]
        for seq in range(self._per_oven):
            if finish.is_set():
                return
            delay = start + seq / self._rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            row[seq] = time.perf_counter()
            try:
                await ws.send_str(reading_text(seq))
            except (ConnectionError, RuntimeError) as err:
                row[seq] = math.nan
                self.report.send_failures.append(f"oven {index}: {err}")
                return
            self.collector.sent += 1

    async def _drain(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        # Read what the server sends (START, or error frames such as the rate limit's) so
        # it is reported and never piles up.
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            if msg.data.strip() in ("START", "STOP"):
                self.report.commands += 1
            else:
                self.report.error_frames.append(msg.data)


async def _measure_load(
    name: str,
    urls: Sequence[str],
    *,
    rate: float,
    per_oven: int,
    install: Callable[[Collector], Callable[[], None]],
    before_go: Callable[[], Awaitable[None]] | None = None,
) -> Result:
    """Drive the fleet against one server; ``install`` hooks deliveries and returns an undo."""
    fleet = SenderFleet(urls, rate, per_oven)
    collector = fleet.collector
    uninstall = install(collector)
    try:
        fleet.start()
        await fleet.wait_connected()
        if before_go is not None:
            await before_go()
        cpu_before = thread_cpu_seconds()
        fleet.go()
        await fleet.wait_sent()
        collector.expect(collector.sent)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SETTLE_TIMEOUT):
                await collector.all_delivered.wait()
        cpu = thread_cpu_seconds() - cpu_before
        await fleet.finish()
    finally:
        uninstall()
    # The planned window, or longer if the server fell behind and finished late.
    planned = per_oven / rate
    span = collector.last_delivery - collector.first_sent
    return Result(
        name=name,
        sent=collector.sent,
        delivered=collector.delivered,
        seconds=max(planned, span) if not math.isnan(span) else planned,
        latencies=tuple(sorted(collector.latencies)),
        cpu_seconds=cpu,
        note=_notes(fleet.report, collector),
    )


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


async def measure_raw_aiohttp(ovens: int, rate: float, per_oven: int) -> Result:
    """The same load against a plain aiohttp WebSocket server on this loop."""
    sink: list[Collector] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        # Same limits as iot_hub's endpoint, so only what happens per frame differs.
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=16 * 1024)
        await ws.prepare(request)
        oven = int(request.query["oven"])
        collector = sink[0]
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                try:
                    value = float(msg.data)
                except ValueError:
                    continue  # the {"type": "esp32"} identification
                collector.deliver(oven, value)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:

        def install(collector: Collector) -> Callable[[], None]:
            sink.append(collector)
            return sink.clear

        urls = [f"ws://127.0.0.1:{port}/ws?oven={i}" for i in range(ovens)]
        return await _measure_load(
            "raw aiohttp WS server", urls, rate=rate, per_oven=per_oven, install=install
        )
    finally:
        await runner.cleanup()


async def measure_iot_hub(
    ha: RunningHomeAssistant, rate: float, per_oven: int, sessions: bool
) -> tuple[Result, int | None]:
    """The load through HA's HTTP server into iot_hub; returns also the readings sessions kept."""
    hass = ha.hass
    index = {oven.temperature_entity: i for i, oven in enumerate(ha.ovens)}
    device_ids = _ha_device_ids(ha)

    def install(collector: Collector) -> Callable[[], None]:
        @callback
        def on_state_changed(event: Event[EventStateChangedData]) -> None:
            oven = index.get(event.data["entity_id"])
            if oven is None or (new_state := event.data["new_state"]) is None:
                return
            try:
                value = float(new_state.state)
            except ValueError:
                return  # unknown / unavailable while connecting
            collector.deliver(oven, value)

        return hass.bus.async_listen(EVENT_STATE_CHANGED, on_state_changed)

    async def start_sessions() -> None:
        if sessions:
            await _start_sessions(hass, device_ids)

    urls = [f"{ha.ws_url}?token={oven.token}" for oven in ha.ovens]
    result = await _measure_load(
        "iot_hub (HA HTTP server)",
        urls,
        rate=rate,
        per_oven=per_oven,
        install=install,
        before_go=start_sessions,
    )
    kept = await _stop_sessions(hass, device_ids) if sessions else None
    return result, kept


async def _start_sessions(hass: HomeAssistant, device_ids: Sequence[str]) -> None:
    # All ovens must show as connected before a session can start.
    for device_id in device_ids:
        await hass.services.async_call(
            DOMAIN, "start_session", {ATTR_DEVICE_ID: device_id}, blocking=True
        )


async def _stop_sessions(hass: HomeAssistant, device_ids: Sequence[str]) -> int:
    # The ovens are gone by now; stopping still ends the sessions (as from the UI).
    for device_id in device_ids:
        await hass.services.async_call(
            DOMAIN, "stop_session", {ATTR_DEVICE_ID: device_id}, blocking=True
        )
    response = await hass.services.async_call(
        DOMAIN, "get_sessions", {"limit": 10000}, blocking=True, return_response=True
    )
    assert response is not None
    records = response["sessions"]
    assert isinstance(records, list)
    total = 0
    for record in records:
        assert isinstance(record, dict)
        summary = record["summary"]
        assert isinstance(summary, dict)
        readings = summary["readings"]
        assert isinstance(readings, int)
        total += readings
    return total


def _ha_device_ids(ha: RunningHomeAssistant) -> list[str]:
    registry = dr.async_get(ha.hass)
    ids = []
    for oven in ha.ovens:
        device = registry.async_get_device_by_identifier(
            (DOMAIN, oven.subentry_id), ha.entry.entry_id
        )
        assert device is not None
        ids.append(device.id)
    return ids


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


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.3f}"


def _us(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e6:.1f}"


def _ratio(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "n/a"
    return f"{value / base:.2f}x"


def _row(result: Result) -> str:
    row = (
        f"{result.name:<30} {result.sent:>8} {result.delivered:>9} {result.rate:>10.1f} "
        f"{_ms(result.p50):>8} {_ms(result.p99):>8} {_us(result.cpu_per_item):>9} "
        f"{result.busy * 100:>6.1f}%"
    )
    return f"{row}   ({result.note})" if result.note else row


def render(
    args: argparse.Namespace,
    *,
    raw: Result,
    hub: Result,
    bare: Sequence[Result],
    session_readings: int | None,
    peak_rss_kib: int,
) -> str:
    """The report: a table of every path, then iot_hub against the baselines."""
    offered = args.ovens * args.rate
    write = bare[0]
    header = (
        f"{'path':<30} {'sent':>8} {'delivered':>9} {'per s':>10} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'CPU µs/r':>9} {'loop':>7}"
    )
    lines = [
        (
            f"iot_hub oven benchmark: {args.ovens} ovens x {args.rate:g} readings/s x "
            f"{args.seconds:g} s = {offered:g} readings/s offered"
        ),
        (
            f"Home Assistant {ha_const.__version__}, Python {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs; senders on their own thread"
        ),
        "",
        header,
        "-" * len(header),
        *(_row(result) for result in (raw, hub, *bare)),
        "",
        (
            "per s: readings (or state writes) delivered per second; p50/p99: frame sent ->"
            " state written (callback run, for raw aiohttp);"
        ),
        (
            "CPU µs/r: HA loop-thread CPU per reading; loop: that thread's CPU share of one"
            " core during the phase."
        ),
        (
            "At these rates the loop idles between frames, so each frame runs on cold caches;"
            " the bare-HA tight loops run warm."
        ),
        "",
        "iot_hub against the baselines",
        (
            f"  delivered            {hub.delivered}/{hub.sent} readings "
            f"({hub.sent - hub.delivered} lost); raw aiohttp {raw.delivered}/{raw.sent}"
        ),
        (
            f"  throughput           {_ratio(hub.rate, raw.rate)} raw aiohttp "
            f"({hub.rate:.1f} vs {raw.rate:.1f} readings/s; offered {offered:g}/s)"
        ),
        (
            f"  latency p50          {_ratio(hub.p50, raw.p50)} raw aiohttp "
            f"({_ms(hub.p50)} vs {_ms(raw.p50)} ms)"
        ),
        (
            f"  latency p99          {_ratio(hub.p99, raw.p99)} raw aiohttp "
            f"({_ms(hub.p99)} vs {_ms(raw.p99)} ms)"
        ),
        (
            f"  CPU per reading      {_ratio(hub.cpu_per_item, raw.cpu_per_item)} raw aiohttp, "
            f"{_ratio(hub.cpu_per_item, write.cpu_per_item)} one bare async_write_ha_state "
            f"({_us(hub.cpu_per_item)} vs {_us(raw.cpu_per_item)} vs "
            f"{_us(write.cpu_per_item)} µs)"
        ),
        (
            f"  HA loop busy         {_ratio(hub.busy, raw.busy)} raw aiohttp "
            f"({hub.busy * 100:.1f}% vs {raw.busy * 100:.1f}% of one core)"
        ),
        (
            f"  offered load         {offered / write.rate * 100:.2f}% of what bare HA writes "
            f"per second ({write.rate:,.0f}/s)"
        ),
    ]
    if session_readings is not None:
        verdict = "all" if session_readings == hub.delivered else "NOT all"
        lines.append(
            f"  sessions kept        {session_readings} readings "
            f"({verdict} of the {hub.delivered} delivered)"
        )
    lines += ["", f"peak RSS of this process: {peak_rss_kib / 1024:.1f} MiB"]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.ovens``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ovens",
        description="Benchmark iot_hub's oven path against raw aiohttp and bare HA writes.",
    )
    parser.add_argument(
        "--ovens", type=int, default=DEFAULT_OVENS, help="simulated ovens (default %(default)s)"
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, help="readings/s per oven (default %(default)s)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help="length of each load phase in seconds (default %(default)s)",
    )
    parser.add_argument(
        "--bare-seconds",
        type=float,
        default=DEFAULT_BARE_SECONDS,
        help="length of each bare-HA tight loop (default %(default)s)",
    )
    parser.add_argument(
        "--sessions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run a measurement session on every oven during the iot_hub phase (default: yes)",
    )
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run every phase and print the report.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    per_oven = math.floor(args.rate * args.seconds)
    if not 1 <= args.ovens <= 1000:
        parser.error("--ovens must be between 1 and 1000")
    if not 0 < args.rate <= 1000 or not 0 < args.seconds <= 600:
        parser.error("--rate must be in (0, 1000] and --seconds in (0, 600]")
    if not 1 <= per_oven <= MAX_READINGS_PER_OVEN:
        parser.error(f"--rate x --seconds must give 1..{MAX_READINGS_PER_OVEN} readings per oven")
    if args.rate > INBOUND_RATE:
        print(
            f"note: iot_hub admits {INBOUND_RATE:g} frames/s per connection; "
            "readings above that are dropped by design",
            file=sys.stderr,
        )
    async with running_home_assistant(args.ovens) as ha:
        print(f"Home Assistant up on {ha.ws_url}; measuring raw aiohttp...", file=sys.stderr)
        raw = await measure_raw_aiohttp(args.ovens, args.rate, per_oven)
        print("measuring iot_hub...", file=sys.stderr)
        hub, session_readings = await measure_iot_hub(ha, args.rate, per_oven, args.sessions)
        print("measuring bare HA state writes...", file=sys.stderr)
        bare = await measure_bare_ha(ha.hass, args.bare_seconds)
    peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        render(
            args,
            raw=raw,
            hub=hub,
            bare=bare,
            session_readings=session_readings,
            peak_rss_kib=peak_rss_kib,
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.ovens``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Known start-up notices that say nothing about the benchmark.
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)  # "custom integration"
    logging.getLogger("aiohttp_fast_zlib").setLevel(logging.ERROR)  # "isal not available"
    return asyncio.run(async_main(argv))


if __name__ == "__main__":
    sys.exit(main())
