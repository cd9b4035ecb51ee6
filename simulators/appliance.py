"""A seed-003 MQTT appliance, as ``simulators/esphome/appliance.yaml`` makes an ESP32 one.

It publishes exactly what that ESPHome configuration publishes, so iot_hub can be tested
against the appliance without the hardware:

* ``<prefix>/<serial>/state``: the seed's JSON, compact, in the seed's key order:
  ``{"serial_number":"APL0001ESP32","estado":"activo","parametros":{"temp":23.4,"watts":61.2}}``
  (``estado`` is the relay: ``activo`` when on). QoS 1, not retained. Sent on connecting,
  when the relay changes, once after every configuration that leaves the relay as it was
  (a confirmation), and every ``--interval`` seconds. Numbers are written as ESPHome's
  ArduinoJson writes them: one decimal, and a whole number without ``.0`` (``0``, ``61``).
* ``<prefix>/<serial>/status``: ``online`` when connected, ``offline`` as the last will and
  on a clean shutdown, both retained.
* It follows the retained ``<prefix>/<serial>/config``: ``{"modo":"manual"|"horario",
  "encendido":true|false}``; the relay follows ``encendido`` in both modes (on a schedule,
  Home Assistant evaluates the schedule and sends ``encendido``); ``modo`` is shown. A
  configuration without a boolean ``encendido`` leaves the relay alone (and is confirmed);
  a payload that is not JSON is ignored, as ESPHome ignores it.

With ``--legacy-topic TOPIC`` it is instead the seed's unmodified firmware: the same JSON on
that topic only (QoS 0, as the Arduino PubSubClient library sends), no status messages and no
configuration; the relay stays as ``--encendido`` / ``--no-encendido`` says.

Command line::

    python -m simulators.appliance --serial APL0001ESP32 [--broker 127.0.0.1] [--port 1883]
        [--prefix iot_hub] [--username U --password P] [--interval 30] [--watts 60]
        [--legacy-topic dispositivos/APL0001ESP32 [--encendido]] [--seed N] [-q]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
import json
import math
import random
import sys
import time
from typing import Any, Final

from .common import Printer, silent, timestamped
from .mqtt_device import (
    DEFAULT_PREFIX,
    MqttConnection,
    MqttDeviceSimulator,
    Topics,
    add_connection_arguments,
    check_publish_topic,
    check_topic_id,
    connection_from,
    run_until_signalled,
)

DEFAULT_INTERVAL: Final = 30.0  # the YAML's report_interval
DEFAULT_WATTS: Final = 60.0
DEFAULT_AMBIENT: Final = 22.0

type Parameters = dict[str, int | float]


def arduinojson_number(value: float) -> int | float:
    """``value`` rounded to 0.1 and written as ArduinoJson writes it (``61`` not ``61.0``)."""
    rounded = round(value, 1)
    return int(rounded) if rounded.is_integer() else rounded


def state_payload(serial: str, encendido: bool, parametros: Parameters) -> str:
    """The seed's state message: compact JSON, keys in the seed's order."""
    return json.dumps(
        {
            "serial_number": serial,
            "estado": "activo" if encendido else "inactivo",
            "parametros": parametros,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


@dataclass(slots=True)
class ApplianceModel:
    """What the appliance's sensors read (``temp`` and ``watts``).

    A DS18B20 that warms a little while the load runs, and an HLW8012 power meter that reads
    about the load's rated power while the relay is on and 0 when it is off.
    """

    rated_watts: float = DEFAULT_WATTS
    ambient: float = DEFAULT_AMBIENT
    warm_rise: float = 8.0
    time_constant: float = 300.0
    noise: float = 0.1
    temperature: float = field(default=math.nan)
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        """Start at room temperature unless told otherwise."""
        if math.isnan(self.temperature):
            self.temperature = self.ambient

    def read(self, seconds: float, on: bool) -> Parameters:
        """Let ``seconds`` pass and return the ``parametros`` the device reports."""
        target = self.ambient + (self.warm_rise if on else 0.0)
        self.temperature += (target - self.temperature) * (
            1.0 - math.exp(-seconds / self.time_constant)
        )
        temp = self.temperature + self.rng.gauss(0.0, self.noise)
        watts = self.rated_watts * (1.0 + self.rng.gauss(0.0, 0.01)) if on else 0.0
        return {"temp": arduinojson_number(temp), "watts": arduinojson_number(max(watts, 0.0))}


class ApplianceSimulator(MqttDeviceSimulator):
    """One simulated appliance (relay, temperature, power) on MQTT.

    Attributes:
        relay: Whether the relay is on (``estado`` ``activo``).
        modo: The last ``modo`` configured (None before the first configuration).
        configs: Every configuration object received, in order.
        states_sent: Every state payload published, in order.
        rejected: Every configuration payload that was ignored (not JSON, or JSON null).
    """

    _kind = "appliance"

    def __init__(
        self,
        serial: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        interval: float = DEFAULT_INTERVAL,
        rated_watts: float = DEFAULT_WATTS,
        legacy_topic: str | None = None,
        encendido: bool = False,
        seed: int | None = None,
        log_states: bool = True,
        connection: MqttConnection | None = None,
        log: Printer = silent,
    ) -> None:
        """Configure the appliance; nothing connects before ``run()``.

        Args:
            serial: The serial_number (also its topic id).
            prefix: iot_hub's topic prefix.
            interval: Seconds between two periodic state messages.
            rated_watts: The load's power while the relay is on.
            legacy_topic: Be the seed's unmodified firmware, publishing on this topic.
            encendido: The relay at start (ESPHome's ``ALWAYS_OFF`` when False); the
                retained configuration then decides, except in legacy mode.
            seed: Seed of the sensors' noise.
            log_states: Say every state message sent (False: only what changes).
            connection: How to reach the broker; 127.0.0.1:1883 by default.
            log: Where the appliance says what it does, one line at a time.
        """
        if interval <= 0:
            raise ValueError("interval must be positive")
        super().__init__(
            Topics(prefix, check_topic_id(serial, "serial_number")),
            connection,
            status=legacy_topic is None,
            log=log,
        )
        self.serial = serial
        self._state_topic = (
            self.topics.state if legacy_topic is None else check_publish_topic(legacy_topic)
        )
        self._legacy = legacy_topic is not None
        self._interval = interval
        self._model = ApplianceModel(rated_watts=rated_watts, rng=random.Random(seed))
        self._model_time: float | None = None
        self._log_states = log_states
        self.relay = encendido
        self.modo: str | None = None
        self.configs: list[dict[str, Any]] = []
        self.states_sent: list[str] = []
        self.rejected: list[bytes] = []

    @property
    def state_topic(self) -> str:
        """Where the state goes: ``<prefix>/<serial>/state``, or the legacy topic."""
        return self._state_topic

    def _subscriptions(self) -> Sequence[str]:
        return () if self._legacy else (self.topics.config,)

    def _parameters(self) -> Parameters:
        now = time.monotonic()
        elapsed = 0.0 if self._model_time is None else now - self._model_time
        self._model_time = now
        return self._model.read(elapsed, self.relay)

    async def publish_state(self) -> bool:
        """Publish the state message now (the YAML's ``publish_state`` script)."""
        payload = state_payload(self.serial, self.relay, self._parameters())
        sent = await self.publish(self._state_topic, payload, qos=0 if self._legacy else 1)
        if sent:
            self.states_sent.append(payload)
            if self._log_states:
                self._log(f"Sent {payload}")
        return sent

    async def _on_connect(self) -> None:
        await self.publish_state()

    async def _work(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.publish_state()

    async def _on_message(self, topic: str, payload: bytes) -> None:
        if topic != self.topics.config:
            return
        # What ESPHome's on_json_message does before the YAML's lambda sees anything: an
        # empty, unparsable or null payload never reaches it; any other JSON value that is
        # not an object reaches it as an empty object.
        try:
            data = json.loads(payload) if payload else None
        except ValueError:
            data = None
        if data is None:
            self.rejected.append(payload)
            self._log(f"Ignored configuration {payload[:64]!r}: not JSON")
            return
        config: dict[str, Any] = data if isinstance(data, dict) else {}
        self.configs.append(config)
        # The YAML's lambda, line by line.
        if isinstance(config.get("modo"), str):
            self.modo = config["modo"]
            self._log(f"mode: {self.modo}")
        encendido = config.get("encendido")
        if not isinstance(encendido, bool):
            self._log("configuration without a boolean encendido: relay unchanged")
            await self.publish_state()
            return
        if encendido != self.relay:
            self.relay = encendido
            self._log(f"relay {'on' if encendido else 'off'}")
        await self.publish_state()  # the relay's on_state, or the confirmation


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.appliance``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.appliance",
        description="Simulate a seed-003 appliance (simulators/esphome/appliance.yaml) on MQTT.",
        epilog="Runs until Ctrl-C, reconnecting with backoff.",
    )
    parser.add_argument("--serial", required=True, help="the appliance's serial_number")
    add_connection_arguments(parser)
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help="seconds between periodic state messages (default %(default)s)",
    )
    parser.add_argument(
        "--watts",
        type=float,
        default=DEFAULT_WATTS,
        help="the load's power while on (default %(default)s)",
    )
    parser.add_argument(
        "--legacy-topic",
        metavar="TOPIC",
        help="be the seed's unmodified firmware: publish the bare JSON on TOPIC only "
        "(no status, no configuration)",
    )
    parser.add_argument(
        "--encendido",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="the relay at start (default: off; the retained configuration then decides, "
        "except with --legacy-topic)",
    )
    parser.add_argument("--seed", type=int, help="seed of the sensors' noise")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="do not print every state message sent"
    )
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run the appliance from command-line arguments; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        appliance = ApplianceSimulator(
            args.serial,
            prefix=args.prefix,
            interval=args.interval,
            rated_watts=args.watts,
            legacy_topic=args.legacy_topic,
            encendido=args.encendido,
            seed=args.seed,
            log_states=not args.quiet,
            connection=connection_from(args),
            log=timestamped(),
        )
    except ValueError as err:
        parser.error(str(err))
    await run_until_signalled(appliance)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.appliance``; Ctrl-C stops it cleanly."""
    return asyncio.run(async_main(argv))


if __name__ == "__main__":
    sys.exit(main())
