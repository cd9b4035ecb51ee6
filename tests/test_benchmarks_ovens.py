"""``benchmarks.ovens``, its separate-process senders and ``scripts/profile``: tiny runs end to
end (real HA, real sockets, real sender processes, real recorder, real py-spy), and their parts.

Shapes and counts, never timings: every reading of a tiny load must arrive; with the recorder
on, each one must leave exactly one temperature row; the report must hold the sections and
ratios the options promise.
"""

from __future__ import annotations

import os
from pathlib import Path
import re
import subprocess

import pytest

from benchmarks.common import GcWatch, gc_ratio, hub_capacity
from benchmarks.flame import (
    NO_PYTHON_FRAME,
    function_shares,
    read_folded,
    render_folded,
    render_shares,
)
from benchmarks.home_assistant import REPO_ROOT
from benchmarks.ovens import DEFAULT_OVENS, build_parser
from benchmarks.process_fleet import StampedCollector
from benchmarks.ws_senders import Plan, due_offset_ns, oven_reading

from .bench_tools import benchmark_lines, run_benchmark

TINY = ["--ovens", "3", "--rate", "2", "--seconds", "2", "--bare-seconds", "0.1"]


def test_separate_process_senders_with_the_recorder() -> None:
    """Two sender processes, the recorder on: all delivered, one row per reading, every ratio."""
    lines = benchmark_lines("ovens", *TINY, "--sender-processes", "2", "--recorder")
    assert lines[0].endswith("= 6 readings/s offered, recorder on")
    assert "senders in 2 separate process(es)" in lines[1]
    assert "Against the schedule (senders in 2 separate process(es)):" in lines
    for path in ("raw aiohttp WS server", "iot_hub (HA HTTP server)"):
        rows = [line for line in lines if line.startswith(path)]
        assert len(rows) == 2, rows  # the table, and the schedule's table
        assert rows[0].split()[-7:-5] == ["12", "12"], rows[0]  # sent, delivered
        # due p50/p99/max, sent p99/max, process µs: numbers; GC per generation: a/b/c.
        cells = rows[1].removeprefix(path).split()
        assert all(re.fullmatch(r"\d+\.\d+", cell) for cell in cells[:6]), cells
        assert re.fullmatch(r"\d+/\d+/\d+", cells[6]), cells
    assert "  delivered            12/12 readings (0 lost); raw aiohttp 12/12" in lines
    for label in ("p99 against schedule", "process CPU per item", "GC work per item"):
        assert any(line.startswith(f"  {label}") and "raw aiohttp" in line for line in lines)
    assert any(line.startswith("  peak RSS growth ") for line in lines)
    [rows_line] = [line for line in lines if line.startswith("  rows written")]
    assert "12 temperature states rows for 12 readings (1.000 per reading;" in rows_line
    [backlog] = [line for line in lines if line.startswith("  backlog at load end")]
    assert re.search(r"\d+ queued; empty after \d+\.\d+ s, committed after", backlog)
    assert any(re.match(r"  database .* \d+ bytes per reading", line) for line in lines)
    assert "  sessions kept        12 readings (all of the 12 delivered)" in lines
    # Bare HA on the same schedule: 12 writes, against which iot_hub's remainder is shown.
    [paced] = [line for line in lines if line.startswith("bare HA, paced states.async_set")]
    assert re.fullmatch(r"\d+\.\d+", paced.split()[4]), paced  # its p50 due
    assert "iot_hub against bare HA on the same schedule" in " ".join(lines)
    # The same beat through HA's own sensor entities, and with no write at all: 12 each.
    for path in ("bare HA, paced sensor entities", "the same beat, no write"):
        [row] = [line for line in lines if line.startswith(path)]
        assert re.fullmatch(r"\d+\.\d+", row.removeprefix(path).split()[0]), row
    [split] = [line for line in lines if line.startswith("  CPU per reading ") and "=" in line]
    for part in ("network", "HA's state machine", "HA's sensor entities", "iot_hub's own"):
        assert part in split, split
    [writes] = [line for line in lines if line.startswith("  state writes ")]
    assert re.fullmatch(r"  state writes +\d\.\d\d vs 1\.00 per reading .*", writes), writes
    for label in ("p99 against schedule", "GC work per item", "process CPU per item"):
        assert any(line.startswith(f"  {label}") and "bare HA" in line for line in lines)


def test_thread_senders_still_work() -> None:
    """``--senders thread``: the former measurement, without the schedule's section.

    With ``--gc-census``: the census of both windows.
    """
    lines = benchmark_lines("ovens", *TINY, "--senders", "thread", "--no-sessions", "--gc-census")
    assert "senders on their own thread" in lines[1]
    # The census of what young collections promote into generation 2, in both windows.
    assert any(line.startswith("Objects promoted into generation 2 (--gc-census") for line in lines)
    for name in ("iot_hub", "bare HA, paced"):
        pattern = rf"  {name} +[\d,]+ objects/s promoted into generation 2 \(\d+ .*"
        assert any(re.fullmatch(pattern, line) for line in lines), name
    assert not any(line.startswith("Against the schedule") for line in lines)
    assert "  delivered            12/12 readings (0 lost); raw aiohttp 12/12" in lines


@pytest.mark.parametrize("cprofile", [False, True], ids=["py-spy", "cprofile"])
def test_profile_script_writes_a_profile_and_its_top_functions(
    tmp_path: Path, cprofile: bool
) -> None:
    """``scripts/profile`` profiles a tiny run, keeps its report and prints the top 30."""
    command = [str(REPO_ROOT / "scripts" / "profile")]
    if cprofile:
        command.append("--cprofile")
    command += ["benchmarks.ovens", *TINY, "--no-sessions"]
    env = {**os.environ, "IOT_HUB_PROFILE_DIR": str(tmp_path)}
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False, env=env
    )
    assert result.returncode == 0, result.stderr[-4000:]
    [report] = tmp_path.glob("ovens-*.out.txt")
    assert report.read_text().startswith("iot_hub oven benchmark: 3 ovens")
    [top] = tmp_path.glob("ovens-*.top.txt")
    text = top.read_text()
    assert text in result.stdout
    assert "benchmarks.ovens --ovens 3" in text.splitlines()[0]
    if cprofile:
        assert len(list(tmp_path.glob("ovens-*.prof"))) == 1
        assert "Ordered by: internal time" in text
    else:
        [folded] = tmp_path.glob("ovens-*.folded")
        assert folded.stat().st_size > 0
        assert re.search(r"^\d+ samples; top 30 functions by self samples$", text, re.MULTILINE)


def test_arguments_reach_the_hub_capacity() -> None:
    """Defaults 1,000 ovens x 1 Hz x 30 s, process senders; up to the hub's capacity."""
    args = build_parser().parse_args([])
    assert (args.ovens, args.rate, args.seconds) == (DEFAULT_OVENS, 1.0, 30.0) == (1000, 1, 30)
    assert (args.senders, args.sender_processes, args.recorder) == ("process", 1, False)
    assert hub_capacity("oven") >= 2000
    too_many = run_benchmark("ovens", "--ovens", str(hub_capacity("oven") + 1), timeout=60)
    assert too_many.returncode == 2
    assert f"--ovens must be between 1 and {hub_capacity('oven')}" in too_many.stderr


def test_stamped_collector_measures_from_send_and_from_schedule() -> None:
    """Latency from the sender's stamp and from the due time; late and stray values counted."""
    collector = StampedCollector(2, 2)
    start, rate = 1_000_000_000, 2.0
    for device, seq in ((0, 0), (1, 0), (1, 1)):
        collector.deliver(device, seq / 10)
    collector.deliver(0, 0.0)  # a duplicate
    collector.deliver(0, 0.5)  # out of the plan
    assert (collector.delivered, collector.unmatched) == (3, 2)
    # Shift the arrivals to known times: 10 ms after each frame was due.
    for device in range(2):
        for seq in range(2):
            if collector.arrived_ns[device][seq]:
                due = start + due_offset_ns(device, seq, 2, rate)
                collector.arrived_ns[device][seq] = due + 10_000_000
    collector.last_arrival_ns = max(max(row) for row in collector.arrived_ns)
    # Device 1's frames were sent 4 ms late; its frame 1 has no stamp (the sender failed).
    sent = [
        [start + due_offset_ns(0, 0, 2, rate), 0],
        [start + due_offset_ns(1, 0, 2, rate) + 4_000_000, 0],
    ]
    collector.resolve(start, rate, sent)
    assert sorted(round(x * 1000, 3) for x in collector.due_latencies) == [10.0, 10.0]
    assert sorted(round(x * 1000, 3) for x in collector.latencies) == [6.0, 10.0]
    assert collector.unmatched == 3
    assert collector.span() == pytest.approx((collector.last_arrival_ns - start) / 1e9)


def test_sender_plan_and_schedule() -> None:
    """The plan goes through JSON whole; devices are staggered within one period."""
    plan = Plan("oven", ["ws://a", "ws://b"], 2, 4, 1.0, 3, "/tmp/x")
    assert Plan.from_json(plan.to_json()) == plan
    assert [due_offset_ns(i, 0, 4, 1.0) for i in range(4)] == [
        0,
        250_000_000,
        500_000_000,
        750_000_000,
    ]
    assert due_offset_ns(0, 3, 4, 2.0) == 1_500_000_000
    assert oven_reading(123) == "12.3"


def test_gc_watch_counts_collections_per_generation() -> None:
    """A forced full collection is seen, as generation 2."""
    import gc

    with GcWatch().watching() as watch:
        gc.collect()
    assert watch.by_generation[2] >= 1
    assert watch.count == sum(watch.by_generation)
    assert watch.longest <= watch.total
    # A baseline that collected nothing: said so, not hidden as "n/a".
    assert (gc_ratio(2.0, 0.0), gc_ratio(0.0, 0.0), gc_ratio(3.0, 1.5)) == (
        "∞ (none in)",
        "n/a",
        "2.00x",
    )


def test_flame_top_functions() -> None:
    """Self and total samples from collapsed stacks; a stack without Python frames counted."""
    folded = ["main (a.py:1);work (a.py:2) 6\n", "main (a.py:1) 2\n", " 2\n", "garbage\n"]
    lines, samples = read_folded(folded)
    assert samples == 10
    assert [(line.function, line.self_samples, line.total_samples) for line in lines] == [
        ("work (a.py:2)", 6, 6),
        ("main (a.py:1)", 2, 8),
        (NO_PYTHON_FRAME, 2, 2),
    ]
    table = render_folded(lines, samples, 2)
    assert table[0] == "10 samples; top 2 functions by self samples"
    assert table[2] == "  60.00    60.00  work (a.py:2)"
    assert len(table) == 4


def test_flame_function_shares() -> None:
    """``--function``: a function counts once per sample, whichever of its lines are on it."""
    folded = [
        "main (a.py:1);Disk._flush (p.py:9);Disk._flush (p.py:12) 3\n",
        "main (a.py:1);work (a.py:2) 6\n",
        "Disk._flush (p.py:20) 1\n",
        "garbage\n",
    ]
    shares, samples = function_shares(folded, ["Disk._flush", "work", "absent"])
    assert samples == 10
    assert shares == {"Disk._flush": 4, "work": 6, "absent": 0}
    assert render_shares(shares, samples)[0] == "  40.00%  Disk._flush (on the stack)"
