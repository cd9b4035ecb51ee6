"""Running a benchmark module as its users do, for the benchmarks' tests."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.home_assistant import REPO_ROOT


def run_benchmark(
    module: str, *argv: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m benchmarks.<module> ARGV`` from the repository's root, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def benchmark_lines(module: str, *argv: str) -> list[str]:
    """The output lines of a run that must succeed (else its stderr's end is the failure)."""
    result = run_benchmark(module, *argv)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout.splitlines()
