"""How many oven readings per second iot_hub turns into Home Assistant states, and how fast.

``python -m benchmarks.ovens [--ovens N] [--rate R] [--seconds S] [--senders process|thread]
[--sender-processes P] [--recorder]`` starts a real Home Assistant in this process (temporary
config dir, ``http`` on an ephemeral 127.0.0.1 port, iot_hub with N oven subentries, up to the
hub's capacity), connects N simulated ovens, and has each send R readings per second for S
seconds (default 1,000 ovens x 1 Hz x 30 s). Measured:

* iot_hub: readings per second that became states of the ovens' temperature sensors
  (``state_changed`` events), and the latency from "frame sent" to "state written";
* baseline "raw aiohttp": the same senders and load against a plain ``aiohttp.web``
  WebSocket server on another port of the same event loop, which parses the float and calls
  a callback, i.e. the floor any WebSocket-to-Python path pays;
* baseline "bare HA": how fast Home Assistant itself writes states of a trivial entity
  (``async_write_ha_state``, and ``hass.states.async_set``) in a tight loop, counted the
  same way, i.e. HA's own ceiling for state writes on this machine.

Every reading carries a unique value (its sequence number / 10), so a state is matched to the
frame that caused it. By default the senders run in separate processes
(``benchmarks.ws_senders``, ``--sender-processes`` of them): a GC pause or a busy loop in HA's
process cannot delay their stamping of "sent", and latency is measured against each frame's
due time by the schedule as well as against its send (``CLOCK_REALTIME``, shared by the
processes). ``--senders thread`` keeps the former senders on their own event loop in a thread
of HA's process. CPU is the HA loop thread's own (``RUSAGE_THREAD``) and, with the senders in
other processes, HA's whole process (``RUSAGE_SELF``, which then holds no sender); garbage
collections of the window (``gc.callbacks``) and the peak RSS are reported for each path.

``--recorder`` runs HA's recorder on SQLite (``benchmarks.recorder_db``) through every phase
and reports the ``states`` rows the ovens' readings left against the readings, the recorder's
queue at the load's end and how long it took to drain, and database bytes per reading.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
import math
import sys
from typing import Final

import aiohttp
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback

from .common import (
    Collector,
    Fleet,
    GcCensus,
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
    RunningHomeAssistant,
    device_ids,
    running_home_assistant,
    start_sessions,
    stop_sessions,
)
from .process_fleet import ProcessFleet
from .recorder_db import (
    COMMIT_INTERVAL,
    DbFigures,
    backlog,
    drain,
    figures_now,
    settle,
    setup_recorder,
)
from .ws_senders import OVEN_HELLO as IDENTIFY_FRAME, oven_reading as reading_text

DEFAULT_OVENS: Final = 1000
DEFAULT_OVEN_RATE: Final = 1.0
DEFAULT_OVEN_SECONDS: Final = 30.0
# A reading's value is its sequence number / 10, which must stay within the oven codec's
# plausible range (≤ 2000 °C): at most this many readings per oven.
MAX_READINGS_PER_OVEN: Final = 20_000


@dataclass(frozen=True, slots=True)
class RecorderFigures:
    """What the recorder did with the iot_hub phase's readings."""

    readings: int
    rows: int  # states rows of the ovens' temperature sensors written in the phase
    all_rows: int  # states rows of every entity of the ovens (sessions' too)
    db_bytes: int  # growth of the database's pages in use
    backlog_at_end: int  # the recorder's queue when the last reading arrived
    emptied_seconds: float  # from then until the queue was empty
    committed_seconds: float  # ... and committed

    @property
    def bytes_per_reading(self) -> float:
        """Database growth per reading."""
        return self.db_bytes / self.readings if self.readings else math.nan


class OvenFleet(SenderFleet):
    """N lean ovens: the seed's frames (``{"type": "esp32"}``, then bare numbers) on cue.

    The simulator's thermal model and printing would add noise; these send nothing else.
    """

    noun = "oven"

    def _frame(self, index: int, seq: int) -> str:
        return reading_text(seq)

    async def _hello(self, ws: aiohttp.ClientWebSocketResponse, greeting: asyncio.Event) -> None:
        await ws.send_str(IDENTIFY_FRAME)

    async def _read(
        self, index: int, ws: aiohttp.ClientWebSocketResponse, greeting: asyncio.Event
    ) -> None:
        # Read what the server sends (START, or error frames such as the rate limit's) so
        # it is reported and never piles up.
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            if msg.data.strip() in ("START", "STOP"):
                self.report.commands += 1
            else:
                self.report.error_frames.append(msg.data)


def _raw_oven(query: Mapping[str, str]) -> int:
    return int(query["oven"])


def _raw_reading(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # the {"type": "esp32"} identification


def fleet_of(args: argparse.Namespace, urls: Sequence[str], per_oven: int) -> Fleet:
    """The senders the command line asks for: separate processes, or a thread of this one."""
    if args.senders == "thread":
        return OvenFleet(urls, args.rate, per_oven)
    return ProcessFleet("oven", urls, args.rate, per_oven, processes=args.sender_processes)


async def measure_raw_aiohttp(args: argparse.Namespace, per_oven: int) -> Result:
    """The same load against a plain aiohttp WebSocket server on this loop."""
    async with raw_aiohttp_server(_raw_oven, _raw_reading) as (port, install):
        urls = [f"ws://127.0.0.1:{port}/ws?oven={i}" for i in range(args.ovens)]
        return await measure_load(
            "raw aiohttp WS server",
            fleet_of(args, urls, per_oven),
            rate=args.rate,
            install=install,
        )


class RecorderProbe:
    """The recorder's side of the iot_hub phase: figures before, at the load's end, after."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Nothing measured yet."""
        self._hass = hass
        self._before_rows = self._before_all = self._before_bytes = 0
        self.backlog_at_end = 0
        self._emptied = self._committed = math.nan
        self._after: DbFigures | None = None

    async def before(self) -> None:
        """Once every oven is connected: what the database holds already, committed."""
        await settle(self._hass)
        figures = await figures_now(self._hass)
        self._before_rows = figures.oven_temperature_states
        self._before_all, self._before_bytes = figures.oven_states, figures.used_bytes

    async def at_end(self) -> None:
        """The moment the last reading arrived: the recorder's queue; then drain it (timed)."""
        self.backlog_at_end = backlog(self._hass)
        self._emptied, self._committed = await drain(self._hass)
        # Before the ovens disconnect (their "unavailable" states are not readings).
        self._after = await figures_now(self._hass)

    def after(self, readings: int) -> RecorderFigures:
        """What the phase added to the database, up to the load's end."""
        figures = self._after
        assert figures is not None
        return RecorderFigures(
            readings=readings,
            rows=figures.oven_temperature_states - self._before_rows,
            all_rows=figures.oven_states - self._before_all,
            db_bytes=figures.used_bytes - self._before_bytes,
            backlog_at_end=self.backlog_at_end,
            emptied_seconds=self._emptied,
            committed_seconds=self._committed,
        )


async def measure_iot_hub(
    ha: RunningHomeAssistant,
    args: argparse.Namespace,
    per_oven: int,
    census: GcCensus | None = None,
) -> tuple[Result, int | None, RecorderFigures | None]:
    """The load through HA's HTTP server into iot_hub.

    Returns also the readings sessions kept, and what the recorder did (with ``--recorder``).
    """
    hass = ha.hass
    index = {oven.temperature_entity: i for i, oven in enumerate(ha.ovens)}
    ids = device_ids(ha, ha.ovens)
    probe = RecorderProbe(hass) if args.recorder else None

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

    async def before_go() -> None:
        # All ovens must show as connected before a session can start.
        if args.sessions:
            await start_sessions(hass, ids)
        if probe is not None:
            await probe.before()

    urls = [f"{ha.ws_url}?token={oven.token}" for oven in ha.ovens]
    result = await measure_load(
        "iot_hub (HA HTTP server)",
        fleet_of(args, urls, per_oven),
        rate=args.rate,
        install=install,
        before_go=before_go,
        after_load=probe.at_end if probe is not None else None,
        hass=hass,
        census=census,
    )
    recorded = probe.after(result.sent) if probe is not None else None
    if not args.sessions:
        return result, None, recorded
    # The ovens are gone by now; stopping still ends the sessions (as from the UI).
    kept = 0
    for summary in await stop_sessions(hass, ids):
        readings = summary["readings"]
        assert isinstance(readings, int)
        kept += readings
    return result, kept, recorded


def _recorder_lines(recorded: RecorderFigures, hub: Result) -> list[str]:
    per_reading = recorded.rows / recorded.readings if recorded.readings else math.nan
    return [
        "",
        f"Recorder (SQLite, commit every {COMMIT_INTERVAL} s), iot_hub phase",
        (
            f"  rows written         {recorded.rows} temperature states rows for "
            f"{recorded.readings} readings ({per_reading:.3f} per reading; "
            f"{hub.delivered} became states; {recorded.all_rows} rows of every oven entity)"
        ),
        (
            f"  backlog at load end  {recorded.backlog_at_end} queued; empty after "
            f"{recorded.emptied_seconds:.3f} s, committed after {recorded.committed_seconds:.3f} s"
        ),
        (
            f"  database             {recorded.db_bytes / 1e6:.2f} MB more, "
            f"{recorded.bytes_per_reading:.0f} bytes per reading (pages in use)"
        ),
    ]


def render(
    args: argparse.Namespace,
    *,
    raw: Result,
    hub: Result,
    bare: Sequence[Result],
    session_readings: int | None,
    recorded: RecorderFigures | None = None,
    paced: Paced | None = None,
    censuses: tuple[GcCensus | None, GcCensus | None] = (None, None),
) -> str:
    """The report: a table of every path, then iot_hub against the baselines."""
    offered = args.ovens * args.rate
    write = bare[0]
    lines = [
        (
            f"iot_hub oven benchmark: {args.ovens} ovens x {args.rate:g} readings/s x "
            f"{args.seconds:g} s = {offered:g} readings/s offered"
            + (", recorder on" if args.recorder else "")
        ),
        *table((raw, hub, *bare), "CPU µs/r", senders_text(args)),
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
    ]
    if args.senders == "process":
        paths = (raw, hub, *(paced.all if paced is not None else ()))
        lines += ["", *schedule_table(paths, senders=senders_text(args))]
    lines += [
        "",
        "iot_hub against the baselines",
        (
            f"  delivered            {hub.delivered}/{hub.sent} readings "
            f"({hub.sent - hub.delivered} lost); raw aiohttp {raw.delivered}/{raw.sent}"
        ),
        *comparison(
            hub=hub,
            raw=raw,
            write=write,
            items="readings",
            offered=offered,
            cpu_label="CPU per reading",
        ),
    ]
    if args.senders == "process":
        lines += schedule_comparison(hub=hub, raw=raw, items="readings")
    lines.append(
        f"  offered load         {offered / write.rate * 100:.2f}% of what bare HA writes "
        f"per second ({write.rate:,.0f}/s)"
    )
    if session_readings is not None:
        verdict = "all" if session_readings == hub.delivered else "NOT all"
        lines.append(
            f"  sessions kept        {session_readings} readings "
            f"({verdict} of the {hub.delivered} delivered)"
        )
    if recorded is not None:
        lines += _recorder_lines(recorded, hub)
    if paced is not None:
        lines += [
            "",
            *paced_comparison(hub=hub, raw=raw, bare=paced, items="readings"),
        ]
    hub_census, paced_census = censuses
    if hub_census is not None and paced_census is not None:
        lines += [
            "",
            (
                f"Objects promoted into generation 2 (--gc-census, {hub_census.stretch:g} s from "
                f"{hub_census.after:g} s into each window; the census stalls the loop, so "
                "this run's latencies are not figures)"
            ),
            *hub_census.lines("iot_hub"),
            *paced_census.lines("bare HA, paced"),
        ]
    lines += ["", peak_rss_line()]
    return "\n".join(lines)


def census_of(args: argparse.Namespace) -> GcCensus:
    """A census over the middle third of a window (at most 10 s, from at most 5 s in)."""
    third = args.seconds / 3
    return GcCensus(after=min(5.0, third), stretch=min(10.0, third))


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.ovens``."""
    parser = build_common_parser(
        prog="python -m benchmarks.ovens",
        description="Benchmark iot_hub's oven path against raw aiohttp and bare HA writes.",
        devices="ovens",
        default_devices=DEFAULT_OVENS,
        rate_help="readings/s per oven",
        default_rate=DEFAULT_OVEN_RATE,
        default_seconds=DEFAULT_OVEN_SECONDS,
    )
    parser.add_argument(
        "--sessions",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run a measurement session on every oven during the iot_hub phase (default: yes)",
    )
    add_sender_options(parser)
    parser.add_argument(
        "--gc-census",
        action="store_true",
        help=(
            "count the objects young collections promote into GC generation 2 in iot_hub's "
            "window and bare HA's "
            "(stalls the loop: latencies of such a run are not figures)"
        ),
    )
    parser.add_argument(
        "--recorder",
        action="store_true",
        help="run HA's recorder on SQLite; report rows, its backlog and bytes per reading",
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
    per_oven = frames_per_device(
        parser,
        args,
        devices="ovens",
        least=1,
        most=MAX_READINGS_PER_OVEN,
        items="readings",
        most_devices=hub_capacity("oven"),
    )
    before_hub = setup_recorder if args.recorder else None
    async with running_home_assistant(args.ovens, before_hub=before_hub) as ha:
        if args.recorder:
            # Start-up's states (every oven's entities) are recorded before anything is timed.
            await settle(ha.hass)
        print(f"Home Assistant up on {ha.ws_url}; measuring raw aiohttp...", file=sys.stderr)
        raw = await measure_raw_aiohttp(args, per_oven)
        print("measuring iot_hub...", file=sys.stderr)
        censuses = (census_of(args), census_of(args)) if args.gc_census else (None, None)
        hub, session_readings, recorded = await measure_iot_hub(ha, args, per_oven, censuses[0])
        print("measuring bare HA on the same schedule...", file=sys.stderr)
        paced = await measure_paced(
            ha.hass,
            [{oven.temperature_entity: per_oven} for oven in ha.ovens],
            rate=args.rate,
            per_device=per_oven,
            census=censuses[1],
        )
        print("measuring bare HA state writes...", file=sys.stderr)
        bare = await measure_bare_ha(ha.hass, args.bare_seconds)
    report = render(
        args,
        raw=raw,
        hub=hub,
        bare=bare,
        session_readings=session_readings,
        recorded=recorded,
        paced=paced,
        censuses=censuses,
    )
    print(report)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.ovens``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
