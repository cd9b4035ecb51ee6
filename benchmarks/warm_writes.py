"""CPU of one charger metrics frame through iot_hub in a warm loop: unchanged states skipped or not.

``python -m benchmarks.warm_writes [--chargers N] [--frames F] [--rounds R] [--all-entities]``
starts a real Home Assistant in this process (``benchmarks.home_assistant``: ``http`` and
iot_hub, N chargers showing every reading), connects each charger over a real WebSocket as
seed 002's publisher, starts a session on each, then hands every charger's handler F metrics
frames in a tight loop, in turn: the path from a frame's text to its states (decode, metering,
the entities' updates and state writes, what the loop runs after them), without the socket.
CPU is the loop thread's (``time.thread_time``) per frame, garbage collection included.

Two modes, alternated round by round in the same run, medians of R rounds each:

* ``changed only``: iot_hub as it is, a reading writes an entity only if its state changed;
* ``every state``: each reading writes every entity that follows readings, as iot_hub did
  before (``IotHubEntity._async_write_changed`` replaced by a plain write).

The frames are a charging session's: 230 V, a power that changes every frame (1000 W + the
frame's number / 10, as ``benchmarks.chargers`` sends), the current rounded to 0.1 A (so it
changes every few frames), 3 device seconds apart. The charger handler's clock is sped up so
that iot_hub credits every interval (as ``benchmarks.chargers`` does). Writes and state
changes per frame are counted in one more, untimed round per mode.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
import gc
import importlib
import json
import statistics
import sys
import time
from typing import Any, Final

import aiohttp
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from custom_components.iot_hub.device import DeviceRuntime
from custom_components.iot_hub.entity import IotHubEntity
from custom_components.iot_hub.kind import Inbound, Source

from .home_assistant import RunningHomeAssistant, device_ids, running_home_assistant, start_sessions

VOLTS: Final = 230.0
TS_STEP: Final = 3.0
CHANGED_ONLY: Final = "changed only"
EVERY_STATE: Final = "every state"


def frame_text(session_id: int, seq: int) -> str:
    """Metrics frame ``seq`` of a session: a new power each frame, 3 device seconds apart."""
    watts = round(1000.0 + seq / 10, 1)
    return json.dumps(
        {
            "type": "metrics",
            "session_id": session_id,
            "v": VOLTS,
            "a": round(watts / VOLTS, 1),
            "w": watts,
            "ts": 1_700_000_000 + seq * TS_STEP,
        },
        separators=(",", ":"),
    )


@contextmanager
def fast_charger_clock() -> Iterator[None]:
    """The charger handler's monotonic clock, a million times as fast: every interval counts."""
    handler = importlib.import_module("custom_components.iot_hub.kinds.charger.handler")
    real: Callable[[], float] = getattr(handler, "monotonic")  # noqa: B009
    setattr(handler, "monotonic", lambda: real() * 1e6)  # noqa: B010
    try:
        yield
    finally:
        setattr(handler, "monotonic", real)  # noqa: B010


@contextmanager
def writing(mode: str) -> Iterator[None]:
    """In ``every state`` mode, a reading writes every entity following it (iot_hub before)."""
    if mode == CHANGED_ONLY:
        yield
        return
    changed_only = IotHubEntity._async_write_changed  # noqa: SLF001

    @callback
    def write(entity: IotHubEntity) -> None:
        entity.async_write_ha_state()

    setattr(IotHubEntity, "_async_write_changed", write)  # noqa: B010
    try:
        yield
    finally:
        setattr(IotHubEntity, "_async_write_changed", changed_only)  # noqa: B010


class Fleet:
    """The chargers' runtimes with their sessions, and where each is in its frames."""

    def __init__(self, devices: list[DeviceRuntime]) -> None:
        """Chargers that are connected and charging."""
        self.devices = devices
        self.seq = 0

    def run(self, frames: int) -> None:
        """``frames`` metrics frames per charger, charger by charger in turn."""
        inbound = []
        for device in self.devices:
            assert device.link is not None and device.active_session is not None
            inbound.append((device.handler.receive, device.link, device.active_session.id))
        for seq in range(self.seq, self.seq + frames):
            for receive, link, session_id in inbound:
                receive(Inbound(Source.DEVICE, frame_text(session_id, seq), link))
        self.seq += frames


async def timed_round(hass: HomeAssistant, fleet: Fleet, frames: int) -> float:
    """CPU µs per frame of one round (the loop's follow-up work included)."""
    gc.collect()
    start = time.thread_time()
    fleet.run(frames)
    await hass.async_block_till_done()
    return (time.thread_time() - start) / (frames * len(fleet.devices)) * 1e6


async def counted_round(hass: HomeAssistant, fleet: Fleet, frames: int) -> tuple[float, float]:
    """State writes and state changes per frame of one (untimed) round."""
    counts = {"writes": 0, "changed": 0}
    write = IotHubEntity._async_write_ha_state  # noqa: SLF001

    def counting(entity: IotHubEntity) -> None:
        counts["writes"] += 1
        write(entity)

    @callback
    def changed(_event: Event[Any]) -> None:
        counts["changed"] += 1

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, changed)
    setattr(IotHubEntity, "_async_write_ha_state", counting)  # noqa: B010
    try:
        fleet.run(frames)
        await hass.async_block_till_done()
    finally:
        setattr(IotHubEntity, "_async_write_ha_state", write)  # noqa: B010
        unsub()
    total = frames * len(fleet.devices)
    return counts["writes"] / total, counts["changed"] / total


async def enable_all(ha: RunningHomeAssistant) -> None:
    """Enable the hub's entities that are off by default (voltage, current, ...) and reload."""
    registry = er.async_get(ha.hass)
    for entry in er.async_entries_for_config_entry(registry, ha.entry.entry_id):
        if entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION:
            registry.async_update_entity(entry.entity_id, disabled_by=None)
    await ha.hass.config_entries.async_reload(ha.entry.entry_id)
    await ha.hass.async_block_till_done()


async def connect(ha: RunningHomeAssistant, session: aiohttp.ClientSession) -> list[Any]:
    """Each charger online over a real WebSocket; its frames read (and dropped) as they come."""
    sockets = []
    for charger in ha.chargers:
        ws = await session.ws_connect(
            f"{ha.ws_url}?role=publisher&estacionId={charger.station}&token={charger.token}"
        )
        await ws.receive_json(timeout=10)  # connected
        sockets.append(ws)

    async def drain(ws: aiohttp.ClientWebSocketResponse) -> None:
        async for _message in ws:
            pass

    return [asyncio.create_task(drain(ws)) for ws in sockets] + sockets


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Both modes' µs per frame (each round's) and writes and changes per frame."""
    async with (
        running_home_assistant(0, charger_count=args.chargers) as ha,
        aiohttp.ClientSession() as session,
    ):
        if args.all_entities:
            await enable_all(ha)
        opened = await connect(ha, session)
        await start_sessions(ha.hass, device_ids(ha, ha.chargers))
        await ha.hass.async_block_till_done()
        hub = ha.entry.runtime_data
        fleet = Fleet([hub.devices[charger.subentry_id] for charger in ha.chargers])
        assert all(device.connected and device.active_session for device in fleet.devices)
        results: dict[str, Any] = {mode: {"us": []} for mode in (CHANGED_ONLY, EVERY_STATE)}
        with fast_charger_clock():
            fleet.run(args.frames)  # warm up
            await ha.hass.async_block_till_done()
            for _ in range(args.rounds):
                for mode in (CHANGED_ONLY, EVERY_STATE):
                    with writing(mode):
                        results[mode]["us"].append(await timed_round(ha.hass, fleet, args.frames))
            for mode in (CHANGED_ONLY, EVERY_STATE):
                with writing(mode):
                    writes, changed = await counted_round(ha.hass, fleet, args.frames)
                results[mode] |= {"writes": writes, "changed": changed}
        for item in opened:
            if isinstance(item, asyncio.Task):
                item.cancel()
            else:
                await item.close()
        return results


def render(args: argparse.Namespace, argv: Sequence[str], results: dict[str, Any]) -> str:
    """The report: its command, µs per frame, writes and state changes per frame, the ratio."""
    entities = "all entities" if args.all_entities else "entities enabled by default"
    lines = [
        f"command: python -m benchmarks.warm_writes {' '.join(argv)}".rstrip(),
        (
            f"{args.chargers} chargers x {args.frames} frames per round, {args.rounds} rounds"
            f" per mode, {entities}; loop-thread CPU per metrics frame (GC included)"
        ),
        "",
        (
            f"{'mode':<14} {'µs/frame (median)':>18} {'min':>8} {'max':>8}"
            f" {'writes/frame':>13} {'changes/frame':>14}"
        ),
    ]
    for mode in (CHANGED_ONLY, EVERY_STATE):
        us = results[mode]["us"]
        lines.append(
            f"{mode:<14} {statistics.median(us):>18.1f} {min(us):>8.1f} {max(us):>8.1f}"
            f" {results[mode]['writes']:>13.2f} {results[mode]['changed']:>14.2f}"
        )
    ratio = statistics.median(results[CHANGED_ONLY]["us"]) / statistics.median(
        results[EVERY_STATE]["us"]
    )
    lines += ["", f"changed only / every state: {ratio:.2f}x the CPU per frame"]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.warm_writes", description=__doc__)
    parser.add_argument("--chargers", type=int, default=20)
    parser.add_argument("--frames", type=int, default=200, help="frames per charger per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--all-entities", action="store_true", help="enable the entities off by default too"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run and print the report."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    print(render(args, argv, asyncio.run(measure(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
