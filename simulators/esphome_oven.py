"""An ESP32 oven running ESPHome's ``mqtt:`` component (``simulators/esphome/oven.yaml``).

It publishes exactly what that configuration publishes, so iot_hub can be tested against an
ESPHome oven without the hardware:

* ``<prefix>/<id>/state``: the probe's temperature as bare text with one decimal (``23.5``),
  every ``--interval`` seconds, QoS 1, not retained (a thermocouple's NaN is never sent);
* ``<prefix>/<id>/status``: ``online`` when connected, ``offline`` as the last will and on a
  clean shutdown, both retained;
* it follows ``<prefix>/<id>/command``: the exact payloads ``START`` and ``STOP`` (ESPHome's
  ``on_message`` with ``payload:`` matches the whole payload) set ``measuring``; anything else
  is ignored, as the firmware ignores it.

The temperature follows the same thermal model as ``simulators.oven`` (heats toward the
setpoint while measuring), which a real ESPHome oven would do only if a heater followed
``measuring``; it makes the curves worth plotting.

Command line::

    python -m simulators.esphome_oven --id oven1 [--broker 127.0.0.1] [--port 1883]
        [--prefix iot_hub] [--username U --password P] [--interval 1.0]
        [--start-temp 22] [--setpoint 200] [--seed N] [-q]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import random
import sys
import time
from typing import Final, Literal

from .common import Printer, silent, timestamped
from .mqtt_device import (
    DEFAULT_PREFIX,
    MqttConnection,
    MqttDeviceSimulator,
    Topics,
    add_connection_arguments,
    check_topic_id,
    connection_from,
    run_until_signalled,
)
from .oven import (
    DEFAULT_INTERVAL,
    DEFAULT_SETPOINT,
    DEFAULT_START_TEMP,
    ThermalModel,
    format_reading,
)

type OvenCommand = Literal["START", "STOP"]

COMMANDS: Final[dict[bytes, OvenCommand]] = {b"START": "START", b"STOP": "STOP"}


class EsphomeOvenSimulator(MqttDeviceSimulator):
    """One simulated ESPHome oven on MQTT.

    Attributes:
        measuring: Whether the oven is between START and STOP (kept across reconnections,
            as firmware keeps it in RAM).
        readings_sent: How many readings went out, over every connection.
        commands: Every START/STOP received, in order.
        ignored: Every other payload received on the command topic.
    """

    _kind = "oven"

    def __init__(
        self,
        device_id: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        interval: float = DEFAULT_INTERVAL,
        start_temp: float = DEFAULT_START_TEMP,
        setpoint: float = DEFAULT_SETPOINT,
        seed: int | None = None,
        log_readings: bool = True,
        connection: MqttConnection | None = None,
        log: Printer = silent,
    ) -> None:
        """Configure the oven; nothing connects before ``run()``.

        Args:
            device_id: The topic id chosen when the oven was added to iot_hub.
            prefix: iot_hub's topic prefix.
            interval: Seconds between two readings (the sensor's ``update_interval``).
            start_temp: Room temperature, where the probe starts and cools back to (°C).
            setpoint: Where the oven heats to while measuring (°C).
            seed: Seed of the probe noise, for reproducible curves.
            log_readings: Also log every reading (off for quiet runs).
            log: Where the oven says what it does, one line at a time.
            connection: How to reach the broker; 127.0.0.1:1883 by default.
        """
        if interval <= 0:
            raise ValueError("interval must be positive")
        super().__init__(Topics(prefix, check_topic_id(device_id)), connection, log=log)
        self._interval = interval
        self._log_readings = log_readings
        self._model = ThermalModel(ambient=start_temp, setpoint=setpoint, rng=random.Random(seed))
        self._model_time: float | None = None
        self.measuring = False
        self.readings_sent = 0
        self.commands: list[OvenCommand] = []
        self.ignored: list[bytes] = []

    def _subscriptions(self) -> Sequence[str]:
        return (self.topics.command,)

    async def _on_message(self, topic: str, payload: bytes) -> None:
        if topic != self.topics.command:
            return
        command = COMMANDS.get(payload)
        if command is None:
            self.ignored.append(payload)
            self._log(f"Ignored command {payload[:64]!r}: only START and STOP mean something")
            return
        self.commands.append(command)
        self.measuring = command == "START"
        self._log("START: measuring" if self.measuring else "STOP: not measuring")

    def _next_reading(self) -> float:
        now = time.monotonic()
        elapsed = 0.0 if self._model_time is None else now - self._model_time
        self._model_time = now
        return self._model.advance(elapsed, heating=self.measuring)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            reading = format_reading(self._next_reading())
            if await self.publish(self.topics.state, reading):
                self.readings_sent += 1
                if self._log_readings:
                    self._log(f"Sent {reading} °C" + (" (measuring)" if self.measuring else ""))
            next_at += self._interval
            delay = next_at - loop.time()
            if delay < -self._interval:
                next_at = loop.time()  # far behind: skip the missed beats instead of bursting
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.esphome_oven``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.esphome_oven",
        description="Simulate an ESP32 oven running simulators/esphome/oven.yaml (MQTT).",
        epilog="Runs until Ctrl-C, reconnecting with backoff.",
    )
    parser.add_argument("--id", required=True, help="the oven's topic id in iot_hub")
    add_connection_arguments(parser)
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help="seconds between readings (default %(default)s)",
    )
    parser.add_argument(
        "--start-temp",
        type=float,
        default=DEFAULT_START_TEMP,
        help="room temperature in °C, where the probe starts (default %(default)s)",
    )
    parser.add_argument(
        "--setpoint",
        type=float,
        default=DEFAULT_SETPOINT,
        help="temperature in °C the oven heats to after START (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, help="seed of the probe noise")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print every reading")
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run the oven from command-line arguments; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        oven = EsphomeOvenSimulator(
            args.id,
            prefix=args.prefix,
            interval=args.interval,
            start_temp=args.start_temp,
            setpoint=args.setpoint,
            seed=args.seed,
            log_readings=not args.quiet,
            connection=connection_from(args),
            log=timestamped(),
        )
    except ValueError as err:
        parser.error(str(err))
    await run_until_signalled(oven)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.esphome_oven``; Ctrl-C stops the oven cleanly."""
    return asyncio.run(async_main(argv))


if __name__ == "__main__":
    sys.exit(main())
