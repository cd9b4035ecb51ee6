"""How many EV-charger metrics per second iot_hub turns into Home Assistant states, and how fast.

``python -m benchmarks.chargers [--chargers N] [--rate R] [--seconds S]`` starts a real Home
Assistant in this process (``benchmarks.home_assistant``: temporary config dir, ``http`` on an
ephemeral 127.0.0.1 port, iot_hub with N charger subentries at stations "1".."N" and a fixed
price), connects N lean chargers speaking seed 002 (``?role=publisher&estacionId=N``), starts
a session on each (the ``iot_hub.start_session`` action; the hub sends ``start`` to the
charger), and has each send R ``metrics`` frames per second for S seconds. Measured:

* iot_hub: metrics per second that became states of the chargers' power sensors
  (``sensor.<name>_power``, ``state_changed`` events), and the latency from "frame sent" to
  "state written"; also how many states iot_hub wrote per metric (voltage, current, power,
  session energy, cost, duration, lifetime energy...), and whether the sessions kept all the
  energy the frames carried (the trapezoid of the sent powers, 3 s apart on the device clock);
* baseline "raw aiohttp": the same senders and load against a plain ``aiohttp.web``
  WebSocket server on another port of the same event loop that decodes the JSON and calls a
  callback, i.e. the floor any WebSocket-to-Python path pays;
* baseline "bare HA": Home Assistant's own state-write ceiling in a tight loop (as in
  ``benchmarks.ovens``).

Every frame's ``w`` is unique (1000 W + its sequence number / 10), so a power state is matched
to the frame that caused it. The senders are the oven benchmark's fleet (their own event loop
in a thread, ``time.perf_counter`` shared) with charger frames; CPU is the HA loop thread's.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib
import json
import logging
import math
import os
import platform
import resource
import sys
import time
from typing import Final

import aiohttp
from aiohttp import web
from homeassistant import const as ha_const
from homeassistant.const import ATTR_DEVICE_ID, EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.transport.limits import INBOUND_RATE

from .home_assistant import RunningHomeAssistant, free_port, running_home_assistant
from .ovens import (
    SETTLE_TIMEOUT,
    Collector,
    Result,
    SenderFleet,
    _ms,
    _ratio,
    _row,
    _us,
    measure_bare_ha,
    thread_cpu_seconds,
)

DEFAULT_CHARGERS: Final = 20
DEFAULT_RATE: Final = 10.0
DEFAULT_SECONDS: Final = 10.0
DEFAULT_BARE_SECONDS: Final = 1.5
# w = BASE_W + seq / 10 stays a plausible charger power (≤ 350 kW) for this many frames.
BASE_W: Final = 1000.0
MAX_METRICS_PER_CHARGER: Final = 20_000
TS_STEP: Final = 3.0  # device seconds between two metrics: the seed's cadence
VOLTS: Final = 230.0
SESSION_TIMEOUT: Final = 10.0


def metrics_text(session_id: int | None, seq: int, ts: float) -> str:
    """The seed's ``metrics`` frame number ``seq``: a unique power, 3 device seconds apart."""
    watts = metrics_watts(seq)
    return json.dumps(
        {
            "type": "metrics",
            "session_id": session_id,
            "v": VOLTS,
            "a": round(watts / VOLTS, 2),
            "w": watts,
            "ts": ts + seq * TS_STEP,
        },
        separators=(",", ":"),
    )


def metrics_watts(seq: int) -> float:
    """The power of frame ``seq``."""
    return round(BASE_W + seq / 10, 1)


def seq_value(watts: float) -> float:
    """What ``Collector.deliver`` takes for a power (it maps value * 10 back to ``seq``)."""
    return watts - BASE_W


def expected_kwh(count: int) -> float:
    """The energy of ``count`` consecutive frames: trapezoids between them, as iot_hub meters."""
    return sum(
        (metrics_watts(seq) + metrics_watts(seq + 1)) / 2 * TS_STEP / 3_600_000
        for seq in range(count - 1)
    )


class ChargerFleet(SenderFleet):
    """The oven benchmark's sender fleet, speaking seed 002's publisher side instead.

    Each charger waits for ``{"type": "connected"}`` (iot_hub; the raw server sends none),
    remembers the ``session_id`` of the ``start`` it is sent, and sends ``metrics`` frames.
    """

    def __init__(
        self, urls: Sequence[str], rate: float, per_charger: int, *, greeted: bool
    ) -> None:
        """Plan ``per_charger`` metrics at ``rate``/s to each URL (call on the HA loop)."""
        super().__init__(urls, rate, per_charger)
        self._greeted = greeted
        self.session_ids: list[int | None] = [None] * len(self._urls)
        # Set on the HA loop once every charger was sent its ``start``.
        self.all_started = asyncio.Event()
        self._clock = time.time()

    async def _main(self) -> None:
        self._sender_loop = asyncio.get_running_loop()
        begin = self._begin = asyncio.Event()
        finish = self._finish = asyncio.Event()
        connected_all = asyncio.Event()
        connected = finished = 0

        async def charger(index: int, url: str, session: aiohttp.ClientSession) -> None:
            nonlocal connected, finished
            ws = await session.ws_connect(url)
            greeting = asyncio.Event()
            reader = asyncio.create_task(self._read(index, ws, greeting))
            try:
                if self._greeted:
                    async with asyncio.timeout(SESSION_TIMEOUT):
                        await greeting.wait()
                connected += 1
                if connected == len(self._urls):
                    connected_all.set()
                await begin.wait()
                await self._send_metrics(index, ws, finish)
                finished += 1
                if finished == len(self._urls):
                    self._main_loop.call_soon_threadsafe(self._all_sent.set)
                await finish.wait()
            finally:
                await ws.close()
                await reader
                self.report.close_codes.append(ws.close_code)

        # No connection limit: aiohttp's default (100) would hold charger 101 back forever.
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            tasks = [
                asyncio.create_task(charger(i, url, session)) for i, url in enumerate(self._urls)
            ]
            waiter = asyncio.create_task(connected_all.wait())
            await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():  # a charger failed to connect: surface its error
                waiter.cancel()
                await asyncio.gather(*tasks)
            self._main_loop.call_soon_threadsafe(self._connected.set_result, None)
            await asyncio.gather(*tasks)

    async def _send_metrics(
        self, index: int, ws: aiohttp.ClientWebSocketResponse, finish: asyncio.Event
    ) -> None:
        # Stagger the chargers evenly within one period: real chargers are not in sync.
        start = self._started_at + index / (len(self._urls) * self._rate)
        row = self.collector.sent_at[index]
        for seq in range(self._per_oven):
            if finish.is_set():
                return
            delay = start + seq / self._rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = metrics_text(self.session_ids[index], seq, self._clock)
            row[seq] = time.perf_counter()
            try:
                await ws.send_str(frame)
            except (ConnectionError, RuntimeError) as err:
                row[seq] = math.nan
                self.report.send_failures.append(f"charger {index}: {err}")
                return
            self.collector.sent += 1

    async def _read(
        self, index: int, ws: aiohttp.ClientWebSocketResponse, greeting: asyncio.Event
    ) -> None:
        # Read what the server sends (connected, start, error frames) so it is reported
        # and never piles up.
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            match data.get("type"):
                case "connected":
                    greeting.set()
                case "start":
                    self.session_ids[index] = data["session_id"]
                    self.report.commands += 1
                    if None not in self.session_ids:
                        self._main_loop.call_soon_threadsafe(self.all_started.set)
                case "stop" | "sync_request":
                    pass
                case _:
                    self.report.error_frames.append(msg.data)


async def _measure_load(
    name: str,
    urls: Sequence[str],
    *,
    rate: float,
    per_charger: int,
    greeted: bool,
    install: Callable[[Collector], Callable[[], None]],
    before_go: Callable[[ChargerFleet], Awaitable[None]] | None = None,
) -> Result:
    """Drive the fleet against one server; ``install`` hooks deliveries and returns an undo."""
    fleet = ChargerFleet(urls, rate, per_charger, greeted=greeted)
    collector = fleet.collector
    uninstall = install(collector)
    try:
        fleet.start()
        await fleet.wait_connected()
        if before_go is not None:
            await before_go(fleet)
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
    planned = per_charger / rate
    span = collector.last_delivery - collector.first_sent
    return Result(
        name=name,
        sent=collector.sent,
        delivered=collector.delivered,
        seconds=max(planned, span) if not math.isnan(span) else planned,
        latencies=tuple(sorted(collector.latencies)),
        cpu_seconds=cpu,
        note=_notes(fleet, collector),
    )


def _notes(fleet: ChargerFleet, collector: Collector) -> str:
    report = fleet.report
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


async def measure_raw_aiohttp(chargers: int, rate: float, per_charger: int) -> Result:
    """The same load against a plain aiohttp WebSocket server that decodes the JSON."""
    sink: list[Collector] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        # Same limits as iot_hub's endpoint, so only what happens per frame differs.
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=16 * 1024)
        await ws.prepare(request)
        charger = int(request.query["estacionId"]) - 1
        collector = sink[0]
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                data = json.loads(msg.data)
                if isinstance(data, dict) and data.get("type") == "metrics":
                    collector.deliver(charger, seq_value(float(data["w"])))
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

        urls = [
            f"ws://127.0.0.1:{port}/ws?role=publisher&estacionId={i + 1}" for i in range(chargers)
        ]
        return await _measure_load(
            "raw aiohttp WS server (JSON)",
            urls,
            rate=rate,
            per_charger=per_charger,
            greeted=False,
            install=install,
        )
    finally:
        await runner.cleanup()


async def measure_iot_hub(
    ha: RunningHomeAssistant, rate: float, per_charger: int
) -> tuple[Result, int, list[float]]:
    """The load through HA's HTTP server into iot_hub.

    Returns:
        The result, how many states of the chargers' entities were written in the window,
        and each session's kWh as ``iot_hub.get_sessions`` reports it.
    """
    hass = ha.hass
    index = {charger.power_entity: i for i, charger in enumerate(ha.chargers)}
    device_ids = _ha_device_ids(ha)
    writes = 0

    def install(collector: Collector) -> Callable[[], None]:
        @callback
        def on_state_changed(event: Event[EventStateChangedData]) -> None:
            nonlocal writes
            entity_id = event.data["entity_id"]
            if entity_id.partition(".")[2].startswith("bench_charger_"):
                writes += 1
            charger = index.get(entity_id)
            if charger is None or (new_state := event.data["new_state"]) is None:
                return
            try:
                watts = float(new_state.state)
            except ValueError:
                return  # unknown while the session starts
            if watts:  # 0.0: no session (yet)
                collector.deliver(charger, seq_value(watts))

        return hass.bus.async_listen(EVENT_STATE_CHANGED, on_state_changed)

    async def start_sessions(fleet: ChargerFleet) -> None:
        nonlocal writes
        for device_id in device_ids:
            await hass.services.async_call(
                DOMAIN, "start_session", {ATTR_DEVICE_ID: device_id}, blocking=True
            )
        # Every charger has its start (so its frames carry the session id) before the clock.
        async with asyncio.timeout(SESSION_TIMEOUT):
            await fleet.all_started.wait()
        await hass.async_block_till_done()
        writes = 0

    urls = [
        f"{ha.ws_url}?role=publisher&estacionId={charger.station}&token={charger.token}"
        for charger in ha.chargers
    ]
    result = await _measure_load(
        "iot_hub (HA HTTP server)",
        urls,
        rate=rate,
        per_charger=per_charger,
        greeted=True,
        install=install,
        before_go=start_sessions,
    )
    return result, writes, await _stop_sessions(hass, device_ids)


async def _stop_sessions(hass: HomeAssistant, device_ids: Sequence[str]) -> list[float]:
    # The chargers are gone by now; stopping still ends the sessions (as from the UI).
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
    kwh = []
    for record in records:
        assert isinstance(record, dict)
        summary = record["summary"]
        assert isinstance(summary, dict)
        energy = summary["kwh"]
        assert isinstance(energy, int | float)
        kwh.append(float(energy))
    return kwh


def _ha_device_ids(ha: RunningHomeAssistant) -> list[str]:
    registry = dr.async_get(ha.hass)
    ids = []
    for charger in ha.chargers:
        device = registry.async_get_device_by_identifier(
            (DOMAIN, charger.subentry_id), ha.entry.entry_id
        )
        assert device is not None
        ids.append(device.id)
    return ids


def render(
    args: argparse.Namespace,
    *,
    raw: Result,
    hub: Result,
    bare: Sequence[Result],
    state_writes: int,
    session_kwh: Sequence[float],
    per_charger: int,
    peak_rss_kib: int,
) -> str:
    """The report: a table of every path, then iot_hub against the baselines."""
    offered = args.chargers * args.rate
    write = bare[0]
    header = (
        f"{'path':<30} {'sent':>8} {'delivered':>9} {'per s':>10} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'CPU µs/m':>9} {'loop':>7}"
    )
    expected = round(expected_kwh(per_charger), 3)
    kept = sum(1 for kwh in session_kwh if math.isclose(kwh, expected, abs_tol=0.0011))
    per_metric = state_writes / hub.sent if hub.sent else math.nan
    lines = [
        (
            f"iot_hub charger benchmark: {args.chargers} chargers x {args.rate:g} metrics/s x "
            f"{args.seconds:g} s = {offered:g} metrics/s offered"
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
            "per s: metrics (or state writes) delivered per second; p50/p99: frame sent ->"
            " power state written (callback run, for raw aiohttp);"
        ),
        (
            "CPU µs/m: HA loop-thread CPU per metrics frame; loop: that thread's CPU share of"
            " one core during the phase."
        ),
        "",
        "iot_hub against the baselines",
        (
            f"  delivered            {hub.delivered}/{hub.sent} metrics as power states "
            f"({hub.sent - hub.delivered} lost); raw aiohttp {raw.delivered}/{raw.sent}"
        ),
        (
            f"  throughput           {_ratio(hub.rate, raw.rate)} raw aiohttp "
            f"({hub.rate:.1f} vs {raw.rate:.1f} metrics/s; offered {offered:g}/s)"
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
            f"  CPU per metric       {_ratio(hub.cpu_per_item, raw.cpu_per_item)} raw aiohttp, "
            f"{_ratio(hub.cpu_per_item, write.cpu_per_item)} one bare async_write_ha_state "
            f"({_us(hub.cpu_per_item)} vs {_us(raw.cpu_per_item)} vs "
            f"{_us(write.cpu_per_item)} µs)"
        ),
        (
            f"  HA loop busy         {_ratio(hub.busy, raw.busy)} raw aiohttp "
            f"({hub.busy * 100:.1f}% vs {raw.busy * 100:.1f}% of one core)"
        ),
        (
            f"  state writes         {per_metric:.2f} per metric ({state_writes} states of "
            "the chargers' entities)"
        ),
        (
            f"  offered load         {offered * per_metric / write.rate * 100:.2f}% of what "
            f"bare HA writes per second ({write.rate:,.0f}/s), counting every state written"
        ),
        (
            f"  sessions metered     {kept}/{len(session_kwh)} sessions kept all the energy "
            f"sent ({expected:.3f} kWh each)"
        ),
        "",
        f"peak RSS of this process: {peak_rss_kib / 1024:.1f} MiB",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.chargers``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.chargers",
        description="Benchmark iot_hub's EV-charger path against raw aiohttp and bare HA.",
    )
    parser.add_argument(
        "--chargers",
        type=int,
        default=DEFAULT_CHARGERS,
        help="simulated chargers (default %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help="metrics/s per charger (default %(default)s)",
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
    per_charger = math.floor(args.rate * args.seconds)
    if not 1 <= args.chargers <= 1000:
        parser.error("--chargers must be between 1 and 1000")
    if not 0 < args.rate <= 1000 or not 0 < args.seconds <= 600:
        parser.error("--rate must be in (0, 1000] and --seconds in (0, 600]")
    if not 2 <= per_charger <= MAX_METRICS_PER_CHARGER:
        parser.error(
            f"--rate x --seconds must give 2..{MAX_METRICS_PER_CHARGER} metrics per charger"
        )
    if args.rate > INBOUND_RATE:
        print(
            f"note: iot_hub admits {INBOUND_RATE:g} frames/s per connection; "
            "metrics above that are dropped by design",
            file=sys.stderr,
        )
    async with running_home_assistant(0, charger_count=args.chargers) as ha:
        print(f"Home Assistant up on {ha.ws_url}; measuring raw aiohttp...", file=sys.stderr)
        raw = await measure_raw_aiohttp(args.chargers, args.rate, per_charger)
        print("measuring iot_hub...", file=sys.stderr)
        hub, writes, session_kwh = await measure_iot_hub(ha, args.rate, per_charger)
        print("measuring bare HA state writes...", file=sys.stderr)
        bare = await measure_bare_ha(ha.hass, args.bare_seconds)
    peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        render(
            args,
            raw=raw,
            hub=hub,
            bare=bare,
            state_writes=writes,
            session_kwh=session_kwh,
            per_charger=per_charger,
            peak_rss_kib=peak_rss_kib,
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.chargers``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Known start-up notices that say nothing about the benchmark.
    logging.getLogger("homeassistant.loader").setLevel(logging.ERROR)  # "custom integration"
    logging.getLogger("aiohttp_fast_zlib").setLevel(logging.ERROR)  # "isal not available"
    return asyncio.run(async_main(argv))


if __name__ == "__main__":
    sys.exit(main())
