"""The sensor codec (seeds 001 and 004): the seeds' shapes exactly, and any input survived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
import math
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.iot_hub.kinds.sensor.codec import (
    CHANNELS,
    MAX_VALUES,
    MOTION_KEYS,
    PONG,
    Ping,
    Reading,
    RequestData,
    channel,
    channel_stats,
    connection_frame,
    decode_reading,
    decode_stream_frame,
    entity_event,
    motion_reading,
    parse_timestamp,
    sensor_update_push,
    sensor_update_snapshot,
    stats,
    system_event,
    timestamp,
)
from custom_components.iot_hub.protocol import ProtocolError

from .codec_strategies import JSON_VALUES, NESTING, PROPERTY_SETTINGS, any_frame, outcome

AT = datetime(2025, 7, 20, 10, 30, tzinfo=UTC)


def test_seed_001_frames_exactly() -> None:
    """The seed's three examples, key order included (001 L124-133, L76-102, L104-122)."""
    assert json.dumps(connection_frame("sensors", AT)) == (
        '{"type": "connection", "status": "connected", "channel": "sensors", '
        '"timestamp": "2025-07-20T10:30:00Z"}'
    )
    event = entity_event(
        "sensor",
        "created",
        123,
        {"tipo": "temperatura", "modelo": "DHT22", "created_at": "2025-07-20T10:30:00Z"},
        at=AT,
        action="create_sensor",
    )
    assert json.dumps(event) == (
        '{"type": "entity_event", "entity_type": "sensor", "event_type": "created", '
        '"entity_id": 123, "data": {"id": 123, "tipo": "temperatura", "modelo": "DHT22", '
        '"created_at": "2025-07-20T10:30:00Z"}, "timestamp": "2025-07-20T10:30:00Z", '
        '"metadata": {"action": "create_sensor"}}'
    )
    assert json.dumps(
        system_event(
            "info",
            "Sistema iniciado correctamente",
            {"module": "websocket", "version": "1.0.0"},
            AT,
        )
    ) == (
        '{"type": "system_event", "level": "info", "message": "Sistema iniciado correctamente", '
        '"data": {"module": "websocket", "version": "1.0.0"}, "timestamp": "2025-07-20T10:30:00Z"}'
    )
    with pytest.raises(ValueError):
        entity_event("sensor", "renamed", 1, {}, at=AT, action="x")
    with pytest.raises(ValueError):
        system_event("debug", "x", {}, AT)  # type: ignore[arg-type]


def test_channels_and_stats() -> None:
    """``general`` by default; the six names; the stats keys (001 L135-144, L307-325)."""
    assert channel(None) == channel("") == "general"
    assert [channel(name) for name in CHANNELS] == list(CHANNELS)
    with pytest.raises(ProtocolError):
        channel("Sensors")
    assert stats({"general": [("u1", AT)], "sensors": []}) == {
        "total_channels": 2,
        "channels": {
            "general": {
                "connections": 1,
                "users": [{"user_id": "u1", "connected_at": "2025-07-20T10:30:00Z"}],
            },
            "sensors": {"connections": 0, "users": []},
        },
    }
    assert channel_stats([]) == {"connections": 0, "users": []}


def test_timestamps_are_utc_whole_seconds_with_z() -> None:
    """Any zone in, UTC out; fractions dropped as in the seed's examples."""
    local = datetime(2025, 7, 20, 12, 30, 0, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp(local) == "2025-07-20T10:30:00Z"
    assert parse_timestamp("2025-07-20T10:30:00Z") == AT
    for bad in ("2025-07-20T10:30:00", "yesterday", 5, "9" * 50):
        with pytest.raises(ProtocolError):
            parse_timestamp(bad)


def test_readings_of_both_seeds() -> None:
    """Seed 001's REST body and seed 004's motion reading decode to named numbers."""
    seed_001 = '{"sensor_id": 1, "temperatura": 23.5, "humedad": 65.2, "timestamp": "2025-07-20T10:30:00Z"}'
    assert decode_reading(seed_001) == Reading({"temperatura": 23.5, "humedad": 65.2}, AT)
    motion = {
        "accel_x": 0.1,
        "accel_y": -9.8,
        "accel_z": 0.0,
        "gyro_x": 1,
        "gyro_y": 2,
        "gyro_z": 3,
    }
    assert decode_reading(json.dumps(motion)).values == {k: float(v) for k, v in motion.items()}
    for bad in ('{"t": true}', '{"t": "1"}', '{"t": 1e300}', "{}", '{"": 1}', "[1]"):
        with pytest.raises(ProtocolError):
            decode_reading(bad)
    too_many = json.dumps({f"v{i}": i for i in range(MAX_VALUES + 1)})
    with pytest.raises(ProtocolError):
        decode_reading(too_many)


def test_seed_004_stream_frames() -> None:
    """ping -> pong, request_data, anything else ignored; snapshot a list, push an object."""
    assert decode_stream_frame('{"type": "ping"}') == Ping()
    assert decode_stream_frame('{"type": "request_data"}') == RequestData()
    for other in ('{"type": "subscribe"}', "ping", "", "[]", '{"type": 1}'):
        assert decode_stream_frame(other) is None
    assert PONG == {"type": "pong"}
    readings = [motion_reading(i, {"accel_x": i}, AT) for i in range(12, 0, -1)]
    assert list(readings[0]) == ["id", *MOTION_KEYS, "created_at"]
    assert readings[0]["gyro_z"] == 0.0 and readings[0]["created_at"] == "2025-07-20T10:30:00+00:00"
    snapshot = sensor_update_snapshot(readings)
    assert snapshot["type"] == "sensor_update"
    assert [r["id"] for r in snapshot["data"]] == list(range(12, 2, -1))  # 10, newest first
    assert sensor_update_push(readings[0]) == {"type": "sensor_update", "data": readings[0]}


_READINGS = st.dictionaries(
    st.text(min_size=1, max_size=70),
    st.one_of(st.floats(allow_nan=True), st.integers(), st.booleans(), st.none(), st.text()),
    max_size=70,
)


@PROPERTY_SETTINGS
@given(any_frame(_READINGS, NESTING.map(lambda depth: "[" * depth)))
def test_any_frame_is_a_reading_or_a_protocol_error(frame: str) -> None:
    """Nothing raises but ``ProtocolError``; what decodes is finite and bounded."""
    result = outcome(decode_reading, frame)
    if isinstance(result, Reading):
        assert 0 < len(result.values) <= MAX_VALUES
        assert all(math.isfinite(value) for value in result.values.values())


@PROPERTY_SETTINGS
@given(any_frame(st.dictionaries(st.text(), JSON_VALUES), NESTING.map(lambda d: "{" * d)))
def test_any_stream_frame_is_handled_or_ignored(frame: str) -> None:
    """A stream client's frame never raises: ping, request_data or ignored."""
    assert decode_stream_frame(frame) in (Ping(), RequestData(), None)


@given(st.dictionaries(st.sampled_from(MOTION_KEYS), st.floats(-1e6, 1e6), min_size=1))
def test_motion_readings_round_trip(values: dict[str, float]) -> None:
    """A motion reading encoded and decoded gives back its values (absent ones as 0.0)."""
    encoded: dict[str, Any] = motion_reading(1, values, AT)
    decoded = decode_reading(json.dumps(encoded))
    assert decoded.values == {key: float(values.get(key, 0.0)) for key in MOTION_KEYS}
    assert decoded.taken_at == AT
