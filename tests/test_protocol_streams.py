"""The streams' codec (``stream_codec``): day logs, stored records, posted readings; hypothesis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
import json
import math
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.iot_hub.kinds.sensor import stream_codec as sc
from custom_components.iot_hub.kinds.sensor.codec import MOTION_KEYS, motion_reading
from custom_components.iot_hub.protocol import ProtocolError

DAY = date(2025, 7, 20)
START = datetime(2025, 7, 20, 8, 0, tzinfo=UTC)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)


def _log(values: list[float]) -> sc.DayLog:
    log = sc.DayLog.empty(DAY)
    for n, value in enumerate(values):
        log.add(START + timedelta(seconds=n), value)
    return log


@given(st.lists(finite, max_size=600))
def test_day_log_sums_every_entry_and_lists_the_newest(values: list[float]) -> None:
    """Statistics cover all entries; the list holds the newest ``DAY_READINGS``, oldest first."""
    log = _log(values)
    stats = log.stats()
    assert stats["count"] == len(values)
    assert [v for _, v in log.entries] == values[-sc.DAY_READINGS :]
    if values:
        assert stats["min"] == sc.number(min(values))
        assert stats["max"] == sc.number(max(values))
        assert math.isclose(stats["avg"], round(sum(values) / len(values), 1), abs_tol=0.051)
    else:
        assert (stats["min"], stats["max"], stats["avg"]) == (None, None, None)
    assert stats["period"] == "today" and stats["date"] == "2025-07-20"


@given(st.lists(finite, max_size=600))
def test_day_log_survives_its_stored_form(values: list[float]) -> None:
    """``as_stored`` then ``from_stored`` (through JSON) gives the same day back."""
    log = _log(values)
    again = sc.DayLog.from_stored(json.loads(json.dumps(log.as_stored())), DAY)
    assert again.stats() == log.stats()
    assert again.entries == log.entries


def test_day_log_keeps_the_newest_entries_and_sums_all() -> None:
    """Past ``DAY_READINGS`` the oldest listed entry goes; the statistics keep it."""
    log = _log([float(n) for n in range(sc.DAY_READINGS + 1)])
    assert len(log.entries) == sc.DAY_READINGS
    assert log.entries[0][1] == 1.0
    assert log.stats()["count"] == sc.DAY_READINGS + 1
    assert log.stats()["min"] == 0


def test_stored_day_of_another_day_or_with_bad_sums_is_rebuilt() -> None:
    """Yesterday's log is not today's; lost sums are rebuilt from the entries kept."""
    stored = _log([60, 70]).as_stored()
    assert sc.DayLog.from_stored(stored, DAY + timedelta(days=1)).count == 0
    broken = {**stored, "count": "2", "entries": [*stored["entries"], ["bad", 1], [1, 2, 3]]}
    rebuilt = sc.DayLog.from_stored(broken, DAY)
    assert rebuilt.stats()["count"] == 2 and rebuilt.stats()["avg"] == 65


@given(json_values)
def test_stored_day_of_any_json_never_raises(raw: Any) -> None:
    """Whatever a damaged file holds, a day log comes out (for today, consistent)."""
    log = sc.DayLog.from_stored(raw, DAY)
    assert log.day == DAY
    assert log.count >= len(log.entries) <= sc.DAY_READINGS


@given(st.integers(min_value=0, max_value=2**40), st.lists(finite, min_size=6, max_size=6))
def test_motion_record_takes_back_what_motion_reading_made(
    reading_id: int, six: list[float]
) -> None:
    """A stored ring record is read back as it was written."""
    record = motion_reading(reading_id, dict(zip(MOTION_KEYS, six, strict=True)), START)
    assert sc.motion_record(json.loads(json.dumps(record))) == record


@given(json_values)
def test_motion_record_of_anything_is_whole_or_none(raw: Any) -> None:
    """Never raises; what it returns has the eight keys of the seed's reading."""
    record = sc.motion_record(raw)
    assert record is None or list(record) == ["id", *MOTION_KEYS, "created_at"]


@pytest.mark.parametrize(
    "raw",
    [
        {"id": True, **dict.fromkeys(MOTION_KEYS, 1.0), "created_at": START.isoformat()},
        {"id": 1, **dict.fromkeys(MOTION_KEYS, 1.0), "created_at": "2025-07-20T10:30:00"},
        {"id": 1, **dict.fromkeys(MOTION_KEYS, 1.0), "created_at": "yesterday"},
        {"id": -1, **dict.fromkeys(MOTION_KEYS, 1.0), "created_at": START.isoformat()},
        {"id": 1, **dict.fromkeys(MOTION_KEYS, float("inf")), "created_at": START.isoformat()},
        {"id": 1, **dict.fromkeys(MOTION_KEYS, 1.0), "created_at": "2" * 41},
    ],
)
def test_motion_record_refuses_what_the_seed_never_sent(raw: dict[str, Any]) -> None:
    """A bool id, a naive or unreadable time, a negative id, an infinity: dropped."""
    assert sc.motion_record(raw) is None


@given(
    st.dictionaries(st.text(max_size=10), st.integers() | finite, max_size=8), st.text(max_size=4)
)
def test_posted_reading_drops_only_a_matching_consumer(body: dict[str, Any], consumer: str) -> None:
    """The consumer keys go (when they name the URL's consumer); everything else stays."""
    try:
        text = sc.decode_posted_reading(json.dumps(body), consumer)
    except ProtocolError:
        assert any(str(body[k]) != consumer for k in sc.CONSUMER_KEYS if k in body)
        return
    assert json.loads(text) == {k: v for k, v in body.items() if k not in sc.CONSUMER_KEYS}


@given(st.text(max_size=200))
def test_posted_reading_of_any_text_is_a_reading_text_or_a_protocol_error(text: str) -> None:
    """Never another exception."""
    try:
        out = sc.decode_posted_reading(text, "22")
    except ProtocolError:
        return
    assert isinstance(json.loads(out), dict)


def test_posted_reading_refuses_a_bool_consumer() -> None:
    """``true`` is no consumer id even where ``str(True)`` would match."""
    with pytest.raises(ProtocolError):
        sc.decode_posted_reading('{"consumidor_id": true}', "True")


@given(finite)
def test_number_is_the_same_value(value: float) -> None:
    """Whole numbers become ints, others stay; the value never changes."""
    out = sc.number(value)
    assert out == value
    assert isinstance(out, int) == (value.is_integer() and abs(value) < 2**53)


def test_first_of_ignores_case_and_frames_carry_their_type() -> None:
    """``Heart_Rate`` is a heart rate; each stream's frame type is the decided one."""
    assert sc.first_of({"temp": 1.0, "Heart_Rate": 60.0}, sc.HEART_RATE_KEYS) == 60.0
    assert sc.first_of({"temp": 1.0}, sc.DESIRE_KEYS) is None
    assert sc.has_motion({"gyro_z": 0.0}) and not sc.has_motion({"bpm": 60.0})
    assert [sc.frame(s, None)["type"] for s in sc.STREAMS] == [
        "sensor_update",
        "heart_rate_update",
        "heart_rate_stats_update",
        "desires_update",
        "desires_stats_update",
    ]
    log = _log([3, 7.5])
    assert sc.heart_rate_today(log, 7.5) == {
        "date": "2025-07-20",
        "current": 7.5,
        "readings": [
            {"bpm": 3, "timestamp": "2025-07-20T08:00:00+00:00"},
            {"bpm": 7.5, "timestamp": "2025-07-20T08:00:01+00:00"},
        ],
    }
    assert sc.desires_today(log)["desires"][0] == {
        "intensity": 3,
        "timestamp": "2025-07-20T08:00:00+00:00",
    }
    assert sc.desires_today(log)["count"] == 2
