"""Encoders of the legacy EV-charger protocol (seed 002): the server's frames.

Shapes, key order and number formats are described in ``codec.py``'s docstring; every frame
here keeps the seed's shape so existing firmware and dashboards work unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import math
from typing import Any, Final, Literal

from .codec import ROLE_PUBLISHER

# -- charger status -----------------------------------------------------------------------------

type ChargerStatus = Literal["available", "charging", "emergency", "offline"]

STATUS_WIRE: Final[Mapping[ChargerStatus, str]] = {
    "available": "disponible",  # the seed's own word
    "charging": "cargando",
    "emergency": "emergencia",
    "offline": "desconectado",
}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """The running session as ``init`` shows it to a dashboard (iot_hub's shape)."""

    session_id: int
    user_name: str | None
    kwh: float
    cost: float
    time: float
    started_at: datetime


# -- encoding -----------------------------------------------------------------------------------


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


def _finite(value: float | None) -> float | None:
    """``value`` if it is a finite number, else None (sent as ``null``)."""
    if value is None or not math.isfinite(value):
        return None
    return value


def _rounded(value: float | None, digits: int) -> float | None:
    finite = _finite(value)
    return None if finite is None else round(finite, digits)


def _seconds(value: float | None) -> int | None:
    """Whole elapsed seconds (truncated), or None when unknown."""
    finite = _finite(value)
    return None if finite is None else int(finite)


def _iso(timestamp: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``; a naive datetime is taken as UTC."""
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return timestamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wire_charger_id(station_id: str | int) -> int | str:
    """``charger_id`` as the seed sends it: a number for a plain decimal id, else the string.

    A decimal with leading zeros (``"01"``) stays a string: as a number it would lose them.
    """
    if isinstance(station_id, int):
        return station_id
    if (
        station_id.isascii()
        and station_id.isdecimal()
        and len(station_id) <= 18
        and (station_id == "0" or not station_id.startswith("0"))
    ):
        return int(station_id)
    return station_id


# Server → publisher.


def encode_start(session_id: int, user_name: str) -> str:
    """Tell the charger to close its relay and measure for ``session_id``."""
    return _dumps({"type": "start", "session_id": session_id, "user_name": user_name})


def encode_stop(session_id: int | None) -> str:
    """Tell the charger to open its relay (``null``: whatever session it runs)."""
    return _dumps({"type": "stop", "session_id": session_id})


def encode_error(message: str, code: str) -> str:
    """An error for the charger, with one of the ``CODE_*`` constants."""
    return _dumps({"type": "error", "message": message, "code": code})


def encode_connected(station_id: str | int) -> str:
    """Ack to a charger that connected; ``estacionId`` is a string, as in the seed."""
    return _dumps({"type": "connected", "role": ROLE_PUBLISHER, "estacionId": str(station_id)})


def encode_sync_request() -> str:
    """Ask the charger to resend its state because a dashboard subscribed."""
    return _dumps({"type": "sync_request", "from": "server"})


# Server → clients.


def encode_subscribed(station_id: str | int) -> str:
    """Ack to a dashboard that subscribed; ``estacionId`` is a string, as in the seed."""
    return _dumps({"type": "subscribed", "estacionId": str(station_id)})


def encode_init(charger_id: str | int, status: ChargerStatus, session: SessionInfo | None) -> str:
    """The charger's state for a dashboard that just subscribed."""
    session_obj: dict[str, Any] | None = None
    if session is not None:
        session_obj = {
            "session_id": session.session_id,
            "user_name": session.user_name,
            "kwh": _rounded(session.kwh, 3),
            "cost": _rounded(session.cost, 2),
            "time": _seconds(session.time),
            "started_at": _iso(session.started_at),
        }
    return _dumps(
        {
            "type": "init",
            "charger": {
                "id": wire_charger_id(charger_id),
                "status": STATUS_WIRE[status],
                "session": session_obj,
            },
        }
    )


def encode_metrics(  # noqa: PLR0917  (the seed's field order, as the hub calls it)
    session_id: int | None,
    charger_id: str | int,
    v: float | None,
    a: float | None,
    w: float | None,
    kwh: float,
    cost: float,
    time: float,
) -> str:
    """A reading enriched with the session's energy (kWh, 3 decimals), cost (2) and seconds."""
    return _dumps(
        {
            "type": "metrics",
            "session_id": session_id,
            "charger_id": wire_charger_id(charger_id),
            "v": _finite(v),
            "a": _finite(a),
            "w": _finite(w),
            "kwh": _rounded(kwh, 3),
            "cost": _rounded(cost, 2),
            "time": _seconds(time),
        }
    )


def encode_session_started(
    session_id: int, charger_id: str | int, user_name: str | None, timestamp: datetime
) -> str:
    """A session started (``user_name`` null when no person started it)."""
    return _dumps(
        {
            "type": "session_started",
            "session_id": session_id,
            "charger_id": wire_charger_id(charger_id),
            "user_name": user_name,
            "timestamp": _iso(timestamp),
        }
    )


def encode_session_ended(
    session_id: int, charger_id: str | int, kwh: float, cost: float, duration: float
) -> str:
    """A session's summary: energy (kWh, 3 decimals), cost (2) and duration in seconds."""
    return _dumps(
        {
            "type": "session_ended",
            "session_id": session_id,
            "charger_id": wire_charger_id(charger_id),
            "kwh": _rounded(kwh, 3),
            "cost": _rounded(cost, 2),
            "duration": _seconds(duration),
        }
    )


def encode_client_error(message: str) -> str:
    """An error for a dashboard (no code, as in the seed)."""
    return _dumps({"type": "error", "message": message})


def encode_emergency(charger_id: str | int, session_id: int | None, timestamp: datetime) -> str:
    """Alert dashboards that the charger's emergency stop fired."""
    return _dumps(
        {
            "type": "emergency",
            "charger_id": wire_charger_id(charger_id),
            "session_id": session_id,
            "timestamp": _iso(timestamp),
        }
    )
