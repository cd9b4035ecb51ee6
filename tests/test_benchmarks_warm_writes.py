"""``benchmarks.warm_writes``: a tiny run end to end (real HA, real sockets), counts not times.

Every metrics frame reaches the charger's eight reading sensors: written every time in the
``every state`` mode, only where the state changed in iot_hub's own.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.home_assistant import REPO_ROOT

ARGS = ["--chargers", "2", "--frames", "10", "--rounds", "1", "--all-entities"]


def test_a_tiny_run_writes_only_the_changes() -> None:
    """The report's rows: changed only writes what changed, every state writes all eight."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.warm_writes", *ARGS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.splitlines()
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
