"""``benchmarks.warm_writes``: a tiny run end to end (real HA, real sockets), counts not times.

Every metrics frame reaches the charger's eight reading sensors: written every time in the
``every state`` mode, only where the state changed in iot_hub's own.
"""

from __future__ import annotations

from .bench_tools import benchmark_lines

ARGS = ["--chargers", "2", "--frames", "10", "--rounds", "1", "--all-entities"]


def test_a_tiny_run_writes_only_the_changes() -> None:
    """The report's rows: changed only writes what changed, every state writes all eight."""
    lines = benchmark_lines("warm_writes", *ARGS)
    assert lines[0] == "command: python -m benchmarks.warm_writes " + " ".join(ARGS)
    rows = {
        line[:14].strip(): line[14:].split()
        for line in lines
        if line[:14].strip() in {"changed only", "every state"}
    }
    changed_writes, changed_changes = (float(x) for x in rows["changed only"][-2:])
    every_writes, every_changes = (float(x) for x in rows["every state"][-2:])
    assert changed_writes == changed_changes
    assert 0 < changed_writes < 8
    assert every_writes == 8
    assert every_changes < every_writes
    assert lines[-1].startswith("changed only / every state: ")
