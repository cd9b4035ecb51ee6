"""The stream benchmark's clients in a separate process: one wearable and N stream subscribers.

``python -m benchmarks.stream_clients PLAN`` (``PLAN``: a JSON object, see ``Plan``) is
started by ``benchmarks.streams`` for each phase. It runs in its own process on purpose: a
garbage collection or a busy loop in Home Assistant's process must not delay the stamping of
"sent" or "received", and the clients' own CPU and garbage must not count as the server's.

It obeys its standard input, one command a line, answering on its standard output
(``benchmarks.child``):

* (on start) connect every subscriber to ``subscriber_url`` (each reads its first frame, the
  snapshot, before it counts as connected), then the wearable to ``sender_url``; answers
  ``ready``, or ``missing <path>`` when a URL is not served (HTTP 404), and ends;
* ``go START_NS``: run the schedule: reading ``k`` is due at ``START_NS + k / rate`` s
  (``CLOCK_REALTIME``, which every process of the machine shares), whether or not the
  previous one reached everyone yet, and is stamped with ``time.time_ns()`` just before it is
  handed to the socket; every subscriber stamps each frame the moment it receives it. Once
  every subscriber got every reading, or no frame arrived for ``SETTLE_IDLE`` s after the last
  one went out, writes the stamps to the plan's ``out`` file (JSON: ``sent_ns``, one per
  reading; ``received_ns``, one row per subscriber; 0 where none; ``cpu_seconds``: this
  process's CPU from ``go`` on) and answers ``done <sent>``;
* end of input: close every connection and answer ``closed <JSON report>`` (frames that
  matched no reading, send failures, close codes), then exit.

A reading carries its number in ``accel_x`` (``reading_frame``), which the pushed
``sensor_update`` frame repeats (``seq_of``). Only aiohttp and the standard library are
imported, so the process starts fast and spends its CPU on the clients.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
import json
from pathlib import Path
import resource
import sys
import time
from typing import Final

import aiohttp

from .child import JsonPlan, answer, commands, plan_main

CONNECT_TIMEOUT: Final = 120.0
CONNECTING_AT_ONCE: Final = 50  # handshakes in flight (HA validates each token)
# After the last reading went out: a frame not received once none arrived for this long is
# lost; a server that fell behind gets this long between two frames, SETTLE_MAX in all.
SETTLE_IDLE: Final = 3.0
SETTLE_MAX: Final = 120.0


def reading_frame(seq: int) -> str:
    """The wearable's reading number ``seq``: ``accel_x`` carries ``seq`` to match it."""
    return json.dumps(
        {
            "accel_x": float(seq),
            "accel_y": 0.1,
            "accel_z": 9.81,
            "gyro_x": 1.5,
            "gyro_y": -0.5,
            "gyro_z": 0.25,
        }
    )


def seq_of(text: str) -> int | None:
    """The reading a pushed ``sensor_update`` frame carries (None: the snapshot, or other)."""
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    if not isinstance(frame, dict) or frame.get("type") != "sensor_update":
        return None
    data = frame.get("data")
    if not isinstance(data, dict) or not isinstance(value := data.get("accel_x"), int | float):
        return None
    return round(value)


def due_offset_ns(seq: int, rate: float) -> int:
    """When reading ``seq`` is due, after the schedule's start."""
    return round(seq / rate * 1e9)


def cpu_seconds() -> float:
    """CPU time (user + system) of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class Plan(JsonPlan):
    """What one client process does."""

    sender_url: str  # the wearable's device WebSocket
    subscriber_url: str  # the stream every subscriber listens to
    subscribers: int
    readings: int
    rate: float  # readings per second
    out: str  # where the stamps go


@dataclass(slots=True)
class Report:
    """What the clients saw besides the readings they were sent."""

    unmatched: int = 0  # frames of no reading of the plan, or a second time
    send_failures: list[str] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)


class RouteMissingError(Exception):
    """The server does not serve a URL of the plan (HTTP 404)."""


class Clients:
    """The plan's wearable and subscribers."""

    def __init__(self, plan: Plan, session: aiohttp.ClientSession) -> None:
        """Nothing connected yet: ``connect``."""
        self.plan = plan
        self._session = session
        self.report = Report()
        self.sent_ns = [0] * plan.readings
        self.received_ns = [[0] * plan.readings for _ in range(plan.subscribers)]
        self._expected = plan.readings * plan.subscribers
        self._delivered = 0
        self._all_delivered = asyncio.Event()
        self._sender: aiohttp.ClientWebSocketResponse | None = None
        self._subscribers: list[aiohttp.ClientWebSocketResponse] = []
        self._readers: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        """Every subscriber (past its snapshot), then the wearable."""
        gate = asyncio.Semaphore(CONNECTING_AT_ONCE)

        async def subscribe(index: int) -> None:
            async with gate:
                ws = await self._connect(self.plan.subscriber_url)
                self._subscribers.append(ws)
                # The first frame is the snapshot (or the raw server's empty one).
                first = await ws.receive(timeout=CONNECT_TIMEOUT)
                if first.type is not aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"a subscriber got {first.type.name} first")
            self._readers.append(asyncio.create_task(self._read(index, ws)))

        async with asyncio.timeout(CONNECT_TIMEOUT):
            await asyncio.gather(*(subscribe(i) for i in range(self.plan.subscribers)))
            sender = self._sender = await self._connect(self.plan.sender_url)
        self._readers.append(asyncio.create_task(_drain(sender)))

    async def _connect(self, url: str) -> aiohttp.ClientWebSocketResponse:
        try:
            return await self._session.ws_connect(url, heartbeat=None, autoping=True)
        except aiohttp.WSServerHandshakeError as err:
            if err.status == 404:
                raise RouteMissingError(url.split("?", maxsplit=1)[0]) from err
            raise

    async def _read(self, index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        row = self.received_ns[index]
        async for msg in ws:
            now = time.time_ns()  # before parsing: the frame is here
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            seq = seq_of(msg.data)
            if seq is None:
                continue
            if not 0 <= seq < len(row) or row[seq]:
                self.report.unmatched += 1
                continue
            row[seq] = now
            self._delivered += 1
            if self._delivered == self._expected:
                self._all_delivered.set()

    async def run(self, start_ns: int) -> int:
        """Send the schedule from ``start_ns`` (wall clock), then settle; returns the sent."""
        sender = self._sender
        assert sender is not None
        rate = self.plan.rate
        # Sleep on the monotonic clock (immune to clock steps); stamp on the shared wall clock.
        mono_start = time.monotonic_ns() + (start_ns - time.time_ns())
        sent = 0
        for seq in range(self.plan.readings):
            delay = (mono_start + due_offset_ns(seq, rate) - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            text = reading_frame(seq)
            now = time.time_ns()
            try:
                await sender.send_str(text)
            except (ConnectionError, RuntimeError) as err:
                self.report.send_failures.append(str(err))
                break
            self.sent_ns[seq] = now
            sent += 1
        await self._settle()
        return sent

    async def _settle(self) -> None:
        """Until every frame arrived, or none did for ``SETTLE_IDLE`` s."""
        deadline = time.monotonic() + SETTLE_MAX
        seen = -1
        while seen != self._delivered and time.monotonic() < deadline:
            seen = self._delivered
            try:
                async with asyncio.timeout(SETTLE_IDLE):
                    await self._all_delivered.wait()
            except TimeoutError:
                continue
            return

    async def close(self) -> None:
        """Close every connection, and let the readers end."""
        sockets = [*self._subscribers, *([self._sender] if self._sender else [])]
        await asyncio.gather(*(ws.close() for ws in sockets))
        await asyncio.gather(*self._readers, return_exceptions=True)
        self.report.close_codes.extend(ws.close_code for ws in self._subscribers)


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass  # the device WebSocket answers only with errors; none are expected


async def _serve(plan_json: str) -> int:
    plan = Plan.from_json(plan_json)
    # No connection limit: aiohttp's default (100) would hold subscriber 101 back forever.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        clients = Clients(plan, session)
        try:
            try:
                await clients.connect()
            except RouteMissingError as err:
                answer(f"missing {err}")
                return 0
            answer("ready")
            async for line in commands():
                word, _, rest = line.partition(" ")
                if word != "go":
                    answer(f"error unknown command {line!r}")
                    continue
                cpu_before = cpu_seconds()
                sent = await clients.run(int(rest))
                stamps = {
                    "sent_ns": clients.sent_ns,
                    "received_ns": clients.received_ns,
                    "cpu_seconds": cpu_seconds() - cpu_before,
                }
                await asyncio.to_thread(
                    Path(plan.out).write_text, json.dumps(stamps), encoding="utf-8"
                )
                answer(f"done {sent}")
        finally:
            await clients.close()
        answer(f"closed {json.dumps(asdict(clients.report))}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.stream_clients PLAN``."""
    return plan_main("benchmarks.stream_clients", argv, _serve)


if __name__ == "__main__":
    sys.exit(main())
