"""``benchmarks.streams``: a tiny run reports every phase; its pure parts.

Shapes and counts, never timings: with 1 and 3 subscribers and 3 readings, every frame must
arrive on both servers, and the report must show, per N, a row per server with every figure
(latency, HA's loop and process CPU, GC, peak RSS, the clients' CPU), then iot_hub's ratios
against raw aiohttp. Until seed 004's stream route is served, the run exits with
``EXIT_NO_ROUTE`` and the test skips, saying so.
"""

from __future__ import annotations

import argparse
import json
import re

from aiohttp import web
import pytest

from benchmarks.home_assistant import free_port
from benchmarks.stream_clients import Plan, due_offset_ns, reading_frame, seq_of
from benchmarks.streams import (
    EXIT_NO_ROUTE,
    RouteMissingError,
    build_parser,
    frame_latencies,
    measure,
)

from .bench_tools import run_benchmark

NUMBER = r"-?\d+\.\d+"
GENERATIONS = r"\d+(\.5)?/\d+(\.5)?/\d+(\.5)?"
# The row's cells after the server's name: delivered, p50/p99 sent, p50/p99/max due, loop
# µs, process µs, GC g0/g1/g2, GC ms, GC max, GC µs, RSS MiB, +win, clients' CPU, send lag.
ROW = [
    r"\d+/\d+",
    *[NUMBER] * 7,
    GENERATIONS,
    *[NUMBER] * 5,
    r"\d+%",
    NUMBER,
]
RATIO = rf"({NUMBER}x|∞ \(none in raw\)|none in either)"


def test_tiny_run_reports_every_phase() -> None:
    """1 and 3 subscribers, 3 readings, 1 run: all delivered, every figure, the ratios."""
    result = run_benchmark(
        "streams", "--subscribers", "1,3", "--readings", "3", "--rate", "20", "--runs", "1"
    )
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "iot_hub stream fan-out benchmark: python -m benchmarks.streams --subscribers 1,3 "
        "--readings 3 --rate 20 --runs 1"
    )
    assert "the wearable and the subscribers in a separate process (one per phase)" in lines[1]
    assert "N=1: 3 readings x 1 subscriber = 3 frames" in lines
    assert "N=3: 3 readings x 3 subscribers = 9 frames" in lines
    # The baseline is measured whether or not iot_hub serves the stream.
    raw_rows = [line for line in lines if re.match(r"raw aiohttp +\d+/\d+ ", line)]
    assert [row.split()[2] for row in raw_rows] == ["3/3", "9/9"]
    if result.returncode == EXIT_NO_ROUTE:
        pytest.skip(
            "iot_hub does not serve /api/iot_hub/ws/sensor_data/<consumer>/ yet (seed 004's "
            "streams, branch issue9-streams): " + result.stderr.splitlines()[-1]
        )
    assert result.returncode == 0, result.stderr[-4000:]
    for server in ("raw aiohttp", "iot_hub"):
        rows = [line for line in lines if re.match(rf"{server} +\d+/\d+ ", line)]
        assert len(rows) == 2, rows
        for row, expected in zip(rows, ("3/3", "9/9"), strict=True):
            cells = row[len(server) :].split()
            assert len(cells) == len(ROW), row
            assert all(re.fullmatch(p, c) for p, c in zip(ROW, cells, strict=True)), row
            assert cells[0] == expected, row
            assert float(cells[12]) > 0, row  # HA's peak RSS
    for n in (1, 3):
        [verdict] = [line for line in lines if re.match(rf"  N={n} +all delivered", line)]
        assert re.fullmatch(
            rf"  N={n} +all delivered: yes \({n * 3} frames planned\); within 2x: (yes|NO)",
            verdict,
        )
        at = lines.index(verdict)
        latency, cpu, gc, rss = lines[at + 1 : at + 5]
        assert re.fullmatch(
            rf"    latency +p50 due {RATIO}, p99 due {RATIO}, max due {RATIO}; "
            rf"p50 sent {RATIO}, p99 sent {RATIO}",
            latency,
        )
        assert re.fullmatch(rf"    CPU per frame +loop thread {RATIO}, whole process {RATIO}", cpu)
        assert re.fullmatch(
            rf"    GC +per frame {RATIO}, longest pause {RATIO}; collections [\d.]+ vs [\d.]+ "
            r"\(full: [\d.]+ vs [\d.]+\)",
            gc,
        )
        assert re.fullmatch(rf"    peak RSS +\+{NUMBER} vs \+{NUMBER} MiB in the window", rss)
    [fan_out] = [line for line in lines if line.startswith("  N=3 ") and "per extra frame" in line]
    assert re.fullmatch(
        rf"  N=3 +iot_hub {NUMBER} µs vs raw aiohttp {NUMBER} µs per extra frame: "
        rf"({NUMBER}x|n/a)",
        fan_out,
    )


def test_latencies_against_the_send_and_the_schedule() -> None:
    """Each received frame is timed from its reading's send stamp and its due time."""
    start, rate = 1_000_000_000, 10.0
    sent = [start + 1_000_000, start + due_offset_ns(1, rate) + 2_000_000, 0]
    received = [
        [sent[0] + 3_000_000, sent[1] + 1_000_000, 0],
        [sent[0] + 5_000_000, 0, start + 250_000_000],  # reading 2 was never sent
    ]
    latencies, due, unmatched = frame_latencies(start, rate, sent, received)
    assert latencies == pytest.approx((0.001, 0.003, 0.005))
    assert due == pytest.approx((0.003, 0.004, 0.006))
    assert unmatched == 1


@pytest.mark.usefixtures("socket_enabled")
async def test_a_stream_not_served_is_said_so() -> None:
    """The clients answer ``missing`` to a 404, which a phase raises as the route missing."""
    runner = web.AppRunner(web.Application())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    args = argparse.Namespace(readings=1, rate=10.0)
    try:
        with pytest.raises(RouteMissingError, match=rf"127.0.0.1:{port}/sub is not served"):
            await measure(
                "iot_hub", f"ws://127.0.0.1:{port}/send", f"ws://127.0.0.1:{port}/sub", 1, args
            )
    finally:
        await runner.cleanup()


def test_client_plan_goes_through_the_command_line() -> None:
    """The plan a phase hands its client process comes back unchanged."""
    plan = Plan("ws://a/send", "ws://a/sub", subscribers=3, readings=5, rate=10.0, out="o")
    assert Plan.from_json(plan.to_json()) == plan


def test_a_reading_is_matched_by_its_pushed_frame() -> None:
    """The push carries the reading's accel_x; the snapshot and other frames match nothing."""
    reading = json.loads(reading_frame(17))
    push = {"type": "sensor_update", "data": {"id": 4, **reading, "created_at": "x"}}
    assert seq_of(json.dumps(push)) == 17
    assert seq_of(json.dumps({"type": "sensor_update", "data": [push["data"]]})) is None
    assert seq_of('{"type": "pong"}') is None
    assert seq_of("not json") is None
    assert seq_of('{"type": "sensor_update", "data": {"accel_x": "a"}}') is None


def test_command_line() -> None:
    """Subscriber counts are a comma-separated list of sensible numbers."""
    parser = build_parser()
    defaults = parser.parse_args([])
    assert (defaults.subscribers, defaults.readings, defaults.rate, defaults.runs) == (
        (1, 100, 1000),
        100,
        10.0,
        3,
    )
    assert parser.parse_args(["--subscribers", "2,5"]).subscribers == (2, 5)
    for bad in ("", "1,x", "0", "6000"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--subscribers", bad])
    assert isinstance(parser, argparse.ArgumentParser)
