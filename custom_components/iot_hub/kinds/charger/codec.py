"""Codec of the legacy EV-charger protocol (seed 002): what the charger and dashboards send.

This module decodes; ``encode.py`` writes the server's frames. Together they are the codec.

Both peers connect to the same WebSocket with ``?role=publisher|client&estacionId=N`` and
exchange JSON text frames, each an object with a ``type``. The shapes below are the seed's own;
keys and their order are kept so existing firmware and dashboards work unchanged.

Publisher (charger ESP32) → server, decoded by :func:`decode_publisher_frame`:

- ``{"type":"nfc_scan","nfc_uid":"VIRTUAL-1-A4F2E8"}`` — a card was presented.
- ``{"type":"metrics","session_id":123,"v":220.5,"a":16.2,"w":3572.1,"ts":1699276425}`` — a
  periodic reading (the seed sends one every ~3 s).
- ``{"type":"stop","session_id":123}`` — STOP pressed on the charger.
- ``{"type":"emergency","session_id":123}`` — emergency stop.

Server → publisher: ``start {session_id, user_name}``, ``stop {session_id}``,
``error {message, code}``, plus ``connected`` on connect and ``sync_request`` when a dashboard
subscribes while the charger is online.

Client (dashboard) → server, decoded by :func:`decode_client_frame`: ``{"type":"stop"}``
(the seed: "STOP pressed on the ESP32 *or on the Dashboard*"), optionally with ``session_id``.

Server → clients: ``subscribed`` on connect, ``init {charger: {id, status, session}}``,
``metrics`` enriched with ``charger_id, kwh, cost, time``, ``session_started``,
``session_ended {kwh, cost, duration}``, ``error {message}`` and ``emergency``.

How iot_hub reads what the seed leaves open:

- ``ts`` is Unix time in seconds, int or float. A value above ``10**11`` (year 5138 in seconds)
  can only be milliseconds (``Date.now()``-style firmware) and is divided by 1000. ``ts`` may be
  absent or null: the hub then stamps the reading on arrival. Whether the clock is right (an
  unsynchronised ESP32 counts from boot) is for the hub, which holds it to its own clock.
- ``v``, ``a`` and ``w`` may each be absent or null, but a reading needs ``w`` or both ``v`` and
  ``a`` (:attr:`Metrics.power` then is ``v * a``). Booleans, strings, NaN and infinities are
  refused. Other keys are ignored, so newer firmware may add fields.
- Ranges (:data:`READING_RANGES`): ``v`` to 2,000 V, ``a`` to 4,000 A, ``w`` and ``v * a`` to
  5 MW (megawatt charging: 1,250 V, 3,000 A, 3.75 MW); noise down to -1 V, -0.5 A, -100 W reads
  as 0. Beyond: refused, so what the hub computes from a reading stays finite and non-negative.
- An optional device energy counter: ``"kwh"`` (kWh) or ``"wh"`` (Wh), normalised to kWh in
  :attr:`Metrics.energy_kwh` (at most 10**9). ``"energy"`` is not read: its unit is a guess.
- ``session_id`` is a non-negative integer (or an integral float or a decimal string, as
  JavaScript dashboards send); it may be absent or null in every frame that carries it.
- ``nfc_uid`` is 1 to 64 printable ASCII characters after stripping surrounding whitespace.

iot_hub additions, not in the seed:

- Client ``{"type":"start"}`` with an optional ``"user_name"`` *or* ``"nfc_uid"``: a dashboard
  starts a session for a person or on behalf of a card (checked like a scan).
- The ``init`` session object: ``{"session_id", "user_name", "kwh", "cost", "time",
  "started_at"}`` (see :class:`SessionInfo`); ``null`` when the charger is idle, as in the seed.
- Charger status strings beyond the seed's ``disponible``: :data:`STATUS_WIRE` maps
  ``available → disponible``, ``charging → cargando``, ``emergency → emergencia``,
  ``offline → desconectado``.
- Error codes (the seed only shows a placeholder ``ERROR_CODE``):
  ``CARD_REJECTED`` (the card is not authorised), ``CHARGER_BUSY`` (a session is already
  running), ``EMERGENCY_ACTIVE`` (the emergency stop must be cleared first),
  ``INVALID_MESSAGE`` (the frame did not decode; the message says why) and
  ``NO_ACTIVE_SESSION`` (a stop without a running session; metrics of a session that is
  not running are answered with ``stop`` instead).

Encoders return compact JSON (``separators=(",", ":")``), ASCII-only so every frame is valid
UTF-8 whatever the strings hold. Numbers that are NaN or infinite are sent as ``null``.
``charger_id`` is the station id as a JSON number when it is a plain decimal (the seed's
``"charger_id": 1``), else a string; ``estacionId`` in acks is always a string (``"1"``).
Timestamps are ISO 8601 UTC with milliseconds and ``Z`` (``2025-11-06T12:00:00.000Z``).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any, Final

from ...protocol import ProtocolError
from ...protocol.json_frames import parse_json_object

# -- connection parameters (query string) -------------------------------------------------------

QUERY_ROLE: Final = "role"
QUERY_STATION: Final = "estacionId"
ROLE_PUBLISHER: Final = "publisher"
ROLE_CLIENT: Final = "client"
CLOSE_MISSING_STATION: Final = 4004  # the seed's close code for a publisher without estacionId

# -- message types ------------------------------------------------------------------------------

TYPE_NFC_SCAN: Final = "nfc_scan"
TYPE_METRICS: Final = "metrics"
TYPE_STOP: Final = "stop"
TYPE_EMERGENCY: Final = "emergency"
TYPE_START: Final = "start"

# -- error codes sent to the publisher with ``encode_error`` ------------------------------------

CODE_CARD_REJECTED: Final = "CARD_REJECTED"
CODE_CHARGER_BUSY: Final = "CHARGER_BUSY"
CODE_EMERGENCY_ACTIVE: Final = "EMERGENCY_ACTIVE"
CODE_INVALID_MESSAGE: Final = "INVALID_MESSAGE"
CODE_NO_ACTIVE_SESSION: Final = "NO_ACTIVE_SESSION"

# -- limits -------------------------------------------------------------------------------------

MAX_NFC_UID_CHARS: Final = 64
MAX_USER_NAME_CHARS: Final = 128
MAX_SESSION_ID: Final = 2**63 - 1
# Above this a ``ts`` cannot be seconds (it would be past the year 5138): it is milliseconds.
MS_THRESHOLD: Final = 10**11
# 9999-12-31T23:59:59Z: the last second a ``datetime`` can hold.
MAX_TS: Final = 253_402_300_799.0
# How much of an unknown value an error message echoes back.
MAX_ECHO_CHARS: Final = 32
# key -> (noise tolerated below zero, read as 0; the largest plausible value).
READING_RANGES: Final = {"v": (1.0, 2_000.0), "a": (0.5, 4_000.0), "w": (100.0, 5_000_000.0)}
MAX_COUNTER_KWH: Final = 1e9


# -- decoded messages ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NfcScan:
    """A card was presented to the charger's reader."""

    nfc_uid: str


@dataclass(frozen=True, slots=True)
class Metrics:
    """A periodic reading from the charger.

    ``v`` in volts, ``a`` in amperes, ``w`` in watts, ``ts`` in Unix seconds (None: use the
    arrival time), ``energy_kwh`` the device's own energy counter in kWh when it sends one.
    """

    session_id: int | None
    v: float | None
    a: float | None
    w: float | None
    ts: float | None
    energy_kwh: float | None = None

    @property
    def power(self) -> float:
        """Power in watts: ``w`` as sent, else ``v * a``."""
        if self.w is not None:
            return self.w
        assert self.v is not None and self.a is not None  # guaranteed by the decoder
        return self.v * self.a


@dataclass(frozen=True, slots=True)
class StopRequest:
    """STOP pressed on the charger or on a dashboard."""

    session_id: int | None = None


@dataclass(frozen=True, slots=True)
class Emergency:
    """Emergency stop on the charger."""

    session_id: int | None = None


@dataclass(frozen=True, slots=True)
class StartRequest:
    """A dashboard asks to start a session (iot_hub addition), for a person or a card."""

    user_name: str | None = None
    nfc_uid: str | None = None


type PublisherMessage = NfcScan | Metrics | StopRequest | Emergency
type ClientMessage = StopRequest | StartRequest


# -- decoding -----------------------------------------------------------------------------------


def _echo(value: str) -> str:
    """A short, printable rendering of a peer's string for an error message."""
    shown = "".join(c if c.isprintable() else "?" for c in value[:MAX_ECHO_CHARS])
    return shown + "..." if len(value) > MAX_ECHO_CHARS else shown


def _message_type(data: dict[str, Any]) -> str:
    if "type" not in data:
        raise ProtocolError("missing message type")
    kind = data["type"]
    if not isinstance(kind, str):
        raise ProtocolError("message type must be a string")
    return kind


def _unknown_type(kind: str) -> ProtocolError:
    return ProtocolError(f"unknown message type: {_echo(kind)}")


def _number(data: dict[str, Any], key: str) -> float | None:
    """A finite JSON number under ``key``; None when absent or null."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"{key} must be a number")
    try:
        number = float(value)
    except OverflowError as err:  # an int too large for a float
        raise ProtocolError(f"{key} out of range") from err
    if not math.isfinite(number):
        raise ProtocolError(f"{key} must be finite")
    return number


def _session_id(data: dict[str, Any]) -> int | None:
    """A non-negative integer ``session_id``; None when absent or null."""
    value = data.get("session_id")
    if value is None:
        return None
    session_id: int
    if isinstance(value, bool):
        raise ProtocolError("session_id must be an integer")
    if isinstance(value, int):
        session_id = value
    elif (isinstance(value, float) and value.is_integer()) or (
        isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) <= 19
    ):
        session_id = int(value)
    else:
        raise ProtocolError("session_id must be an integer")
    if not 0 <= session_id <= MAX_SESSION_ID:
        raise ProtocolError("session_id out of range")
    return session_id


def _nfc_uid(value: object) -> str:
    if not isinstance(value, str):
        raise ProtocolError("nfc_uid must be a string")
    uid = value.strip()
    if not uid:
        raise ProtocolError("nfc_uid is empty")
    if len(uid) > MAX_NFC_UID_CHARS:
        raise ProtocolError("nfc_uid too long")
    if not (uid.isascii() and uid.isprintable()):
        raise ProtocolError("nfc_uid must be printable ASCII")
    return uid


def _user_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError("user_name must be a string")
    name = value.strip()
    if not name:
        return None  # an empty form field
    if len(name) > MAX_USER_NAME_CHARS:
        raise ProtocolError("user_name too long")
    if not name.isprintable():
        raise ProtocolError("user_name must be printable")
    return name


def _timestamp(data: dict[str, Any]) -> float | None:
    ts = _number(data, "ts")
    if ts is None:
        return None
    if ts < 0:
        raise ProtocolError("ts out of range")
    if ts > MS_THRESHOLD:
        ts /= 1000
    if ts > MAX_TS:
        raise ProtocolError("ts out of range")
    return ts


def _energy_kwh(data: dict[str, Any]) -> float | None:
    kwh = _number(data, "kwh")
    if kwh is None:
        wh = _number(data, "wh")
        kwh = None if wh is None else wh / 1000
    if kwh is not None and not 0 <= kwh <= MAX_COUNTER_KWH:
        raise ProtocolError("energy counter out of range")
    return kwh


def _reading(data: dict[str, Any], key: str) -> float | None:
    """``v``, ``a`` or ``w`` within :data:`READING_RANGES`; noise below zero reads as 0."""
    value = _number(data, key)
    if value is None:
        return None
    noise, largest = READING_RANGES[key]
    if not -noise <= value <= largest:
        raise ProtocolError(f"{key} out of range")
    return value if value > 0 else 0.0


def _metrics(data: dict[str, Any]) -> Metrics:
    v = _reading(data, "v")
    a = _reading(data, "a")
    w = _reading(data, "w")
    if w is None and (v is None or a is None):
        raise ProtocolError("metrics need w, or v and a")
    if v is not None and a is not None and v * a > READING_RANGES["w"][1]:
        raise ProtocolError("v * a out of range")
    return Metrics(
        session_id=_session_id(data),
        v=v,
        a=a,
        w=w,
        ts=_timestamp(data),
        energy_kwh=_energy_kwh(data),
    )


def decode_publisher_frame(text: str) -> PublisherMessage:
    """Decode a text frame from the charger: ``nfc_scan``, ``metrics``, ``stop``, ``emergency``."""
    data = parse_json_object(text)
    match _message_type(data):
        case "nfc_scan":
            if data.get("nfc_uid") is None:
                raise ProtocolError("missing nfc_uid")
            return NfcScan(_nfc_uid(data["nfc_uid"]))
        case "metrics":
            return _metrics(data)
        case "stop":
            return StopRequest(_session_id(data))
        case "emergency":
            return Emergency(_session_id(data))
        case kind:
            raise _unknown_type(kind)


def decode_client_frame(text: str) -> ClientMessage:
    """Decode a text frame from a dashboard: ``stop``, or ``start`` (iot_hub addition)."""
    data = parse_json_object(text)
    match _message_type(data):
        case "stop":
            return StopRequest(_session_id(data))
        case "start":
            user_name = _user_name(data.get("user_name"))
            raw_uid = data.get("nfc_uid")
            nfc_uid = None if raw_uid is None else _nfc_uid(raw_uid)
            if user_name is not None and nfc_uid is not None:
                raise ProtocolError("start takes user_name or nfc_uid, not both")
            return StartRequest(user_name=user_name, nfc_uid=nfc_uid)
        case kind:
            raise _unknown_type(kind)
