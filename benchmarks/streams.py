"""Fan-out of one wearable's readings to 1, 100 and 1,000 live-stream subscribers, against raw aiohttp.

``python -m benchmarks.streams [--subscribers 1,100,1000] [--readings 100] [--rate 10]
[--runs 3]`` starts a real Home Assistant in this process (temporary config dir, ``http`` on
an ephemeral 127.0.0.1 port, iot_hub with one wearable whose consumer id is ``22``). For
each number of subscribers N, and each run, two phases, one per server, each with its own
client process (``benchmarks.stream_clients``: the wearable and the N subscribers):

* iot_hub: N clients subscribe to seed 004's stream
  ``/api/iot_hub/ws/sensor_data/22/?token=<HA access token>`` (each gets the snapshot first);
  the wearable sends its readings over the device WebSocket (``/api/iot_hub/ws``) and every
  subscriber should get each one as ``{"type":"sensor_update","data":{...}}``;
* baseline "raw aiohttp": the same clients against a plain ``aiohttp.web`` server on HA's
  event loop that does the same job by hand: one sender socket, N subscriber sockets, each
  reading parsed, wrapped in the same frame, serialised once and sent to every subscriber.

The schedule: the wearable sends ``--readings`` readings at ``--rate`` per second, each at
its due time whether or not the previous one reached every subscriber yet, as a real wearable
does (seed 004's sends 50 a second; iot_hub admits 50 frames/s per device connection). A
server that cannot fan a reading out before the next is due falls behind, and the latency
against the schedule shows its queue. Waiting for every subscriber before sending the next
reading (as this benchmark once did) would hide that queue: the sender would slow to the
server's pace and each latency would start late. Latency runs from each reading's due time
(p50, p99, max) and from the wearable's send stamp (p50, p99) to each subscriber's receipt,
over every frame; the client process stamps both on ``CLOCK_REALTIME`` (``time.time_ns``).

In HA's process, per phase, from "go" until the clients report every frame received (or,
after a few idle seconds, lost): the CPU of HA's loop thread and of the whole process (every
thread; the clients are not in it) per delivered frame; garbage collections
(``gc.callbacks``): how many of each generation, their total and longest pause, and the
pause per delivered frame; the peak RSS at the window's end, and how much the window raised
it. The client process's own CPU (share of one core) and how late the wearable sent (p99
after due) are shown too: when either is high, the clients, not the server, set the pace.

The report has a table per N, a row per server, each figure the median over ``--runs``;
then iot_hub against raw aiohttp: each figure's ratio taken within a run, then the median
over runs; and what each subscriber beyond the first costs. The two servers take turns
going first from one run to the next.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
import contextlib
from dataclasses import dataclass, field
import json
import math
import os
from pathlib import Path
import platform
import sys
import tempfile
import time
from types import MappingProxyType
from typing import Any, Final

import aiohttp
from aiohttp import web
from homeassistant import const as ha_const
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
from custom_components.iot_hub.transport.limits import INBOUND_RATE

from .child import Child, ChildError
from .common import GcWatch, Result, Window, median, median_ratio, ms, percentile, ratio, run, us
from .home_assistant import free_port, running_home_assistant_with
from .stream_clients import CONNECT_TIMEOUT, SETTLE_MAX, Plan, due_offset_ns

DEFAULT_SUBSCRIBERS: Final = (1, 100, 1000)
DEFAULT_READINGS: Final = 100
DEFAULT_RATE: Final = 10.0
DEFAULT_RUNS: Final = 3
CONSUMER: Final = "22"
WEARABLE_TOKEN: Final = "bench-wearable-token-0123456789abcdef"
STREAM_PATH: Final = f"/api/iot_hub/ws/sensor_data/{CONSUMER}/"
# Ahead of "go": the first reading is due once the clients surely got the command.
LEAD_NS: Final = 100_000_000
EXIT_NO_ROUTE: Final = 3  # the stream route is not served (yet)
TARGET: Final = 2.0  # iot_hub within 2x of raw aiohttp
SERVERS: Final = ("raw aiohttp", "iot_hub")


class RouteMissingError(Exception):
    """The server does not serve the stream route."""


@dataclass(frozen=True, slots=True)
class Phase(Result):
    """One server, N subscribers, one run: ``sent`` readings, ``delivered`` frames."""

    subscribers: int = 0
    clients_cpu_seconds: float = math.nan  # the client process's, within the window
    send_lags: tuple[float, ...] = ()  # sorted, seconds the wearable sent after the due time

    @property
    def cpu_per_reading(self) -> float:
        """HA loop-thread CPU seconds per reading sent (its intake and its whole fan-out)."""
        return self.cpu_seconds / self.sent if self.sent else math.nan

    @property
    def clients_busy(self) -> float:
        """Share of one core the client process used during the window."""
        return self.clients_cpu_seconds / self.seconds if self.seconds > 0 else math.nan


def _gc(phase: Phase) -> GcWatch:
    return phase.gc or GcWatch()


# Every figure of a phase the report gives, by name (seconds, counts, KiB).
FIGURES: Final[dict[str, Callable[[Phase], float]]] = {
    "p50": lambda p: p.p50,
    "p99": lambda p: p.p99,
    "due_p50": lambda p: p.due_p50,
    "due_p99": lambda p: p.due_p99,
    "due_max": lambda p: p.due_max,
    "loop_cpu": lambda p: p.cpu_per_item,
    "process_cpu": lambda p: p.process_cpu_per_item,
    "cpu_per_reading": lambda p: p.cpu_per_reading,
    "gc_g0": lambda p: _gc(p).by_generation[0],
    "gc_g1": lambda p: _gc(p).by_generation[1],
    "gc_g2": lambda p: _gc(p).by_generation[2],
    "gc_count": lambda p: _gc(p).count,
    "gc_total": lambda p: _gc(p).total,
    "gc_longest": lambda p: _gc(p).longest,
    "gc_per_frame": lambda p: p.gc_per_item,
    "rss": lambda p: p.peak_rss_kib,
    "rss_growth": lambda p: p.peak_rss_growth_kib,
    "clients_busy": lambda p: p.clients_busy,
    "send_lag_p99": lambda p: percentile(p.send_lags, 0.99),
}


async def measure(
    server: str, sender_url: str, subscriber_url: str, subscribers: int, args: argparse.Namespace
) -> Phase:
    """One phase: the clients connect, then the schedule runs; what HA's process spent."""
    with tempfile.TemporaryDirectory(prefix="iot_hub_streams_") as tmp:
        plan = Plan(
            sender_url=sender_url,
            subscriber_url=subscriber_url,
            subscribers=subscribers,
            readings=args.readings,
            rate=args.rate,
            out=str(Path(tmp) / "stamps.json"),
        )
        try:
            async with Child.running(
                "benchmarks.stream_clients", plan.to_json(), ready_within=CONNECT_TIMEOUT * 2
            ) as clients:
                began = time.perf_counter()
                with Window.measuring() as window:
                    start_ns = time.time_ns() + LEAD_NS
                    # The schedule, then the settling after it (SETTLE_MAX at most).
                    async with asyncio.timeout(args.readings / args.rate + SETTLE_MAX + 60):
                        sent = int(await clients.ask(f"go {start_ns}", "done"))
                seconds = time.perf_counter() - began
                closed = await clients.stop("closed")
        except ChildError as err:
            if err.line.startswith("missing "):
                path = err.line.removeprefix("missing ")
                raise RouteMissingError(f"{path} is not served (HTTP 404)") from err
            raise
        text = await asyncio.to_thread(Path(plan.out).read_text, encoding="utf-8")
        stamps = json.loads(text)
    report = json.loads(closed) if closed else {}
    latencies, due_latencies, unmatched = frame_latencies(
        start_ns, args.rate, stamps["sent_ns"], stamps["received_ns"]
    )
    sent_ns: list[int] = stamps["sent_ns"]
    lags = sorted(
        (stamp - start_ns - due_offset_ns(seq, args.rate)) / 1e9
        for seq, stamp in enumerate(sent_ns)
        if stamp
    )
    return Phase(
        name=server,
        sent=sent,
        delivered=len(latencies),
        seconds=seconds,
        latencies=latencies,
        cpu_seconds=window.cpu_seconds,
        note=_notes(report, unmatched),
        due_latencies=due_latencies,
        process_cpu_seconds=window.process_cpu_seconds,
        gc=window.gc,
        peak_rss_kib=window.peak_rss_kib,
        peak_rss_growth_kib=window.peak_rss_growth_kib,
        subscribers=subscribers,
        clients_cpu_seconds=stamps["cpu_seconds"],
        send_lags=tuple(lags),
    )


def frame_latencies(
    start_ns: int, rate: float, sent_ns: Sequence[int], received_ns: Sequence[Sequence[int]]
) -> tuple[tuple[float, ...], tuple[float, ...], int]:
    """Sorted latencies against the send and the due time, and frames of no sent reading."""
    latencies: list[float] = []
    due_latencies: list[float] = []
    unmatched = 0
    for row in received_ns:
        for seq, (sent, arrived) in enumerate(zip(sent_ns, row, strict=True)):
            if not arrived:
                continue
            if not sent:
                unmatched += 1
                continue
            latencies.append((arrived - sent) / 1e9)
            due_latencies.append((arrived - start_ns - due_offset_ns(seq, rate)) / 1e9)
    return tuple(sorted(latencies)), tuple(sorted(due_latencies)), unmatched


def _notes(report: dict[str, Any], unmatched: int) -> str:
    notes = []
    if count := unmatched + report.get("unmatched", 0):
        notes.append(f"{count} unmatched frames")
    if failures := report.get("send_failures"):
        notes.append(f"send failures: {failures}")
    codes = report.get("close_codes") or []
    if unexpected := sorted({c for c in codes if c not in (1000, None)}, key=str):
        notes.append(f"close codes {unexpected}")
    return "; ".join(notes)


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


@dataclass(slots=True)
class Runs:
    """Every run at one number of subscribers: a phase per server measured."""

    subscribers: int
    readings: int  # planned per phase
    runs: list[dict[str, Phase]] = field(default_factory=list)

    def measured(self, server: str) -> bool:
        """Whether ``server`` was measured in any run."""
        return any(server in phases for phases in self.runs)

    def median(self, server: str, figure: str) -> float:
        """The median over runs of one figure of one server."""
        value = FIGURES[figure]
        return median(value(phases[server]) for phases in self.runs if server in phases)

    def pairs(self, figure: str) -> list[tuple[float, float]]:
        """``(iot_hub, raw aiohttp)`` values of one figure, one pair per run."""
        value = FIGURES[figure]
        return [
            (value(phases["iot_hub"]), value(phases["raw aiohttp"]))
            for phases in self.runs
            if "iot_hub" in phases and "raw aiohttp" in phases
        ]

    def fewest_delivered(self, server: str) -> int:
        """The fewest frames delivered in any run."""
        return min(phases[server].delivered for phases in self.runs if server in phases)

    def all_delivered(self, server: str) -> bool:
        """Whether every run got every planned frame (readings x N) to its subscribers."""
        return self.fewest_delivered(server) == self.readings * self.subscribers

    def notes(self, server: str) -> str:
        """The notes of every run, once each."""
        notes = {phases[server].note for phases in self.runs if server in phases}
        return "; ".join(sorted(note for note in notes if note))


def _vs(runs: Runs, figure: str) -> str:
    """iot_hub's figure over raw aiohttp's: each run's ratio, the median over runs."""
    pairs = runs.pairs(figure)
    value = median_ratio(pairs)
    if not math.isnan(value):
        return f"{value:.2f}x"
    if any(hub > 0 and base == 0 for hub, base in pairs):
        return "∞ (none in raw)"
    if pairs and all(hub == base == 0 for hub, base in pairs):
        return "none in either"
    return "n/a"


def _within(runs: Runs) -> bool:
    """iot_hub delivered everything, and its latency and CPU stayed within ``TARGET``x."""
    figures = ("due_p50", "due_p99", "loop_cpu", "process_cpu")
    ratios = [median_ratio(runs.pairs(figure)) for figure in figures]
    return runs.all_delivered("iot_hub") and all(r <= TARGET for r in ratios)


def _share(value: float) -> str:
    return "-" if math.isnan(value) else f"{value * 100:.0f}%"


HEADER: Final = (
    f"{'server':<11} {'delivered':>11} {'p50 sent':>8} {'p99 sent':>8} {'p50 due':>8} "
    f"{'p99 due':>8} {'max due':>8} {'loop µs':>7} {'proc µs':>7} {'GC g0/g1/g2':>12} "
    f"{'GC ms':>7} {'GC max':>7} {'GC µs':>6} {'RSS MiB':>7} {'+win':>6} {'cli%':>5} "
    f"{'lag ms':>7}"
)

LEGEND: Final = (
    "delivered: frames received of readings x N (the fewest of any run); p50/p99 sent: the",
    "wearable's send stamp -> frame received; p50/p99/max due: the reading's due time by the",
    "schedule -> frame received, over every frame; loop µs, proc µs: CPU of HA's loop thread,",
    "of HA's whole process, per delivered frame (iot_hub's includes taking the reading in:",
    "decoding, entity states, the feed); GC g0/g1/g2: collections of each generation in HA's",
    "process in the window; GC ms: their total pause; GC max: the longest (ms); GC µs: pause",
    "per delivered frame; RSS MiB: HA's peak RSS at the window's end; +win: how much the window",
    "raised it (new peaks only); cli%: CPU of the client process, of one core; lag ms: p99 of",
    "how late the wearable sent after the due time (both high: the clients set the pace).",
)


def _row(runs: Runs, server: str) -> str:
    def med(figure: str) -> float:
        return runs.median(server, figure)

    delivered = f"{runs.fewest_delivered(server)}/{runs.readings * runs.subscribers}"
    generations = "/".join(f"{med(f'gc_g{g}'):g}" for g in range(3))
    row = (
        f"{server:<11} {delivered:>11} {ms(med('p50')):>8} {ms(med('p99')):>8} "
        f"{ms(med('due_p50')):>8} {ms(med('due_p99')):>8} {ms(med('due_max')):>8} "
        f"{us(med('loop_cpu')):>7} {us(med('process_cpu')):>7} {generations:>12} "
        f"{ms(med('gc_total')):>7} {ms(med('gc_longest')):>7} {us(med('gc_per_frame')):>6} "
        f"{med('rss') / 1024:>7.1f} {med('rss_growth') / 1024:>6.1f} "
        f"{_share(med('clients_busy')):>5} {ms(med('send_lag_p99')):>7}"
    )
    notes = runs.notes(server)
    return f"{row}   ({notes})" if notes else row


def _comparison(runs: Runs) -> list[str]:
    """iot_hub against raw aiohttp at one N."""
    head = f"  N={runs.subscribers:<5}"
    if not runs.measured("iot_hub"):
        return [f"{head} iot_hub not measured"]
    delivered = runs.all_delivered("iot_hub")
    frames = runs.readings * runs.subscribers

    def both(figure: str) -> str:
        return " vs ".join(f"{runs.median(server, figure):g}" for server in SERVERS[::-1])

    return [
        (
            f"{head} all delivered: {'yes' if delivered else 'NO'} ({frames} frames planned);"
            f" within {TARGET:g}x: {'yes' if _within(runs) else 'NO'}"
        ),
        (
            f"    latency         p50 due {_vs(runs, 'due_p50')}, p99 due {_vs(runs, 'due_p99')}"
            f", max due {_vs(runs, 'due_max')}; p50 sent {_vs(runs, 'p50')}, p99 sent"
            f" {_vs(runs, 'p99')}"
        ),
        (
            f"    CPU per frame   loop thread {_vs(runs, 'loop_cpu')}, whole process"
            f" {_vs(runs, 'process_cpu')}"
        ),
        (
            f"    GC              per frame {_vs(runs, 'gc_per_frame')}, longest pause"
            f" {_vs(runs, 'gc_longest')}; collections {both('gc_count')} (full:"
            f" {both('gc_g2')})"
        ),
        (
            f"    peak RSS        +{runs.median('iot_hub', 'rss_growth') / 1024:.1f} vs"
            f" +{runs.median('raw aiohttp', 'rss_growth') / 1024:.1f} MiB in the window"
        ),
    ]


def _fan_out_lines(table: Sequence[Runs]) -> list[str]:
    """The fan-out's own CPU: what each subscriber beyond the first costs (needs N=1)."""
    singles = [runs for runs in table if runs.subscribers == 1 and runs.measured("iot_hub")]
    if not singles:
        return []
    [one] = singles
    lines = [
        "",
        "fan-out alone: HA loop-thread CPU per reading at N less at N=1, per extra subscriber",
        "(the reading's intake, paid once, cancels out); medians over runs",
    ]
    for runs in table:
        if runs.subscribers == 1 or not runs.measured("iot_hub"):
            continue
        extra = runs.subscribers - 1
        hub, base = (
            (runs.median(server, "cpu_per_reading") - one.median(server, "cpu_per_reading")) / extra
            for server in SERVERS[::-1]
        )
        lines.append(
            f"  N={runs.subscribers:<5} iot_hub {us(hub)} µs vs raw aiohttp {us(base)} µs "
            f"per extra frame: {ratio(hub, base)}"
        )
    return lines


def render(args: argparse.Namespace, table: Sequence[Runs]) -> str:
    """The report: the command, a table per N, then iot_hub against raw aiohttp."""
    counts = ",".join(str(n) for n in args.subscribers)
    runs = f"{args.runs} run{'s' if args.runs != 1 else ''}"
    lines = [
        (
            f"iot_hub stream fan-out benchmark: python -m benchmarks.streams --subscribers "
            f"{counts} --readings {args.readings} --rate {args.rate:g} --runs {args.runs}"
        ),
        (
            f"Home Assistant {ha_const.__version__}, Python {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs; the wearable and the subscribers "
            f"in a separate process (one per phase)"
        ),
        (
            f"{args.readings} readings at {args.rate:g}/s on schedule (one every "
            f"{1000 / args.rate:g} ms) to N subscribers of {STREAM_PATH}; medians of {runs}"
        ),
    ]
    for runs_at in table:
        n = runs_at.subscribers
        lines += [
            "",
            (
                f"N={n}: {args.readings} readings x {n} subscriber{'s' if n != 1 else ''} = "
                f"{args.readings * n} frames"
            ),
            HEADER,
            "-" * len(HEADER),
            *(_row(runs_at, server) for server in SERVERS if runs_at.measured(server)),
        ]
    lines += [
        "",
        *LEGEND,
        "",
        f"iot_hub against raw aiohttp: each run's ratio, the median over {runs}",
        (
            f"(within {TARGET:g}x: every frame delivered, and p50 due, p99 due, loop and process"
            " CPU per frame at most that)"
        ),
    ]
    for runs_at in table:
        lines += _comparison(runs_at)
    lines += _fan_out_lines(table)
    return "\n".join(lines)


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
        description=(
            "Benchmark the fan-out of seed 004's live stream against a raw aiohttp broadcast,"
            " with the wearable and the subscribers in a separate process."
        ),
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
        help="readings the wearable sends per phase (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=(
            "readings per second, each sent at its due time whatever the server's pace "
            f"(default %(default)s; seed 004's wearable sends 50; iot_hub admits "
            f"{INBOUND_RATE:g})"
        ),
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
    if not 0 < args.rate <= 1000 or args.readings / args.rate > 3600:
        parser.error("--rate must be in (0, 1000] and a phase at most an hour")
    if args.rate > INBOUND_RATE:
        print(
            f"note: iot_hub admits {INBOUND_RATE:g} frames/s per device connection; "
            "readings above that are dropped by design",
            file=sys.stderr,
        )
    table = [Runs(n, args.readings) for n in args.subscribers]
    missing = ""
    port = free_port()
    async with (
        running_home_assistant_with(wearable_entry(max(args.subscribers)), port=port) as (
            _hass,
            token,
        ),
        raw_broadcast_server() as raw_port,
    ):
        urls = {
            "iot_hub": (
                f"ws://127.0.0.1:{port}/api/iot_hub/ws?token={WEARABLE_TOKEN}",
                f"ws://127.0.0.1:{port}{STREAM_PATH}?token={token}",
            ),
            "raw aiohttp": (f"ws://127.0.0.1:{raw_port}/send", f"ws://127.0.0.1:{raw_port}/sub"),
        }
        for run_index in range(args.runs):
            # Taking turns: whichever goes first in a run meets a cooler heap and pays for
            # new peaks of memory.
            order = SERVERS if run_index % 2 == 0 else SERVERS[::-1]
            for runs_at in table:
                phases: dict[str, Phase] = {}
                for server in order:
                    if server == "iot_hub" and missing:
                        continue
                    print(
                        f"run {run_index + 1}: {runs_at.subscribers} subscribers, {server}...",
                        file=sys.stderr,
                    )
                    try:
                        phases[server] = await measure(
                            server, *urls[server], runs_at.subscribers, args
                        )
                    except RouteMissingError as err:
                        missing = str(err)
                runs_at.runs.append(phases)
    print(render(args, table))
    if missing:
        print(f"iot_hub's stream is not there: {missing}", file=sys.stderr)
        return EXIT_NO_ROUTE
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.streams``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
