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
from collections.abc import Callable, Mapping, Sequence
import sys
from typing import Final

import aiohttp
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, callback

from .common import (
    Collector,
    Result,
    SenderFleet,
    build_parser as build_common_parser,
    comparison,
    frames_per_device,
    measure_bare_ha,
    measure_load,
    peak_rss_line,
    raw_aiohttp_server,
    run,
    table,
)
from .home_assistant import (
    RunningHomeAssistant,
    device_ids,
    running_home_assistant,
    start_sessions,
    stop_sessions,
)

DEFAULT_OVENS: Final = 20
# A reading's value is its sequence number / 10, which must stay within the oven codec's
# plausible range (≤ 2000 °C): at most this many readings per oven.
MAX_READINGS_PER_OVEN: Final = 20_000
IDENTIFY_FRAME: Final = '{"type": "esp32"}'


def reading_text(seq: int) -> str:
    """The frame of reading number ``seq``: a unique, plausible temperature."""
    return f"{seq / 10:.1f}"


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


async def measure_raw_aiohttp(ovens: int, rate: float, per_oven: int) -> Result:
    """The same load against a plain aiohttp WebSocket server on this loop."""
    async with raw_aiohttp_server(_raw_oven, _raw_reading) as (port, install):
        urls = [f"ws://127.0.0.1:{port}/ws?oven={i}" for i in range(ovens)]
        return await measure_load(
            "raw aiohttp WS server", OvenFleet(urls, rate, per_oven), rate=rate, install=install
        )


async def measure_iot_hub(
    ha: RunningHomeAssistant, rate: float, per_oven: int, sessions: bool
) -> tuple[Result, int | None]:
    """The load through HA's HTTP server into iot_hub; returns also the readings sessions kept."""
    hass = ha.hass
    index = {oven.temperature_entity: i for i, oven in enumerate(ha.ovens)}
    ids = device_ids(ha, ha.ovens)

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
        if sessions:
            await start_sessions(hass, ids)

    urls = [f"{ha.ws_url}?token={oven.token}" for oven in ha.ovens]
    result = await measure_load(
        "iot_hub (HA HTTP server)",
        OvenFleet(urls, rate, per_oven),
        rate=rate,
        install=install,
        before_go=before_go,
    )
    if not sessions:
        return result, None
    # The ovens are gone by now; stopping still ends the sessions (as from the UI).
    kept = 0
    for summary in await stop_sessions(hass, ids):
        readings = summary["readings"]
        assert isinstance(readings, int)
        kept += readings
    return result, kept


def render(
    args: argparse.Namespace,
    *,
    raw: Result,
    hub: Result,
    bare: Sequence[Result],
    session_readings: int | None,
) -> str:
    """The report: a table of every path, then iot_hub against the baselines."""
    offered = args.ovens * args.rate
    write = bare[0]
    lines = [
        (
            f"iot_hub oven benchmark: {args.ovens} ovens x {args.rate:g} readings/s x "
            f"{args.seconds:g} s = {offered:g} readings/s offered"
        ),
        *table((raw, hub, *bare), "CPU µs/r"),
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
        *comparison(
            hub=hub,
            raw=raw,
            write=write,
            items="readings",
            offered=offered,
            cpu_label="CPU per reading",
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
    lines += ["", peak_rss_line()]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.ovens``."""
    parser = build_common_parser(
        prog="python -m benchmarks.ovens",
        description="Benchmark iot_hub's oven path against raw aiohttp and bare HA writes.",
        devices="ovens",
        default_devices=DEFAULT_OVENS,
        rate_help="readings/s per oven",
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
    per_oven = frames_per_device(
        parser, args, devices="ovens", least=1, most=MAX_READINGS_PER_OVEN, items="readings"
    )
    async with running_home_assistant(args.ovens) as ha:
        print(f"Home Assistant up on {ha.ws_url}; measuring raw aiohttp...", file=sys.stderr)
        raw = await measure_raw_aiohttp(args.ovens, args.rate, per_oven)
        print("measuring iot_hub...", file=sys.stderr)
        hub, session_readings = await measure_iot_hub(ha, args.rate, per_oven, args.sessions)
        print("measuring bare HA state writes...", file=sys.stderr)
        bare = await measure_bare_ha(ha.hass, args.bare_seconds)
    print(render(args, raw=raw, hub=hub, bare=bare, session_readings=session_readings))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.ovens``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
