"""An ESP32 EV charger speaking the legacy charger protocol (seed 002), for iot_hub.

What the seed's ESP32 ("publisher") did, and so what this does:

* connect to ``/ws?role=publisher&estacionId=N`` (here ``/api/iot_hub/ws`` with the charger's
  device token as ``?token=`` or ``Authorization: Bearer``) and expect
  ``{"type": "connected", "role": "publisher", "estacionId": "N"}``;
* present its NFC card, ``{"type": "nfc_scan", "nfc_uid": "VIRTUAL-1-A4F2E8"}``, on start
  and (``--scan-every``) again every N seconds while idle;
* on ``{"type": "start", "session_id", "user_name"}`` close the relay and send
  ``{"type": "metrics", "session_id", "v", "a", "w", "ts"}`` every interval (one at once when
  the relay closes), ``ts`` in Unix seconds of the device's clock; with ``--counter`` also the
  cumulative energy meter as ``"kwh"``;
* on ``{"type": "stop"}`` open the relay; press its own STOP
  (``{"type": "stop", "session_id"}``) after ``--charge-seconds`` and its emergency stop
  (``{"type": "emergency", "session_id"}``) after ``--emergency-after``;
* answer ``{"type": "sync_request"}`` (a dashboard subscribed) with its metrics at once;
* print ``{"type": "error", "message", "code"}`` frames.

The car on the cable draws ``--power`` watts at 230 V until its battery is 80 % full, then
less and less (a CC-CV charge's taper) down to 10 % of that at 100 %, and nothing once full.
With ``--charge-seconds`` the battery is sized so that it is full just when STOP is pressed,
so the taper shows in every run; otherwise it is a 40 kWh battery starting at 20 %.

The device clock: ``ts`` advances ``--ts-step`` device seconds per ``--interval`` of real time
(by default the same, i.e. real time). ``--ts-step 3 --interval 0.05`` replays a 3 s cadence
60 times faster, which the tests and benchmarks use (speeding up, for themselves, the clock
iot_hub's charger handler reads too: iot_hub credits no more device time than its own clock
saw pass, so against a real Home Assistant a faster replay is metered at HA's pace).
``--scan-every``, ``--charge-seconds`` and ``--emergency-after`` are in device seconds.

Like firmware, it reconnects with exponential backoff when the connection drops or Home
Assistant restarts (a running charge goes on meanwhile: the relay state is kept in RAM), and
gives up at once on a close that a retry cannot fix: 4001 missing token, 4003 invalid token,
4004 missing station, 4005 unknown station or a token of another station, and (as the oven
simulator) 4008 replaced by another connection with the same token and 4010 device removed.

Command line::

    python -m simulators.charger --url ws://127.0.0.1:8123/api/iot_hub/ws --station 1
        --token DEVICE_TOKEN [--card VIRTUAL-1-A4F2E8] [--power 7200] [--interval 3]
        [--ts-step S] [--scan-every N] [--charge-seconds S] [--emergency-after S]
        [--counter] [--bearer] [--seed N] [-q]

In code::

    charger = ChargerSimulator(url, token, "1", card="VIRTUAL-1-A4F2E8", interval=0.05,
                               ts_step=3.0)
    task = asyncio.create_task(charger.run())
    ...
    charger.stop()
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
from typing import Any, Final, Unpack

import aiohttp

from .common import (
    CLOSE_DEVICE_REMOVED,
    CLOSE_INVALID_TOKEN,
    CLOSE_MISSING_CREDENTIALS,
    CLOSE_MISSING_STATION,
    CLOSE_REPLACED,
    CLOSE_UNKNOWN_DEVICE,
    STATION_CLOSE_MEANINGS,
    CloseError,
    DeviceOptions,
    DeviceSimulator,
    Printer,
    add_bearer_argument,
    add_url_argument,
    run_cli,
    run_device,
    timestamped,
    token_advice,
    with_credentials,
)

type Frame = dict[str, Any]

# Retrying these is pointless: the same token and station get the same answer, or (4008)
# another connection uses this charger's token and the two would keep kicking each other off.
FATAL_CLOSE_CODES: Final = frozenset(
    {
        CLOSE_MISSING_CREDENTIALS,
        CLOSE_INVALID_TOKEN,
        CLOSE_MISSING_STATION,
        CLOSE_UNKNOWN_DEVICE,
        CLOSE_REPLACED,
        CLOSE_DEVICE_REMOVED,
    }
)

DEFAULT_INTERVAL: Final = 3.0  # the seed: "Métricas periódicas (ej. cada 3s)"
DEFAULT_POWER: Final = 7200.0  # a 32 A single-phase wallbox
NOMINAL_VOLTAGE: Final = 230.0
DEFAULT_BATTERY_KWH: Final = 40.0
DEFAULT_START_SOC: Final = 0.2
TAPER_SOC: Final = 0.8  # the car starts reducing its current here
TAPER_FLOOR: Final = 0.1  # share of full power the car still draws just before 100 %
# Integration step of the car model, in device seconds.
MODEL_STEP: Final = 0.5
MAX_MODEL_STEPS: Final = 2000
# How long to wait for {"type": "connected"} before going on without it.
GREETING_TIMEOUT: Final = 5.0
WH_PER_KWH: Final = 1000.0
SECONDS_PER_HOUR: Final = 3600.0


class ChargerRejectedError(CloseError):
    """The server closed the connection for a reason a retry cannot fix."""

    meanings = STATION_CLOSE_MEANINGS


@dataclass(frozen=True, slots=True)
class ServerError:
    """An ``{"type": "error"}`` frame the charger received."""

    message: str
    code: str | None


def _taper_hours_factor() -> float:
    """Hours per (kWh / kW) the taper from ``TAPER_SOC`` to full takes (see ``CarModel``)."""
    span = 1.0 - TAPER_SOC
    return span * math.log(1.0 / TAPER_FLOOR) / (1.0 - TAPER_FLOOR)


def battery_for(charge_seconds: float, power_w: float, start_soc: float) -> float:
    """The battery (kWh) that a charge at ``power_w`` fills in ``charge_seconds``.

    The constant-power part lasts ``(TAPER_SOC - start_soc) * kwh / kw`` hours and the taper
    ``_taper_hours_factor() * kwh / kw`` hours; this solves their sum for ``kwh``.

    Args:
        charge_seconds: How long the whole charge should take (device seconds).
        power_w: Full charging power in watts.
        start_soc: State of charge when the relay closes (0..1).

    Returns:
        The battery's capacity in kWh.
    """
    hours_per_kwh_per_kw = max(TAPER_SOC - start_soc, 0.0) + _taper_hours_factor()
    return charge_seconds / SECONDS_PER_HOUR * (power_w / WH_PER_KWH) / hours_per_kwh_per_kw


@dataclass(slots=True)
class CarModel:
    """The car's battery as the charger sees it: the power it draws at each state of charge.

    Full power up to ``TAPER_SOC``; then the power falls linearly with the state of charge
    to ``TAPER_FLOOR`` of full power just before 100 %; nothing once full.
    """

    max_power_w: float = DEFAULT_POWER
    battery_kwh: float = DEFAULT_BATTERY_KWH
    soc: float = DEFAULT_START_SOC

    def power(self) -> float:
        """Watts drawn now."""
        if self.soc >= 1.0:
            return 0.0
        if self.soc < TAPER_SOC:
            return self.max_power_w
        left = (1.0 - self.soc) / (1.0 - TAPER_SOC)
        return self.max_power_w * (TAPER_FLOOR + (1.0 - TAPER_FLOOR) * left)

    def advance(self, seconds: float) -> float:
        """Charge for ``seconds`` and return the energy delivered, in kWh.

        Args:
            seconds: Device seconds since the last call (Heun's method in steps of at most
                ``MODEL_STEP``; a long pause is taken in at most ``MAX_MODEL_STEPS`` steps).

        Returns:
            The energy the battery took.
        """
        if seconds <= 0 or self.soc >= 1.0:
            return 0.0
        steps = min(max(1, math.ceil(seconds / MODEL_STEP)), MAX_MODEL_STEPS)
        step_hours = seconds / steps / SECONDS_PER_HOUR
        start = self.soc
        for _ in range(steps):
            before = self.soc
            first = self.power()
            self.soc = min(1.0, before + first / WH_PER_KWH * step_hours / self.battery_kwh)
            second = self.power()
            self.soc = min(
                1.0, before + (first + second) / 2 / WH_PER_KWH * step_hours / self.battery_kwh
            )
            if self.soc >= 1.0:
                break
        return (self.soc - start) * self.battery_kwh


@dataclass(slots=True)
class Reading:
    """One set of measurements, as the charger's meter chip reports them."""

    ts: float
    v: float
    a: float
    w: float
    kwh: float

    def frame(self, session_id: int | None, *, counter: bool) -> Frame:
        """The seed's ``metrics`` frame (keys in its order), with ``kwh`` for a counter."""
        frame: Frame = {
            "type": "metrics",
            "session_id": session_id,
            "v": self.v,
            "a": self.a,
            "w": self.w,
            "ts": self.ts,
        }
        if counter:
            frame["kwh"] = self.kwh
        return frame


@dataclass(slots=True)
class _Plan:
    """What the driver has to do next; the reader only sets these and wakes it."""

    sync: bool = False  # a dashboard subscribed: send metrics at once
    started: bool = False  # the relay just closed: first metrics at once, restart the cadence
    scan_at: float | None = None  # device time of the next card scan
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class ChargerSimulator(DeviceSimulator):
    """One simulated EV charger: connect, scan its card, charge on ``start``, reconnect.

    The attributes below are what tests and benchmarks look at; they are only changed from
    the event loop ``run()`` is running on.

    Attributes:
        relay_closed: Whether the charger is delivering power (kept across reconnections).
        session_id: The session the charger is charging for, else None.
        last_session_id: The last session it charged for.
        user_name: Whom the server said the session is for.
        sessions: How many ``start`` commands it obeyed.
        metrics_sent: ``metrics`` frames sent, over every connection.
        scans_sent: ``nfc_scan`` frames sent.
        sync_requests: ``sync_request`` frames answered.
        stops_received: ``stop`` frames received from the server.
        stops_pressed: Times its own STOP was pressed (``--charge-seconds``).
        emergencies_sent: Emergency stops sent (``--emergency-after``).
        errors: Every ``error`` frame received, in order.
        connections: How many times the charger connected.
        connected: Set while a connection is up.
        greeted: Set once ``{"type": "connected"}`` arrived on the current connection.
        last_close: The close code of the last connection that ended, if any.
        energy_kwh: The charger's own cumulative energy meter.
        session_kwh: Energy delivered in the current (or last) session, by its own meter.
    """

    _kind = "charger"
    _worker_name = "driver"
    _fatal_close_codes = FATAL_CLOSE_CODES
    _rejected_error = ChargerRejectedError

    def __init__(
        self,
        url: str,
        token: str,
        station: str,
        *,
        card: str | None = None,
        power_w: float = DEFAULT_POWER,
        interval: float = DEFAULT_INTERVAL,
        ts_step: float | None = None,
        scan_on_start: bool = True,
        scan_every: float | None = None,
        charge_seconds: float | None = None,
        emergency_after: float | None = None,
        counter: bool = False,
        counter_start_kwh: float = 0.0,
        battery_kwh: float | None = None,
        start_soc: float = DEFAULT_START_SOC,
        clock_start: float | None = None,
        bearer: bool = False,
        seed: int | None = None,
        log_metrics: bool = True,
        **device: Unpack[DeviceOptions],
    ) -> None:
        """Configure the charger; nothing connects before ``run()``.

        Args:
            url: The WebSocket endpoint, e.g. ``ws://127.0.0.1:8123/api/iot_hub/ws``.
            token: The device token shown when the charger was added in Home Assistant.
            station: Its ``estacionId`` (the station id set when it was added).
            card: The NFC card on its reader; None: it never scans (a dashboard starts it).
            power_w: Full charging power in watts.
            interval: Real seconds between two metrics while charging.
            ts_step: Device-clock seconds per ``interval`` (None: the same, real time).
            scan_on_start: Scan the card as soon as the first connection is greeted.
            scan_every: Also scan every so many device seconds while idle.
            charge_seconds: Press STOP after so many device seconds of charging.
            emergency_after: Press the emergency stop after so many device seconds of
                charging.
            counter: Send the cumulative energy meter (``"kwh"``) with every metrics frame.
            counter_start_kwh: The meter's reading at power-up.
            battery_kwh: The car's battery (None: sized from ``charge_seconds``, else 40).
            start_soc: The car's state of charge when a session starts (0..1).
            clock_start: Device time (Unix seconds) at ``run()``; None: the wall clock.
            bearer: Send the token as ``Authorization: Bearer`` instead of ``?token=``.
            seed: Seed of the measurement noise, for reproducible runs.
            log_metrics: Also log every metrics frame (off for quiet runs).
            **device: How it connects and logs (``DeviceOptions``: session, reconnect,
                backoff, heartbeat, log).
        """
        positive = {"interval": interval, "power_w": power_w, "ts_step": ts_step}
        positive |= {"scan_every": scan_every, "battery_kwh": battery_kwh}
        for name, value in positive.items():
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive")
        if charge_seconds is not None and charge_seconds < 0:
            raise ValueError("charge_seconds must not be negative")
        if emergency_after is not None and emergency_after < 0:
            raise ValueError("emergency_after must not be negative")
        if not 0.0 <= start_soc < 1.0:
            raise ValueError("start_soc must be in [0, 1)")
        super().__init__(
            *with_credentials(url, token, bearer=bearer, role="publisher", estacionId=station),
            **device,
        )
        self._station = station
        self._card = card
        self._power_w = power_w
        self._interval = interval
        self._scale = (ts_step if ts_step is not None else interval) / interval
        self._scan_on_start = scan_on_start
        self._scan_every = scan_every
        self._charge_seconds = charge_seconds
        self._emergency_after = emergency_after
        self._counter = counter
        self._battery_kwh = battery_kwh or (
            battery_for(charge_seconds, power_w, start_soc)
            if charge_seconds
            else DEFAULT_BATTERY_KWH
        )
        self._start_soc = start_soc
        self._clock_start = clock_start
        self._clock_origin: tuple[float, float] | None = None  # (device time, loop time)
        self._log_metrics = log_metrics
        self._rng = random.Random(seed)
        self._car = CarModel(power_w, self._battery_kwh, start_soc)
        self._model_ts: float | None = None  # device time the car model has reached
        self._charge_started_ts = 0.0
        self._plan = _Plan()
        self._next_tick = 0.0
        self.relay_closed = False
        self.session_id: int | None = None
        self.last_session_id: int | None = None
        self.user_name: str | None = None
        self.sessions = 0
        self.metrics_sent = 0
        self.scans_sent = 0
        self.sync_requests = 0
        self.stops_received = 0
        self.stops_pressed = 0
        self.emergencies_sent = 0
        self.errors: list[ServerError] = []
        self.greeted = asyncio.Event()
        self.energy_kwh = counter_start_kwh
        self.session_kwh = 0.0

    @property
    def soc(self) -> float:
        """The car's state of charge (0..1)."""
        return self._car.soc

    @property
    def battery_kwh(self) -> float:
        """The car's battery capacity in kWh."""
        return self._battery_kwh

    def device_time(self) -> float:
        """The device clock now, in Unix seconds."""
        now = asyncio.get_running_loop().time()
        if self._clock_origin is None:
            start = self._clock_start if self._clock_start is not None else time.time()
            self._clock_origin = (start, now)
        device_origin, loop_origin = self._clock_origin
        return device_origin + (now - loop_origin) * self._scale

    async def run(self) -> None:
        """Connect and serve until ``stop()``; reconnect with backoff after drops.

        Raises:
            ChargerRejectedError: The server refused the charger for good (4001, 4003, 4004,
                4005, 4008, 4010).
        """
        self.device_time()  # the device clock starts now
        if self._card is not None and not self._scan_on_start and self._scan_every:
            self._plan.scan_at = self.device_time() + self._scan_every
        await super().run()

    def _on_connect(self) -> None:
        self.greeted.clear()

    # -- receiving --------------------------------------------------------------------------

    def _on_text(self, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            self._log(f"Unexpected frame: {text[:200]!r}")
            return
        match data.get("type"):
            case "connected":
                self._log(f"Connected as station {data.get('estacionId', '?')}")
                self.greeted.set()
            case "sync_request":
                self.sync_requests += 1
                self._plan.sync = True
            case "start":
                self._on_start(data)
            case "stop":
                self._on_stop(data)
            case "error":
                error = ServerError(str(data.get("message", "")), _optional_str(data.get("code")))
                self.errors.append(error)
                self._log(f"Server error {error.code or ''}: {error.message}".replace("  ", " "))
            case _:
                self._log(f"Unexpected frame: {text[:200]!r}")
        self._plan.wake.set()

    def _on_start(self, data: Frame) -> None:
        session_id = _optional_int(data.get("session_id"))
        user = _optional_str(data.get("user_name"))
        if self.relay_closed and session_id == self.session_id:
            self._log(f"Start for session {session_id} again; already charging")
            return
        if self.relay_closed:
            self._log(f"Start for session {session_id} while charging {self.session_id}")
            self._open_relay()
        now = self.device_time()
        self.sessions += 1
        self.session_id = self.last_session_id = session_id
        self.user_name = user
        self.session_kwh = 0.0
        self._car = CarModel(self._power_w, self._battery_kwh, self._start_soc)
        self._model_ts = now
        self._charge_started_ts = now
        self.relay_closed = True
        self._plan.started = True
        self._log(
            f"Start: session {session_id} for {user or 'nobody named'}; relay closed, "
            f"charging at up to {self._power_w:g} W"
        )

    def _on_stop(self, data: Frame) -> None:
        self.stops_received += 1
        session_id = _optional_int(data.get("session_id"))
        if not self.relay_closed:
            self._log(f"Stop for session {session_id}: relay already open")
            return
        if session_id is not None and session_id != self.session_id:
            self._log(f"Stop names session {session_id}, charging {self.session_id}; stopping")
        self._open_relay()
        self._log(f"Stop from the server: relay open after {self.session_kwh:.3f} kWh")

    def _open_relay(self) -> None:
        self._advance_model()
        self.relay_closed = False
        self.session_id = None
        if self._card is not None and self._scan_every:
            self._plan.scan_at = self.device_time() + self._scan_every

    # -- the car and the meter --------------------------------------------------------------

    def _advance_model(self) -> float:
        now = self.device_time()
        if self.relay_closed and self._model_ts is not None:
            energy = self._car.advance(now - self._model_ts)
            self.energy_kwh += energy
            self.session_kwh += energy
        self._model_ts = now
        return now

    def _read_meter(self) -> Reading:
        ts = self._advance_model()
        power = self._car.power() if self.relay_closed else 0.0
        volts = round(NOMINAL_VOLTAGE + self._rng.gauss(0.0, 0.8), 1)
        watts = round(max(0.0, power * (1.0 + self._rng.gauss(0.0, 0.002))), 1) if power else 0.0
        return Reading(
            ts=round(ts, 3),
            v=volts,
            a=round(watts / volts, 2),
            w=watts,
            kwh=round(self.energy_kwh, 3),
        )

    # -- sending ----------------------------------------------------------------------------

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, frame: Frame) -> bool:
        try:
            await ws.send_str(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
        except (ConnectionError, RuntimeError) as err:
            # The socket went away mid-send; the reader sees the close and reports it.
            self._log(f"Send failed: {err}")
            return False
        return True

    async def _send_metrics(self, ws: aiohttp.ClientWebSocketResponse, why: str) -> bool:
        reading = self._read_meter()
        if not await self._send(ws, reading.frame(self.session_id, counter=self._counter)):
            return False
        self.metrics_sent += 1
        if self._log_metrics:
            self._log(
                f"Sent metrics{why}: {reading.v:.1f} V {reading.a:.2f} A {reading.w:.1f} W"
                + (f", session {self.session_id}" if self.relay_closed else ", idle")
                + (f", meter {reading.kwh:.3f} kWh" if self._counter else "")
            )
        return True

    async def _work(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The single writer of the connection: metrics on the beat, and what the plan says."""
        try:
            async with asyncio.timeout(GREETING_TIMEOUT):
                await self.greeted.wait()
        except TimeoutError:
            self._log(f'No {{"type": "connected"}} within {GREETING_TIMEOUT:g} s; going on')
        if self.connections == 1 and self._card is not None and self._scan_on_start:
            self._plan.scan_at = self.device_time()
        loop = asyncio.get_running_loop()
        self._next_tick = loop.time()
        while not ws.closed:
            self._plan.wake.clear()
            now = loop.time()
            tick = now >= self._next_tick
            if tick:
                self._next_tick += self._interval
                if self._next_tick < now:
                    # Far behind (the loop was blocked): skip the missed beats, no burst.
                    self._next_tick = now + self._interval
            if not await self._act(ws, tick=tick):
                return
            try:
                async with asyncio.timeout(max(self._next_tick - loop.time(), 0.0)):
                    await self._plan.wake.wait()
            except TimeoutError:
                pass

    async def _act(self, ws: aiohttp.ClientWebSocketResponse, *, tick: bool) -> bool:
        plan = self._plan
        if plan.started:
            plan.started = plan.sync = False
            self._next_tick = asyncio.get_running_loop().time() + self._interval
            return await self._send_metrics(ws, " (relay closed)")
        if plan.sync:
            plan.sync = False
            if not await self._send_metrics(ws, " (sync)"):
                return False
        if self.relay_closed:
            if tick and not await self._send_metrics(ws, ""):
                return False
            return await self._check_buttons(ws)
        if (
            self._card is not None
            and plan.scan_at is not None
            and self.device_time() >= plan.scan_at
        ):
            plan.scan_at = self.device_time() + self._scan_every if self._scan_every else None
            if not await self._send(ws, {"type": "nfc_scan", "nfc_uid": self._card}):
                return False
            self.scans_sent += 1
            self._log(f"Card {self._card} presented")
        return True

    async def _check_buttons(self, ws: aiohttp.ClientWebSocketResponse) -> bool:
        """Press the emergency stop or STOP when their time in the session has come."""
        elapsed = self.device_time() - self._charge_started_ts
        session_id = self.session_id
        if self._emergency_after is not None and elapsed >= self._emergency_after:
            self._open_relay()  # an emergency stop cuts the power first
            self.emergencies_sent += 1
            self._log(f"EMERGENCY STOP pressed in session {session_id}")
            return await self._send(ws, {"type": "emergency", "session_id": session_id})
        if self._charge_seconds is not None and elapsed >= self._charge_seconds:
            self._open_relay()
            self.stops_pressed += 1
            self._log(
                f"STOP pressed: session {session_id} ends after {self.session_kwh:.3f} kWh "
                f"(car at {self._car.soc:.0%})"
            )
            return await self._send(ws, {"type": "stop", "session_id": session_id})
        return True


def _optional_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdecimal():
        return int(value)
    return None


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.charger``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.charger",
        description="Simulate an ESP32 EV charger (legacy charger protocol) against iot_hub.",
        epilog="Runs until Ctrl-C (exit 0), reconnecting with backoff; exits 1 when the "
        "server refuses the charger for good (4001, 4003, 4004, 4005, 4008, 4010).",
    )
    add_url_argument(parser)
    parser.add_argument("--station", required=True, help="the charger's estacionId, e.g. 1")
    parser.add_argument("--token", required=True, help="the charger's device token")
    parser.add_argument("--card", help="UID of the NFC card on the reader (default: none)")
    parser.add_argument(
        "--power",
        type=float,
        default=DEFAULT_POWER,
        help="full charging power in W (default %(default)s)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=DEFAULT_INTERVAL,
        help="real seconds between metrics while charging (default %(default)s)",
    )
    parser.add_argument(
        "--ts-step",
        type=float,
        help="device-clock seconds per --interval, to replay faster than real time "
        "(default: same as --interval)",
    )
    parser.add_argument(
        "--scan-every",
        type=float,
        metavar="N",
        help="also present the card every N device seconds while idle",
    )
    parser.add_argument(
        "--no-initial-scan",
        dest="scan_on_start",
        action="store_false",
        help="do not present the card as soon as it is connected",
    )
    parser.add_argument(
        "--charge-seconds",
        type=float,
        metavar="S",
        help="press STOP after S device seconds of charging (the car is full by then)",
    )
    parser.add_argument(
        "--emergency-after",
        type=float,
        metavar="S",
        help="press the emergency stop after S device seconds of charging",
    )
    parser.add_argument(
        "--counter",
        action="store_true",
        help='also send the cumulative energy meter as "kwh" in every metrics frame',
    )
    parser.add_argument(
        "--battery-kwh",
        type=float,
        help="the car's battery (default: full after --charge-seconds, else 40)",
    )
    add_bearer_argument(parser)
    parser.add_argument("--seed", type=int, help="seed of the measurement noise")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="do not print every metrics frame"
    )
    return parser


async def async_main(argv: Sequence[str] | None = None, *, log: Printer | None = None) -> int:
    """Run the charger from command-line arguments.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.
        log: Where the charger's lines go (timestamped on stdout by default).

    Returns:
        The exit status: 0 after a clean stop, 1 when the server refused the charger for
        good, 2 for bad arguments.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        charger = ChargerSimulator(
            args.url,
            args.token,
            args.station,
            card=args.card,
            power_w=args.power,
            interval=args.interval,
            ts_step=args.ts_step,
            scan_on_start=args.scan_on_start,
            scan_every=args.scan_every,
            charge_seconds=args.charge_seconds,
            emergency_after=args.emergency_after,
            counter=args.counter,
            battery_kwh=args.battery_kwh,
            bearer=args.bearer,
            seed=args.seed,
            log=log or timestamped(),
            log_metrics=not args.quiet,
        )
    except ValueError as err:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    return await run_device(charger, "charger", lambda code: _advice(code, args.station))


def _advice(code: int | None, station: str) -> str:
    if (said := token_advice(code, "charger")) is not None:
        return said
    if code in (CLOSE_MISSING_STATION, CLOSE_UNKNOWN_DEVICE):
        return (
            f"Check --station: {station!r} must be the station id this token's charger was "
            "added with."
        )
    if code == CLOSE_REPLACED:
        return "Another connection uses this charger's token; stop the other one first."
    return "The charger was removed from IoT Hub; add it again to get a new token."


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.charger``; Ctrl-C stops the charger cleanly."""
    return run_cli(async_main(argv))


if __name__ == "__main__":
    sys.exit(main())
