"""The channel codec (seed 001's readings, locations, posted readings): exact shapes, any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.iot_hub.kinds.sensor.channel_codec import (
    MAX_USER_ID_CHARS,
    decode_posted_reading,
    jsonable,
    location_id,
    reading_object,
    user_id,
)
from custom_components.iot_hub.kinds.sensor.codec import Reading
from custom_components.iot_hub.protocol import ProtocolError

from .codec_strategies import JSON_VALUES, NESTING, PROPERTY_SETTINGS, any_frame, outcome

AT = datetime(2025, 7, 20, 10, 30, tzinfo=UTC)
SEED_BODY = (
    '{"sensor_id": 1, "temperatura": 23.5, "humedad": 65.2, "timestamp": "2025-07-20T10:30:00Z"}'
)


def test_seed_reading_body_and_object() -> None:
    """Seed 001's POST body decodes; the reading object keeps the seed's names and order."""
    sensor_id, reading = decode_posted_reading(SEED_BODY)
    assert sensor_id == 1
    assert reading == Reading({"temperatura": 23.5, "humedad": 65.2}, AT)
    obj = reading_object(7, 1, reading.values, AT)
    assert json.dumps(obj) == (
        '{"id": 7, "sensor_id": 1, "temperatura": 23.5, "humedad": 65.2, '
        '"timestamp": "2025-07-20T10:30:00Z"}'
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"sensor_id": "1", "temperatura": 1}', "sensor_id must be an integer"),
        ('{"sensor_id": true, "temperatura": 1}', "sensor_id must be an integer"),
        ('{"sensor_id": 1.5, "temperatura": 1}', "sensor_id must be an integer"),
        ('{"sensor_id": 1}', "a reading needs at least one named number"),
        ("[1]", "expected a JSON object"),
    ],
)
def test_bad_posted_readings(body: str, message: str) -> None:
    """Each wrong body says what is wrong."""
    with pytest.raises(ProtocolError, match=message):
        decode_posted_reading(body)


def test_sensor_id_may_be_left_out() -> None:
    """A firmware that only knows its token posts the values alone."""
    assert decode_posted_reading('{"humedad": 50}') == (None, Reading({"humedad": 50.0}))


def test_location_ids_are_fixed_values() -> None:
    """The id is the CRC-32 of the area id: the same on every install, for good."""
    assert location_id("living_room") == 2001094049
    assert location_id("kitchen") == location_id("kitchen")


def test_user_ids() -> None:
    """Absent or empty: None; control characters dropped; long ones cut."""
    assert user_id(None) is None
    assert user_id("") is None
    assert user_id("\x00\x01") is None
    assert user_id("user1") == "user1"
    assert user_id("a\nb") == "ab"
    assert user_id("x" * 500) == "x" * MAX_USER_ID_CHARS


def test_jsonable() -> None:
    """Times become seed timestamps, tuples lists, keys strings; the rest is kept."""
    value = {"at": AT, "pair": (1, AT), 3: {"nested": [AT]}, "n": None}
    assert jsonable(value) == {
        "at": "2025-07-20T10:30:00Z",
        "pair": [1, "2025-07-20T10:30:00Z"],
        "3": {"nested": ["2025-07-20T10:30:00Z"]},
        "n": None,
    }


# -- properties ---------------------------------------------------------------------------

_OBJECTS = st.dictionaries(
    st.sampled_from(["sensor_id", "temperatura", "humedad", "timestamp", "x"]) | st.text(),
    JSON_VALUES,
)
_DEEP = NESTING.map(lambda n: '{"sensor_id": ' + "[" * n + "]" * n + "}")


@PROPERTY_SETTINGS
@given(any_frame(_OBJECTS, _DEEP))
def test_any_posted_body_decodes_or_is_refused(text: str) -> None:
    """Whatever is posted: a sensor id and a reading, or a ProtocolError, never a crash."""
    result = outcome(decode_posted_reading, text)
    if not isinstance(result, ProtocolError):
        sensor_id, reading = result
        assert sensor_id is None or (type(sensor_id) is int)
        assert reading.values


@given(st.text())
def test_location_ids_are_31_bit_and_stable(area_id: str) -> None:
    """Any area id maps to a non-negative 31-bit integer, the same each time."""
    value = location_id(area_id)
    assert 0 <= value < 2**31
    assert location_id(area_id) == value


@given(st.text())
def test_any_user_id_is_printable_and_short(raw: str) -> None:
    """Whatever a client calls itself, stats show a short printable text or nothing."""
    shown = user_id(raw)
    assert shown is None or (0 < len(shown) <= MAX_USER_ID_CHARS and shown.isprintable())


_TIMES = st.datetimes(timezones=st.just(timezone(timedelta(hours=-5))) | st.just(UTC))


@given(st.recursive(JSON_VALUES | _TIMES, lambda c: st.lists(c) | st.tuples(c, c), max_leaves=10))
def test_jsonable_output_is_json(value: Any) -> None:
    """Anything of JSON values, times and tuples becomes something ``json.dumps`` takes."""
    json.dumps(jsonable(value))


@given(
    st.integers(min_value=0, max_value=2**62),
    st.none() | st.integers(min_value=1, max_value=2**31 - 1),
    st.dictionaries(
        st.text(min_size=1).filter(lambda k: k not in {"id", "sensor_id", "timestamp"}),
        st.floats(allow_nan=False, allow_infinity=False),
        max_size=5,
    ),
    _TIMES,
)
def test_reading_object_keys(
    reading_id: int, sensor_id: int | None, values: dict[str, float], at: datetime
) -> None:
    """``id`` and ``sensor_id`` first, the values as sent, ``timestamp`` last (UTC, Z)."""
    obj = reading_object(reading_id, sensor_id, values, at)
    assert list(obj) == ["id", "sensor_id", *values, "timestamp"]
    assert obj["timestamp"].endswith("Z")
