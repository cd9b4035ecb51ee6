"""The WebSocket benchmarks' devices in a separate process: lean senders on a fixed schedule.

``python -m benchmarks.ws_senders PLAN`` (``PLAN``: a JSON object, see ``Plan``) is started by
``benchmarks.process_fleet`` for each load phase. It runs in its own process on purpose: a
garbage-collection pause or a busy loop in Home Assistant's process must not delay the
stamping of "sent", or the pause would never show in the latency.

It connects every device of the plan (one WebSocket each; ovens of seed 001, or chargers of
seed 002, which await the server's greeting and send their session's id) and obeys its
standard input, one command a line, answering on its standard output (``benchmarks.child``):

* (on start) connect every device and send its hello; answers ``ready``;
* ``started``: (chargers) wait until every device was sent its session's ``start``; answers
  ``started``;
* ``go START_NS``: run the schedule: frame ``seq`` of device ``i`` (of ``devices`` in the whole
  fleet, across processes) is due at ``START_NS + (i / (devices x rate) + seq / rate)`` s
  (devices staggered within a period, as real ones are not in sync; ``CLOCK_REALTIME``, shared
  by every process of the machine); each frame is stamped with ``time.time_ns()`` just before
  it is handed to the socket. Writes the stamps to the plan's ``out`` file and answers
  ``done <sent>``;
* end of input: close every connection and answer ``closed <JSON report>`` (what the server
  sent: commands, error frames; send failures; close codes), then exit.

Only aiohttp and the standard library are imported, so the process starts fast and spends its
CPU on sending.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
import json
from pathlib import Path
import sys
import time
from typing import Final

import aiohttp

from .child import JsonPlan, answer, commands, plan_main

CONNECT_TIMEOUT: Final = 60.0
OVEN_HELLO: Final = '{"type": "esp32"}'
# Server frames that are commands, not errors (a session's START and STOP).
COMMANDS: Final = frozenset({"START", "STOP"})
# The report keeps this many error frames (and counts them all).
KEEP_ERRORS: Final = 5


def oven_reading(seq: int) -> str:
    """The frame of oven reading number ``seq``: a unique, plausible temperature."""
    return f"{seq / 10:.1f}"


# Charger metrics (seed 002): ``w`` = BASE_W + seq / 10 is unique and plausible (≤ 350 kW).
BASE_W: Final = 1000.0
TS_STEP: Final = 3.0  # device seconds between two metrics: the seed's cadence
VOLTS: Final = 230.0
KINDS: Final = frozenset({"oven", "charger"})


def metrics_watts(seq: int) -> float:
    """The power of charger frame ``seq``."""
    return round(BASE_W + seq / 10, 1)


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


@dataclass(frozen=True, slots=True)
class Plan(JsonPlan):
    """What one sender process does."""

    kind: str  # one of KINDS
    urls: list[str]  # one device each
    first_index: int  # the fleet index of urls[0]
    devices: int  # in the whole fleet (every process), for the stagger
    rate: float  # frames per second per device
    per_device: int
    out: str  # where the stamps go: JSON {"sent_ns": [[...] per device]} (0: not sent)
    greeted: bool = False  # chargers: wait for the server's {"type": "connected"}
    clock: float = 0.0  # chargers: the device clock of frame 0 (``ts``)


def due_offset_ns(index: int, seq: int, devices: int, rate: float) -> int:
    """When frame ``seq`` of fleet device ``index`` is due, after the schedule's start."""
    return round((index / (devices * rate) + seq / rate) * 1e9)


@dataclass(slots=True)
class Report:
    """What the devices saw besides their own frames going out."""

    commands: int = 0
    errors: int = 0
    error_frames: list[str] | None = None
    send_failures: list[str] | None = None
    close_codes: list[int | None] | None = None


class Senders:
    """The plan's devices, connected."""

    def __init__(self, plan: Plan, session: aiohttp.ClientSession) -> None:
        """Nothing connected yet: ``connect``."""
        self.plan = plan
        self._session = session
        self._sockets: list[aiohttp.ClientWebSocketResponse] = []
        self._readers: list[asyncio.Task[None]] = []
        self.report = Report(error_frames=[], send_failures=[], close_codes=[])
        count = len(plan.urls)
        # Chargers: the server's greeting, and the session each was sent a ``start`` of.
        self._greetings = [asyncio.Event() for _ in range(count)]
        self._session_ids: list[int | None] = [None] * count
        self._all_started = asyncio.Event()

    async def connect(self) -> None:
        """Connect every device and send its hello (ovens) or await its greeting (chargers)."""

        async def one(local: int, url: str) -> aiohttp.ClientWebSocketResponse:
            ws = await self._session.ws_connect(url)
            self._readers.append(asyncio.create_task(self._read(local, ws)))
            if self.plan.kind == "oven":
                await ws.send_str(OVEN_HELLO)
            elif self.plan.greeted:
                await self._greetings[local].wait()
            return ws

        async with asyncio.timeout(CONNECT_TIMEOUT):
            self._sockets = list(
                await asyncio.gather(*(one(i, url) for i, url in enumerate(self.plan.urls)))
            )

    def _error(self, text: str) -> None:
        assert self.report.error_frames is not None
        self.report.errors += 1
        if len(self.report.error_frames) < KEEP_ERRORS:
            self.report.error_frames.append(text)

    async def _read(self, local: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        # Read what the server sends so it is reported and never piles up.
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            if self.plan.kind == "oven":
                if msg.data.strip() in COMMANDS:
                    self.report.commands += 1
                else:
                    self._error(msg.data)
                continue
            data = json.loads(msg.data)
            match data.get("type"):
                case "connected":
                    self._greetings[local].set()
                case "start":
                    self._session_ids[local] = data["session_id"]
                    self.report.commands += 1
                    if None not in self._session_ids:
                        self._all_started.set()
                case "stop" | "sync_request":
                    pass
                case _:
                    self._error(msg.data)

    async def started(self) -> None:
        """Until every charger was sent its session's ``start``."""
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await self._all_started.wait()

    def _frame(self, local: int, seq: int) -> str:
        if self.plan.kind == "oven":
            return oven_reading(seq)
        return metrics_text(self._session_ids[local], seq, self.plan.clock)

    async def run(self, start_ns: int) -> int:
        """Send the schedule from ``start_ns`` (wall clock); returns how many frames went out."""
        plan = self.plan
        # Sleep on the monotonic clock (immune to clock steps); stamp on the shared wall clock.
        mono_start = time.monotonic_ns() + (start_ns - time.time_ns())
        stamps = [[0] * plan.per_device for _ in plan.urls]
        sent = 0
        failures = self.report.send_failures
        assert failures is not None

        async def device(local: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal sent
            index = plan.first_index + local
            row = stamps[local]
            for seq in range(plan.per_device):
                due = mono_start + due_offset_ns(index, seq, plan.devices, plan.rate)
                delay = (due - time.monotonic_ns()) / 1e9
                if delay > 0:
                    await asyncio.sleep(delay)
                text = self._frame(local, seq)
                now = time.time_ns()
                try:
                    await ws.send_str(text)
                except (ConnectionError, RuntimeError) as err:
                    failures.append(f"device {index}: {err}")
                    return
                row[seq] = now
                sent += 1

        await asyncio.gather(*(device(i, ws) for i, ws in enumerate(self._sockets)))
        text = json.dumps({"sent_ns": stamps})
        await asyncio.to_thread(Path(plan.out).write_text, text, encoding="utf-8")
        return sent

    async def close(self) -> None:
        """Close every connection, and let the readers end."""
        assert self.report.close_codes is not None
        await asyncio.gather(*(ws.close() for ws in self._sockets))
        await asyncio.gather(*self._readers)
        self.report.close_codes.extend(ws.close_code for ws in self._sockets)


async def _serve(plan_json: str) -> int:
    plan = Plan.from_json(plan_json)
    # No connection limit: aiohttp's default (100) would hold device 101 back forever.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        senders = Senders(plan, session)
        await senders.connect()
        answer("ready")
        async for line in commands():
            word, _, rest = line.partition(" ")
            if word == "go":
                answer(f"done {await senders.run(int(rest))}")
            elif word == "started":
                await senders.started()
                answer("started")
            else:
                answer(f"error unknown command {line!r}")
        await senders.close()
        answer(f"closed {json.dumps(asdict(senders.report))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.ws_senders PLAN``."""
    return plan_main("benchmarks.ws_senders", argv, _serve)


if __name__ == "__main__":
    sys.exit(main())
