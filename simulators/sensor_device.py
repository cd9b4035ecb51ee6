"""What the sensor simulators share: paced readings over the device WebSocket or over MQTT.

A sensor device (seed 001's environment sensor, seed 004's wearable) only talks one way: it
sends a JSON object of named numbers per reading, one frame (or MQTT message) each, at a steady
pace. The server's only answers are ``{"type": "error", "error": ...}`` frames about bad input,
which the device keeps and logs. What a reading holds comes from a ``ReadingSource``: the
environment model or the wearable model.

Like ``simulators.common``, nothing here is imported from ``custom_components``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import deque
from collections.abc import Callable
import json
import time
from typing import Any, Final, Unpack

import aiohttp

from .common import (
    FATAL_CLOSE_CODES,
    CloseError,
    DeviceOptions,
    DeviceSimulator,
    Printer,
    add_bearer_argument,
    add_url_argument,
    note_error_frame,
    silent,
    with_credentials,
)
from .mqtt_device import MqttConnection, MqttDeviceSimulator, Topics, check_topic_id

type Reading = dict[str, Any]
# Seconds since the previous reading -> the next reading's object.
type ReadingSource = Callable[[float], Reading]

# How many of the last readings a simulator keeps for whoever watches it (tests, the demo).
RECENT: Final = 1000


class SensorRejectedError(CloseError):
    """The server closed the connection for a reason a retry cannot fix."""


def encode(reading: Reading) -> str:
    """One reading's frame: compact JSON, keys in the order the model wrote them."""
    return json.dumps(reading, separators=(",", ":"), ensure_ascii=False)


class Pacer:
    """Beats every ``interval`` seconds on the running loop, skipping beats it fell behind on.

    Also the model's clock: ``elapsed()`` is the real time since the previous reading, so the
    curves stay right when the pace slips or the device was offline for a while.
    """

    def __init__(self, interval: float) -> None:
        """Beat every ``interval`` seconds (positive)."""
        if interval <= 0:
            raise ValueError("the interval must be positive")
        self.interval = interval
        self._next_at: float | None = None
        self._model_time: float | None = None

    def elapsed(self) -> float:
        """Seconds since the previous call (0.0 the first time)."""
        now = time.monotonic()
        seconds = 0.0 if self._model_time is None else now - self._model_time
        self._model_time = now
        return seconds

    async def wait(self) -> None:
        """Sleep until the next beat."""
        loop = asyncio.get_running_loop()
        if self._next_at is None:
            self._next_at = loop.time()
        self._next_at += self.interval
        delay = self._next_at - loop.time()
        if delay < -self.interval:
            # Far behind (the loop was blocked): skip the missed beats instead of bursting,
            # which would also run into the server's per-connection rate limit.
            self._next_at = loop.time()
            delay = 0.0
        await asyncio.sleep(max(delay, 0.0))

    def restart(self) -> None:
        """A new connection: the first reading goes out at once."""
        self._next_at = None


class ReadingLog:
    """What a sensor simulator sent and heard; shared by the WebSocket and MQTT variants.

    Attributes:
        readings_sent: How many readings went out, over every connection.
        recent: The last ``RECENT`` readings sent, oldest first.
        errors: The ``error`` text of every error frame received.
    """

    def __init__(self, limit: int | None, log: Printer, log_readings: bool) -> None:
        """Count readings; ``limit`` readings in all (None: no end)."""
        if limit is not None and limit < 1:
            raise ValueError("the number of readings must be positive")
        self.limit = limit
        self.readings_sent = 0
        self.recent: deque[Reading] = deque(maxlen=RECENT)
        self.errors: list[str] = []
        self._log = log
        self._log_readings = log_readings

    @property
    def done(self) -> bool:
        """Whether every reading asked for went out."""
        return self.limit is not None and self.readings_sent >= self.limit

    def sent(self, reading: Reading, frame: str) -> None:
        """One reading went out."""
        self.readings_sent += 1
        self.recent.append(reading)
        if self._log_readings:
            self._log(f"Sent {frame}")

    def heard(self, text: str) -> None:
        """A frame from the server: an error about what was sent, or something unexpected."""
        note_error_frame(text, self.errors, self._log)


class PacedReadings:
    """What both sensor simulators keep: the reading model, the pace, and what went out.

    Attributes:
        log_of: What was sent and heard (``readings_sent``, ``recent``, ``errors``).
    """

    _source: ReadingSource
    _pacer: Pacer
    log_of: ReadingLog

    def _keep_readings(
        self,
        source: ReadingSource,
        *,
        interval: float,
        readings: int | None,
        log: Printer,
        log_readings: bool,
    ) -> None:
        self._source = source
        self._pacer = Pacer(interval)
        self.log_of = ReadingLog(readings, log, log_readings)

    @property
    def readings_sent(self) -> int:
        """How many readings went out, over every connection."""
        return self.log_of.readings_sent

    def _next_reading(self) -> tuple[Reading, str]:
        """The model's next reading and its frame."""
        reading = self._source(self._pacer.elapsed())
        return reading, encode(reading)


class SensorWsSimulator(PacedReadings, DeviceSimulator):
    """A sensor on the device WebSocket: a reading per beat, reconnecting with backoff.

    ``run()`` returns after ``readings`` readings (when given) or ``stop()``.

    Attributes:
        log_of: What was sent and heard (``readings_sent``, ``recent``, ``errors``).
        connections: How many times the device connected.
        connected: Set while a connection is up.
        last_close: The close code of the last connection that ended, if any.
    """

    _kind = "sensor"
    _worker_name = "sender"
    _fatal_close_codes = FATAL_CLOSE_CODES
    _rejected_error = SensorRejectedError

    def __init__(
        self,
        url: str,
        token: str,
        source: ReadingSource,
        *,
        interval: float,
        readings: int | None = None,
        bearer: bool = False,
        log_readings: bool = True,
        **device: Unpack[DeviceOptions],
    ) -> None:
        """Configure the device; nothing connects before ``run()``.

        Args:
            url: The WebSocket endpoint, e.g. ``ws://127.0.0.1:8123/api/iot_hub/ws``.
            token: The device token shown when the sensor was added in Home Assistant.
            source: Makes each reading from the seconds since the previous one.
            interval: Seconds between two readings.
            readings: Stop after this many readings (None: until ``stop()``).
            bearer: Send the token as ``Authorization: Bearer`` instead of ``?token=``.
            log_readings: Also log every reading (off for quiet runs).
            **device: How it connects and logs (``DeviceOptions``: session, reconnect,
                backoff, heartbeat, log).
        """
        super().__init__(*with_credentials(url, token, bearer=bearer), **device)
        self._keep_readings(
            source, interval=interval, readings=readings, log=self._log, log_readings=log_readings
        )

    async def run(self) -> None:
        """Connect and send until ``stop()`` or the last reading; reconnect after drops.

        Raises:
            SensorRejectedError: The server refused the device for good (4001, 4003, 4008,
                4010).
        """
        await super().run()

    def _on_connect(self) -> None:
        self._log("Connected")
        self._pacer.restart()

    def _on_text(self, text: str) -> None:
        self.log_of.heard(text)

    async def _work(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The sender: a reading on every beat, until the last one."""
        while not ws.closed and not self.log_of.done:
            reading, frame = self._next_reading()
            try:
                await ws.send_str(frame)
            except (ConnectionError, RuntimeError) as err:
                # The socket went away mid-send; the reader sees the close and reports it.
                self._log(f"Send failed: {err}")
                return
            self.log_of.sent(reading, frame)
            await self._pacer.wait()
        if self.log_of.done:
            self._log(f"Sent all {self.log_of.readings_sent} readings")
            self.stop()


class SensorMqttSimulator(PacedReadings, MqttDeviceSimulator):
    """A sensor on MQTT: a reading per beat on ``<prefix>/<id>/state`` (QoS 0, not retained).

    QoS 0 as sensors' firmware publishes telemetry: a reading lost is superseded by the next.
    The status topic gets the retained ``online`` / ``offline`` of every iot_hub MQTT device.

    Attributes:
        log_of: What was sent (``readings_sent``, ``recent``).
    """

    _kind = "sensor"

    def __init__(
        self,
        device_id: str,
        source: ReadingSource,
        *,
        interval: float,
        readings: int | None = None,
        prefix: str = "iot_hub",
        connection: MqttConnection | None = None,
        log: Printer = silent,
        log_readings: bool = True,
    ) -> None:
        """Configure the device; nothing connects before ``run()``.

        Args:
            device_id: The device's MQTT id (its topics' middle level).
            source: Makes each reading from the seconds since the previous one.
            interval: Seconds between two readings.
            readings: Stop after this many readings (None: until ``stop()``).
            prefix: iot_hub's topic prefix.
            connection: How to reach the broker; 127.0.0.1:1883 by default.
            log: Where the device says what it does, one line at a time.
            log_readings: Also log every reading (off for quiet runs).
        """
        super().__init__(Topics(prefix, check_topic_id(device_id)), connection, log=log)
        self._keep_readings(
            source, interval=interval, readings=readings, log=log, log_readings=log_readings
        )

    async def _on_connect(self) -> None:
        self._pacer.restart()

    async def _work(self) -> None:
        while not self.log_of.done:
            reading, frame = self._next_reading()
            if await self.publish(self.topics.state, frame, qos=0):
                self.log_of.sent(reading, frame)
            await self._pacer.wait()
        self._log(f"Sent all {self.log_of.readings_sent} readings")
        self.stop()


def add_ws_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """The device WebSocket's options: ``--url``, ``--token``, ``--bearer``."""
    add_url_argument(parser, required=False)
    parser.add_argument("--token", help=f"the {what}'s device token")
    add_bearer_argument(parser)


def add_pace_arguments(parser: argparse.ArgumentParser, *, rate: float) -> None:
    """``--rate``, ``--duration``, ``--seed`` and ``-q``."""
    parser.add_argument(
        "--rate",
        type=float,
        default=rate,
        help="readings per second (default %(default)s); iot_hub admits 50 per connection",
    )
    parser.add_argument(
        "--duration",
        type=float,
        help="stop after this many seconds' worth of readings (default: run until Ctrl-C)",
    )
    parser.add_argument("--seed", type=int, help="seed of the model's randomness")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print every reading")


def pace_from(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[float, int | None]:
    """The interval and the number of readings ``--rate`` and ``--duration`` ask for."""
    if not 0 < args.rate <= 1000:
        parser.error("--rate must be in (0, 1000]")
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be positive")
    readings = None if args.duration is None else max(1, round(args.duration * args.rate))
    return 1.0 / args.rate, readings
