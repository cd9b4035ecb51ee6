"""A wearable (seed 004's consumer device): 50 Hz motion and a heart rate, sent to iot_hub.

Each sample is one JSON object on the device WebSocket (``/api/iot_hub/ws`` with the device
token); the protocol has no batches, so 50 Hz is 50 frames a second, which is what iot_hub
admits per connection::

    {"accel_x": 0.412, "accel_y": -0.127, "accel_z": 9.934,
     "gyro_x": 12.5, "gyro_y": -3.1, "gyro_z": 0.8}

``accel_*`` in m/s² (gravity on z, the wrist's swing on top), ``gyro_*`` in °/s. About once a
second a sample also carries ``heart_rate`` (bpm), which follows the activity with a lag, as a
pulse does. With ``--desire-every S``, a sample every S seconds also carries ``desire``
(an intensity from 1 to 10): seed 004's desires, which iot_hub's streams read from a reading's
``desire`` key. Extra keys ride on a motion sample rather than in frames of their own, so
every frame is a complete motion sample for the ``sensor_data`` stream.

The wearer rests, walks and runs in turns of a minute or so; the motion's size and pace, and
the heart rate, follow.

Command line::

    python -m simulators.wearable --url ws://127.0.0.1:8123/api/iot_hub/ws --token TOKEN
        [--rate 50] [--duration S] [--desire-every S] [--bearer] [--seed N] [-q]

In code::

    wearable = wearable_ws(url, token, interval=0.02, readings=100)
    await wearable.run()   # returns after the 100th sample
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
import math
import random
import sys
from typing import Any, Final

from .common import run_cli, run_device, timestamped
from .sensor_device import (
    Reading,
    SensorWsSimulator,
    add_pace_arguments,
    add_ws_arguments,
    pace_from,
)

DEFAULT_RATE: Final = 50.0
GRAVITY: Final = 9.81  # m/s²
HEART_RATE_EVERY: Final = 1.0  # seconds between two heart-rate values
REST_BPM: Final = 62.0
# Activity levels (0 rest .. 1 run) the wearer switches between, and how long a spell lasts.
ACTIVITIES: Final = (0.05, 0.45, 0.9)
SPELL_SECONDS: Final = (30.0, 90.0)
MAX_DESIRE: Final = 10


@dataclass(slots=True)
class WearerModel:
    """A wrist's motion and a pulse, driven by how active the wearer is.

    ``activity`` (0 rest .. 1 run) eases toward the current spell's level; the stride's pace
    and size grow with it, and the heart rate follows it with a time constant of 20 s.
    """

    rng: random.Random = field(default_factory=random.Random)
    activity: float = ACTIVITIES[0]
    target: float = ACTIVITIES[0]
    spell_left: float = 0.0
    phase: float = 0.0
    heart_rate: float = REST_BPM
    accel_noise: float = 0.04  # m/s², an MPU6050's at 50 Hz
    gyro_noise: float = 0.3  # °/s

    def advance(self, seconds: float) -> dict[str, float]:
        """Let ``seconds`` pass; returns the six motion values."""
        self.spell_left -= seconds
        if self.spell_left <= 0:
            self.target = self.rng.choice(ACTIVITIES)
            self.spell_left = self.rng.uniform(*SPELL_SECONDS)
        self.activity += (self.target - self.activity) * (1.0 - math.exp(-seconds / 5.0))
        self.heart_rate += (REST_BPM + 100.0 * self.activity - self.heart_rate) * (
            1.0 - math.exp(-seconds / 20.0)
        ) + self.rng.gauss(0.0, 0.3 * math.sqrt(seconds))
        stride_hz = 0.8 + 0.7 * self.activity  # arm swings per second
        self.phase = (self.phase + 2 * math.pi * stride_hz * seconds) % (2 * math.pi)
        a, p, g = self.activity, self.phase, self.rng.gauss
        return {
            "accel_x": round(6.0 * a * math.sin(p) + g(0.0, self.accel_noise), 3),
            "accel_y": round(2.0 * a * math.sin(2 * p) + g(0.0, self.accel_noise), 3),
            "accel_z": round(GRAVITY + 4.0 * a * math.cos(2 * p) + g(0.0, self.accel_noise), 3),
            "gyro_x": round(120.0 * a * math.cos(p) + g(0.0, self.gyro_noise), 2),
            "gyro_y": round(40.0 * a * math.sin(p) + g(0.0, self.gyro_noise), 2),
            "gyro_z": round(25.0 * a * math.sin(2 * p) + g(0.0, self.gyro_noise), 2),
        }


@dataclass(slots=True)
class WearableReadings:
    """The wearable's samples: motion every call, heart rate each second, desires if asked.

    Call it with the seconds since the previous sample (a ``ReadingSource``).
    """

    wearer: WearerModel = field(default_factory=WearerModel)
    desire_every: float | None = None
    since_heart_rate: float = math.inf  # the first sample carries one
    since_desire: float = 0.0
    desires: int = 0

    def __post_init__(self) -> None:
        """Refuse a desire period that is not positive."""
        if self.desire_every is not None and self.desire_every <= 0:
            raise ValueError("desire_every must be a positive number of seconds")

    def __call__(self, seconds: float) -> Reading:
        """The next sample."""
        reading: Reading = dict(self.wearer.advance(seconds))
        self.since_heart_rate += seconds
        if self.since_heart_rate >= HEART_RATE_EVERY:
            self.since_heart_rate = 0.0
            reading["heart_rate"] = round(self.wearer.heart_rate)
        self.since_desire += seconds
        if self.desire_every is not None and self.since_desire >= self.desire_every:
            self.since_desire = 0.0
            self.desires += 1
            reading["desire"] = self.wearer.rng.randint(1, MAX_DESIRE)
        return reading


def wearable_readings(
    *, desire_every: float | None = None, seed: int | None = None
) -> WearableReadings:
    """A wearer's samples, with a desire every ``desire_every`` seconds when given."""
    return WearableReadings(WearerModel(rng=random.Random(seed)), desire_every=desire_every)


def wearable_ws(
    url: str,
    token: str,
    *,
    interval: float = 1.0 / DEFAULT_RATE,
    readings: int | None = None,
    source: WearableReadings | None = None,
    **device: Any,
) -> SensorWsSimulator:
    """A wearable on the device WebSocket (``device``: ``SensorWsSimulator``'s options)."""
    return SensorWsSimulator(
        url, token, source or wearable_readings(), interval=interval, readings=readings, **device
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.wearable``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.wearable",
        description="Simulate a wearable (seed 004: 50 Hz accelerometer and gyroscope, heart "
        "rate, desires) on iot_hub's device WebSocket.",
        epilog="Runs until Ctrl-C or --duration, reconnecting with backoff; exits 1 when the "
        "server refuses the wearable for good (4001, 4003, 4008, 4010).",
    )
    add_ws_arguments(parser, "wearable")
    add_pace_arguments(parser, rate=DEFAULT_RATE)
    parser.add_argument(
        "--desire-every",
        type=float,
        metavar="SECONDS",
        help='add {"desire": 1..10} to a sample every SECONDS (default: never)',
    )
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run the wearable from command-line arguments.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 after a clean stop, 1 when the server refused the wearable.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    interval, readings = pace_from(parser, args)
    if args.url is None or args.token is None:
        parser.error("--url and --token are required")
    if args.desire_every is not None and args.desire_every <= 0:
        parser.error("--desire-every must be a positive number of seconds")
    wearable = wearable_ws(
        args.url,
        args.token,
        interval=interval,
        readings=readings,
        source=wearable_readings(desire_every=args.desire_every, seed=args.seed),
        bearer=args.bearer,
        log=timestamped(),
        log_readings=not args.quiet,
    )
    return await run_device(wearable, "wearable")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.wearable``; Ctrl-C stops it cleanly."""
    return run_cli(async_main(argv))


if __name__ == "__main__":
    sys.exit(main())
