"""``benchmarks.recorder``: a tiny run end to end (real HA, real recorder, real sockets), and
its parts.

Shapes and bounds, never timings: with every reading recorded each oven reading is one
state; with a budget an oven's states stay within seconds / interval + 1.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.recorder import WEARABLE_KEYS, bench_wearables, build_parser, wearable_frame
from custom_components.iot_hub.const import DEFAULT_RECORD_INTERVAL

from .bench_tools import benchmark_lines

ARGS = ["--ovens", "2", "--wearables", "1", "--wearable-rate", "5", "--seconds", "4"]


def test_a_tiny_run_reports_both_phases(tmp_path: Path) -> None:
    """Both phases run, print their rows and per-day figures, and write them as JSON."""
    figures = tmp_path / "figures.json"
    argv = [*ARGS, "--interval", "2", "--json", str(figures)]
    lines = benchmark_lines("recorder", *argv)
    assert lines[0].startswith("iot_hub recorder benchmark: Home Assistant ")
    command = "python -m benchmarks.recorder " + " ".join(argv)
    assert f"command: {command}" in lines
    assert sum(line.startswith("  oven (1 Hz)  ") for line in lines) == 2
    assert sum(line.startswith("  wearable (5 Hz)  ") for line in lines) == 2

    report = json.loads(figures.read_text())
    assert report["command"] == command
    every, budget = report["phases"]
    assert (every["record_interval"], budget["record_interval"]) == (0, 2)
    for phase in (every, budget):
        assert (phase["oven_readings"], phase["wearable_readings"]) == (8, 20)
        assert phase["db_bytes"] >= 0  # whole pages: a few states may fit in free space
        assert phase["notes"] == ""
    # Every reading: a state per oven reading; six changing values per wearable reading.
    assert every["oven_states"] == 8
    assert every["db_bytes"] > 0
    assert every["wearable_states"] >= 6 * 20
    # The budget: per entity the first reading, then one state per interval at most.
    assert budget["oven_states"] <= 2 * (4 / 2 + 1) < budget["oven_readings"]
    assert budget["wearable_states"] <= 7 * (4 / 2 + 1)
    # Per-day figures for both (bytes from whole pages: tiny runs say nothing of their size).
    assert {"oven_bytes_per_day", "wearable_bytes_per_day"} <= budget.keys()


def test_wearable_frames_and_names() -> None:
    """Seven values; the motion ones new at every reading, the heart rate once a second."""
    first, second, later = (json.loads(wearable_frame(seq, 5.0)) for seq in (0, 1, 5))
    assert list(first) == [*WEARABLE_KEYS, "heart_rate"]
    assert all(first[key] != second[key] for key in WEARABLE_KEYS)
    assert first["heart_rate"] == second["heart_rate"] != later["heart_rate"]
    (wearable,) = bench_wearables(1)
    assert (wearable.name, wearable.sensor_id) == ("Bench wearable 01", 1)


def test_arguments() -> None:
    """The defaults: 100 ovens, 2 wearables at 50 Hz, a minute per phase, iot_hub's budget."""
    args = build_parser().parse_args([])
    assert (args.ovens, args.wearables, args.wearable_rate, args.seconds) == (100, 2, 50.0, 60.0)
    assert args.interval == DEFAULT_RECORD_INTERVAL
