"""``benchmarks.reading_path``: a tiny run of each kind end to end (real HA, a real sender process
over real WebSockets), counts not times.

Every reading the sender process sends arrives in every socket phase; an oven reading writes
its temperature sensor once, a wearable reading each motion value it changed (and its heart
rate when that changed); the report has every figure's row against the bare write.
"""

from __future__ import annotations

import pytest

from .bench_tools import benchmark_lines, run_benchmark

ARGS = ["--devices", "2", "--per-device", "3", "--rate", "20", "--rounds", "1", "--calls", "40"]
ROWS = (
    "loop-thread CPU µs",
    "GC µs",
    "gen-0 collections per 1,000",
    "gen-1 collections per 1,000",
    "gen-2 collections per 1,000",
    "net GC-tracked objects",
    "cyclic garbage objects",
    "hub.receive with entity write µs",
    "the same per state written µs",
    "iot_hub's own part (notify stubbed) µs",
)


@pytest.mark.parametrize(("kind", "writes"), [("oven", (1.0, 1.0)), ("sensor", (6.0, 7.0))])
def test_a_tiny_run_reports_every_figure(kind: str, writes: tuple[float, float]) -> None:
    """Every reading arrives, the writes per reading are the kind's, every row is there."""
    args = ["--kind", kind, *ARGS]
    lines = benchmark_lines("reading_path", *args)
    assert lines[0] == "command: python -m benchmarks.reading_path " + " ".join(args)
    # One warm-up, one gc phase, one nogc phase; 2 devices x 3 readings each.
    assert "readings arrived per socket phase: 6 6 6" in lines
    changed = next(line for line in lines if line.startswith("state writes per reading: "))
    assert writes[0] <= float(changed.split()[4]) <= writes[1]
    assert changed.endswith(", 0.00 reported unchanged")
    rows = {line[2:46].strip(): line[46:].split() for line in lines if line.startswith("  ")}
    for label in ROWS:
        value, base, ratio = rows[label]
        assert float(value) >= 0
        assert float(base) >= 0
        assert ratio == "n/a" or ratio.endswith("x")


def test_bad_arguments_are_refused() -> None:
    """Fewer calls than devices cannot give every device a reading: refused before starting."""
    result = run_benchmark("reading_path", "--devices", "5", "--calls", "2", timeout=60)
    assert result.returncode == 2
    assert "--calls at least --devices" in result.stderr
