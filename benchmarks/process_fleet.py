"""Senders in separate processes (``benchmarks.ws_senders``), driven from Home Assistant's loop.

``ProcessFleet`` does what ``common.SenderFleet`` does, but its devices live in one or more
other processes: a garbage-collection pause or a busy stretch of HA's loop cannot delay the
stamping of "sent" there, so such a pause shows in the latency instead of hiding in it. The
senders stamp on ``CLOCK_REALTIME`` (``time.time_ns``), which every process of the machine
shares; ``StampedCollector`` stamps each arrival on the same clock, and once the senders wrote
their stamps, matches arrivals to sends *and* to each frame's due time by the schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
import json
import math
from pathlib import Path
import tempfile
import time
from typing import Any, Final

from .child import Child
from .common import CONNECT_TIMEOUT, Collector, SenderReport
from .ws_senders import Plan, due_offset_ns

# Ahead of "go": every device's first beat is in the future when the schedule starts.
LEAD_NS: Final = 100_000_000


@dataclass(slots=True)
class StampedCollector(Collector):
    """A ``Collector`` whose send times come from another process, after the fact.

    ``deliver`` stamps the arrival (wall clock, ns); ``resolve`` turns the stamps into
    latencies once the senders reported theirs.
    """

    arrived_ns: list[list[int]] = field(init=False)
    first_sent_ns: int = 0
    last_arrival_ns: int = 0

    def __post_init__(self) -> None:
        """Preallocate the arrival table (the send table stays empty: it is the senders')."""
        self.sent_at = []
        self.arrived_ns = [[0] * self.per_device for _ in range(self.devices)]

    def deliver(self, device: int, value: float) -> None:
        """Value ``value`` (sequence number / 10) of device ``device`` arrived now (HA loop)."""
        now = time.time_ns()
        seq = round(value * 10)
        if not 0 <= seq < self.per_device or self.arrived_ns[device][seq]:
            self.unmatched += 1
            return
        self.arrived_ns[device][seq] = now
        self.delivered += 1
        self.last_arrival_ns = now
        if self.delivered >= self.expected:
            self.all_delivered.set()

    def resolve(self, start_ns: int, rate: float, sent_ns: Sequence[Sequence[int]]) -> None:
        """Latencies against each frame's send stamp and its due time (``start_ns`` + plan)."""
        sent_first = [stamp for row in sent_ns for stamp in row if stamp]
        self.first_sent_ns = min(sent_first, default=0)
        for device, (sent_row, arrived_row) in enumerate(
            zip(sent_ns, self.arrived_ns, strict=True)
        ):
            for seq, (sent, arrived) in enumerate(zip(sent_row, arrived_row, strict=True)):
                if not arrived:
                    continue
                if not sent:  # arrived, yet the sender has no stamp: count it as unmatched
                    self.unmatched += 1
                    continue
                due = start_ns + due_offset_ns(device, seq, self.devices, rate)
                self.latencies.append((arrived - sent) / 1e9)
                self.due_latencies.append((arrived - due) / 1e9)

    @property
    def first_sent(self) -> float:
        """Unused here (the span is taken on the wall clock): NaN."""
        return math.nan

    def span(self) -> float:
        """Seconds from the first frame sent to the last one delivered (NaN: none)."""
        if not self.first_sent_ns or not self.last_arrival_ns:
            return math.nan
        return (self.last_arrival_ns - self.first_sent_ns) / 1e9


class ProcessFleet:
    """N devices in ``processes`` sender processes: connect, then send on cue.

    Same interface as ``common.SenderFleet`` (``measure_load`` drives either).
    """

    def __init__(
        self,
        kind: str,
        urls: Sequence[str],
        rate: float,
        per_device: int,
        *,
        processes: int = 1,
        greeted: bool = False,
        clock: float = 0.0,
    ) -> None:
        """Plan ``per_device`` frames at ``rate``/s to each URL, split over ``processes``.

        ``greeted`` and ``clock``: chargers await the server's greeting; their device clock.
        """
        self._kind = kind
        self._greeted = greeted
        self._clock = clock
        self._urls = list(urls)
        self._rate = rate
        self.per_device = per_device
        self._processes_wanted = max(1, min(processes, len(self._urls)))
        self.collector = StampedCollector(len(self._urls), per_device)
        self.report = SenderReport()
        self._tmp = tempfile.TemporaryDirectory(prefix="iot_hub_senders_")
        self._processes: list[tuple[Child, Plan]] = []
        self._start_ns = 0
        self._starting: asyncio.Task[None] | None = None
        self._sending: asyncio.Task[None] | None = None

    def _plans(self) -> list[Plan]:
        count = self._processes_wanted
        size = math.ceil(len(self._urls) / count)
        return [
            Plan(
                kind=self._kind,
                urls=self._urls[first : first + size],
                first_index=first,
                devices=len(self._urls),
                rate=self._rate,
                per_device=self.per_device,
                out=str(Path(self._tmp.name) / f"stamps-{first}.json"),
                greeted=self._greeted,
                clock=self._clock,
            )
            for first in range(0, len(self._urls), size)
        ]

    def start(self) -> None:
        """Start the processes; each connects its devices."""
        self._starting = asyncio.create_task(self._start())

    async def _start(self) -> None:
        for plan in self._plans():
            child = await Child.start("benchmarks.ws_senders", plan.to_json())
            self._processes.append((child, plan))
        await asyncio.gather(*(child.expect("ready") for child, _ in self._processes))

    async def wait_connected(self) -> None:
        """Until every device is connected (``TimeoutError`` after ``CONNECT_TIMEOUT`` s)."""
        assert self._starting is not None
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT * 2):  # processes start, then connect
                await self._starting
        except BaseException:
            await self.finish()
            raise

    async def wait_started(self) -> None:
        """(Chargers) until every device was sent its session's ``start``."""
        await asyncio.gather(*(child.ask("started", "started") for child, _ in self._processes))

    def go(self) -> None:
        """Start sending, on a schedule that starts a moment from now (wall clock)."""
        self._start_ns = time.time_ns() + LEAD_NS
        self._sending = asyncio.create_task(self._send())

    async def _send(self) -> None:
        go = f"go {self._start_ns}"
        sent = await asyncio.gather(*(child.ask(go, "done") for child, _ in self._processes))
        self.collector.sent = sum(int(count) for count in sent)

    async def wait_sent(self) -> None:
        """Until every device sent its last frame; ``collector.sent`` is final then."""
        assert self._sending is not None
        await self._sending

    async def finish(self) -> None:
        """Close every connection, end the processes, and resolve the latencies."""
        try:
            closed = await asyncio.gather(*(child.stop("closed") for child, _ in self._processes))
            for report in closed:
                self._merge(json.loads(report) if report else {})
            if self._sending is not None and self._sending.done():
                stamps: list[list[int]] = []
                for _, plan in self._processes:
                    out = Path(plan.out)
                    text = await asyncio.to_thread(out.read_text, encoding="utf-8")
                    stamps.extend(json.loads(text)["sent_ns"])
                self.collector.resolve(self._start_ns, self._rate, stamps)
        finally:
            self._tmp.cleanup()

    def _merge(self, report: dict[str, Any]) -> None:
        self.report.commands += report.get("commands", 0)
        self.report.error_frames.extend(report.get("error_frames") or [])
        # Error frames beyond those kept still count (as placeholders).
        extra = report.get("errors", 0) - len(report.get("error_frames") or [])
        self.report.error_frames.extend(["..."] * max(0, extra))
        self.report.send_failures.extend(report.get("send_failures") or [])
        self.report.close_codes.extend(report.get("close_codes") or [])
