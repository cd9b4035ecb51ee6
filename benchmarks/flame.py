"""The top functions of a profile, as ``scripts/profile`` prints them.

``python -m benchmarks.flame FOLDED [--top N]`` reads py-spy's collapsed stacks (``py-spy
record --format raw``: one ``frame;frame;... count`` line per distinct stack, the root first,
also what flamegraph.pl and speedscope read) and prints the N functions with the most samples
where they ran themselves (self) and the share of samples with them anywhere on the stack
(total), each as a percentage of every sample of the recording. The samples are of the whole
process: HA's event loop, the recorder's thread, the executor.

``python -m benchmarks.flame --pstats FILE [--top N]`` prints the same from a cProfile dump
(``scripts/profile`` falls back on cProfile when py-spy is missing): functions by their own
time, with their cumulative time.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
import io
from pathlib import Path
import pstats
import sys
from typing import Final

DEFAULT_TOP: Final = 30
NO_PYTHON_FRAME: Final = "(no Python frame)"


@dataclass(frozen=True, slots=True)
class Line:
    """One function of the profile."""

    function: str
    self_samples: int
    total_samples: int


def _stacks(lines: Iterable[str]) -> Iterator[tuple[list[str], int]]:
    """Each line's frames (outermost first) and sample count; lines that are not, skipped."""
    for raw in lines:
        stack, _, count_text = raw.rstrip("\n").rpartition(" ")
        if count_text.isdigit():
            # py-spy writes a sample of a thread with no Python frame as an empty stack.
            yield (stack.split(";") if stack else [NO_PYTHON_FRAME]), int(count_text)


def read_folded(lines: Iterable[str]) -> tuple[list[Line], int]:
    """Every function's self and total samples, most self first; and the sample count."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    samples = 0
    for frames, count in _stacks(lines):
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):  # a recursive function counts once per sample
            anywhere[frame] += count
    ranked = sorted(anywhere, key=lambda name: (-own[name], -anywhere[name], name))
    return [Line(name, own[name], anywhere[name]) for name in ranked], samples


def render_folded(lines: Sequence[Line], samples: int, top: int) -> list[str]:
    """The top ``top`` functions by self samples, as a table."""
    out = [
        f"{samples} samples; top {min(top, len(lines))} functions by self samples",
        f"{'self %':>7} {'total %':>8}  function (file:line)",
    ]
    for line in lines[:top]:
        self_share = line.self_samples / samples * 100 if samples else 0.0
        total_share = line.total_samples / samples * 100 if samples else 0.0
        out.append(f"{self_share:>7.2f} {total_share:>8.2f}  {line.function}")
    return out


def function_shares(lines: Iterable[str], functions: Sequence[str]) -> tuple[dict[str, int], int]:
    """Per function name, the samples whose stack holds it (on any line); and the sample count.

    A frame reads ``Class.method (file:line)``: a function counts once per sample, whatever
    lines of it the stack holds.
    """
    wanted = set(functions)
    found: Counter[str] = Counter()
    samples = 0
    for frames, count in _stacks(lines):
        samples += count
        for name in {frame.partition(" (")[0] for frame in frames} & wanted:
            found[name] += count
    return {name: found[name] for name in functions}, samples


def render_shares(shares: dict[str, int], samples: int) -> list[str]:
    """The share of samples each function was on the stack in."""
    return [
        f"{count / samples * 100 if samples else 0.0:>7.2f}%  {name} (on the stack)"
        for name, count in shares.items()
    ]


def render_pstats(path: Path, top: int) -> list[str]:
    """The top ``top`` functions of a cProfile dump by their own time."""
    stream = io.StringIO()
    stats = pstats.Stats(str(path), stream=stream)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
    return stream.getvalue().splitlines()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.flame``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.flame", description="The top functions of a profile."
    )
    parser.add_argument("profile", type=Path, help="py-spy collapsed stacks, or a cProfile dump")
    parser.add_argument("--pstats", action="store_true", help="the file is a cProfile dump")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP, help="(default %(default)s)")
    parser.add_argument(
        "--function",
        action="append",
        default=[],
        metavar="NAME",
        help="instead: the share of samples NAME (e.g. Disk._flush) was on the stack in",
    )
    args = parser.parse_args(argv)
    if args.function and not args.pstats:
        with args.profile.open(encoding="utf-8") as folded:
            shares, samples = function_shares(folded, args.function)
        out = render_shares(shares, samples)
    elif args.pstats:
        out = render_pstats(args.profile, args.top)
    else:
        with args.profile.open(encoding="utf-8") as folded:
            lines, samples = read_folded(folded)
        out = render_folded(lines, samples, args.top)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
