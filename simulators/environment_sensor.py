"""An ESP32 environment sensor (a DHT22) sending seed 001's readings to iot_hub.

Each reading is one JSON object, as seed 001's devices posted them::

    {"sensor_id": 1, "temperatura": 22.4, "humedad": 55.1, "timestamp": "2026-12-07T05:06:14Z"}

over the device WebSocket (``/api/iot_hub/ws`` with the device token as ``?token=`` or
``Authorization: Bearer``), or over MQTT on ``<prefix>/<mqtt id>/state`` (a device added with
transport MQTT). The room drifts as rooms do: the temperature follows a slow cycle with
random wander around it, the relative humidity moves the other way, both with the DHT22's
0.1 resolution. ``--spike-every N`` makes every Nth reading's temperature ``--spike-value``
(a glitch far outside any room's range), to see anomaly detection at work; the model itself
is not disturbed by it.

Like firmware, it reconnects with exponential backoff when the connection drops, and gives
up at once on a close that a retry cannot fix (missing or invalid token, device removed,
another connection using the same token).

Command line::

    python -m simulators.environment_sensor --url ws://127.0.0.1:8123/api/iot_hub/ws
        --token TOKEN [--sensor-id 1] [--rate 1] [--duration S] [--spike-every N]
        [--spike-value 120] [--temperature 22] [--humidity 55] [--bearer] [--seed N] [-q]
    python -m simulators.environment_sensor --mqtt-id env1 [--broker 127.0.0.1]
        [--port 1883] [--prefix iot_hub] [...the same reading options]

In code::

    sensor = environment_ws(url, token, interval=0.1, readings=20)
    await sensor.run()   # returns after the 20th reading
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
import math
import random
import sys
from typing import Any, Final

from .common import run_cli, run_device, timestamped
from .mqtt_device import add_connection_arguments, connection_from, run_until_signalled
from .sensor_device import (
    Reading,
    SensorMqttSimulator,
    SensorWsSimulator,
    add_pace_arguments,
    add_ws_arguments,
    pace_from,
)

DEFAULT_RATE: Final = 1.0
DEFAULT_SENSOR_ID: Final = 1
DEFAULT_TEMPERATURE: Final = 22.0
DEFAULT_HUMIDITY: Final = 55.0
DEFAULT_SPIKE: Final = 120.0  # °C: no room reads this; a DHT22 tops out at 80


def utc_timestamp(at: datetime) -> str:
    """Seed 001's timestamp: UTC, whole seconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class RoomModel:
    """A room's air as a DHT22 reads it.

    Both values wander around a mean (an Ornstein-Uhlenbeck process: pulled back with time
    constant ``settle``, pushed by noise); the temperature's mean follows a cycle of
    ``period`` seconds (a day squeezed into minutes, so a demo shows it), the humidity's
    moves 2 % the other way per degree, as relative humidity does when air warms.
    """

    temperature_mean: float = DEFAULT_TEMPERATURE
    humidity_mean: float = DEFAULT_HUMIDITY
    swing: float = 1.5  # °C either side of the mean over a cycle
    period: float = 600.0
    settle: float = 60.0
    temperature_noise: float = 0.05  # °C per √s
    humidity_noise: float = 0.15  # % per √s
    rng: random.Random = field(default_factory=random.Random)
    clock: float = 0.0
    temperature: float = field(default=math.nan)
    humidity: float = field(default=math.nan)

    def __post_init__(self) -> None:
        """Start at the means unless told otherwise."""
        if math.isnan(self.temperature):
            self.temperature = self.temperature_mean
        if math.isnan(self.humidity):
            self.humidity = self.humidity_mean

    def advance(self, seconds: float) -> tuple[float, float]:
        """Let ``seconds`` pass; returns the reading (°C, %RH), to the DHT22's 0.1."""
        self.clock += seconds
        target_t = self.temperature_mean + self.swing * math.sin(
            2 * math.pi * self.clock / self.period
        )
        target_h = self.humidity_mean - 2.0 * (target_t - self.temperature_mean)
        pull = 1.0 - math.exp(-seconds / self.settle)
        root = math.sqrt(seconds)
        self.temperature += (target_t - self.temperature) * pull + self.rng.gauss(
            0.0, self.temperature_noise * root
        )
        self.humidity += (target_h - self.humidity) * pull + self.rng.gauss(
            0.0, self.humidity_noise * root
        )
        self.humidity = min(max(self.humidity, 0.0), 100.0)
        return round(self.temperature, 1), round(self.humidity, 1)


@dataclass(slots=True)
class EnvironmentReadings:
    """Seed 001's reading objects from a room model, with a spike every so often.

    Call it with the seconds since the previous reading (a ``ReadingSource``).
    """

    sensor_id: int = DEFAULT_SENSOR_ID
    room: RoomModel = field(default_factory=RoomModel)
    spike_every: int | None = None
    spike_value: float = DEFAULT_SPIKE
    count: int = 0
    spikes: int = 0

    def __post_init__(self) -> None:
        """Refuse a spike period that is not a positive count."""
        if self.spike_every is not None and self.spike_every < 1:
            raise ValueError("spike_every must be a positive number of readings")

    def __call__(self, seconds: float) -> Reading:
        """The next reading."""
        temperature, humidity = self.room.advance(seconds)
        self.count += 1
        if self.spike_every is not None and self.count % self.spike_every == 0:
            temperature = self.spike_value
            self.spikes += 1
        return {
            "sensor_id": self.sensor_id,
            "temperatura": temperature,
            "humedad": humidity,
            "timestamp": utc_timestamp(datetime.now(UTC)),
        }


def environment_readings(
    *,
    sensor_id: int = DEFAULT_SENSOR_ID,
    temperature: float = DEFAULT_TEMPERATURE,
    humidity: float = DEFAULT_HUMIDITY,
    spike_every: int | None = None,
    spike_value: float = DEFAULT_SPIKE,
    seed: int | None = None,
) -> EnvironmentReadings:
    """A room at ``temperature`` °C and ``humidity`` %RH, read by sensor ``sensor_id``."""
    return EnvironmentReadings(
        sensor_id=sensor_id,
        room=RoomModel(
            temperature_mean=temperature, humidity_mean=humidity, rng=random.Random(seed)
        ),
        spike_every=spike_every,
        spike_value=spike_value,
    )


def environment_ws(
    url: str,
    token: str,
    *,
    interval: float = 1.0 / DEFAULT_RATE,
    readings: int | None = None,
    source: EnvironmentReadings | None = None,
    **device: Any,
) -> SensorWsSimulator:
    """An environment sensor on the device WebSocket (``device``: ``SensorWsSimulator``'s)."""
    return SensorWsSimulator(
        url,
        token,
        source or environment_readings(),
        interval=interval,
        readings=readings,
        **device,
    )


def environment_mqtt(
    mqtt_id: str,
    *,
    interval: float = 1.0 / DEFAULT_RATE,
    readings: int | None = None,
    source: EnvironmentReadings | None = None,
    **device: Any,
) -> SensorMqttSimulator:
    """An environment sensor on MQTT (``device``: ``SensorMqttSimulator``'s options)."""
    return SensorMqttSimulator(
        mqtt_id, source or environment_readings(), interval=interval, readings=readings, **device
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.environment_sensor``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.environment_sensor",
        description="Simulate an ESP32 environment sensor (seed 001 readings) against iot_hub.",
        epilog="Over the device WebSocket (--url and --token) or MQTT (--mqtt-id). Runs until "
        "Ctrl-C or --duration, reconnecting with backoff; exits 1 when the server refuses the "
        "sensor for good (4001, 4003, 4008, 4010).",
    )
    add_ws_arguments(parser, "sensor")
    parser.add_argument("--mqtt-id", help="send over MQTT instead, as the device with this id")
    add_connection_arguments(parser)
    parser.add_argument(
        "--sensor-id",
        type=int,
        default=DEFAULT_SENSOR_ID,
        help="seed 001's sensor_id in every reading (default %(default)s)",
    )
    add_pace_arguments(parser, rate=DEFAULT_RATE)
    parser.add_argument(
        "--temperature",
        type=float,
        default=DEFAULT_TEMPERATURE,
        help="the room's mean temperature in °C (default %(default)s)",
    )
    parser.add_argument(
        "--humidity",
        type=float,
        default=DEFAULT_HUMIDITY,
        help="the room's mean relative humidity in %% (default %(default)s)",
    )
    parser.add_argument(
        "--spike-every",
        type=int,
        metavar="N",
        help="make every Nth reading's temperature --spike-value (an out-of-range glitch)",
    )
    parser.add_argument(
        "--spike-value",
        type=float,
        default=DEFAULT_SPIKE,
        help="the spike's temperature in °C (default %(default)s)",
    )
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run the sensor from command-line arguments.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 after a clean stop, 1 when the server refused the sensor for good.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    interval, readings = pace_from(parser, args)
    if (args.mqtt_id is None) == (args.url is None or args.token is None):
        parser.error("give either --url and --token (WebSocket) or --mqtt-id (MQTT)")
    if args.spike_every is not None and args.spike_every < 1:
        parser.error("--spike-every must be a positive number of readings")
    source = environment_readings(
        sensor_id=args.sensor_id,
        temperature=args.temperature,
        humidity=args.humidity,
        spike_every=args.spike_every,
        spike_value=args.spike_value,
        seed=args.seed,
    )
    log = timestamped()
    if args.mqtt_id is not None:
        try:
            mqtt = environment_mqtt(
                args.mqtt_id,
                interval=interval,
                readings=readings,
                source=source,
                prefix=args.prefix,
                connection=connection_from(args),
                log=log,
                log_readings=not args.quiet,
            )
        except ValueError as err:
            parser.error(str(err))
        await run_until_signalled(mqtt)
        return 0
    sensor = environment_ws(
        args.url,
        args.token,
        interval=interval,
        readings=readings,
        source=source,
        bearer=args.bearer,
        log=log,
        log_readings=not args.quiet,
    )
    return await run_device(sensor, "sensor")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.environment_sensor``; Ctrl-C stops it cleanly."""
    return run_cli(async_main(argv))


if __name__ == "__main__":
    sys.exit(main())
