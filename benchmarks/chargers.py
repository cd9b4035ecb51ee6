"""How many EV-charger metrics per second iot_hub turns into Home Assistant states, and how fast.

``python -m benchmarks.chargers [--chargers N] [--rate R] [--seconds S]`` starts a real Home
Assistant in this process (``benchmarks.home_assistant``: temporary config dir, ``http`` on an
ephemeral 127.0.0.1 port, iot_hub with N charger subentries at stations "1".."N" and a fixed
price), connects N lean chargers speaking seed 002 (``?role=publisher&estacionId=N``), starts
a session on each (the ``iot_hub.start_session`` action; the hub sends ``start`` to the
charger), and has each send R ``metrics`` frames per second for S seconds. Measured:

* iot_hub: metrics per second that became states of the chargers' power sensors
  (``sensor.<name>_power``, ``state_changed`` events), and the latency from "frame sent" to
  "state written"; also how many states iot_hub wrote per metric (the entities enabled by
  default that follow readings: power, session energy, lifetime energy and cost; voltage,
  current, session cost and duration are off by default), and whether the sessions kept all the
  energy the frames carried (the trapezoid of the sent powers, 3 s apart on the device clock;
  iot_hub credits no more device time than its own clock saw pass, so for this measurement
  the clock its charger handler reads runs as fast as the device's: ``device_paced_clock``);
* baseline "raw aiohttp": the same senders and load against a plain ``aiohttp.web``
  WebSocket server on another port of the same event loop that decodes the JSON and calls a
  callback, i.e. the floor any WebSocket-to-Python path pays;
* baseline "bare HA": Home Assistant's own state-write ceiling in a tight loop (as in
  ``benchmarks.ovens``).

Every frame's ``w`` is unique (1000 W + its sequence number / 10), so a power state is matched
to the frame that caused it. The senders are the oven benchmark's with charger frames: by
default in separate processes (``benchmarks.ws_senders``; latency also against each frame's
due time by the schedule, GC and memory of the window; ``--senders process`` and
``--sender-processes`` as in ``benchmarks.ovens``), or with ``--senders thread`` on their own
event loop in a thread of HA's process. CPU is the HA loop thread's (and HA's whole process').
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
import importlib
import json
import math
import sys
import time
from typing import Final

import aiohttp
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, callback

from .common import (
    Collector,
    Paced,
    Result,
    SenderFleet,
    add_sender_options,
    build_parser as build_common_parser,
    comparison,
    frames_per_device,
    hub_capacity,
    measure_bare_ha,
    measure_load,
    measure_paced,
    paced_comparison,
    peak_rss_line,
    raw_aiohttp_server,
    run,
    schedule_comparison,
    schedule_table,
    senders_text,
    table,
)
from .home_assistant import (
    BenchCharger,
    RunningHomeAssistant,
    device_ids,
    running_home_assistant,
    start_sessions,
    stop_sessions,
)
from .process_fleet import ProcessFleet
from .ws_senders import BASE_W, TS_STEP, metrics_text, metrics_watts

DEFAULT_CHARGERS: Final = 20
MAX_METRICS_PER_CHARGER: Final = 20_000
SESSION_TIMEOUT: Final = 10.0


def seq_value(watts: float) -> float:
    """What ``Collector.deliver`` takes for a power (it maps value * 10 back to ``seq``)."""
    return watts - BASE_W


def expected_kwh(count: int) -> float:
    """The energy of ``count`` consecutive frames: trapezoids between them, as iot_hub meters."""
    return sum(
        (metrics_watts(seq) + metrics_watts(seq + 1)) / 2 * TS_STEP / 3_600_000
        for seq in range(count - 1)
    )


@contextmanager
def device_paced_clock(rate: float) -> Iterator[None]:
    """HA's monotonic clock, as iot_hub's charger handler reads it, sped up for the load.

    Frames go ``1 / rate`` s apart but are stamped ``TS_STEP`` device seconds apart, so the
    handler's clock runs ``TS_STEP * rate`` times as fast while the load runs.
    """
    handler = importlib.import_module("custom_components.iot_hub.kinds.charger.handler")
    real: Callable[[], float] = getattr(handler, "monotonic")  # noqa: B009
    setattr(handler, "monotonic", lambda: real() * TS_STEP * rate)  # noqa: B010
    try:
        yield
    finally:
        setattr(handler, "monotonic", real)  # noqa: B010


class ChargerFleet(SenderFleet):
    """The benchmarks' sender fleet, speaking seed 002's publisher side.

    Each charger waits for ``{"type": "connected"}`` (iot_hub; the raw server sends none),
    remembers the ``session_id`` of the ``start`` it is sent, and sends ``metrics`` frames.
    """

    noun = "charger"

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

    def _frame(self, index: int, seq: int) -> str:
        return metrics_text(self.session_ids[index], seq, self._clock)

    async def _hello(self, ws: aiohttp.ClientWebSocketResponse, greeting: asyncio.Event) -> None:
        if self._greeted:
            async with asyncio.timeout(SESSION_TIMEOUT):
                await greeting.wait()

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


def _raw_charger(query: Mapping[str, str]) -> int:
    return int(query["estacionId"]) - 1


def _raw_metric(text: str) -> float | None:
    data = json.loads(text)
    if isinstance(data, dict) and data.get("type") == "metrics":
        return seq_value(float(data["w"]))
    return None


def fleet_of(
    args: argparse.Namespace, urls: Sequence[str], per_charger: int, *, greeted: bool
) -> ChargerFleet | ProcessFleet:
    """The senders the command line asks for: separate processes, or a thread of this one."""
    if args.senders == "thread":
        return ChargerFleet(urls, args.rate, per_charger, greeted=greeted)
    return ProcessFleet(
        "charger",
        urls,
        args.rate,
        per_charger,
        processes=args.sender_processes,
        greeted=greeted,
        clock=time.time(),
    )


async def measure_raw_aiohttp(args: argparse.Namespace, per_charger: int) -> Result:
    """The same load against a plain aiohttp WebSocket server that decodes the JSON."""
    async with raw_aiohttp_server(_raw_charger, _raw_metric) as (port, install):
        urls = [
            f"ws://127.0.0.1:{port}/ws?role=publisher&estacionId={i + 1}"
            for i in range(args.chargers)
        ]
        return await measure_load(
            "raw aiohttp WS server (JSON)",
            fleet_of(args, urls, per_charger, greeted=False),
            rate=args.rate,
            install=install,
        )


async def measure_iot_hub(
    ha: RunningHomeAssistant, args: argparse.Namespace, per_charger: int
) -> tuple[Result, int, list[float], list[dict[str, int]]]:
    """The load through HA's HTTP server into iot_hub.

    Returns:
        The result, how many states of the chargers' entities were written from "go" to the
        last frame's arrival (not their "unavailable" once the chargers disconnect),
        each session's kWh as ``iot_hub.get_sessions`` reports it, and per charger the
        entities its frames changed (for the paced bare-HA baseline).
    """
    hass = ha.hass
    index = {charger.power_entity: i for i, charger in enumerate(ha.chargers)}
    ids = device_ids(ha, ha.chargers)
    changed: Counter[str] = Counter()

    def install(collector: Collector) -> Callable[[], None]:
        @callback
        def on_state_changed(event: Event[EventStateChangedData]) -> None:
            entity_id = event.data["entity_id"]
            if entity_id.partition(".")[2].startswith("bench_charger_"):
                changed[entity_id] += 1
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

    urls = [
        f"{ha.ws_url}?role=publisher&estacionId={charger.station}&token={charger.token}"
        for charger in ha.chargers
    ]
    fleet = fleet_of(args, urls, per_charger, greeted=True)

    async def before_go() -> None:
        await start_sessions(hass, ids)
        # Every charger has its start (so its frames carry the session id) before the clock.
        async with asyncio.timeout(SESSION_TIMEOUT):
            if isinstance(fleet, ChargerFleet):
                await fleet.all_started.wait()
            else:
                await fleet.wait_started()
        await hass.async_block_till_done()
        changed.clear()

    in_window: Counter[str] = Counter()

    async def snapshot() -> None:
        # Before the chargers disconnect (their "unavailable" states are not frames').
        in_window.update(changed)

    with device_paced_clock(args.rate):
        result = await measure_load(
            "iot_hub (HA HTTP server)",
            fleet,
            rate=args.rate,
            install=install,
            before_go=before_go,
            after_load=snapshot,
            hass=hass,
        )
    # The chargers are gone by now; stopping still ends the sessions (as from the UI).
    kwh = []
    for summary in await stop_sessions(hass, ids):
        energy = summary["kwh"]
        assert isinstance(energy, int | float)
        kwh.append(float(energy))
    # What the frames changed, per charger (power first): bare HA's paced baseline makes the
    # same writes on the same beat.
    groups = [_changed_by(charger, in_window, per_charger) for charger in ha.chargers]
    return result, in_window.total(), kwh, groups


def _changed_by(charger: BenchCharger, changed: Counter[str], frames: int) -> dict[str, int]:
    """Of ``changed``, the charger's entities and their changes; its power sensor first."""
    own = charger.power_entity.removeprefix("sensor.").removesuffix("power")
    return {
        charger.power_entity: frames,
        **{
            entity_id: min(times, frames)
            for entity_id, times in sorted(changed.items())
            if entity_id != charger.power_entity and entity_id.partition(".")[2].startswith(own)
        },
    }


def render(
    args: argparse.Namespace,
    *,
    raw: Result,
    hub: Result,
    bare: Sequence[Result],
    state_writes: int,
    session_kwh: Sequence[float],
    per_charger: int,
    paced: Paced | None = None,
) -> str:
    """The report: a table of every path, then iot_hub against the baselines."""
    offered = args.chargers * args.rate
    write = bare[0]
    expected = round(expected_kwh(per_charger), 3)
    kept = sum(1 for kwh in session_kwh if math.isclose(kwh, expected, abs_tol=0.0011))
    per_metric = state_writes / hub.sent if hub.sent else math.nan
    lines = [
        (
            f"iot_hub charger benchmark: {args.chargers} chargers x {args.rate:g} metrics/s x "
            f"{args.seconds:g} s = {offered:g} metrics/s offered"
        ),
        *table((raw, hub, *bare), "CPU µs/m", senders_text(args)),
        "",
        (
            "per s: metrics (or state writes) delivered per second; p50/p99: frame sent ->"
            " power state written (callback run, for raw aiohttp);"
        ),
        (
            "CPU µs/m: HA loop-thread CPU per metrics frame; loop: that thread's CPU share of"
            " one core during the phase."
        ),
        *(
            [
                "",
                *schedule_table(
                    (raw, hub, *(paced.all if paced is not None else ())),
                    senders=senders_text(args),
                ),
            ]
            if args.senders == "process"
            else []
        ),
        "",
        "iot_hub against the baselines",
        (
            f"  delivered            {hub.delivered}/{hub.sent} metrics as power states "
            f"({hub.sent - hub.delivered} lost); raw aiohttp {raw.delivered}/{raw.sent}"
        ),
        *comparison(
            hub=hub,
            raw=raw,
            write=write,
            items="metrics",
            offered=offered,
            cpu_label="CPU per metric",
        ),
        *(
            schedule_comparison(hub=hub, raw=raw, items="metrics")
            if args.senders == "process"
            else []
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
        *(["", *paced_comparison(hub=hub, raw=raw, bare=paced, items="metrics")] if paced else []),
        "",
        peak_rss_line(),
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.chargers``."""
    parser = build_common_parser(
        prog="python -m benchmarks.chargers",
        description="Benchmark iot_hub's EV-charger path against raw aiohttp and bare HA.",
        devices="chargers",
        default_devices=DEFAULT_CHARGERS,
        rate_help="metrics/s per charger",
    )
    add_sender_options(parser)
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
    per_charger = frames_per_device(
        parser,
        args,
        devices="chargers",
        least=2,
        most=MAX_METRICS_PER_CHARGER,
        items="metrics",
        most_devices=hub_capacity("charger"),
    )
    async with running_home_assistant(0, charger_count=args.chargers) as ha:
        print(f"Home Assistant up on {ha.ws_url}; measuring raw aiohttp...", file=sys.stderr)
        raw = await measure_raw_aiohttp(args, per_charger)
        print("measuring iot_hub...", file=sys.stderr)
        hub, writes, session_kwh, groups = await measure_iot_hub(ha, args, per_charger)
        print("measuring bare HA on the same schedule...", file=sys.stderr)
        paced = await measure_paced(ha.hass, groups, rate=args.rate, per_device=per_charger)
        print("measuring bare HA state writes...", file=sys.stderr)
        bare = await measure_bare_ha(ha.hass, args.bare_seconds)
    print(
        render(
            args,
            raw=raw,
            hub=hub,
            bare=bare,
            state_writes=writes,
            session_kwh=session_kwh,
            per_charger=per_charger,
            paced=paced,
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.chargers``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
