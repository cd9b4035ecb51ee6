"""Codec of the legacy sensor back ends: seed 001's event channels, seed 004's live streams.

Pure (no Home Assistant imports, no I/O). What the seeds fix, kept exactly:

- Seed 001 channels: ``general``, ``sensors``, ``readings``, ``locations``, ``anomalies``,
  ``predictions``; ``general`` when none is named. Frames, keys in the seed's order:
  ``{"type":"connection","status":"connected","channel","timestamp"}`` first;
  ``entity_event`` with ``type, entity_type, event_type, entity_id, data, timestamp,
  metadata`` (``event_type`` one of ``created updated deleted anomaly_detected
  prediction_completed``; ``entity_id`` an integer equal to ``data.id``); ``system_event``
  with ``type, level, message, data, timestamp`` (``level`` one of ``info warning error``).
  Timestamps are UTC ISO 8601 with ``Z``, whole seconds as in every example.
- Seed 001 stats: ``{"total_channels", "channels": {ch: {"connections", "users":
  [{"user_id", "connected_at"}]}}}``.
- Seed 004 streams: a client's ``{"type":"ping"}`` gets ``{"type":"pong"}``,
  ``{"type":"request_data"}`` gets the snapshot again, anything else is ignored. A sensor
  reading has ``id, accel_x, accel_y, accel_z, gyro_x, gyro_y, gyro_z, created_at``; the
  ``sensor_update`` snapshot carries a list of at most 10, newest first, a push one object.

What iot_hub decides where the seeds are silent: a reading is any object of named finite
numbers (seed 001's ``temperatura``/``humedad``, seed 004's accelerometer and gyroscope, a
heart rate), with limits on count, key length and values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
import math
from typing import Any, Final, Literal

from ...protocol import NUMBER_TYPES, ProtocolError
from ...protocol.json_frames import parse_json_object

CHANNELS: Final = ("general", "sensors", "readings", "locations", "anomalies", "predictions")
DEFAULT_CHANNEL: Final = "general"
EVENT_TYPES: Final = frozenset(
    {"created", "updated", "deleted", "anomaly_detected", "prediction_completed"}
)
LEVELS: Final = frozenset({"info", "warning", "error"})
MOTION_KEYS: Final = ("accel_x", "accel_y", "accel_z", "gyro_x", "gyro_y", "gyro_z")
SNAPSHOT_SIZE: Final = 10  # seed 004: the last 10 readings on connect
MAX_VALUES: Final = 64  # named values in one reading
MAX_KEY_CHARS: Final = 64
MAX_ABS_VALUE: Final = 1e9  # beyond any sensor's range: a broken device or a hostile one
# Keys of a reading that are about it, not measurements.
READING_META: Final = frozenset({"id", "sensor_id", "timestamp", "created_at", "type"})

type Level = Literal["info", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Reading:
    """Named measurements, and when the device says it took them (None: when received)."""

    values: dict[str, float]
    taken_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Ping:
    """Seed 004: ``{"type":"ping"}``; answered with ``PONG``."""


@dataclass(frozen=True, slots=True)
class RequestData:
    """Seed 004: ``{"type":"request_data"}``; answered with the stream's snapshot again."""


PONG: Final[dict[str, str]] = {"type": "pong"}

# -- time ---------------------------------------------------------------------------------


def timestamp(at: datetime) -> str:
    """UTC, whole seconds, ``Z``: ``2025-07-20T10:30:00Z`` (as every seed example)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: object) -> datetime:
    """An ISO 8601 time with a zone (``Z`` accepted), or ``ProtocolError``."""
    if not isinstance(value, str) or len(value) > 40:
        raise ProtocolError("timestamp must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise ProtocolError("timestamp must be an ISO 8601 string") from err
    if parsed.tzinfo is None:
        raise ProtocolError("timestamp must carry a time zone")
    return parsed.astimezone(UTC)


# -- seed 001: channels and frames ------------------------------------------------------------


def channel(value: str | None) -> str:
    """The channel a connection asked for (``general`` when none), or ``ProtocolError``."""
    if value is None or value == "":
        return DEFAULT_CHANNEL
    if value not in CHANNELS:
        raise ProtocolError(f"unknown channel {value[:32]!r}")
    return value


def connection_frame(channel_name: str, at: datetime) -> dict[str, Any]:
    """The first frame of a channel connection."""
    return {
        "type": "connection",
        "status": "connected",
        "channel": channel_name,
        "timestamp": timestamp(at),
    }


def entity_event(
    entity_type: str,
    event_type: str,
    entity_id: int,
    data: Mapping[str, Any],
    *,
    at: datetime,
    action: str,
) -> dict[str, Any]:
    """An ``entity_event`` in the seed's key order (``data.id`` is ``entity_id``)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"not a seed event type: {event_type}")
    return {
        "type": "entity_event",
        "entity_type": entity_type,
        "event_type": event_type,
        "entity_id": entity_id,
        "data": {"id": entity_id, **{k: v for k, v in data.items() if k != "id"}},
        "timestamp": timestamp(at),
        "metadata": {"action": action},
    }


def system_event(
    level: Level, message: str, data: Mapping[str, Any], at: datetime
) -> dict[str, Any]:
    """A ``system_event`` (no metadata, no entity fields)."""
    if level not in LEVELS:
        raise ValueError(f"not a seed level: {level}")
    return {
        "type": "system_event",
        "level": level,
        "message": message,
        "data": dict(data),
        "timestamp": timestamp(at),
    }


def stats(connections: Mapping[str, Sequence[tuple[str | None, datetime]]]) -> dict[str, Any]:
    """The stats object: per channel its connections and their users."""
    return {
        "total_channels": len(connections),
        "channels": {name: channel_stats(users) for name, users in connections.items()},
    }


def channel_stats(users: Sequence[tuple[str | None, datetime]]) -> dict[str, Any]:
    """One channel's stats (an unknown or empty channel: no connections, no users)."""
    return {
        "connections": len(users),
        "users": [
            {"user_id": user_id, "connected_at": timestamp(connected_at)}
            for user_id, connected_at in users
        ],
    }


# -- readings (both seeds) --------------------------------------------------------------------


def _value(key: str, raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, NUMBER_TYPES):
        raise ProtocolError(f"{key} must be a number")
    value = float(raw)
    if not math.isfinite(value) or abs(value) > MAX_ABS_VALUE:
        raise ProtocolError(f"{key} out of range")
    return value


def decode_reading(text: str) -> Reading:
    """A device's reading: an object of named numbers (and optionally when it was taken)."""
    data = parse_json_object(text)
    values: dict[str, float] = {}
    for key, raw in data.items():
        if key in READING_META:
            continue
        if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
            raise ProtocolError("value names must be 1-64 printable characters")
        values[key] = _value(key, raw)
        if len(values) > MAX_VALUES:
            raise ProtocolError("too many values")
    if not values:
        raise ProtocolError("a reading needs at least one named number")
    stamp = data.get("timestamp", data.get("created_at"))
    return Reading(values, None if stamp is None else parse_timestamp(stamp))


# -- seed 004: streams -------------------------------------------------------------------------


def decode_stream_frame(text: str) -> Ping | RequestData | None:
    """A stream client's frame: ping, request_data, or None (anything else is ignored)."""
    try:
        data = parse_json_object(text)
    except ProtocolError:
        return None
    match data.get("type"):
        case "ping":
            return Ping()
        case "request_data":
            return RequestData()
        case _:
            return None


def motion_reading(reading_id: int, values: Mapping[str, float], at: datetime) -> dict[str, Any]:
    """A seed-004 sensor reading: ``id``, the six motion values (0.0 when absent), the time."""
    return {
        "id": reading_id,
        **{key: float(values.get(key, 0.0)) for key in MOTION_KEYS},
        "created_at": at.astimezone(UTC).isoformat(),
    }


def sensor_update_snapshot(newest_first: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """On connect and on ``request_data``: the last readings as a list, newest first."""
    return {"type": "sensor_update", "data": [dict(r) for r in newest_first[:SNAPSHOT_SIZE]]}


def sensor_update_push(reading: Mapping[str, Any]) -> dict[str, Any]:
    """A new reading pushed: one object, not a list (as the seed does)."""
    return {"type": "sensor_update", "data": dict(reading)}
