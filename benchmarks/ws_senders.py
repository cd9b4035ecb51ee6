"""The WebSocket benchmarks' devices in a separate process: lean senders on a fixed schedule.

``python -m benchmarks.ws_senders PLAN`` (``PLAN``: a JSON object, see ``Plan``) is started by
``benchmarks.process_fleet`` for each load phase. It runs in its own process on purpose: a
garbage-collection pause or a busy loop in Home Assistant's process must not delay the
stamping of "sent", or the pause would never show in the latency.

It connects every device of the plan (one WebSocket each) and obeys its standard input, one
command a line, answering on its standard output:

* (on start) connect every device and send its hello; answers ``ready``;
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
import json
from pathlib import Path
import sys
import time
from typing import Any, Final

import aiohttp

CONNECT_TIMEOUT: Final = 60.0
OVEN_HELLO: Final = '{"type": "esp32"}'
# Server frames that are commands, not errors (a session's START and STOP).
COMMANDS: Final = frozenset({"START", "STOP"})
# The report keeps this many error frames (and counts them all).
KEEP_ERRORS: Final = 5


def oven_reading(seq: int) -> str:
    """The frame of oven reading number ``seq``: a unique, plausible temperature."""
    return f"{seq / 10:.1f}"


# What a device of each kind sends: its hello, then frame ``seq``.
KINDS: Final[dict[str, tuple[str | None, Callable[[int], str]]]] = {
    "oven": (OVEN_HELLO, oven_reading),
}


@dataclass(frozen=True, slots=True)
class Plan:
    """What one sender process does."""

    kind: str  # a key of KINDS
    urls: list[str]  # one device each
    first_index: int  # the fleet index of urls[0]
    devices: int  # in the whole fleet (every process), for the stagger
    rate: float  # frames per second per device
    per_device: int
    out: str  # where the stamps go: JSON {"sent_ns": [[...] per device]} (0: not sent)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """The plan of the command line."""
        data: dict[str, Any] = json.loads(text)
        return cls(**data)

    def to_json(self) -> str:
        """The plan for the command line."""
        return json.dumps(asdict(self))


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

    async def connect(self) -> None:
        """Connect every device and send its hello."""
        hello, _ = KINDS[self.plan.kind]

        async def one(url: str) -> aiohttp.ClientWebSocketResponse:
            ws = await self._session.ws_connect(url)
            if hello is not None:
                await ws.send_str(hello)
            return ws

        async with asyncio.timeout(CONNECT_TIMEOUT):
            self._sockets = list(await asyncio.gather(*(one(url) for url in self.plan.urls)))
        self._readers = [asyncio.create_task(self._read(ws)) for ws in self._sockets]

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        # Read what the server sends so it is reported and never piles up.
        assert self.report.error_frames is not None
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            if msg.data.strip() in COMMANDS:
                self.report.commands += 1
                continue
            self.report.errors += 1
            if len(self.report.error_frames) < KEEP_ERRORS:
                self.report.error_frames.append(msg.data)

    async def run(self, start_ns: int) -> int:
        """Send the schedule from ``start_ns`` (wall clock); returns how many frames went out."""
        plan = self.plan
        _, frame = KINDS[plan.kind]
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
                text = frame(seq)
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


async def _main(plan: Plan) -> int:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    # No connection limit: aiohttp's default (100) would hold device 101 back forever.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        senders = Senders(plan, session)
        await senders.connect()
        print("ready", flush=True)
        while line := (await reader.readline()).decode().strip():
            word, _, rest = line.partition(" ")
            if word == "go":
                print(f"done {await senders.run(int(rest))}", flush=True)
            else:
                print(f"error unknown command {line!r}", flush=True)
        await senders.close()
        print(f"closed {json.dumps(asdict(senders.report))}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.ws_senders PLAN``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m benchmarks.ws_senders PLAN_JSON", file=sys.stderr)
        return 2
    return asyncio.run(_main(Plan.from_json(args[0])))


if __name__ == "__main__":
    sys.exit(main())
