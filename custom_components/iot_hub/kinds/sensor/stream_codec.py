"""Codec of seed 004's live streams beyond ``codec.py``: what iot_hub decides where it is silent.

Pure (no Home Assistant imports, no I/O). The seed fixes the stream names, the frame types
``sensor_update``, ``heart_rate_update``, ``heart_rate_stats_update`` and a ``data`` key; it
leaves the heart-rate data undocumented (A4-1) and the desires streams empty (A4-2). Decided
here, documented in the README:

- ``heart_rate_update``: ``{"date": "YYYY-MM-DD", "current": bpm|null, "readings":
  [{"bpm", "timestamp"}, ...]}``, oldest first, the last ``DAY_READINGS`` of the local day.
- ``heart_rate_stats_update``: ``{"period": "today", "date", "min", "max", "avg", "count"}``
  (``min``/``max``/``avg`` null when ``count`` is 0; ``avg`` to one decimal).
- ``desires_update``: ``{"date", "count", "desires": [{"intensity", "timestamp"}, ...]}``;
  ``desires_stats_update``: ``{"period": "today", "date", "count", "min", "max", "avg"}``.
- A reading carries a heart rate under one of ``HEART_RATE_KEYS`` and logs a desire under one
  of ``DESIRE_KEYS`` (its intensity).

Numbers that are whole go out as integers (``72``, not ``72.0``); times as ISO 8601 in UTC,
as the seed's ``created_at`` (``datetime.isoformat``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
import json
import math
from typing import Any, Final

from ...protocol import NUMBER_TYPES, ProtocolError
from ...protocol.json_frames import parse_json_object
from .codec import MAX_ABS_VALUE, MOTION_KEYS

SENSOR_DATA: Final = "sensor_data"
HEART_RATE_TODAY: Final = "heart_rate_today"
HEART_RATE_STATS: Final = "heart_rate_stats"
DESIRES_TRACKING: Final = "desires_tracking"
DESIRES_STATS: Final = "desires_stats"
STREAMS: Final = (SENSOR_DATA, HEART_RATE_TODAY, HEART_RATE_STATS, DESIRES_TRACKING, DESIRES_STATS)
# The frame type each stream sends (the seed's three, and ours for the desires, A4-2).
FRAME_TYPES: Final[Mapping[str, str]] = {
    SENSOR_DATA: "sensor_update",
    HEART_RATE_TODAY: "heart_rate_update",
    HEART_RATE_STATS: "heart_rate_stats_update",
    DESIRES_TRACKING: "desires_update",
    DESIRES_STATS: "desires_stats_update",
}
# The names ``quantities.py`` knows as a heart rate (a test keeps the two lists equal).
HEART_RATE_KEYS: Final = ("heart_rate", "ritmo_cardiaco", "frecuencia_cardiaca", "bpm", "pulso")
DESIRE_KEYS: Final = ("desire", "deseo")
# The body of seed 004's reading POST may name its consumer (``LecturaSensor`` has the field).
CONSUMER_KEYS: Final = ("consumidor_id", "consumer_id")
DAY_READINGS: Final = 500  # entries a day's frame lists (the newest); statistics cover all


def number(value: float) -> int | float:
    """A whole number as an integer (``72``), others as they are."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def iso(at: datetime) -> str:
    """The seed's ``created_at`` form: ISO 8601 in UTC (``+00:00``)."""
    return at.astimezone(UTC).isoformat()


def first_of(values: Mapping[str, float], keys: Iterable[str]) -> float | None:
    """The value of the first of ``keys`` a reading carries (names compared in lower case)."""
    wanted = tuple(keys)
    for name, value in values.items():
        if name.casefold() in wanted:
            return value
    return None


def has_motion(values: Mapping[str, float]) -> bool:
    """Whether a reading carries any accelerometer or gyroscope value."""
    return any(key in values for key in MOTION_KEYS)


@dataclass(slots=True)
class DayLog:
    """One local day of entries (a heart rate, a desire): the newest listed, all summed."""

    day: date
    entries: list[tuple[datetime, float]]
    count: int = 0
    low: float | None = None
    high: float | None = None
    total: float = 0.0

    @classmethod
    def empty(cls, day: date) -> DayLog:
        """A day with nothing logged yet."""
        return cls(day, [])

    def add(self, at: datetime, value: float) -> None:
        """Log one entry (the oldest listed one goes past ``DAY_READINGS``)."""
        self.entries.append((at, value))
        if len(self.entries) > DAY_READINGS:
            del self.entries[0]
        self.count += 1
        self.total += value
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)

    def stats(self) -> dict[str, Any]:
        """``period``, ``date``, ``count``, ``min``, ``max``, ``avg`` (null when empty)."""
        return {
            "period": "today",
            "date": self.day.isoformat(),
            "count": self.count,
            "min": None if self.low is None else number(self.low),
            "max": None if self.high is None else number(self.high),
            "avg": round(self.total / self.count, 1) if self.count else None,
        }

    def as_stored(self) -> dict[str, Any]:
        """What is written to disk (``from_stored`` reads it back)."""
        return {
            "date": self.day.isoformat(),
            "entries": [[iso(at), value] for at, value in self.entries],
            "count": self.count,
            "min": self.low,
            "max": self.high,
            "total": self.total,
        }

    @classmethod
    def from_stored(cls, raw: object, today: date) -> DayLog:
        """A stored day if it is ``today`` and whole; else an empty ``today``; bad entries dropped."""
        log = cls.empty(today)
        if not isinstance(raw, dict) or raw.get("date") != today.isoformat():
            return log
        for entry in raw.get("entries") or ():
            if (
                isinstance(entry, list)
                and len(entry) == 2
                and (at := _time(entry[0])) is not None
                and (value := _finite(entry[1])) is not None
            ):
                log.entries.append((at, value))
        del log.entries[:-DAY_READINGS]
        sums = [_finite(raw.get(key)) for key in ("min", "max", "total")]
        count = raw.get("count")
        if (
            type(count) is int
            and count >= len(log.entries)
            and all(s is not None for s in sums)
            and count > 0
        ):
            log.count, log.low, log.high, log.total = count, sums[0], sums[1], sums[2] or 0.0
        else:  # the sums are lost: rebuilt from the entries kept
            for _, value in log.entries:
                log.count += 1
                log.total += value
                log.low = value if log.low is None else min(log.low, value)
                log.high = value if log.high is None else max(log.high, value)
        return log


def _time(raw: object) -> datetime | None:
    if not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _finite(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, NUMBER_TYPES):
        return None
    value = float(raw)
    return value if math.isfinite(value) and abs(value) <= MAX_ABS_VALUE else None


def heart_rate_today(log: DayLog, current: float | None) -> dict[str, Any]:
    """The ``heart_rate_update`` data: the day, the latest heart rate, the day's readings."""
    return {
        "date": log.day.isoformat(),
        "current": None if current is None else number(current),
        "readings": [{"bpm": number(v), "timestamp": iso(at)} for at, v in log.entries],
    }


def desires_today(log: DayLog) -> dict[str, Any]:
    """The ``desires_update`` data: the day, how many desires, the latest of them."""
    return {
        "date": log.day.isoformat(),
        "count": log.count,
        "desires": [{"intensity": number(v), "timestamp": iso(at)} for at, v in log.entries],
    }


def frame(stream: str, data: Any) -> dict[str, Any]:
    """A stream's frame: its type and ``data``."""
    return {"type": FRAME_TYPES[stream], "data": data}


def motion_record(raw: object) -> dict[str, Any] | None:
    """A stored seed-004 reading if it is whole (``id``, six floats, ``created_at``), else None."""
    if not isinstance(raw, dict):
        return None
    reading_id = raw.get("id")
    if type(reading_id) is not int or reading_id < 0:
        return None
    values = [_finite(raw.get(key)) for key in MOTION_KEYS]
    created = raw.get("created_at")
    if any(v is None for v in values) or _time(created) is None:
        return None
    return {
        "id": reading_id,
        **{key: float(v or 0.0) for key, v in zip(MOTION_KEYS, values, strict=True)},
        "created_at": created,
    }


def decode_posted_reading(text: str, consumer_id: str) -> str:
    """Seed 004's POSTed model fields as a device reading's text (``codec.decode_reading``).

    ``consumidor_id`` (or ``consumer_id``) may name the consumer; it must be the URL's and
    is not a measurement, so it is taken out. ``ProtocolError`` for anything else wrong.
    """
    data = parse_json_object(text)
    for key in CONSUMER_KEYS:
        if key in data:
            named = data.pop(key)
            if str(named) != consumer_id or isinstance(named, bool):
                raise ProtocolError(f"{key} is not the consumer of the URL")
    return json.dumps(data)
