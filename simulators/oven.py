"""An ESP32 smart oven speaking the legacy oven protocol (seed 000), for iot_hub.

What the seed's ESP32 did, and so what this does:

* connect to the server's WebSocket (here ``/api/iot_hub/ws`` with the device token as
  ``?token=`` or ``Authorization: Bearer``) and identify with ``{"type": "esp32"}``;
* send the probe temperature as a bare text frame (``28.5``) at a steady pace, all the time:
  the server decides whether a reading belongs to a measurement session;
* obey the bare text frames ``START`` and ``STOP``; here the oven then heats toward its
  setpoint or cools toward the room, so the curve is worth plotting;
* print ``{"error": ...}`` frames the server sends about bad input.

Like firmware, it reconnects with exponential backoff when the connection drops or Home
Assistant restarts, and gives up at once on a close that a retry cannot fix (missing or
invalid token, device removed, another connection using the same token).

Command line::

    python -m simulators.oven --url ws://127.0.0.1:8123/api/iot_hub/ws --token TOKEN
        [--interval 1.0] [--start-temp 22] [--setpoint 200] [--identify/--no-identify]
        [--bearer] [--seed N] [-q]

In code::

    oven = OvenSimulator(url, token, interval=0.1)
    task = asyncio.create_task(oven.run())
    ...
    oven.stop()
    await task
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
from typing import Final, Literal, Unpack

import aiohttp

from .common import (
    FATAL_CLOSE_CODES,
    CloseError,
    DeviceOptions,
    DeviceSimulator,
    add_bearer_argument,
    add_url_argument,
    note_error_frame,
    run_cli,
    run_device,
    timestamped,
    with_credentials,
)

type OvenCommand = Literal["START", "STOP"]

IDENTIFY_FRAME: Final = json.dumps({"type": "esp32"})

DEFAULT_INTERVAL: Final = 1.0
DEFAULT_START_TEMP: Final = 22.0
DEFAULT_SETPOINT: Final = 200.0


class OvenRejectedError(CloseError):
    """The server closed the connection for a reason a retry cannot fix."""


@dataclass(slots=True)
class ThermalModel:
    """A first-order oven: heats toward the setpoint when on, cools toward the room when off.

    Time constants are in seconds; the readings get a little probe noise and one decimal,
    as a thermocouple amplifier's output would.
    """

    ambient: float = DEFAULT_START_TEMP
    setpoint: float = DEFAULT_SETPOINT
    heat_time_constant: float = 90.0
    cool_time_constant: float = 240.0
    noise: float = 0.15
    temperature: float = field(default=math.nan)
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        """Start at room temperature unless told otherwise."""
        if math.isnan(self.temperature):
            self.temperature = self.ambient

    def advance(self, seconds: float, heating: bool) -> float:
        """Let ``seconds`` pass and return the probe's reading.

        Args:
            seconds: Time since the previous reading; real elapsed time, so the curve stays
                right when the pace slips or the oven was offline for a while.
            heating: Whether the element is on (between START and STOP).

        Returns:
            The reading, rounded to 0.1 °C.
        """
        target, tau = (
            (self.setpoint, self.heat_time_constant)
            if heating
            else (self.ambient, self.cool_time_constant)
        )
        self.temperature += (target - self.temperature) * (1.0 - math.exp(-seconds / tau))
        return round(self.temperature + self.rng.gauss(0.0, self.noise), 1)


class OvenSimulator(DeviceSimulator):
    """One simulated oven: connect, identify, stream readings, obey START/STOP, reconnect.

    The attributes below are what tests and benchmarks look at; they are only changed from
    the event loop ``run()`` is running on.

    Attributes:
        measuring: Whether the oven is between START and STOP (it keeps this across
            reconnections, as firmware keeps it in RAM).
        readings_sent: How many readings went out, over every connection.
        commands: Every START/STOP received, in order.
        errors: The ``error`` text of every ``{"error": ...}`` frame received.
        connections: How many times the oven connected.
        connected: Set while a connection is up.
        last_close: The close code of the last connection that ended, if any.
    """

    _kind = "oven"
    _worker_name = "sender"
    _fatal_close_codes = FATAL_CLOSE_CODES
    _rejected_error = OvenRejectedError

    def __init__(
        self,
        url: str,
        token: str,
        *,
        interval: float = DEFAULT_INTERVAL,
        start_temp: float = DEFAULT_START_TEMP,
        setpoint: float = DEFAULT_SETPOINT,
        identify: bool = True,
        bearer: bool = False,
        seed: int | None = None,
        log_readings: bool = True,
        **device: Unpack[DeviceOptions],
    ) -> None:
        """Configure the oven; nothing connects before ``run()``.

        Args:
            url: The WebSocket endpoint, e.g. ``ws://127.0.0.1:8123/api/iot_hub/ws``.
            token: The device token shown when the oven was added in Home Assistant.
            interval: Seconds between two readings.
            start_temp: Room temperature, where the probe starts and cools back to (°C).
            setpoint: Where the oven heats to while measuring (°C).
            identify: Send ``{"type": "esp32"}`` first, as the seed's firmware did.
            bearer: Send the token as ``Authorization: Bearer`` instead of ``?token=``.
            seed: Seed of the probe noise, for reproducible curves.
            log_readings: Also log every reading (off for quiet runs).
            **device: How it connects and logs (``DeviceOptions``: session, reconnect,
                backoff, heartbeat, log).
        """
        if interval <= 0:
            raise ValueError("interval must be positive")
        super().__init__(*with_credentials(url, token, bearer=bearer), **device)
        self._interval = interval
        self._identify = identify
        self._log_readings = log_readings
        self._model = ThermalModel(ambient=start_temp, setpoint=setpoint, rng=random.Random(seed))
        self._model_time: float | None = None
        self.measuring = False
        self.readings_sent = 0
        self.commands: list[OvenCommand] = []
        self.errors: list[str] = []

    @property
    def temperature(self) -> float:
        """The oven's true temperature now (without probe noise)."""
        return self._model.temperature

    async def run(self) -> None:
        """Connect and stream until ``stop()``; reconnect with backoff after drops.

        Raises:
            OvenRejectedError: The server refused the oven for good (4001, 4003, 4008, 4010).
        """
        await super().run()

    def _on_connect(self) -> None:
        self._log("Connected")

    def _on_text(self, text: str) -> None:
        # The seed sends exactly "START"/"STOP"; tolerate case and whitespace like firmware
        # that compares with strcasecmp after trimming.
        word = text.strip().upper()
        if word in ("START", "STOP"):
            command: OvenCommand = "START" if word == "START" else "STOP"
            self.commands.append(command)
            self.measuring = command == "START"
            self._log(
                f"{command}: "
                + (
                    f"heating to {self._model.setpoint:g} °C and measuring"
                    if self.measuring
                    else "stopped; cooling down"
                )
            )
            return
        note_error_frame(text, self.errors, self._log)

    def _next_reading(self) -> float:
        now = time.monotonic()
        elapsed = 0.0 if self._model_time is None else now - self._model_time
        self._model_time = now
        return self._model.advance(elapsed, heating=self.measuring)

    async def _work(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The sender: identify, then a reading on every beat."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        try:
            if self._identify:
                await ws.send_str(IDENTIFY_FRAME)
        except ConnectionError, RuntimeError:
            return  # refused at once; the reader reports the close code
        while not ws.closed:
            reading = self._next_reading()
            try:
                await ws.send_str(format_reading(reading))
            except (ConnectionError, RuntimeError) as err:
                # The socket went away mid-send; the reader sees the close and reports it.
                self._log(f"Send failed: {err}")
                return
            self.readings_sent += 1
            if self._log_readings:
                self._log(
                    f"Sent {format_reading(reading)} °C"
                    + (" (measuring)" if self.measuring else "")
                )
            next_at += self._interval
            delay = next_at - loop.time()
            if delay < -self._interval:
                # Far behind (the loop was blocked): skip the missed beats instead of bursting.
                next_at = loop.time()
                delay = 0.0
            await asyncio.sleep(max(delay, 0.0))


def format_reading(temperature: float) -> str:
    """The frame for one reading: the bare number, as the firmware's ``String(t, 1)`` gave.

    Args:
        temperature: Degrees Celsius.

    Returns:
        For example ``"28.5"``.
    """
    return f"{temperature:.1f}"


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.oven``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.oven",
        description="Simulate an ESP32 smart oven (legacy oven protocol) against iot_hub.",
        epilog="Runs until Ctrl-C (exit 0), reconnecting with backoff; exits 1 when the "
        "server refuses the oven for good (4001, 4003, 4008, 4010).",
    )
    add_url_argument(parser)
    parser.add_argument("--token", required=True, help="the oven's device token")
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
    parser.add_argument(
        "--identify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help='send {"type": "esp32"} first, as the original firmware did (default: yes)',
    )
    add_bearer_argument(parser)
    parser.add_argument("--seed", type=int, help="seed of the probe noise")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print every reading")
    return parser


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run the oven from command-line arguments.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 after a clean stop, 1 when the server refused the oven for good.
    """
    args = build_parser().parse_args(argv)
    oven = OvenSimulator(
        args.url,
        args.token,
        interval=args.interval,
        start_temp=args.start_temp,
        setpoint=args.setpoint,
        identify=args.identify,
        bearer=args.bearer,
        seed=args.seed,
        log=timestamped(),
        log_readings=not args.quiet,
    )
    return await run_device(oven, "oven")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.oven``; Ctrl-C stops the oven cleanly."""
    return run_cli(async_main(argv))


if __name__ == "__main__":
    sys.exit(main())
