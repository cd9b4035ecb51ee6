"""What a reading's save costs the event loop as the session history grows.

``python -m benchmarks.archive [--saves N] [--sizes 1000 10000 100000]`` starts a real Home
Assistant (http + iot_hub, one oven; real Store files in a temporary config directory). For
each history size, the baseline (no finished session) first, it writes that many finished
sessions to the oven's archive file, sets the history bound to keep them all, reloads the
entry (which loads them), starts a session, and times ``N`` reading-triggered saves: one
reading, then the save a reading arms (``sessions.async_flush`` runs the same write without
waiting ``SAVE_DELAY``), after ``WARM_UP`` saves that are not counted.

Measured: the event loop thread's CPU per save (``RUSAGE_THREAD``: the executor's file writes
are not the loop's time; the least of the saves is compared, as noise only adds to it), the
bytes the sessions Store holds, and each size's cost as a ratio of the baseline of the same
run. For contrast, the last column times serialising every kept session once, which is what
every save did before the archive (1.2). Before the archive, a save serialised every kept session on
the loop: 3.5 ms with 1k sessions, 72 ms with 11k, 1.16 s with 101k (issue 7, item 4).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import statistics
import sys
from typing import Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers.json import json_bytes

from custom_components.iot_hub.const import CONF_HISTORY_SIZE, DOMAIN, Actor, SessionStatus
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kind import Inbound, Source
from custom_components.iot_hub.kinds.oven.measure import OvenMeasure
from custom_components.iot_hub.sessions import ActorRef, Session

from .common import run, thread_cpu_seconds
from .home_assistant import RunningHomeAssistant, running_home_assistant

DEFAULT_SAVES: Final = 200
DEFAULT_SIZES: Final = (1_000, 10_000, 100_000)
STARTED: Final = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
WARM_UP: Final = 50  # saves per size not counted


@dataclass(slots=True)
class NullLink:
    """A device link without a socket: the benchmark drives the hub directly."""

    peer: str = "192.0.2.1"
    closing: bool = False

    def send_text(self, text: str) -> None:
        """Frames to the oven go nowhere."""

    def close(self, code: int, reason: str) -> None:
        """Closed by an unload."""
        self.closing = True


@dataclass(frozen=True, slots=True)
class Sample:
    """One history size: loop CPU per save (the least and the median) and the Store's size."""

    history: int
    cpu_per_save: float  # the least: what a save costs at least, which noise only raises
    median: float
    store_bytes: int
    full_history: float  # loop CPU to serialise every kept session, as a 1.2 save did


def _finished(session_id: int, device_id: str) -> str:
    """One archive line: a ten-minute oven session, as the archive stores it."""
    app = ActorRef(Actor.APP, None, "Cook")
    session = Session(
        id=session_id,
        device_id=device_id,
        device_name="Bench oven",
        kind="oven",
        started_at=STARTED,
        started_by=app,
        measure=OvenMeasure(600, 108000.0, 150.0, 210.0),
        last_reading_at=STARTED + timedelta(minutes=10),
    )
    session.end(SessionStatus.STOPPED, app, STARTED + timedelta(minutes=10))
    return json.dumps(session.as_dict(), separators=(",", ":"))


async def measure(ha: RunningHomeAssistant, history: int, saves: int) -> Sample:
    """Load ``history`` finished sessions, then time ``saves`` reading-triggered saves."""
    hass, entry = ha.hass, ha.entry
    oven = ha.ovens[0].subentry_id
    assert await hass.config_entries.async_unload(entry.entry_id)
    storage = Path(hass.config.path(".storage"))
    archive = storage / f"{DOMAIN}.archive.{entry.entry_id}.jsonl"
    lines = "".join(_finished(i, oven) + "\n" for i in range(1, history + 1))
    await hass.async_add_executor_job(archive.write_text, lines, "utf-8")
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_HISTORY_SIZE: max(history, 1)}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    hub = entry.runtime_data
    assert isinstance(hub, Hub)
    assert len(hub.sessions.query([oven])) == history
    device = hub.devices[oven]
    link = NullLink()
    hub.attach_device(device, link)
    actor = ActorRef(Actor.AUTOMATION)
    device.start_session(actor)
    await hub.sessions.async_flush()
    costs = []
    for reading in range(WARM_UP + saves):
        hub.receive(device, Inbound(Source.DEVICE, f"{150 + reading % 60}", link))
        before = thread_cpu_seconds()
        await hub.sessions.async_flush()
        costs.append(thread_cpu_seconds() - before)
    del costs[:WARM_UP]  # the first saves after a load pay for caches and the allocator
    before = thread_cpu_seconds()
    json_bytes([session.as_dict() for session in hub.sessions.query([oven])])
    full_history = thread_cpu_seconds() - before
    store = storage / f"{DOMAIN}.sessions.{entry.entry_id}"
    size = (await hass.async_add_executor_job(store.stat)).st_size
    device.stop_session(actor)
    await hub.sessions.async_flush()
    return Sample(history, min(costs), statistics.median(costs), size, full_history)


def render(samples: Sequence[Sample]) -> str:
    """The report: per size, loop CPU per save, its ratio to the baseline, the Store's size."""
    base = samples[0]
    rows = [
        (
            "Loop CPU per reading-triggered save, by finished sessions kept (the least of the"
            " saves, and its ratio to the baseline of this run; the median for reference):"
        ),
        (
            f"{'sessions kept':>14} {'µs per save':>12} {'ratio':>7} {'median µs':>10}"
            f" {'sessions Store':>15} {'1.2-style save µs':>18}"
        ),
    ]
    for sample in samples:
        ratio = sample.cpu_per_save / base.cpu_per_save if base.cpu_per_save else float("nan")
        rows.append(
            f"{sample.history:>14,} {sample.cpu_per_save * 1e6:>12.0f} {ratio:>7.2f}"
            f" {sample.median * 1e6:>10.0f} {sample.store_bytes:>13,} B"
            f" {sample.full_history * 1e6:>18,.0f}"
        )
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks.archive``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.archive",
        description="Loop cost of a reading's save as the kept session history grows.",
    )
    parser.add_argument("--saves", type=int, default=DEFAULT_SAVES, help="saves per size")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        help="history sizes to compare with the baseline (no finished session)",
    )
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Measure the baseline, then each size, in one Home Assistant; print the report."""
    args = build_parser().parse_args(argv)
    async with running_home_assistant(1) as ha:
        samples = []
        for history in (0, *args.sizes):
            print(f"measuring {history:,} sessions kept...", file=sys.stderr)
            samples.append(await measure(ha, history, args.saves))
            await asyncio.sleep(0)
    print(render(samples))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.archive``."""
    return run(async_main, argv)


if __name__ == "__main__":
    sys.exit(main())
