"""What one device reading costs Home Assistant's loop through iot_hub, in a warm loop.

``python -m benchmarks.reading_path --kind oven|sensor [--devices N] [--per-device F]
[--rate R] [--rounds K] [--calls C]`` starts a real Home Assistant in this process
(``benchmarks.home_assistant``: ``http`` and iot_hub, N devices of the kind showing every
reading, ``record_interval`` 0) and N lean devices in a *separate process* (this module run
with ``--sender``), each on its own real WebSocket: ovens send a bare temperature, sensors
``benchmarks.recorder``'s wearable readings (seven values). Every reading carries new values,
so each one is a state change. Phases, on the same connections, each F readings per device at
R/s:

* ``warm`` (untimed): entities created, caches warm; the state writes per reading counted;
* ``gc`` (K times, GC on): CPU of HA's loop thread per reading (``time.thread_time``, the
  wait until every reading arrived and the loop ran its follow-up work included), garbage
  collections per 1,000 readings by generation and their time per reading (``gc.callbacks``);
* ``nogc`` (GC off): GC-tracked objects a reading leaves behind (the growth of generation
  0's count) and the cyclic garbage one collection then finds, per reading;
* in process, no socket, GC off, K rounds alternated: ``hub.receive`` called C times in
  a loop as the WebSocket view calls it, with the entity update (``with entity write``) and
  with ``DeviceRuntime.notify`` stubbed out (``iot_hub's own part``).

The baseline, measured in the same run with the same probes: a bare
``async_write_ha_state`` of ``benchmarks.common.TrivialEntity`` with a new state each time,
C writes in a tight loop. Every figure is printed with it and as a ratio against it.
The senders run in their own process so that neither their CPU nor their garbage counts
against HA's; what the socket figures add over the in-process ones is asyncio's and
aiohttp's work per frame (the reader task's wake-up, the frame parsing).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
import contextlib
from dataclasses import dataclass, field
import gc
import json
import logging
import math
import os
import platform
import shlex
import statistics
import sys
import time
from typing import Any, Final

import aiohttp
from homeassistant import const as ha_const
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import (
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_component import EntityComponent

from custom_components.iot_hub.const import WS_PATH
from custom_components.iot_hub.device import DeviceRuntime
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kind import Inbound, Source

from .appliances import until
from .child import Child, answer, commands
from .common import TrivialEntity, ratio, run
from .home_assistant import bench_ovens, free_port, hub_entry, running_home_assistant_with
from .recorder import bench_wearables, wearable_frame, wearable_subentry

_LOGGER = logging.getLogger(__name__)

KINDS: Final = ("oven", "sensor")
DEFAULT_DEVICES: Final = 200
DEFAULT_PER_DEVICE: Final = 20
DEFAULT_RATE: Final = 2.0
DEFAULT_ROUNDS: Final = 3
DEFAULT_CALLS: Final = 30_000
READY_TIMEOUT: Final = 60.0  # the sender process connected every device
# After the last frame went out: how long the readings get to arrive.
SETTLE_TIMEOUT: Final = 30.0
# A frame's values come from its sequence number; an oven's temperature stays plausible.
OVEN_SPAN: Final = 5000


def frame_text(kind: str, seq: int) -> str:
    """Reading ``seq`` of a device: new values every reading (a state change each time)."""
    if kind == "oven":
        return f"{20 + (seq % OVEN_SPAN) / 10:.1f}"
    return wearable_frame(seq, DEFAULT_RATE)


# -- the sender process --------------------------------------------------------------------------


async def send_frames(kind: str, urls: Sequence[str], per_device: int, rate: float) -> None:
    """The sender process: connect every device, then on each ``go`` line send one phase.

    Answers ``ready`` once connected and ``sent <frames>`` after each phase; ends at the end
    of its input. Device ``i`` is staggered by ``i / (devices x rate)`` within a period, as
    real devices are not in sync.
    """
    loop = asyncio.get_running_loop()
    # No connection limit: aiohttp's default (100) would hold device 101 back forever.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = [await session.ws_connect(url) for url in urls]
        drains = [asyncio.create_task(_drain(ws)) for ws in sockets]
        answer("ready")
        seq = 0
        async for line in commands():
            if line != "go":
                break
            # Device i's beats are staggered by i / (devices x rate) within a period.
            start = loop.time()
            period = 1 / rate
            sent = await asyncio.gather(
                *(
                    _send(
                        ws,
                        kind=kind,
                        first=seq,
                        count=per_device,
                        start=start + i * period / len(sockets),
                        period=period,
                    )
                    for i, ws in enumerate(sockets)
                )
            )
            seq += per_device
            answer(f"sent {sum(sent)}")
        for ws in sockets:
            await ws.close()
        for task in drains:
            task.cancel()


async def _send(
    ws: aiohttp.ClientWebSocketResponse,
    *,
    kind: str,
    first: int,
    count: int,
    start: float,
    period: float,
) -> int:
    """Readings ``first``... of one device, one per ``period`` from ``start`` (loop time)."""
    loop = asyncio.get_running_loop()
    for step in range(count):
        if (delay := start + step * period - loop.time()) > 0:
            await asyncio.sleep(delay)
        await ws.send_str(frame_text(kind, first + step))
    return count


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Read (and drop) what the server sends, so it never piles up."""
    async for _message in ws:
        pass


@contextlib.asynccontextmanager
async def senders_process(
    kind: str, urls: Sequence[str], per_device: int, rate: float
) -> AsyncIterator[Child]:
    """This module run with ``--sender``, once every device is connected; ended after."""
    plan = json.dumps({"kind": kind, "urls": list(urls), "per": per_device, "rate": rate})
    async with Child.running(
        "benchmarks.reading_path", "--sender", plan, ready_within=READY_TIMEOUT
    ) as senders:
        yield senders


# -- the probes ----------------------------------------------------------------------------------


@dataclass(slots=True)
class GcGenerations:
    """Garbage collections while installed, by generation, and their total time (seconds)."""

    counts: list[int] = field(default_factory=lambda: [0, 0, 0])
    seconds: float = 0.0
    _started: float = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.counts[min(info["generation"], 2)] += 1
        self.seconds += time.perf_counter() - self._started

    @contextlib.contextmanager
    def watching(self) -> Iterator[GcGenerations]:
        """Count collections within the block."""
        gc.callbacks.append(self._on_gc)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._on_gc)


@contextlib.contextmanager
def gc_off() -> Iterator[None]:
    """Collected before, no collection within."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(slots=True)
class Figures:
    """One path's figures, per reading (or per bare write); NaN where not measured."""

    cpu_us: list[float] = field(default_factory=list)  # one per ``gc`` phase
    gc_us: list[float] = field(default_factory=list)
    collections: list[list[float]] = field(default_factory=list)  # per 1,000, by generation
    objects: float = float("nan")
    garbage: float = float("nan")
    with_write_us: list[float] = field(default_factory=list)  # in process, one per round
    own_us: list[float] = field(default_factory=list)


def bare_entity_writes(entity: TrivialEntity, calls: int, first: int) -> None:
    """``calls`` bare state writes, each a new state."""
    for seq in range(first, first + calls):
        entity._attr_state = seq  # noqa: SLF001  (the entity's own field, set as it would)
        entity.async_write_ha_state()


async def measure_bare(hass: HomeAssistant, calls: int, rounds: int) -> Figures:
    """The baseline: a trivial entity's ``async_write_ha_state``, with the readings' probes."""
    component: EntityComponent[Entity] = EntityComponent(_LOGGER, "bench", hass)
    entity = TrivialEntity()
    await component.async_add_entities([entity])
    await hass.async_block_till_done()
    figures = Figures()
    seq = 1
    bare_entity_writes(entity, calls, seq)  # warm up
    seq += calls
    for _ in range(rounds):
        gc.collect()
        with GcGenerations().watching() as watch:
            start = time.thread_time()
            bare_entity_writes(entity, calls, seq)
            await hass.async_block_till_done()
            cpu = time.thread_time() - start
        seq += calls
        figures.cpu_us.append(cpu / calls * 1e6)
        figures.gc_us.append(watch.seconds / calls * 1e6)
        figures.collections.append([n * 1000 / calls for n in watch.counts])
    with gc_off():
        before = gc.get_count()[0]
        bare_entity_writes(entity, calls, seq)
        await hass.async_block_till_done()
        figures.objects = (gc.get_count()[0] - before) / calls
        figures.garbage = gc.collect() / calls
        seq += calls
    for _ in range(rounds):
        with gc_off():
            start = time.thread_time()
            bare_entity_writes(entity, calls, seq)
            figures.with_write_us.append((time.thread_time() - start) / calls * 1e6)
        seq += calls
    return figures


# -- the readings --------------------------------------------------------------------------------


class Readings:
    """The hub's frames counted as the WebSocket view hands them over."""

    def __init__(self, hub: Hub) -> None:
        """Count from now on (``hub.receive`` wrapped on the instance: looked up per frame)."""
        self.count = 0
        self.expected = 0
        self.arrived = asyncio.Event()
        receive = hub.receive

        def counting(device: DeviceRuntime, inbound: Inbound) -> None:
            self.count += 1
            if self.count == self.expected:
                self.arrived.set()
            receive(device, inbound)

        setattr(hub, "receive", counting)  # noqa: B010

    def expect(self, count: int) -> None:
        """Count from zero until ``count``."""
        self.count = 0
        self.expected = count
        self.arrived.clear()


async def socket_phase(
    hass: HomeAssistant, senders: Child, readings: Readings, expected: int, seconds: float
) -> tuple[float, int]:
    """One phase over the sockets: loop-thread CPU seconds and readings arrived."""
    readings.expect(expected)
    start = time.thread_time()
    await senders.send("go")
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds + SETTLE_TIMEOUT):
            await readings.arrived.wait()
    await hass.async_block_till_done()
    cpu = time.thread_time() - start
    await senders.expect("sent")
    return cpu, readings.count


@contextlib.contextmanager
def counting_writes(hass: HomeAssistant) -> Iterator[list[int]]:
    """Count state writes: ``[changed, reported unchanged]``."""
    counts = [0, 0]

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        counts[0] += 1

    @callback
    def reported(data: EventStateReportedData) -> bool:
        counts[1] += 1
        return False  # counted here; no listener needs to run

    @callback
    def never(event: Event[EventStateReportedData]) -> None:
        """Never called: the filter drops every event."""

    undo = [
        hass.bus.async_listen(EVENT_STATE_CHANGED, changed),
        hass.bus.async_listen(EVENT_STATE_REPORTED, never, event_filter=reported),
    ]
    try:
        yield counts
    finally:
        for unsub in undo:
            unsub()


@contextlib.contextmanager
def notify_stubbed() -> Iterator[None]:
    """``DeviceRuntime.notify`` does nothing: no entity hears of the reading."""
    notify = DeviceRuntime.notify
    setattr(DeviceRuntime, "notify", lambda _self, _what: None)  # noqa: B010
    try:
        yield
    finally:
        setattr(DeviceRuntime, "notify", notify)  # noqa: B010


def receive_loop(hub: Hub, calls: Sequence[tuple[DeviceRuntime, str]]) -> float:
    """``hub.receive`` of each frame as the WebSocket view calls it; CPU seconds."""
    receive = Hub.receive  # the class's, not the counting wrapper
    start = time.thread_time()
    for device, text in calls:
        assert device.link is not None
        receive(hub, device, Inbound(Source.DEVICE, text, device.link))
    return time.thread_time() - start


@dataclass(slots=True)
class Frames:
    """The in-process rounds' frames: device by device in turn, each reading new."""

    kind: str
    devices: Sequence[DeviceRuntime]
    calls: int
    first: int  # the next unused sequence number of every device

    def next(self) -> list[tuple[DeviceRuntime, str]]:
        """One round's frames, built before the clock runs."""
        count = len(self.devices)
        frames = [
            (self.devices[i % count], frame_text(self.kind, self.first + i // count))
            for i in range(self.calls)
        ]
        self.first += -(-self.calls // count)
        return frames


@dataclass(frozen=True, slots=True)
class Run:
    """What one run measured."""

    kind: str
    devices: int
    per_phase: int
    arrived: list[int]  # readings per socket phase (warm, gc..., nogc)
    writes: tuple[float, float]  # state writes per reading: changed, reported unchanged
    hub: Figures
    bare: Figures


async def measure(args: argparse.Namespace) -> Run:
    """Every phase of one kind, then the baseline, on one Home Assistant."""
    if args.kind == "oven":
        ovens = bench_ovens(args.devices)
        entry: ConfigEntry = hub_entry(ovens)
        tokens = [oven.token for oven in ovens]
    else:
        wearables = bench_wearables(args.devices)
        entry = hub_entry((), others=[wearable_subentry(w) for w in wearables])
        tokens = [wearable.token for wearable in wearables]
    port = free_port()
    async with running_home_assistant_with(entry, port=port) as (hass, _token):
        hub: Hub = entry.runtime_data
        readings = Readings(hub)
        urls = [f"ws://127.0.0.1:{port}{WS_PATH}?token={token}" for token in tokens]
        per_phase = args.devices * args.per_device
        seconds = args.per_device / args.rate
        figures = Figures()
        arrived = []
        async with senders_process(args.kind, urls, args.per_device, args.rate) as senders:
            devices = [hub.devices[subentry_id] for subentry_id in entry.subentries]
            await until(lambda: all(d.connected for d in devices), "every device connected")
            await hass.async_block_till_done()
            _, count = await socket_phase(hass, senders, readings, per_phase, seconds)
            arrived.append(count)
            for _ in range(args.rounds):
                gc.collect()
                with GcGenerations().watching() as watch:
                    cpu, count = await socket_phase(hass, senders, readings, per_phase, seconds)
                arrived.append(count)
                figures.cpu_us.append(cpu / count * 1e6)
                figures.gc_us.append(watch.seconds / count * 1e6)
                figures.collections.append([n * 1000 / count for n in watch.counts])
            with gc_off():
                before = gc.get_count()[0]
                _, count = await socket_phase(hass, senders, readings, per_phase, seconds)
                figures.objects = (gc.get_count()[0] - before) / count
                figures.garbage = gc.collect() / count
            arrived.append(count)
            # In process, on the same connected devices; each device's readings go on from
            # where the sender's left off, so every one is still new.
            plan = Frames(args.kind, devices, args.calls, (args.rounds + 2) * args.per_device)
            with counting_writes(hass) as counts:  # untimed: what a reading writes
                receive_loop(hub, plan.next())
                await hass.async_block_till_done()
            writes = (counts[0] / args.calls, counts[1] / args.calls)
            for _ in range(args.rounds):
                for own in (False, True):
                    calls = plan.next()
                    with gc_off(), notify_stubbed() if own else contextlib.nullcontext():
                        cpu = receive_loop(hub, calls)
                    target = figures.own_us if own else figures.with_write_us
                    target.append(cpu / args.calls * 1e6)
                    await hass.async_block_till_done()
        bare = await measure_bare(hass, args.calls, args.rounds)
    return Run(args.kind, args.devices, per_phase, arrived, writes, figures, bare)


# -- the report ----------------------------------------------------------------------------------


def _row(label: str, value: float, base: float, digits: int = 2) -> str:
    return f"  {label:<44} {value:>10.{digits}f} {base:>10.{digits}f} {ratio(value, base):>9}"


def render(argv: Sequence[str], args: argparse.Namespace, result: Run) -> str:
    """The report: its command, the setup, then every figure against the bare write."""
    hub, bare = result.hub, result.bare
    median = statistics.median
    noun = "ovens" if result.kind == "oven" else "sensors (wearables)"
    lines = [
        f"command: python -m benchmarks.reading_path {shlex.join(argv)}".rstrip(),
        (
            f"Home Assistant {ha_const.__version__}, Python {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs; senders in a separate process"
        ),
        (
            f"{result.devices} {noun} at record_interval 0, {args.per_device} readings each per"
            f" phase at {args.rate:g}/s: {result.per_phase} readings per socket phase"
        ),
        f"readings arrived per socket phase: {' '.join(map(str, result.arrived))}",
        (
            f"state writes per reading: {result.writes[0]:.2f} changed,"
            f" {result.writes[1]:.2f} reported unchanged"
        ),
        "",
        f"  {'per reading (bare: per write)':<44} {'iot_hub':>10} {'bare HA':>10} {'ratio':>9}",
        f"socket path, GC on (median of {args.rounds} phases)",
        _row("loop-thread CPU µs", median(hub.cpu_us), median(bare.cpu_us)),
        _row("GC µs", median(hub.gc_us), median(bare.gc_us)),
    ]
    lines += [
        _row(
            f"gen-{gen} collections per 1,000",
            median(c[gen] for c in hub.collections),
            median(c[gen] for c in bare.collections),
        )
        for gen in range(3)
    ]
    lines += [
        "socket path, GC off",
        _row("net GC-tracked objects", hub.objects, bare.objects, 4),
        _row("cyclic garbage objects", hub.garbage, bare.garbage, 4),
        f"in process, GC off ({args.calls} calls, min of {args.rounds} rounds)",
        _row("hub.receive with entity write µs", min(hub.with_write_us), min(bare.with_write_us)),
        _row(
            "  the same per state written µs",
            min(hub.with_write_us) / result.writes[0] if result.writes[0] else math.nan,
            min(bare.with_write_us),
        ),
        _row("iot_hub's own part (notify stubbed) µs", min(hub.own_us), min(bare.with_write_us)),
        "",
        (
            "bare HA: async_write_ha_state of a trivial entity, a new state each write, in a"
            " tight loop (no socket)"
        ),
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.reading_path``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.reading_path",
        description="What one reading costs HA's loop through iot_hub, against a bare write.",
    )
    parser.add_argument("--kind", choices=KINDS, default="oven")
    parser.add_argument(
        "--devices", type=int, default=DEFAULT_DEVICES, help="devices (default %(default)s)"
    )
    parser.add_argument(
        "--per-device",
        type=int,
        default=DEFAULT_PER_DEVICE,
        help="readings per device per socket phase (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help="readings/s per device (default %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help="gc phases and in-process rounds (default %(default)s)",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=DEFAULT_CALLS,
        help="hub.receive calls (and bare writes) per in-process round (default %(default)s)",
    )
    parser.add_argument("--sender", metavar="PLAN", help=argparse.SUPPRESS)
    return parser


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit on arguments the benchmark cannot work with."""
    if not 1 <= args.devices <= 1000:
        parser.error("--devices must be between 1 and 1000")
    if not 1 <= args.per_device <= OVEN_SPAN // 10 or not 0 < args.rate <= 25:
        parser.error(f"--per-device must be in 1..{OVEN_SPAN // 10}, --rate in (0, 25]")
    if args.rounds < 1 or args.calls < args.devices:
        parser.error("--rounds must be at least 1 and --calls at least --devices")


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run every phase and print the report (or, with ``--sender``, be the senders)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sender is not None:
        plan: dict[str, Any] = json.loads(args.sender)
        await send_frames(plan["kind"], plan["urls"], plan["per"], plan["rate"])
        return 0
    check(parser, args)
    result = await measure(args)
    print(render(argv, args, result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.reading_path``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
