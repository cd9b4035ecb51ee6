"""Codec of what seed 001 leaves to iot_hub: reading and location objects, posted readings.

Pure (no Home Assistant imports, no I/O); the frames themselves are ``codec``'s.

- A reading (``entity_event`` of ``readings``, and the answer to ``POST /v1/readings``):
  ``{"id", "sensor_id", <each value as sent>, "timestamp"}`` (A1-7).
- A location is an HA area; its integer id is the CRC-32 of the area id (31 bits): stable
  across renames and restarts, the same on every install, with no table to keep (A1-6).
- A posted reading is seed 001's body ``{"sensor_id", "temperatura", "humedad",
  "timestamp"}``: ``codec.decode_reading`` plus an optional integer ``sensor_id``.
- ``jsonable``: what the analysis publishes (times, tuples) as JSON values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
import zlib

from ...protocol import ProtocolError
from ...protocol.json_frames import parse_json_object
from .codec import Reading, decode_reading, timestamp

MAX_USER_ID_CHARS: Final = 64


def reading_object(
    reading_id: int, sensor_id: int | None, values: Mapping[str, float], at: datetime
) -> dict[str, Any]:
    """A seed-001 reading: its id, its sensor, the values by their own names, the time."""
    return {"id": reading_id, "sensor_id": sensor_id, **values, "timestamp": timestamp(at)}


def location_id(area_id: str) -> int:
    """The integer id of an HA area (``living_room``): the same for the area's whole life."""
    return zlib.crc32(area_id.encode()) & 0x7FFFFFFF


def decode_posted_reading(text: str) -> tuple[int | None, Reading]:
    """``POST /v1/readings``: the ``sensor_id`` it names (None when absent), and the reading."""
    sensor_id = parse_json_object(text).get("sensor_id")
    if sensor_id is not None and (isinstance(sensor_id, bool) or not isinstance(sensor_id, int)):
        raise ProtocolError("sensor_id must be an integer")
    return sensor_id, decode_reading(text)


def user_id(raw: str | None) -> str | None:
    """The ``?user_id=`` a client gives itself, as stats show it (None when not given)."""
    if not raw:
        return None
    text = "".join(ch for ch in raw if ch.isprintable())[:MAX_USER_ID_CHARS]
    return text or None


# Built once: ``list | tuple`` written in the call makes a union object each time.
_SEQUENCES: Final = (list, tuple)


def jsonable(value: Any) -> Any:
    """``value`` with times as seed-001 timestamps and tuples as lists (JSON as the seed)."""
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, _SEQUENCES):
        return [jsonable(item) for item in value]
    return value
