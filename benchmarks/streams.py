"""Fan-out of one reading to 1, 100 and 1,000 live-stream subscribers, against raw aiohttp.

``python -m benchmarks.streams [--subscribers 1,100,1000] [--readings 20] [--runs 3]`` starts
a real Home Assistant in this process (temporary config dir, ``http`` on an ephemeral
127.0.0.1 port, iot_hub with one wearable whose consumer id is ``22``). For each number of
subscribers N, and each run:

* iot_hub: N clients subscribe to seed 004's stream
  ``/api/iot_hub/ws/sensor_data/22/?token=<HA access token>`` (each gets the snapshot first);
  the wearable sends readings over the device WebSocket (``/api/iot_hub/ws``), one at a time,
  and every subscriber should get each one as ``{"type":"sensor_update","data":{...}}``;
* baseline "raw aiohttp": the same clients against a plain ``aiohttp.web`` server on the same
  event loop that does the same job by hand: one sender socket, N subscriber sockets, each
  reading parsed, wrapped in the same frame, serialised once and sent to every subscriber.

The next reading goes out when every subscriber got the previous one (or after a timeout),
so each figure is one reading's fan-out, not a queue. Measured per phase: frames delivered
(of readings x N), latency from "reading sent" to "frame received" by each subscriber
(p50/p99 over every frame), and the HA loop thread's CPU per delivered frame (the raw server
runs on that thread too; connecting and disconnecting are outside the measured window). The
sender and the subscribers run on their own event loop in a thread, sharing
``time.perf_counter`` with HA's. Figures are medians over the runs; the ratios compare
iot_hub with raw aiohttp measured in the same run of the program.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Sequence
import concurrent.futures
import contextlib
from dataclasses import dataclass, field
import json
import math
import statistics
import sys
import threading
import time
from types import MappingProxyType
from typing import Final

import aiohttp
from aiohttp import web
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigSubentryDataWithId

from custom_components.iot_hub.const import (
    CONF_KIND,
    CONF_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER,
    CONF_TOKEN_HASH,
    DOMAIN,
    SUBENTRY_DEVICE,
)
from custom_components.iot_hub.kinds.sensor.const import (
    CONF_CONSUMER_ID,
    CONF_MODELO,
    CONF_SENSOR_ID,
    CONF_TIPO,
)
from custom_components.iot_hub.tokens import hash_token

from .common import Latencies, ms, ratio, run, thread_cpu_seconds, us
from .home_assistant import free_port, running_home_assistant_with

DEFAULT_SUBSCRIBERS: Final = (1, 100, 1000)
DEFAULT_READINGS: Final = 20
DEFAULT_RUNS: Final = 3
CONSUMER: Final = "22"
WEARABLE_TOKEN: Final = "bench-wearable-token-0123456789abcdef"
STREAM_PATH: Final = f"/api/iot_hub/ws/sensor_data/{CONSUMER}/"
# Between two readings at least this long: iot_hub admits 50 frames/s per device connection.
MIN_GAP: Final = 0.025
# How long one reading's fan-out may take before the next one goes anyway.
READING_TIMEOUT: Final = 10.0
CONNECT_TIMEOUT: Final = 120.0
CONNECTING_AT_ONCE: Final = 50  # handshakes in flight (HA validates each token)
EXIT_NO_ROUTE: Final = 3  # the stream route is not served (yet)
TARGET: Final = 2.0  # iot_hub within 2x of raw aiohttp


class RouteMissingError(Exception):
    """The server does not serve the stream route."""


def reading_frame(seq: int) -> str:
    """The wearable's reading number ``seq``: ``accel_x`` carries ``seq`` to match it."""
    return json.dumps(
        {
            "accel_x": float(seq),
            "accel_y": 0.1,
            "accel_z": 9.81,
            "gyro_x": 1.5,
            "gyro_y": -0.5,
            "gyro_z": 0.25,
        }
    )


def seq_of(text: str) -> int | None:
    """The reading a pushed ``sensor_update`` frame carries (None: the snapshot, or other)."""
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    if not isinstance(frame, dict) or frame.get("type") != "sensor_update":
        return None
    data = frame.get("data")
    if not isinstance(data, dict) or not isinstance(value := data.get("accel_x"), int | float):
        return None
    return round(value)


@dataclass(frozen=True, slots=True)
class Phase(Latencies):
    """One server, N subscribers, one run."""

    server: str
    subscribers: int
    sent: int
    delivered: int
    latencies: tuple[float, ...]  # sorted, seconds
    cpu_seconds: float  # HA loop thread, sending to settled
    note: str = ""

    @property
    def expected(self) -> int:
        """Frames that should arrive: every reading to every subscriber."""
        return self.sent * self.subscribers

    @property
    def cpu_per_frame(self) -> float:
        """HA loop-thread CPU seconds per delivered frame."""
        return self.cpu_seconds / self.delivered if self.delivered else math.nan

    @property
    def cpu_per_reading(self) -> float:
        """HA loop-thread CPU seconds per reading sent (its intake and its whole fan-out)."""
        return self.cpu_seconds / self.sent if self.sent else math.nan


@dataclass(slots=True)
class _Tally:
    """The client thread's bookkeeping of one phase."""

    subscribers: int
    readings: int
    sent_at: list[float] = field(init=False)
    got: list[int] = field(init=False)
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    unmatched: int = 0
    sent: int = 0
    current: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        """Preallocate the per-reading slots."""
        self.sent_at = [math.nan] * self.readings
        self.got = [0] * self.readings

    def receive(self, seq: int | None, now: float) -> None:
        """A subscriber got reading ``seq`` at ``now``."""
        if seq is None:
            return
        if not 0 <= seq < self.readings or math.isnan(self.sent_at[seq]):
            self.unmatched += 1
            return
        self.delivered += 1
        self.latencies.append(now - self.sent_at[seq])
        self.got[seq] += 1
        if self.got[seq] == self.subscribers:
            self.current.set()


class FanOutClients:
    """One sender and N subscribers on their own event loop in a thread.

    The HA loop and this thread signal each other with ``call_soon_threadsafe`` and a
    ``threading.Event``, so nothing polls on HA's loop while it is measured.
    """

    def __init__(
        self, sender_url: str, subscriber_url: str, subscribers: int, readings: int
    ) -> None:
        """Plan ``readings`` readings to ``subscribers`` subscribers (call on the HA loop)."""
        self._sender_url = sender_url
        self._subscriber_url = subscriber_url
        self._subscribers = subscribers
        self._readings = readings
        self._main_loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = self._main_loop.create_future()
        self.settled: asyncio.Future[None] = self._main_loop.create_future()
        self._go = threading.Event()
        self._close = threading.Event()
        self.tally = _Tally(subscribers, readings)
        self.close_codes: list[int | None] = []
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fanout")
        self._thread: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Start the client thread; it connects the sender and every subscriber."""
        self._thread = asyncio.wrap_future(self._executor.submit(asyncio.run, self._main()))

    async def wait(self, future: asyncio.Future[None]) -> None:
        """Until ``future`` (``ready`` or ``settled``) is done, or the thread failed."""
        assert self._thread is not None
        await asyncio.wait({future, self._thread}, return_when=asyncio.FIRST_COMPLETED)
        if future.done():
            future.result()  # raises what the thread raised, if it failed
            return
        self._thread.result()  # the thread's error
        raise RuntimeError("the client thread ended early")

    def go(self) -> None:
        """Start sending."""
        self._go.set()

    async def finish(self) -> None:
        """Close every connection and end the thread."""
        self._go.set()
        self._close.set()
        try:
            if self._thread is not None:
                await self._thread
        finally:
            self._executor.shutdown()

    def _signal(self, future: asyncio.Future[None], error: BaseException | None = None) -> None:
        def resolve() -> None:
            if future.done():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        self._main_loop.call_soon_threadsafe(resolve)

    async def _main(self) -> None:
        try:
            await self._serve()
        except BaseException as err:
            # To whichever the HA loop waits for; it also gets it from the thread.
            self._signal(self.settled if self._go.is_set() else self.ready, err)
            raise

    async def _serve(self) -> None:
        tally = self.tally
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
            readers: list[asyncio.Task[None]] = []
            sockets: list[aiohttp.ClientWebSocketResponse] = []

            async def subscribe() -> None:
                async with gate:
                    ws = await _connect(session, self._subscriber_url)
                    sockets.append(ws)
                    # The first frame is the snapshot (or the raw server's hello).
                    first = await ws.receive(timeout=CONNECT_TIMEOUT)
                    if first.type is not aiohttp.WSMsgType.TEXT:
                        raise RuntimeError(f"a subscriber got {first.type.name} first")
                readers.append(asyncio.create_task(self._read(ws)))

            async with asyncio.timeout(CONNECT_TIMEOUT):
                await asyncio.gather(*(subscribe() for _ in range(self._subscribers)))
                sender = await _connect(session, self._sender_url)
            sender_reader = asyncio.create_task(_drain(sender))
            try:
                self._signal(self.ready)
                await asyncio.to_thread(self._go.wait)
                await self._send_all(sender, tally)
                self._signal(self.settled)
                await asyncio.to_thread(self._close.wait)
            finally:
                await sender.close()
                for ws in sockets:
                    await ws.close()
                await asyncio.gather(sender_reader, *readers, return_exceptions=True)
                self.close_codes = [ws.close_code for ws in sockets]

    async def _send_all(self, sender: aiohttp.ClientWebSocketResponse, tally: _Tally) -> None:
        for seq in range(self._readings):
            tally.current.clear()
            began = time.perf_counter()
            tally.sent_at[seq] = began
            await sender.send_str(reading_frame(seq))
            tally.sent += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(READING_TIMEOUT):
                    await tally.current.wait()
            if (rest := began + MIN_GAP - time.perf_counter()) > 0:
                await asyncio.sleep(rest)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        tally = self.tally
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                tally.receive(seq_of(msg.data), time.perf_counter())


async def _connect(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    try:
        return await session.ws_connect(url, heartbeat=None, autoping=True)
    except aiohttp.WSServerHandshakeError as err:
        if err.status == 404:
            raise RouteMissingError(
                f"{url.split('?', maxsplit=1)[0]} is not served (HTTP 404)"
            ) from err
        raise


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass  # the device WebSocket answers only with errors; none are expected


async def measure(
    server: str, sender_url: str, subscriber_url: str, subscribers: int, readings: int
) -> Phase:
    """One phase: connect, then send ``readings`` readings and count what arrives."""
    clients = FanOutClients(sender_url, subscriber_url, subscribers, readings)
    clients.start()
    try:
        await clients.wait(clients.ready)
        cpu_before = thread_cpu_seconds()
        clients.go()
        await clients.wait(clients.settled)
        cpu = thread_cpu_seconds() - cpu_before
    finally:
        await clients.finish()
    tally = clients.tally
    notes = []
    if tally.unmatched:
        notes.append(f"{tally.unmatched} unmatched frames")
    if codes := sorted({c for c in clients.close_codes if c not in (1000, None)}, key=str):
        notes.append(f"close codes {codes}")
    return Phase(
        server=server,
        subscribers=subscribers,
        sent=tally.sent,
        delivered=tally.delivered,
        latencies=tuple(sorted(tally.latencies)),
        cpu_seconds=cpu,
        note="; ".join(notes),
    )


@contextlib.asynccontextmanager
async def raw_broadcast_server() -> AsyncIterator[int]:
    """A plain ``aiohttp.web`` broadcast on 127.0.0.1, on this loop: ``/send`` and ``/sub``.

    Each text frame on ``/send`` is parsed, wrapped as a ``sensor_update`` push, serialised
    once and sent to every ``/sub`` socket in turn; a subscriber gets an empty snapshot
    first, as iot_hub's do. Yields its port.
    """
    subscribers: set[web.WebSocketResponse] = set()

    async def sub(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 + 1)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "sensor_update", "data": []}))
        subscribers.add(ws)
        try:
            async for _ in ws:
                pass
        finally:
            subscribers.discard(ws)
        return ws

    async def send(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 + 1)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            frame = json.dumps({"type": "sensor_update", "data": json.loads(msg.data)})
            for target in list(subscribers):
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await target.send_str(frame)
        return ws

    app = web.Application()
    app.router.add_get("/sub", sub)
    app.router.add_get("/send", send)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


def wearable_entry(subscribers: int) -> ConfigEntry:
    """The hub entry with one wearable (sensor kind, consumer ``22``), as the flow creates it.

    Every subscriber comes from 127.0.0.1 with the same user: the hub's connection caps per
    address and per user (options, 64 and 32 by default) are raised to let them all in.
    """
    return ConfigEntry(
        domain=DOMAIN,
        title="IoT Hub",
        data={},
        options={
            CONF_MAX_CONNECTIONS_PER_ADDRESS: subscribers + 1,
            CONF_MAX_CONNECTIONS_PER_USER: subscribers + 1,
        },
        source=SOURCE_USER,
        unique_id=DOMAIN,
        version=1,
        minor_version=1,
        discovery_keys=MappingProxyType({}),
        subentries_data=[
            ConfigSubentryDataWithId(
                data=MappingProxyType(
                    {
                        CONF_KIND: "sensor",
                        CONF_TOKEN_HASH: hash_token(WEARABLE_TOKEN),
                        CONF_SENSOR_ID: 1,
                        CONF_TIPO: "imu",
                        CONF_MODELO: "MPU6050",
                        CONF_CONSUMER_ID: CONSUMER,
                    }
                ),
                subentry_id="benchwearable",
                subentry_type=SUBENTRY_DEVICE,
                title="Bench wearable",
                unique_id=None,
            )
        ],
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """Medians over the runs of one server at one N."""

    server: str
    subscribers: int
    delivered: int  # the fewest of any run
    expected: int
    p50: float
    p99: float
    cpu_per_frame: float
    cpu_per_reading: float
    notes: str

    def fan_out_cost(self, single: Summary) -> float:
        """CPU per extra subscriber's frame: per reading here, less with one subscriber."""
        if self.subscribers <= single.subscribers:
            return math.nan
        extra = self.subscribers - single.subscribers
        return (self.cpu_per_reading - single.cpu_per_reading) / extra

    @classmethod
    def of(cls, phases: Sequence[Phase]) -> Summary:
        """The medians of ``phases`` (same server, same N)."""
        first = phases[0]
        return cls(
            server=first.server,
            subscribers=first.subscribers,
            delivered=min(p.delivered for p in phases),
            expected=first.expected,
            p50=_median([p.p50 for p in phases]),
            p99=_median([p.p99 for p in phases]),
            cpu_per_frame=_median([p.cpu_per_frame for p in phases]),
            cpu_per_reading=_median([p.cpu_per_reading for p in phases]),
            notes="; ".join(sorted({p.note for p in phases if p.note})),
        )


def _median(values: Sequence[float]) -> float:
    known = [v for v in values if not math.isnan(v)]
    return statistics.median(known) if known else math.nan


def render(args: argparse.Namespace, rows: Sequence[tuple[Summary, Summary | None]]) -> str:
    """The report: the command, a row per server and N, then iot_hub against raw."""
    counts = ",".join(str(n) for n in args.subscribers)
    lines = [
        (
            f"iot_hub stream fan-out benchmark: python -m benchmarks.streams --subscribers "
            f"{counts} --readings {args.readings} --runs {args.runs}"
        ),
        (
            f"one reading at a time to N subscribers of {STREAM_PATH}; medians of "
            f"{args.runs} run(s); clients on their own thread"
        ),
        "",
        f"{'server':<12} {'N':>5} {'delivered':>15} {'p50 ms':>9} {'p99 ms':>9} {'CPU µs/f':>9}",
    ]
    lines.append("-" * len(lines[-1]))
    for raw, hub in rows:
        for summary in (raw, hub):
            if summary is None:
                continue
            row = (
                f"{summary.server:<12} {summary.subscribers:>5} "
                f"{f'{summary.delivered}/{summary.expected}':>15} {ms(summary.p50):>9} "
                f"{ms(summary.p99):>9} {us(summary.cpu_per_frame):>9}"
            )
            lines.append(f"{row}   ({summary.notes})" if summary.notes else row)
    lines += [
        "",
        "delivered: frames received of readings x N (fewest of any run); p50/p99: reading sent",
        "-> frame received, over every frame; CPU µs/f: HA loop-thread CPU per delivered frame",
        "(iot_hub's includes taking the reading in: decoding, entity states, the feed).",
        "",
        f"iot_hub against raw aiohttp (target: within {TARGET:g}x)",
    ]
    for raw, hub in rows:
        if hub is None:
            lines.append(f"  N={raw.subscribers:<5} iot_hub not measured")
            continue
        figures = (
            ("p50", hub.p50, raw.p50),
            ("p99", hub.p99, raw.p99),
            ("CPU/frame", hub.cpu_per_frame, raw.cpu_per_frame),
        )
        verdicts = [f"{name} {ratio(mine, base)}" for name, mine, base in figures]
        within = all(mine <= TARGET * base for _, mine, base in figures) and (
            hub.delivered == hub.expected
        )
        lines.append(
            f"  N={raw.subscribers:<5} {', '.join(verdicts)}; all delivered: "
            f"{'yes' if hub.delivered == hub.expected else 'NO'}; "
            f"{'within' if within else 'NOT within'} {TARGET:g}x"
        )
    lines += _fan_out_lines(rows)
    return "\n".join(lines)


def _fan_out_lines(rows: Sequence[tuple[Summary, Summary | None]]) -> list[str]:
    """The fan-out's own CPU: what each subscriber beyond the first costs (needs N=1)."""
    singles = [(raw, hub) for raw, hub in rows if raw.subscribers == 1]
    if not singles or singles[0][1] is None:
        return []
    raw_one, hub_one = singles[0]
    assert hub_one is not None
    lines = [
        "",
        "fan-out alone: CPU per reading at N less at N=1, per extra subscriber (the reading's",
        "intake, paid once, cancels out)",
    ]
    for raw, hub in rows:
        if hub is None or raw.subscribers == 1:
            continue
        mine, base = hub.fan_out_cost(hub_one), raw.fan_out_cost(raw_one)
        lines.append(
            f"  N={raw.subscribers:<5} iot_hub {us(mine)} µs vs raw aiohttp {us(base)} µs "
            f"per extra frame: {ratio(mine, base)}"
        )
    return lines


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError("a comma-separated list of numbers") from err
    if not counts or not all(1 <= n <= 5000 for n in counts):
        raise argparse.ArgumentTypeError("each number of subscribers must be in 1..5000")
    return counts


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.streams``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.streams",
        description="Benchmark the fan-out of seed 004's live stream against raw aiohttp.",
    )
    parser.add_argument(
        "--subscribers",
        type=_counts,
        default=DEFAULT_SUBSCRIBERS,
        help="numbers of subscribers, comma-separated (default 1,100,1000)",
    )
    parser.add_argument(
        "--readings",
        type=int,
        default=DEFAULT_READINGS,
        help="readings per phase (default %(default)s)",
    )
    parser.add_argument(
        "--runs", type=int, default=DEFAULT_RUNS, help="runs per phase (default %(default)s)"
    )
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run every phase and print the report.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0, or ``EXIT_NO_ROUTE`` when iot_hub does not serve the stream.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.readings <= 10_000 or not 1 <= args.runs <= 20:
        parser.error("--readings must be in 1..10000 and --runs in 1..20")
    phases: dict[tuple[str, int], list[Phase]] = {}
    missing = ""
    port = free_port()
    async with (
        running_home_assistant_with(wearable_entry(max(args.subscribers)), port=port) as (
            _hass,
            token,
        ),
        raw_broadcast_server() as raw_port,
    ):
        hub_urls = (
            f"ws://127.0.0.1:{port}/api/iot_hub/ws?token={WEARABLE_TOKEN}",
            f"ws://127.0.0.1:{port}{STREAM_PATH}?token={token}",
        )
        raw_urls = (f"ws://127.0.0.1:{raw_port}/send", f"ws://127.0.0.1:{raw_port}/sub")
        for run_index in range(args.runs):
            for n in args.subscribers:
                print(f"run {run_index + 1}: {n} subscribers...", file=sys.stderr)
                phases.setdefault(("raw aiohttp", n), []).append(
                    await measure("raw aiohttp", *raw_urls, n, args.readings)
                )
                if missing:
                    continue
                try:
                    phase = await measure("iot_hub", *hub_urls, n, args.readings)
                except RouteMissingError as err:
                    missing = str(err)
                    continue
                phases.setdefault(("iot_hub", n), []).append(phase)
    rows = [
        (
            Summary.of(phases[("raw aiohttp", n)]),
            Summary.of(phases[("iot_hub", n)]) if ("iot_hub", n) in phases else None,
        )
        for n in args.subscribers
    ]
    print(render(args, rows))
    if missing:
        print(f"iot_hub's stream is not there: {missing}", file=sys.stderr)
        return EXIT_NO_ROUTE
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.streams``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
