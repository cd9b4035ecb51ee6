"""``benchmarks.appliances``: its quick mode runs end to end and reports every path; its parts.

Shapes, never timings: the quick run (real Home Assistant, the machine's Mosquitto, the
publishers' own process) must print two rows for every path (throughput, latency and CPU;
GC per generation and peak RSS) and write JSON with every figure, and at its light load every
message of every path must arrive. The pure parts (the
publishers' payload and schedule, the matching of values to messages, the load syntax) are
checked on their own.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import re

import pytest

from benchmarks.appliances import (
    LEGEND,
    PATH_ORDER,
    Arrivals,
    Load,
    build_parser,
    ha_mqtt_yaml,
    parse_load,
)
from benchmarks.mqtt_publishers import WARM_SEQ, Plan, payload, serial_of, value_seq
from custom_components.iot_hub.kinds.appliance.codec import decode_state

from .bench_tools import benchmark_lines

PATH_NAMES = {
    "raw_aiomqtt": "raw aiomqtt",
    "hub_dedicated": "iot_hub (dedicated)",
    "hub_ha_mqtt": "iot_hub (HA MQTT)",
    "ha_entities": "HA mqtt entities",
    "ha_sensor_attrs": "HA mqtt sensor+attrs",
}
FIGURES = {
    "rate",
    "lost",
    "p50",
    "p99",
    "p99_due",
    "cpu_per_message",
    "loop_per_message",
    "loop_capacity",
    "writes_per_message",
    "gc_per_message",
    "gc_total",
    "gc_longest",
    "gc_g0",
    "gc_g1",
    "gc_g2",
    "peak_rss_kib",
    "peak_rss_growth_kib",
}


def test_quick_run_reports_every_path(tmp_path: Path) -> None:
    """``--quick`` measures the five paths once and prints and writes the whole report."""
    figures = tmp_path / "figures.json"
    lines = benchmark_lines("appliances", "--quick", "--json", str(figures))
    assert lines[0].startswith("iot_hub appliance benchmark (MQTT): Home Assistant ")
    assert "publishers in a separate process; QoS 1; medians of 1 run" in lines[0]
    assert "load 3 appliances x 5 msg/s x 1 s = 15 msg/s offered" in lines
    number = r"(-|\d+(\.\d+)?)"
    generations = r"\d+(\.5)?/\d+(\.5)?/\d+(\.5)?"
    assert sum(line.startswith("path (GC, memory) ") for line in lines) == 1
    for name in PATH_NAMES.values():
        # A row in the table of throughput, latency and CPU, then one in that of GC and memory.
        [row, memory] = [line for line in lines if line.startswith(f"{name} ")]
        cells = row[len(name) :].split()
        assert len(cells) == 12, row
        assert all(re.fullmatch(number, cell.rstrip("%")) for cell in cells), row
        assert cells[:2] == ["15", "0"], row  # all sent, none lost at this load
        cells = memory[len(name) :].split()
        assert len(cells) == 6, memory
        assert re.fullmatch(generations, cells[0]), memory
        assert all(re.fullmatch(r"\d+\.\d+", cell) for cell in cells[1:]), memory
        assert float(cells[4]) > 0, memory  # HA's peak RSS
    for hub in ("iot_hub (dedicated)", "iot_hub (HA MQTT)"):
        [verdict] = [line for line in lines if line.startswith(f"  {hub}: throughput ")]
        assert "of raw aiomqtt's, loop capacity" in verdict
    assert sum(line.startswith("    vs HA mqtt ") for line in lines) == 4
    assert sum(line.startswith("    targets: >= 70% of raw aiomqtt: ") for line in lines) == 2
    cores = str(os.cpu_count())
    assert all(line.replace("{cores}", cores) in lines for line in LEGEND)
    assert lines[-1].startswith("peak RSS of this process: ")

    report = json.loads(figures.read_text())
    assert report["runs"] == 1
    assert report["qos"] == 1
    [load] = report["loads"]
    assert (load["devices"], load["rate"], load["seconds"]) == (3, 5.0, 1.0)
    assert list(load["medians"]) == list(PATH_ORDER)
    for key in PATH_ORDER:
        assert set(load["medians"][key]) == FIGURES
        assert load["medians"][key]["lost"] == 0
        assert load["vs_raw"][key].keys() == {"rate", "loop_capacity", "cpu_per_message", "p99"}
    assert load["vs_raw"]["raw_aiomqtt"]["rate"] == 1.0
    [phases] = load["runs"]
    for key, name in PATH_NAMES.items():
        phase = phases[key]
        assert (phase["path"], phase["key"]) == (name, key)
        assert phase["sent"] == phase["delivered"] == 15
        assert phase["unmatched"] == 0
        assert phase["cpu_process"] > 0
        assert len(phase["gc_by_generation"]) == 3
        assert sum(phase["gc_by_generation"]) == phase["gc_count"]
        assert phase["peak_rss_kib"] > 0
        assert phase["peak_rss_growth_kib"] >= 0
    # Each message changes two values, and iot_hub writes those two states.
    assert phases["hub_dedicated"]["states_changed"] == 2 * 15
    assert phases["hub_dedicated"]["states_reported"] == 0


def test_publishers_payload_is_the_seeds_json() -> None:
    """What the publishers send reads as a seed-003 state, its values giving its number."""
    report = decode_state(payload(serial_of(7), 42, 1_700_000_000_000_000_000))
    assert report.serial_number == "BENCH00007"
    assert report.estado == "activo"
    assert report.parametros == {"temp": 4.2, "watts": 1004.2}
    assert value_seq(report.parametros["temp"]) == 42
    assert value_seq(float(str(report.parametros["watts"])), 1000.0) == 42
    warm = decode_state(payload(serial_of(0), WARM_SEQ, 0))
    assert value_seq(warm.parametros["temp"]) == WARM_SEQ
    assert json.loads(payload("S", 3, 123))["ts"] == 123


def test_publishers_plan_and_schedule() -> None:
    """A plan goes through the command line unchanged; devices are staggered in a period."""
    plan = Plan("127.0.0.1", 1883, 1, "p/q", devices=4, rate=10.0, per_device=3, out="o.json")
    assert Plan.from_json(plan.to_json()) == plan
    assert plan.topic(2) == "p/q/BENCH00002/state"
    assert [plan.offset_ns(i, 0) for i in range(4)] == [0, 25_000_000, 50_000_000, 75_000_000]
    assert plan.offset_ns(1, 2) == 225_000_000


async def test_arrivals_count_a_message_once_complete() -> None:
    """A message is delivered when all its values are in; repeats and strangers are not."""
    arrivals = Arrivals(devices=2, per_device=3, parts=2)
    arrivals.part(0, 1)
    assert arrivals.completed == 0
    arrivals.part(0, 1)
    assert arrivals.completed == 1
    assert arrivals.done_ns[0][1] > 0
    arrivals.part(0, 1)  # a redelivery
    arrivals.part(1, WARM_SEQ)  # the warm-up, before the clock ran
    arrivals.part(1, 3)  # out of the plan
    assert (arrivals.completed, arrivals.unmatched) == (1, 1)
    assert arrivals.done_ns[1] == [0, 0, 0]
    arrivals.expect(2)
    assert not arrivals.all_done.is_set()
    arrivals.part(1, 0)
    arrivals.part(1, 0)
    assert arrivals.all_done.is_set()
    async with asyncio.timeout(1):
        await arrivals.all_done.wait()


def test_loads_and_arguments() -> None:
    """``NxR`` loads, and the command line's defaults."""
    assert parse_load("200x10") == Load(200, 10.0)
    assert parse_load("5X0.5").offered == 2.5
    assert str(Load(20, 10.0)) == "20x10"
    for bad in ("200", "0x10", "1001x1", "10x0", "axb"):
        with pytest.raises(ValueError):
            parse_load(bad)
    args = build_parser().parse_args([])
    assert (args.load, args.seconds, args.runs, args.qos, args.raw_mqtt) == (None, 10.0, 3, 1, "5")
    assert build_parser().parse_args(["--path", "raw_aiomqtt"]).paths == ["raw_aiomqtt"]


def test_ha_mqtt_yaml_mirrors_the_hubs_entities() -> None:
    """HA's YAML gives each appliance a sensor per value, estado and a switch, and the
    one-sensor variant, all subscribed at QoS 1 like iot_hub."""
    config = json.loads(ha_mqtt_yaml(2, "e", "a"))["mqtt"]
    assert [len(config[platform]) for platform in ("sensor", "binary_sensor", "switch")] == [
        6,
        2,
        2,
    ]
    everything = [entity for entities in config.values() for entity in entities]
    assert all(entity["qos"] == 1 for entity in everything)
    assert {entity["state_topic"] for entity in everything} == {
        f"{prefix}/{serial_of(i)}/state" for prefix in ("e", "a") for i in range(2)
    }
