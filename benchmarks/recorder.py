"""What HA's recorder keeps of readings: every reading a state, against the record budget.

``python -m benchmarks.recorder [--ovens N] [--wearables W] [--wearable-rate R]
[--seconds S] [--interval I] [--json FILE]`` starts a real Home Assistant in this process
(temporary config dir, ``http`` on an ephemeral 127.0.0.1 port) with HA's recorder on SQLite
and iot_hub with N ovens and W wearables (sensor kind). Two phases, on the same database:

* ``every reading``: every device's ``record_interval`` is 0, each reading writes its states;
* ``budget``: ``record_interval`` I (default: iot_hub's default), readings within an
  interval held and written once at its end.

In each, the ovens send a reading a second (a new temperature each time) and the wearables R
readings a second with seven values (accelerometer and gyroscope x/y/z, which change at every
reading, and the heart rate, which changes once a second) over real WebSockets for S seconds.
Measured, from the database itself, between "every device connected and recorded" and "the
last interval ended and was committed": the ``states`` rows written for each kind of device,
and the growth of the database (pages in use, ``(page_count - freelist_count) x page_size``),
whence bytes per recorded state; then a device's recorder bytes per day (its measured states
per second x 86,400 s x bytes per state) and per HA's default 10 days of history.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass
import json
import math
from pathlib import Path
import shlex
import sys
from types import MappingProxyType
from typing import Final

import aiohttp
from homeassistant.config_entries import ConfigEntry, ConfigSubentryDataWithId
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant

from custom_components.iot_hub.const import (
    CONF_KIND,
    CONF_RECORD_INTERVAL,
    CONF_TOKEN_HASH,
    DEFAULT_RECORD_INTERVAL,
    SUBENTRY_DEVICE,
    WS_PATH,
)
from custom_components.iot_hub.kinds.sensor.const import (
    CONF_CONSUMER_ID,
    CONF_MODELO,
    CONF_SENSOR_ID,
    CONF_TIPO,
)
from custom_components.iot_hub.tokens import hash_token

from .common import SenderFleet, run
from .home_assistant import bench_ovens, free_port, hub_entry, running_home_assistant_with
from .ovens import OvenFleet
from .recorder_db import COMMIT_INTERVAL, DB_NAME, db_figures, settle, setup_recorder

DEFAULT_OVENS: Final = 100
DEFAULT_WEARABLES: Final = 2
DEFAULT_WEARABLE_RATE: Final = 50.0
DEFAULT_SECONDS: Final = 60.0
OVEN_RATE: Final = 1.0
DAY: Final = 86_400
HISTORY_DAYS: Final = 10  # HA's default ``purge_keep_days``
WEARABLE_KEYS: Final = ("accel_x", "accel_y", "accel_z", "gyro_x", "gyro_y", "gyro_z")


@dataclass(frozen=True, slots=True)
class BenchWearable:
    """One configured wearable (sensor kind): its name and device token."""

    subentry_id: str
    name: str
    token: str
    sensor_id: int


def bench_wearables(count: int) -> tuple[BenchWearable, ...]:
    """``count`` wearables named "Bench wearable 01"... with fixed, known tokens."""
    width = max(2, len(str(count)))
    return tuple(
        BenchWearable(
            subentry_id=f"benchwearable{i:0{width}d}",
            name=f"Bench wearable {i:0{width}d}",
            token=f"bench-wearable-token-{i:0{width}d}-0123456789abcdef",
            sensor_id=i,
        )
        for i in range(1, count + 1)
    )


def wearable_subentry(wearable: BenchWearable) -> ConfigSubentryDataWithId:
    """A wearable's subentry as the config flow creates it (every reading recorded)."""
    return ConfigSubentryDataWithId(
        data=MappingProxyType(
            {
                CONF_KIND: "sensor",
                CONF_TOKEN_HASH: hash_token(wearable.token),
                CONF_SENSOR_ID: wearable.sensor_id,
                CONF_TIPO: "imu",
                CONF_MODELO: "MPU6050",
                CONF_CONSUMER_ID: None,
                CONF_RECORD_INTERVAL: 0,
            }
        ),
        subentry_id=wearable.subentry_id,
        subentry_type=SUBENTRY_DEVICE,
        title=wearable.name,
        unique_id=None,
    )


def wearable_frame(seq: int, rate: float) -> str:
    """Reading ``seq`` of a wearable (-1: the warm-up, which creates its entities).

    Six motion values new at every reading, a heart rate new every second.
    """
    values: dict[str, float] = {
        key: round(math.sin(seq / 7 + offset) * 9.8, 4) + seq / 1e4
        for offset, key in enumerate(WEARABLE_KEYS)
    }
    values["heart_rate"] = 60 + (int(seq / rate) % 40)
    return json.dumps(values)


class WearableFleet(SenderFleet):
    """N lean wearables: a warm-up reading on connecting, then readings on cue."""

    noun = "wearable"

    def _frame(self, index: int, seq: int) -> str:
        return wearable_frame(seq, self._rate)

    async def _hello(self, ws: aiohttp.ClientWebSocketResponse, greeting: asyncio.Event) -> None:
        await ws.send_str(wearable_frame(-1, self._rate))

    async def _read(
        self, index: int, ws: aiohttp.ClientWebSocketResponse, greeting: asyncio.Event
    ) -> None:
        # A sensor is sent nothing but errors: report them.
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                self.report.error_frames.append(msg.data)


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase's figures."""

    name: str
    record_interval: float
    seconds: float
    ovens: int
    wearables: int
    oven_readings: int
    wearable_readings: int
    oven_states: int
    wearable_states: int
    states: int  # every state row of the phase (the connectivity of none changes)
    db_bytes: int
    notes: str

    @property
    def bytes_per_state(self) -> float:
        """Database growth per recorded state."""
        return self.db_bytes / self.states if self.states else math.nan

    def per_device_day(self, states: int, devices: int) -> float:
        """Recorder bytes per device per day: its states per second, 86,400 s, bytes each."""
        if not devices:
            return math.nan
        return states / devices / self.seconds * DAY * self.bytes_per_state


def _set_budget(hass: HomeAssistant, entry: ConfigEntry, interval: float) -> None:
    """Give every device this ``record_interval`` (applied by the hub without a reload)."""
    for subentry in entry.get_subentries_of_type(SUBENTRY_DEVICE):
        data = {**subentry.data, CONF_RECORD_INTERVAL: interval}
        hass.config_entries.async_update_subentry(entry, subentry, data=MappingProxyType(data))


async def measure_phase(
    hass: HomeAssistant,
    db: Path,
    fleets: Sequence[SenderFleet],
    *,
    name: str,
    interval: float,
    seconds: float,
) -> Phase:
    """Connect the fleets, then count what their readings leave in the database."""
    for fleet in fleets:
        fleet.start()
    for fleet in fleets:
        await fleet.wait_connected()
    await asyncio.sleep(0.5)  # the wearables' warm-up readings (they create the entities)
    await settle(hass)
    before = await hass.async_add_executor_job(db_figures, db)
    for fleet in fleets:
        fleet.go()
    for fleet in fleets:
        await fleet.wait_sent()
    # The last intervals end (a held reading is written then), and the rows are committed.
    await asyncio.sleep(interval + 0.5)
    await settle(hass)
    after = await hass.async_add_executor_job(db_figures, db)
    for fleet in fleets:
        await fleet.finish()
    ovens, wearables = fleets
    notes = [
        f"{fleet.noun} {what}"
        for fleet in fleets
        for what in (
            *(f"error frame {frame}" for frame in fleet.report.error_frames[:1]),
            *fleet.report.send_failures[:1],
        )
    ]
    return Phase(
        name=name,
        record_interval=interval,
        seconds=seconds,
        ovens=len(ovens.collector.sent_at),
        wearables=len(wearables.collector.sent_at),
        oven_readings=ovens.collector.sent,
        wearable_readings=wearables.collector.sent,
        oven_states=after.oven_states - before.oven_states,
        wearable_states=after.wearable_states - before.wearable_states,
        states=after.states - before.states,
        db_bytes=after.used_bytes - before.used_bytes,
        notes="; ".join(notes),
    )


def _size(value: float) -> str:
    if math.isnan(value):
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.1f}x" if base > 0 and not math.isnan(value / base) else "-"


def render(args: argparse.Namespace, command: str, phases: Sequence[Phase]) -> list[str]:
    """The report: each phase's rows and bytes, then per device per day and per 10 days."""
    lines = [
        (
            f"iot_hub recorder benchmark: Home Assistant {ha_version}, recorder on SQLite "
            f"(commit every {COMMIT_INTERVAL} s)"
        ),
        f"command: {command}",
        (
            f"load per phase: {args.ovens} ovens x {OVEN_RATE:g} reading/s + {args.wearables} "
            f"wearables x {args.wearable_rate:g} readings/s (7 values) x {args.seconds:g} s"
        ),
        "",
        (
            f"{'phase':<22}{'device':<10}{'readings':>9}{'states':>8}{'states/rd':>10}"
            f"{'DB growth':>11}{'B/state':>9}"
        ),
    ]
    for phase in phases:
        for device, readings, states in (
            ("oven", phase.oven_readings, phase.oven_states),
            ("wearable", phase.wearable_readings, phase.wearable_states),
        ):
            per_reading = f"{states / readings:.3f}" if readings else "-"
            first = device == "oven"
            lines.append(
                f"{phase.name if first else '':<22}{device:<10}{readings:>9}{states:>8}"
                f"{per_reading:>10}"
                + (f"{_size(phase.db_bytes):>11}{phase.bytes_per_state:>9.0f}" if first else "")
            )
        if phase.notes:
            lines.append(f"  notes: {phase.notes}")
    every, budget = phases
    lines += [
        "",
        "DB growth: database pages in use, whole phase; B/state: that growth per states row.",
        "",
        (
            f"recorder bytes per device: {'':<10}{'every reading':>15}"
            f"{f'record_interval {budget.record_interval:g} s':>22}{'ratio':>8}"
        ),
    ]
    for device, attr, count in (
        (f"oven ({OVEN_RATE:g} Hz)", "oven_states", "ovens"),
        (f"wearable ({args.wearable_rate:g} Hz)", "wearable_states", "wearables"),
    ):
        for label, days in (("per day", 1), (f"per {HISTORY_DAYS} days", HISTORY_DAYS)):
            base = every.per_device_day(getattr(every, attr), getattr(every, count)) * days
            held = budget.per_device_day(getattr(budget, attr), getattr(budget, count)) * days
            lines.append(
                f"  {device:<20}{label:<14}{_size(base):>15}{_size(held):>22}"
                f"{_ratio(base, held):>8}"
            )
    lines += [
        (
            "  (a device's states per second in the phase x 86,400 s x bytes per state; the"
            " first reading of each entity in the budget phase is written at once, so short"
            " phases overstate it a little)"
        ),
    ]
    return lines


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.recorder``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.recorder",
        description="What HA's recorder keeps of iot_hub readings, with and without the budget.",
    )
    parser.add_argument("--ovens", type=int, default=DEFAULT_OVENS, help="(default %(default)s)")
    parser.add_argument(
        "--wearables", type=int, default=DEFAULT_WEARABLES, help="(default %(default)s)"
    )
    parser.add_argument(
        "--wearable-rate",
        type=float,
        default=DEFAULT_WEARABLE_RATE,
        help="readings/s per wearable (default %(default)s)",
    )
    parser.add_argument(
        "--seconds", type=float, default=DEFAULT_SECONDS, help="per phase (default %(default)s)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_RECORD_INTERVAL,
        help="record_interval of the budget phase, s (default: iot_hub's, %(default)s)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run both phases and print the report."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (1 <= args.ovens <= 1000 and 1 <= args.wearables <= 100):
        parser.error("--ovens must be in 1..1000 and --wearables in 1..100")
    if not (0 < args.wearable_rate <= 50 and 1 <= args.seconds <= 600 and args.interval > 0):
        parser.error("--wearable-rate must be in (0, 50], --seconds in 1..600, --interval > 0")
    command = shlex.join(["python", "-m", "benchmarks.recorder", *sys.argv[1:]])
    if argv is not None:
        command = shlex.join(["python", "-m", "benchmarks.recorder", *argv])
    ovens = bench_ovens(args.ovens)
    wearables = bench_wearables(args.wearables)
    entry = hub_entry(ovens, others=[wearable_subentry(w) for w in wearables])
    port = free_port()
    base = f"ws://127.0.0.1:{port}{WS_PATH}?token="
    phases = []
    async with running_home_assistant_with(entry, port=port, before_hub=setup_recorder) as (
        hass,
        _token,
    ):
        db = Path(hass.config.config_dir) / DB_NAME
        for name, interval in (("every reading", 0.0), ("budget", args.interval)):
            print(f"measuring {name} (record_interval {interval:g} s)...", file=sys.stderr)
            _set_budget(hass, entry, interval)
            fleets = (
                OvenFleet(
                    [base + oven.token for oven in ovens], OVEN_RATE, int(args.seconds * OVEN_RATE)
                ),
                WearableFleet(
                    [base + w.token for w in wearables],
                    args.wearable_rate,
                    int(args.seconds * args.wearable_rate),
                ),
            )
            phases.append(
                await measure_phase(
                    hass, db, fleets, name=name, interval=interval, seconds=args.seconds
                )
            )
    print("\n".join(render(args, command, phases)))
    if args.json is not None:
        report = {
            "command": command,
            "phases": [
                {
                    **asdict(phase),
                    "bytes_per_state": phase.bytes_per_state,
                    "oven_bytes_per_day": phase.per_device_day(phase.oven_states, phase.ovens),
                    "wearable_bytes_per_day": phase.per_device_day(
                        phase.wearable_states, phase.wearables
                    ),
                }
                for phase in phases
            ],
        }
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.recorder``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
