"""The appliance benchmark's devices: a separate process publishing seed-003 state messages.

``python -m benchmarks.mqtt_publishers PLAN`` (``PLAN``: a JSON object, see ``Plan``) is
started by ``benchmarks.appliances`` for each load phase. It runs in its own process on
purpose: a garbage-collection pause or a busy loop in Home Assistant's process must not delay
the stamping of "sent", or the pause would never show in the latency.

It connects one lean MQTT client for all devices (the subscriber's side is the same whether
the broker takes the messages from one connection or many) and obeys its standard input,
one command a line, answering on its standard output (``benchmarks.child``):

* ``warm``: publish one message per device with out-of-range values (so entities exist and
  HA's subscriptions are in place before the clock runs); answers ``warmed``;
* ``go``: publish the plan: device ``i``'s message ``seq`` is due at
  ``start + i / (devices x rate) + seq / rate`` (devices are staggered within a period, as real
  ones are not in sync), stamped with ``time.time_ns()`` just before it is handed to the client;
  writes every stamp to the plan's ``out`` file and answers ``done <sent>``;
* end of input: disconnect and exit.

Message ``seq`` of a device carries ``temp = seq / 10`` and ``watts = 1000 + seq / 10`` (so a
state is matched to its message) and its send time ``ts`` (ns, ``CLOCK_REALTIME``, shared by
every process of the machine). Only aiomqtt and the standard library are imported, so the
process starts fast and spends its CPU on publishing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import sys
import time
from typing import Final

import aiomqtt

from .child import JsonPlan, answer, commands, plan_main

# Ahead of "go": every device's first beat is in the future when the schedule starts.
LEAD_NS: Final = 50_000_000
WARM_SEQ: Final = -10  # temp -1.0, watts 999.0: never a measured message
CONNECT_TIMEOUT: Final = 10.0


def serial_of(index: int) -> str:
    """The serial number of device ``index`` (0-based)."""
    return f"BENCH{index:05d}"


def payload(serial: str, seq: int, sent_ns: int) -> bytes:
    """Message ``seq`` of ``serial``: the seed's JSON, compact, plus its send time."""
    return (
        f'{{"serial_number":"{serial}","estado":"activo",'
        f'"parametros":{{"temp":{seq / 10!r},"watts":{1000 + seq / 10!r}}},'
        f'"ts":{sent_ns}}}'
    ).encode()


def value_seq(value: float, offset: float = 0.0) -> int:
    """The message number a ``temp`` (offset 0) or ``watts`` (offset 1000) value came from."""
    return round((value - offset) * 10)


@dataclass(frozen=True, slots=True)
class Plan(JsonPlan):
    """What one publisher process does."""

    host: str
    port: int
    qos: int
    prefix: str  # devices publish on <prefix>/<serial>/state
    devices: int
    rate: float  # messages per second per device
    per_device: int
    out: str  # where the stamps go: JSON {"start_ns", "sent_ns": [[...] per device]}

    def topic(self, index: int) -> str:
        """The state topic of device ``index``."""
        return f"{self.prefix}/{serial_of(index)}/state"

    def offset_ns(self, index: int, seq: int) -> int:
        """When message ``seq`` of device ``index`` is due, after the start."""
        return round((index / (self.devices * self.rate) + seq / self.rate) * 1e9)


async def _publish_all(client: aiomqtt.Client, plan: Plan) -> tuple[int, list[list[int]]]:
    """Run the schedule; returns how many went out and each one's stamp (0: not sent)."""
    start_ns = time.time_ns() + LEAD_NS
    # Sleep on the monotonic clock (immune to clock steps); stamp on the shared wall clock.
    mono_start = time.monotonic_ns() + LEAD_NS
    stamps = [[0] * plan.per_device for _ in range(plan.devices)]
    sent = 0
    failures: list[str] = []

    async def device(index: int) -> None:
        nonlocal sent
        serial = serial_of(index)
        topic = plan.topic(index)
        row = stamps[index]
        for seq in range(plan.per_device):
            delay = (mono_start + plan.offset_ns(index, seq) - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.time_ns()
            try:
                await client.publish(topic, payload(serial, seq, now), qos=plan.qos)
            except aiomqtt.MqttError as err:
                failures.append(str(err))
                return
            row[seq] = now
            sent += 1

    await asyncio.gather(*(device(i) for i in range(plan.devices)))
    stamped = json.dumps({"start_ns": start_ns, "sent_ns": stamps, "failures": failures})
    await asyncio.to_thread(Path(plan.out).write_text, stamped, encoding="utf-8")
    return sent, stamps


async def _warm(client: aiomqtt.Client, plan: Plan) -> None:
    for index in range(plan.devices):
        await client.publish(
            plan.topic(index), payload(serial_of(index), WARM_SEQ, time.time_ns()), qos=plan.qos
        )


async def _serve(plan_json: str) -> int:
    plan = Plan.from_json(plan_json)
    # aiomqtt warns at every publish once more than 10 await their acknowledgement: with
    # hundreds of devices on one client that is the normal case, not news.
    quiet = logging.getLogger("benchmarks.mqtt_publishers.client")
    quiet.setLevel(logging.ERROR)
    client = aiomqtt.Client(
        plan.host,
        plan.port,
        identifier=f"bench-pub-{plan.prefix.replace('/', '-')}",
        logger=quiet,
        timeout=CONNECT_TIMEOUT,
        # Every device publishes through this one client: let their messages be in flight
        # together, as they would be from separate devices.
        max_inflight_messages=max(20, plan.devices * 2),
    )
    async with client:
        answer("ready")
        async for line in commands():
            if line == "warm":
                await _warm(client, plan)
                answer("warmed")
            elif line == "go":
                sent, _ = await _publish_all(client, plan)
                answer(f"done {sent}")
            else:
                answer(f"error unknown command {line!r}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m benchmarks.mqtt_publishers PLAN``."""
    return plan_main("benchmarks.mqtt_publishers", argv, _serve)


if __name__ == "__main__":
    sys.exit(main())
