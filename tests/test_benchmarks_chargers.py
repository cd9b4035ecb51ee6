"""``benchmarks.chargers``: tiny runs end to end with both kinds of senders (real HA, real
sockets, real sender processes).

Counts and shapes, never timings: every metric of a tiny load must become a power state, every
session must keep the energy its frames carried, and the report must hold the schedule's section
when the senders are separate processes.
"""

from __future__ import annotations

import pytest

from benchmarks.ws_senders import metrics_text, metrics_watts

from .bench_tools import benchmark_lines

TINY = ["--chargers", "3", "--rate", "2", "--seconds", "3", "--bare-seconds", "0.1"]


@pytest.mark.parametrize("senders", ["process", "thread"])
def test_tiny_run(senders: str) -> None:
    """All 18 metrics delivered and metered, with either kind of senders."""
    lines = benchmark_lines("chargers", *TINY, "--senders", senders)
    assert (
        "  delivered            18/18 metrics as power states (0 lost); raw aiohttp 18/18" in lines
    )
    assert any(line.startswith("  sessions metered     3/3 sessions kept") for line in lines)
    # Bare HA writes what the frames changed (the power first) on the same beat: 18 beats.
    [paced] = [line for line in lines if line.startswith("  state writes ") and " vs " in line]
    hub_writes, paced_writes = (float(word) for word in paced.split()[2:5:2])
    assert hub_writes == paced_writes >= 1.0, paced
    schedule = [line for line in lines if line.startswith("Against the schedule")]
    if senders == "process":
        assert schedule == ["Against the schedule (senders in 1 separate process(es)):"]
        assert any(line.startswith("  p99 against schedule ") for line in lines)
    else:
        assert schedule == []
        assert "senders on their own thread" in lines[1]


def test_metrics_frames() -> None:
    """A unique power per frame, 3 device seconds apart, carrying the session id."""
    assert metrics_watts(12) == 1001.2
    assert metrics_text(7, 2, 100.0) == (
        '{"type":"metrics","session_id":7,"v":230.0,"a":4.35,"w":1000.2,"ts":106.0}'
    )
