"""The EV-charger codec (seed 002) on its own: seed frames and properties over any input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
import math
from typing import Any

from hypothesis import example, given, strategies as st
import pytest

from custom_components.iot_hub.kinds.charger.codec import (
    CODE_CARD_REJECTED,
    CODE_CHARGER_BUSY,
    CODE_EMERGENCY_ACTIVE,
    CODE_INVALID_MESSAGE,
    CODE_NO_ACTIVE_SESSION,
    MAX_COUNTER_KWH,
    MAX_NFC_UID_CHARS,
    MAX_TS,
    MS_THRESHOLD,
    READING_RANGES,
    Emergency,
    Metrics,
    NfcScan,
    StartRequest,
    StopRequest,
    decode_client_frame,
    decode_publisher_frame,
)
from custom_components.iot_hub.kinds.charger.encode import (
    STATUS_WIRE,
    ChargerStatus,
    SessionInfo,
    encode_client_error,
    encode_connected,
    encode_emergency,
    encode_error,
    encode_init,
    encode_metrics,
    encode_session_ended,
    encode_session_started,
    encode_start,
    encode_stop,
    encode_subscribed,
    encode_sync_request,
    wire_charger_id,
)
from custom_components.iot_hub.kinds.charger.metering import CostMeter, EnergyMeter, LifetimeTotal
from custom_components.iot_hub.protocol import ProtocolError
from custom_components.iot_hub.protocol.json_frames import MAX_FRAME_CHARS

from .codec_strategies import JSON_VALUES, NESTING, PROPERTY_SETTINGS, any_frame, outcome


def _ordered(frame: str) -> list[tuple[str, Any]]:
    """The frame's top-level items in wire order (dict equality ignores order)."""
    return list(json.loads(frame).items())


# -- the seed's own frames --------------------------------------------------------------------


def test_seed_publisher_frames() -> None:
    """Every ESP32 → backend example of the seed, in its pretty-printed form too."""
    assert decode_publisher_frame(
        '{\n  "type": "nfc_scan",\n  "nfc_uid": "VIRTUAL-1-A4F2E8"\n}'
    ) == NfcScan("VIRTUAL-1-A4F2E8")
    assert decode_publisher_frame('{ "type": "nfc_scan", "nfc_uid": "VIRTUAL-1-A4F2E8" }') == (
        NfcScan("VIRTUAL-1-A4F2E8")
    )
    assert decode_publisher_frame(
        '{"type":"metrics","session_id":123,"v":220.5,"a":16.2,"w":3572.1,"ts":1699276425}'
    ) == Metrics(session_id=123, v=220.5, a=16.2, w=3572.1, ts=1699276425.0, energy_kwh=None)
    assert decode_publisher_frame('{"type":"stop","session_id":123}') == StopRequest(123)
    assert decode_publisher_frame('{"type":"emergency","session_id":123}') == Emergency(123)


def test_seed_client_frames() -> None:
    """STOP pressed on the dashboard, and the iot_hub ``start`` addition."""
    assert decode_client_frame('{"type":"stop"}') == StopRequest(None)
    assert decode_client_frame('{"type":"stop","session_id":123}') == StopRequest(123)
    assert decode_client_frame('{"type":"start"}') == StartRequest()
    assert decode_client_frame('{"type":"start","user_name":"Juan Pérez"}') == StartRequest(
        user_name="Juan Pérez"
    )
    assert decode_client_frame('{"type":"start","nfc_uid":"VIRTUAL-1-A4F2E8"}') == StartRequest(
        nfc_uid="VIRTUAL-1-A4F2E8"
    )
    assert decode_client_frame('{"type":"start","user_name":"  ","nfc_uid":" X1 "}') == (
        StartRequest(nfc_uid="X1")
    )


def test_seed_server_to_publisher_frames() -> None:
    """Backend → ESP32 frames: the seed's keys in the seed's order."""
    cases: list[tuple[str, dict[str, Any]]] = [
        (
            encode_start(123, "Juan Pérez"),
            {"type": "start", "session_id": 123, "user_name": "Juan Pérez"},
        ),
        (encode_stop(123), {"type": "stop", "session_id": 123}),
        (
            encode_error("Descripción del error", "ERROR_CODE"),
            {"type": "error", "message": "Descripción del error", "code": "ERROR_CODE"},
        ),
        (
            encode_connected("1"),
            {"type": "connected", "role": "publisher", "estacionId": "1"},
        ),
        (encode_connected(1), {"type": "connected", "role": "publisher", "estacionId": "1"}),
        (encode_sync_request(), {"type": "sync_request", "from": "server"}),
    ]
    for frame, expected in cases:
        assert json.loads(frame) == expected
        assert _ordered(frame) == list(expected.items())
        assert frame == json.dumps(expected, separators=(",", ":"))  # compact, ASCII


def test_seed_server_to_client_frames() -> None:
    """Backend → dashboard frames: the seed's keys in the seed's order."""
    cases: list[tuple[str, dict[str, Any]]] = [
        (encode_subscribed("1"), {"type": "subscribed", "estacionId": "1"}),
        (
            encode_init("1", "available", None),
            {"type": "init", "charger": {"id": 1, "status": "disponible", "session": None}},
        ),
        (
            encode_metrics(123, "1", 220.5, 16.2, 3572.1, 2.45, 17.15, 850),
            {
                "type": "metrics",
                "session_id": 123,
                "charger_id": 1,
                "v": 220.5,
                "a": 16.2,
                "w": 3572.1,
                "kwh": 2.45,
                "cost": 17.15,
                "time": 850,
            },
        ),
        (
            encode_session_started(
                123, "1", "Juan Pérez", datetime(2025, 11, 6, 12, 0, 0, tzinfo=UTC)
            ),
            {
                "type": "session_started",
                "session_id": 123,
                "charger_id": 1,
                "user_name": "Juan Pérez",
                "timestamp": "2025-11-06T12:00:00.000Z",
            },
        ),
        (
            encode_session_ended(123, 1, 3.12, 21.84, 1200),
            {
                "type": "session_ended",
                "session_id": 123,
                "charger_id": 1,
                "kwh": 3.12,
                "cost": 21.84,
                "duration": 1200,
            },
        ),
        (
            encode_client_error("ESP32 no conectado"),
            {"type": "error", "message": "ESP32 no conectado"},
        ),
        (
            encode_emergency(1, 123, datetime(2025, 11, 6, 12, 5, 0, tzinfo=UTC)),
            {
                "type": "emergency",
                "charger_id": 1,
                "session_id": 123,
                "timestamp": "2025-11-06T12:05:00.000Z",
            },
        ),
    ]
    for frame, expected in cases:
        assert json.loads(frame) == expected
        assert _ordered(frame) == list(expected.items())
        assert frame == json.dumps(expected, separators=(",", ":"))  # compact, ASCII


def test_init_with_a_session_and_every_status() -> None:
    """The ``init`` session object (iot_hub's shape) and the status mapping."""
    session = SessionInfo(
        session_id=7,
        user_name="Ana",
        kwh=1.23456,
        cost=8.6419,
        time=61.9,
        started_at=datetime(2025, 11, 6, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1))),
    )
    init = json.loads(encode_init("1", "charging", session))
    assert init == {
        "type": "init",
        "charger": {
            "id": 1,
            "status": "cargando",
            "session": {
                "session_id": 7,
                "user_name": "Ana",
                "kwh": 1.235,
                "cost": 8.64,
                "time": 61,
                "started_at": "2025-11-06T12:00:00.123Z",
            },
        },
    }
    assert list(init["charger"]) == ["id", "status", "session"]
    assert dict(STATUS_WIRE) == {
        "available": "disponible",
        "charging": "cargando",
        "emergency": "emergencia",
        "offline": "desconectado",
    }
    for status, wire in STATUS_WIRE.items():
        assert json.loads(encode_init("garage", status, None))["charger"] == {
            "id": "garage",
            "status": wire,
            "session": None,
        }


def test_error_codes() -> None:
    """The codes iot_hub sends in ``error`` frames to the charger."""
    codes = [
        CODE_CARD_REJECTED,
        CODE_CHARGER_BUSY,
        CODE_EMERGENCY_ACTIVE,
        CODE_INVALID_MESSAGE,
        CODE_NO_ACTIVE_SESSION,
    ]
    assert codes == [
        "CARD_REJECTED",
        "CHARGER_BUSY",
        "EMERGENCY_ACTIVE",
        "INVALID_MESSAGE",
        "NO_ACTIVE_SESSION",
    ]
    assert json.loads(encode_error("card not authorised", CODE_CARD_REJECTED))["code"] == (
        "CARD_REJECTED"
    )


@pytest.mark.parametrize(
    ("station_id", "expected"),
    [
        ("1", 1),
        (1, 1),
        ("0", 0),
        ("42", 42),
        ("01", "01"),
        ("garage", "garage"),
        ("", ""),
        ("１", "１"),  # full-width digit  # noqa: RUF001
        ("1" * 19, "1" * 19),
        (" 1", " 1"),
    ],
)
def test_charger_id_is_a_number_when_plainly_numeric(
    station_id: str | int, expected: int | str
) -> None:
    """``charger_id`` is 1, as in the seed, for a station id ``"1"``; other ids stay strings."""
    assert wire_charger_id(station_id) == expected
    assert type(wire_charger_id(station_id)) is type(expected)


# -- metrics details --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        # Only w.
        ('{"type":"metrics","session_id":1,"w":7000}', Metrics(1, None, None, 7000.0, None)),
        # v and a without w: power is v * a.
        ('{"type":"metrics","session_id":1,"v":230,"a":10}', Metrics(1, 230.0, 10.0, None, None)),
        # Nulls are absent; extra keys are tolerated.
        (
            '{"type":"metrics","session_id":null,"v":null,"a":1,"w":2,"ts":null,"fw":"1.2"}',
            Metrics(None, None, 1.0, 2.0, None),
        ),
        # ts in milliseconds.
        (
            '{"type":"metrics","session_id":1,"w":1,"ts":1699276425123}',
            Metrics(1, None, None, 1.0, 1699276425.123),
        ),
        # ts as a float in seconds.
        (
            '{"type":"metrics","session_id":1,"w":1,"ts":1699276425.5}',
            Metrics(1, None, None, 1.0, 1699276425.5),
        ),
        # An unsynchronised clock (seconds since boot) is the hub's business.
        ('{"type":"metrics","w":1,"ts":12}', Metrics(None, None, None, 1.0, 12.0)),
        # Energy counter: kWh, or Wh normalised to kWh; kwh wins over wh.
        ('{"type":"metrics","w":1,"kwh":2.5}', Metrics(None, None, None, 1.0, None, 2.5)),
        ('{"type":"metrics","w":1,"wh":2500}', Metrics(None, None, None, 1.0, None, 2.5)),
        ('{"type":"metrics","w":1,"kwh":1,"wh":5}', Metrics(None, None, None, 1.0, None, 1.0)),
        ('{"type":"metrics","w":1,"energy":9}', Metrics(None, None, None, 1.0, None, None)),
        # session_id as an integral float or a decimal string.
        ('{"type":"metrics","session_id":123.0,"w":1}', Metrics(123, None, None, 1.0, None)),
        ('{"type":"metrics","session_id":"123","w":1}', Metrics(123, None, None, 1.0, None)),
    ],
)
def test_metrics_variants(frame: str, expected: Metrics) -> None:
    """What firmware may reasonably send beyond the seed's exact example."""
    assert decode_publisher_frame(frame) == expected


def test_power_falls_back_to_volts_times_amperes() -> None:
    """``Metrics.power`` is w when sent, else v * a."""
    assert Metrics(1, 230.0, 10.0, None, None).power == 2300.0
    assert Metrics(1, 230.0, 10.0, 2000.0, None).power == 2000.0


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ('{"type":"metrics","session_id":1}', "metrics need w, or v and a"),
        ('{"type":"metrics","v":230}', "metrics need w, or v and a"),
        ('{"type":"metrics","w":"3572.1"}', "w must be a number"),
        ('{"type":"metrics","w":true}', "w must be a number"),
        ('{"type":"metrics","w":[1]}', "w must be a number"),
        ('{"type":"metrics","w":NaN}', "w must be finite"),
        ('{"type":"metrics","v":Infinity,"a":1}', "v must be finite"),
        ('{"type":"metrics","w":-Infinity}', "w must be finite"),
        ('{"type":"metrics","w":1e400}', "w must be finite"),
        ('{"type":"metrics","w":' + "9" * 400 + "}", "w out of range"),
        ('{"type":"metrics","w":' + "9" * 5000 + "}", "invalid JSON"),
        ('{"type":"metrics","w":1,"ts":-1}', "ts out of range"),
        ('{"type":"metrics","w":1,"ts":1e300}', "ts out of range"),
        ('{"type":"metrics","w":1,"ts":"1699276425"}', "ts must be a number"),
        ('{"type":"metrics","w":1,"kwh":-0.1}', "energy counter out of range"),
        ('{"type":"metrics","w":1,"kwh":1e10}', "energy counter out of range"),
        ('{"type":"metrics","w":1,"wh":1e300}', "energy counter out of range"),
        # Products, negative readings beyond sensor noise, absurd magnitudes (issue 7, 8).
        ('{"type":"metrics","v":1e200,"a":1e200}', "v out of range"),
        ('{"type":"metrics","v":2000,"a":2501}', "v * a out of range"),
        ('{"type":"metrics","v":2000,"a":2501,"w":7000}', "v * a out of range"),
        ('{"type":"metrics","w":-100.5}', "w out of range"),
        ('{"type":"metrics","w":5000001}', "w out of range"),
        ('{"type":"metrics","v":230,"a":-0.6}', "a out of range"),
        ('{"type":"metrics","v":-1.5,"a":1}', "v out of range"),
        ('{"type":"metrics","v":2000.5,"w":1}', "v out of range"),
        ('{"type":"metrics","a":4001,"w":1}', "a out of range"),
        ('{"type":"metrics","w":1,"wh":"5"}', "wh must be a number"),
        ('{"type":"metrics","w":1,"session_id":-1}', "session_id out of range"),
        ('{"type":"metrics","w":1,"session_id":1.5}', "session_id must be an integer"),
        ('{"type":"metrics","w":1,"session_id":true}', "session_id must be an integer"),
        ('{"type":"metrics","w":1,"session_id":"12a"}', "session_id must be an integer"),
        ('{"type":"metrics","w":1,"session_id":"-1"}', "session_id must be an integer"),
        ('{"type":"metrics","w":1,"session_id":' + "9" * 19 + "}", "session_id out of range"),
        ('{"type":"metrics","w":1,"session_id":1e300}', "session_id out of range"),
    ],
)
def test_bad_metrics(frame: str, message: str) -> None:
    """Readings iot_hub refuses, with the message sent back to the charger."""
    with pytest.raises(ProtocolError) as err:
        decode_publisher_frame(frame)
    assert str(err.value) == message


def test_ms_threshold_boundary() -> None:
    """10**11 itself is seconds; anything above it is milliseconds."""
    at = decode_publisher_frame(json.dumps({"type": "metrics", "w": 1, "ts": MS_THRESHOLD}))
    assert isinstance(at, Metrics)
    assert at.ts == MS_THRESHOLD
    above = decode_publisher_frame(json.dumps({"type": "metrics", "w": 1, "ts": MS_THRESHOLD + 1}))
    assert isinstance(above, Metrics)
    assert above.ts == (MS_THRESHOLD + 1) / 1000


# -- refused frames ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("", "invalid JSON"),
        ("nfc_scan", "invalid JSON"),
        ("{not json", "invalid JSON"),
        ("{}x", "invalid JSON"),
        ('["nfc_scan"]', "expected a JSON object"),
        ("null", "expected a JSON object"),
        ("{}", "missing message type"),
        ('{"nfc_uid":"X"}', "missing message type"),
        ('{"type":1}', "message type must be a string"),
        ('{"type":null}', "message type must be a string"),
        ('{"type":"toaster"}', "unknown message type: toaster"),
        ('{"type":"start","session_id":1}', "unknown message type: start"),
        ('{"type":"NFC_SCAN","nfc_uid":"X"}', "unknown message type: NFC_SCAN"),
        ('{"type":"nfc_scan"}', "missing nfc_uid"),
        ('{"type":"nfc_scan","nfc_uid":null}', "missing nfc_uid"),
        ('{"type":"nfc_scan","nfc_uid":123}', "nfc_uid must be a string"),
        ('{"type":"nfc_scan","nfc_uid":"  "}', "nfc_uid is empty"),
        ('{"type":"nfc_scan","nfc_uid":"' + "A" * 65 + '"}', "nfc_uid too long"),
        ('{"type":"nfc_scan","nfc_uid":"A\\u0000B"}', "nfc_uid must be printable ASCII"),
        ('{"type":"nfc_scan","nfc_uid":"tarjeta-ñ"}', "nfc_uid must be printable ASCII"),
        ('{"type":"stop","session_id":"x"}', "session_id must be an integer"),
        ('{"type":"emergency","session_id":[1]}', "session_id must be an integer"),
    ],
)
def test_bad_publisher_frames(frame: str, message: str) -> None:
    """What the charger must not send, with the message sent back to it."""
    with pytest.raises(ProtocolError) as err:
        decode_publisher_frame(frame)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        pytest.param("[" * 60_000, "invalid JSON", id="deep-list"),
        pytest.param('{"a":' * 12_000, "invalid JSON", id="deep-object"),
        pytest.param('{"type":"stop","x":' + "[" * 60_000, "invalid JSON", id="deep-key"),
        pytest.param(" " * (MAX_FRAME_CHARS + 1), "frame too large", id="too-large"),
        pytest.param("[" * 100_000, "frame too large", id="too-large-deep"),
    ],
)
def test_deep_and_large_frames(frame: str, message: str) -> None:
    """Unclosed deep nesting and oversized frames are protocol errors for both peers.

    (Python 3.14's JSON decoder no longer hits the recursion limit; on an interpreter that
    does, the ``RecursionError`` becomes "invalid JSON: nested too deeply".)
    """
    for decode in (decode_publisher_frame, decode_client_frame):
        with pytest.raises(ProtocolError) as err:
            decode(frame)
        assert str(err.value).startswith(message)


def test_deep_extra_keys_are_tolerated() -> None:
    """A deeply nested unknown key does not stop a known frame from decoding."""
    depth = 30_000
    frame = '{"type":"stop","session_id":5,"x":' + "[" * depth + "]" * depth + "}"
    assert decode_publisher_frame(frame) == StopRequest(5)
    assert decode_client_frame(frame) == StopRequest(5)


def test_recursion_error_is_a_protocol_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the decoder does recurse too deep, the peer still gets a ProtocolError."""

    def deep(text: str) -> object:
        raise RecursionError

    monkeypatch.setattr("custom_components.iot_hub.protocol.json_frames.json.loads", deep)
    with pytest.raises(ProtocolError, match="invalid JSON: nested too deeply"):
        decode_publisher_frame("[[[]]]")


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("STOP", "invalid JSON"),
        ('{"type":"metrics","w":1}', "unknown message type: metrics"),
        ('{"type":"emergency"}', "unknown message type: emergency"),
        ('{"type":"nfc_scan","nfc_uid":"X"}', "unknown message type: nfc_scan"),
        ('{"type":"start","user_name":5}', "user_name must be a string"),
        ('{"type":"start","user_name":"' + "x" * 129 + '"}', "user_name too long"),
        ('{"type":"start","user_name":"a\\nb"}', "user_name must be printable"),
        ('{"type":"start","nfc_uid":""}', "nfc_uid is empty"),
        ('{"type":"start","nfc_uid":7}', "nfc_uid must be a string"),
        (
            '{"type":"start","user_name":"Ana","nfc_uid":"X1"}',
            "start takes user_name or nfc_uid, not both",
        ),
        ('{"type":"stop","session_id":false}', "session_id must be an integer"),
    ],
)
def test_bad_client_frames(frame: str, message: str) -> None:
    """What a dashboard must not send, with the message sent back to it."""
    with pytest.raises(ProtocolError) as err:
        decode_client_frame(frame)
    assert str(err.value).startswith(message)


def test_unknown_type_echo_is_short_and_printable() -> None:
    """An unknown type is echoed back truncated, with control characters masked."""
    with pytest.raises(ProtocolError) as err:
        decode_publisher_frame(json.dumps({"type": "x" * 1000}))
    assert str(err.value) == "unknown message type: " + "x" * 32 + "..."
    with pytest.raises(ProtocolError) as err:
        decode_client_frame(json.dumps({"type": "a\x00\ud800\n"}))
    assert str(err.value) == "unknown message type: a???"


def test_nfc_uid_limits() -> None:
    """A UID is stripped, may hold inner spaces, and may be exactly 64 characters."""
    assert decode_publisher_frame('{"type":"nfc_scan","nfc_uid":" 04 A2 3B "}') == NfcScan(
        "04 A2 3B"
    )
    longest = "A" * MAX_NFC_UID_CHARS
    assert decode_publisher_frame(json.dumps({"type": "nfc_scan", "nfc_uid": longest})) == (
        NfcScan(longest)
    )


# -- properties over any input ----------------------------------------------------------------

KEYS = st.sampled_from(
    ["type", "nfc_uid", "session_id", "v", "a", "w", "ts", "kwh", "wh", "user_name"]
)
TYPES = st.sampled_from(["nfc_scan", "metrics", "stop", "emergency", "start", "error"])
# Values that reach the field checks: any JSON value, plus NaN/infinities and huge ints.
FIELD_VALUES = JSON_VALUES | st.floats() | st.integers(min_value=-(10**400), max_value=10**400)
JSON_OBJECTS = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    TYPES | JSON_VALUES,
    st.dictionaries(KEYS | st.text(), FIELD_VALUES),
)
DEEP = st.one_of(
    NESTING.map(lambda n: "[" * n),
    NESTING.map(lambda n: '{"type":' + "[" * n),
    NESTING.map(lambda n: '{"type":"metrics","w":' + '{"a":' * n),
    NESTING.map(lambda n: "[" * n + "]" * n),
    NESTING.map(lambda n: '{"type":"stop","x":' + "[" * n + "]" * n + "}"),
)
ANY_FRAME = any_frame(JSON_OBJECTS, DEEP)


def _assert_sendable(err: ProtocolError) -> None:
    """A decode error is short, non-empty and fits both error frames."""
    message = str(err)
    assert message
    assert len(message) < 100
    json.loads(encode_error(message, CODE_INVALID_MESSAGE))
    json.loads(encode_client_error(message))
    encode_client_error(message).encode()  # valid UTF-8, whatever the peer sent


def _assert_valid_session_id(session_id: int | None) -> None:
    assert session_id is None or (type(session_id) is int and 0 <= session_id < 2**63)


@PROPERTY_SETTINGS
@given(ANY_FRAME)
@example("[" * 100_000)
@example('{"type":' * 50_000)
@example('{"type":"metrics","w":' + "1" * 5000 + "}")
@example('{"type":"metrics","w":' + "1" * 400 + "}")
@example('{"type":"metrics","w":NaN}')
@example('{"type":"metrics","v":1,"a":1,"ts":1e309}')
@example('{"type":"nfc_scan","nfc_uid":"\\ud800"}')
@example('{"type":"\\ud800"}')
@example("\ud800")
@example("\x00")
def test_publisher_decoder_never_raises_anything_else(frame: str) -> None:
    """Any text gives a typed message or a ``ProtocolError``, never another exception."""
    message = outcome(decode_publisher_frame, frame)
    if isinstance(message, ProtocolError):
        _assert_sendable(message)
        return
    match message:
        case NfcScan(nfc_uid=uid):
            assert 0 < len(uid) <= MAX_NFC_UID_CHARS
            assert uid.isascii() and uid.isprintable() and uid == uid.strip()
        case Metrics():
            _assert_valid_session_id(message.session_id)
            for value in (message.v, message.a, message.w, message.ts, message.energy_kwh):
                assert value is None or (type(value) is float and math.isfinite(value))
            assert message.w is not None or (message.v is not None and message.a is not None)
            assert message.ts is None or 0 <= message.ts <= MAX_TS
            _assert_in_range(message)
        case StopRequest(session_id=session_id) | Emergency(session_id=session_id):
            _assert_valid_session_id(session_id)


@PROPERTY_SETTINGS
@given(ANY_FRAME)
@example("[" * 100_000)
@example('{"type":"start","user_name":"\\ud800"}')
@example('{"type":"start","nfc_uid":"\\udfff"}')
@example('{"type":"stop","session_id":' + "9" * 4000 + "}")
def test_client_decoder_never_raises_anything_else(frame: str) -> None:
    """Any text gives a typed message or a ``ProtocolError``, never another exception."""
    message = outcome(decode_client_frame, frame)
    if isinstance(message, ProtocolError):
        _assert_sendable(message)
        return
    match message:
        case StopRequest(session_id=session_id):
            _assert_valid_session_id(session_id)
        case StartRequest(user_name=user_name, nfc_uid=nfc_uid):
            assert user_name is None or nfc_uid is None
            if user_name is not None:
                assert user_name.isprintable() and user_name == user_name.strip()
                assert 0 < len(user_name) <= 128
            if nfc_uid is not None:
                assert nfc_uid.isascii() and nfc_uid.isprintable()


def _assert_in_range(message: Metrics) -> None:
    """Every value, product and sum the hub makes of a reading is finite and in range."""
    for key, value in (("v", message.v), ("a", message.a), ("w", message.w)):
        assert value is None or 0 <= value <= READING_RANGES[key][1]
    if message.v is not None and message.a is not None:
        assert 0 <= message.v * message.a <= READING_RANGES["w"][1]
    assert isinstance(message.power, float)
    assert 0 <= message.power <= READING_RANGES["w"][1]
    assert message.energy_kwh is None or 0 <= message.energy_kwh <= MAX_COUNTER_KWH
    # Sums: a day of readings at this power, the counter doubled, stay finite.
    assert math.isfinite(message.power * 86_400 * 2 + (message.energy_kwh or 0.0) * 2)


FINITE = st.floats(allow_nan=False, allow_infinity=False)
VOLTS = st.floats(0, READING_RANGES["v"][1])
AMPS = st.floats(0, READING_RANGES["w"][1] / READING_RANGES["v"][1])  # v * a within range
WATTS = st.floats(0, READING_RANGES["w"][1])
# Any JSON number a firmware could send: huge, tiny, negative, integers beyond a float.
ANY_NUMBER = FINITE | st.integers() | st.floats(-2.0, 2.0) | st.sampled_from([1e154, 1e200])
SESSION_IDS = st.integers(min_value=0, max_value=2**63 - 1)
SECONDS_TS = st.floats(min_value=0, max_value=MS_THRESHOLD)
MS_TS = st.integers(min_value=MS_THRESHOLD + 1, max_value=int(MAX_TS * 1000))


@given(
    st.none() | SESSION_IDS,
    st.none() | VOLTS,
    st.none() | AMPS,
    WATTS,
    st.none() | SECONDS_TS,
)
def test_metrics_with_finite_floats_round_trip(
    session_id: int | None, v: float | None, a: float | None, w: float, ts: float | None
) -> None:
    """Any reading in range decodes to exactly the floats that were sent."""
    frame = json.dumps(
        {"type": "metrics", "session_id": session_id, "v": v, "a": a, "w": w, "ts": ts}
    )
    assert decode_publisher_frame(frame) == Metrics(session_id, v, a, w, ts)


@given(VOLTS, AMPS, st.integers(min_value=0, max_value=MS_THRESHOLD) | SECONDS_TS)
def test_metrics_without_w_round_trip(v: float, a: float, ts: float) -> None:
    """v and a alone make a reading; ints and floats alike are seconds up to 10**11."""
    message = decode_publisher_frame(json.dumps({"type": "metrics", "v": v, "a": a, "ts": ts}))
    assert message == Metrics(None, v, a, None, float(ts))


@given(MS_TS)
def test_millisecond_timestamps_are_normalised(ts_ms: int) -> None:
    """A ``Date.now()``-style timestamp becomes seconds."""
    message = decode_publisher_frame(json.dumps({"type": "metrics", "w": 1.0, "ts": ts_ms}))
    assert isinstance(message, Metrics)
    assert message.ts == ts_ms / 1000
    assert message.ts is not None and message.ts <= MAX_TS
    datetime.fromtimestamp(message.ts, UTC)  # always a representable instant


@PROPERTY_SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "v": ANY_NUMBER,
            "a": ANY_NUMBER,
            "w": ANY_NUMBER,
            "kwh": ANY_NUMBER,
            "wh": ANY_NUMBER,
        },
    ),
    st.lists(st.floats(0, 120), min_size=1, max_size=20),
)
@example({"v": 1e200, "a": 1e200}, [3.0])
@example({"v": 1e154, "a": 1e154, "w": 1.0}, [3.0])
@example({"v": 2000, "a": 2500.0000001}, [3.0])
@example({"w": -100.0, "a": -0.5, "v": -1.0}, [3.0])
@example({"w": 1, "wh": 1e12}, [3.0])
def test_any_numbers_give_readings_whose_products_and_sums_are_finite(
    fields: dict[str, Any], steps: list[float]
) -> None:
    """Whatever numbers a charger sends (products overflowing, negatives, huge counters): an
    ``INVALID_MESSAGE`` or a reading in range, and the meter, the lifetime total, the cost and
    the dashboards' frame built from it, reading after reading, stay finite."""
    message = outcome(decode_publisher_frame, json.dumps({"type": "metrics", **fields}))
    if isinstance(message, ProtocolError):
        _assert_sendable(message)
        return
    assert isinstance(message, Metrics)
    _assert_in_range(message)
    for key in ("v", "a", "w"):
        sent = fields.get(key)
        if sent is not None and sent <= 0:
            assert getattr(message, key) == 0.0  # noise below zero reads as 0
    meter = EnergyMeter(max_power_w=READING_RANGES["w"][1])
    cost, lifetime = CostMeter(), LifetimeTotal()
    ts = counter = 0.0
    for step in steps:
        ts += step
        counter = min(counter + (message.energy_kwh or 0.0), MAX_COUNTER_KWH)
        added = meter.add_energy_reading(ts, counter) if message.energy_kwh else 0.0
        added += meter.add_power_sample(ts, message.power)
        cost.add(added, 100.0)
        lifetime.add(added)
    for total in (meter.kwh, cost.cost, lifetime.value):
        assert math.isfinite(total)
    frame = json.loads(
        encode_metrics(1, "1", message.v, message.a, message.w, meter.kwh, cost.cost, ts)
    )
    assert all(frame[key] is not None for key in ("kwh", "cost", "time"))


@given(st.floats(min_value=0, max_value=MAX_COUNTER_KWH * 1000))
def test_energy_counter_in_wh_is_kwh(wh: float) -> None:
    """``wh`` is divided by 1000; ``kwh`` is taken as is."""
    message = decode_publisher_frame(json.dumps({"type": "metrics", "w": 1, "wh": wh}))
    assert isinstance(message, Metrics)
    assert message.energy_kwh == wh / 1000
    message = outcome(decode_publisher_frame, json.dumps({"type": "metrics", "w": 1, "kwh": wh}))
    if wh > MAX_COUNTER_KWH:
        assert str(message) == "energy counter out of range"
        return
    assert isinstance(message, Metrics)
    assert message.energy_kwh == wh


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1))
def test_printable_ascii_uids_are_scanned(uid: str) -> None:
    """Every printable ASCII UID up to 64 characters is a scan, byte for byte."""
    frame = json.dumps({"type": "nfc_scan", "nfc_uid": uid})
    if len(uid) <= MAX_NFC_UID_CHARS:
        assert decode_publisher_frame(frame) == NfcScan(uid)
        assert decode_client_frame(json.dumps({"type": "start", "nfc_uid": uid})) == (
            StartRequest(nfc_uid=uid)
        )
    else:
        with pytest.raises(ProtocolError, match="nfc_uid too long"):
            decode_publisher_frame(frame)


# -- encoders over any input of their declared types ------------------------------------------

ANY_FLOAT = st.floats()  # NaN and infinities included: they become null
STATION_IDS = st.text() | st.integers(min_value=0, max_value=10**12)
STATUSES: tuple[ChargerStatus, ...] = ("available", "charging", "emergency", "offline")
_EARLIEST, _LATEST = datetime(1970, 1, 2), datetime(9999, 12, 30)
# Naive (taken as UTC) and aware in any zone.
TIMESTAMPS = st.datetimes(_EARLIEST, _LATEST) | st.datetimes(
    _EARLIEST, _LATEST, timezones=st.just(UTC) | st.timezones()
)


def _json_number_or_null(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )


def _check_charger_id(wire: Any, station_id: str | int) -> None:
    if isinstance(wire, int):
        assert str(wire) == str(station_id)
    else:
        assert wire == station_id


def _check_timestamp(wire: str, at: datetime) -> None:
    assert wire.endswith("Z")
    assert len(wire) == len("2025-11-06T12:00:00.000Z")
    expected = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(wire)
    assert timedelta(0) <= expected - parsed < timedelta(milliseconds=1)


@given(SESSION_IDS, st.none() | SESSION_IDS, st.text(), st.text(), STATION_IDS)
def test_publisher_encoders_for_any_input(
    session_id: int, maybe_session: int | None, text: str, code: str, station_id: str | int
) -> None:
    """Frames to the charger are compact, ASCII JSON with the seed's keys in order."""
    frames = {
        encode_start(session_id, text): [
            ("type", "start"),
            ("session_id", session_id),
            ("user_name", text),
        ],
        encode_stop(maybe_session): [("type", "stop"), ("session_id", maybe_session)],
        encode_error(text, code): [("type", "error"), ("message", text), ("code", code)],
        encode_connected(station_id): [
            ("type", "connected"),
            ("role", "publisher"),
            ("estacionId", str(station_id)),
        ],
        encode_sync_request(): [("type", "sync_request"), ("from", "server")],
        encode_subscribed(station_id): [("type", "subscribed"), ("estacionId", str(station_id))],
        encode_client_error(text): [("type", "error"), ("message", text)],
    }
    for frame, expected in frames.items():
        assert frame.isascii()
        assert _ordered(frame) == expected


@given(
    session_id=st.none() | SESSION_IDS,
    station_id=STATION_IDS,
    v=st.none() | ANY_FLOAT,
    a=st.none() | ANY_FLOAT,
    w=st.none() | ANY_FLOAT,
    kwh=ANY_FLOAT,
    cost=ANY_FLOAT,
    time=ANY_FLOAT | st.integers(min_value=0, max_value=10**9),
)
@example(
    session_id=1, station_id="1", v=220.5, a=16.2, w=3572.1, kwh=2.4449, cost=17.155, time=850.99
)
def test_metrics_encoder_for_any_input(
    *,
    session_id: int | None,
    station_id: str | int,
    v: float | None,
    a: float | None,
    w: float | None,
    kwh: float,
    cost: float,
    time: float,
) -> None:
    """Dashboard metrics: the seed's keys in order, numbers or null, rounded as documented."""
    frame = encode_metrics(session_id, station_id, v, a, w, kwh, cost, time)
    data = json.loads(frame, parse_constant=pytest.fail)  # no NaN/Infinity ever
    assert list(data) == ["type", "session_id", "charger_id", "v", "a", "w", "kwh", "cost", "time"]
    assert data["type"] == "metrics"
    assert data["session_id"] == session_id
    _check_charger_id(data["charger_id"], station_id)
    for key, sent in (("v", v), ("a", a), ("w", w)):
        assert _json_number_or_null(data[key])
        assert data[key] == (sent if sent is not None and math.isfinite(sent) else None)
    for key, sent, digits in (("kwh", kwh, 3), ("cost", cost, 2)):
        assert data[key] == (round(sent, digits) if math.isfinite(sent) else None)
    if math.isfinite(time):
        assert type(data["time"]) is int
        assert data["time"] == int(time)
    else:
        assert data["time"] is None


@given(
    session_id=SESSION_IDS,
    station_id=STATION_IDS,
    user_name=st.none() | st.text(),
    at=TIMESTAMPS,
    kwh=ANY_FLOAT,
    cost=ANY_FLOAT,
    duration=ANY_FLOAT,
    maybe_session=st.none() | SESSION_IDS,
)
def test_session_encoders_for_any_input(
    *,
    session_id: int,
    station_id: str | int,
    user_name: str | None,
    at: datetime,
    kwh: float,
    cost: float,
    duration: float,
    maybe_session: int | None,
) -> None:
    """session_started/ended and emergency: the seed's keys in order, UTC ``...Z`` times."""
    started = json.loads(encode_session_started(session_id, station_id, user_name, at))
    assert list(started) == ["type", "session_id", "charger_id", "user_name", "timestamp"]
    assert started["type"] == "session_started"
    assert started["session_id"] == session_id
    assert started["user_name"] == user_name
    _check_charger_id(started["charger_id"], station_id)
    _check_timestamp(started["timestamp"], at)

    ended = json.loads(
        encode_session_ended(session_id, station_id, kwh, cost, duration),
        parse_constant=pytest.fail,
    )
    assert list(ended) == ["type", "session_id", "charger_id", "kwh", "cost", "duration"]
    assert ended["type"] == "session_ended"
    _check_charger_id(ended["charger_id"], station_id)
    assert all(_json_number_or_null(ended[key]) for key in ("kwh", "cost", "duration"))
    assert ended["duration"] is None or type(ended["duration"]) is int

    emergency = json.loads(encode_emergency(station_id, maybe_session, at))
    assert list(emergency) == ["type", "charger_id", "session_id", "timestamp"]
    assert emergency["type"] == "emergency"
    assert emergency["session_id"] == maybe_session
    _check_charger_id(emergency["charger_id"], station_id)
    _check_timestamp(emergency["timestamp"], at)


@given(
    STATION_IDS,
    st.sampled_from(STATUSES),
    st.none()
    | st.builds(
        SessionInfo,
        session_id=SESSION_IDS,
        user_name=st.none() | st.text(),
        kwh=ANY_FLOAT,
        cost=ANY_FLOAT,
        time=ANY_FLOAT,
        started_at=TIMESTAMPS,
    ),
)
def test_init_encoder_for_any_input(
    station_id: str | int, status: ChargerStatus, session: SessionInfo | None
) -> None:
    """``init`` always holds id, a known Spanish status and a session object or null."""
    frame = encode_init(station_id, status, session)
    assert frame.isascii()
    data = json.loads(frame, parse_constant=pytest.fail)
    assert list(data) == ["type", "charger"]
    assert list(data["charger"]) == ["id", "status", "session"]
    _check_charger_id(data["charger"]["id"], station_id)
    assert data["charger"]["status"] == STATUS_WIRE[status]
    if session is None:
        assert data["charger"]["session"] is None
        return
    wire = data["charger"]["session"]
    assert list(wire) == ["session_id", "user_name", "kwh", "cost", "time", "started_at"]
    assert wire["session_id"] == session.session_id
    assert wire["user_name"] == session.user_name
    assert all(_json_number_or_null(wire[key]) for key in ("kwh", "cost", "time"))
    _check_timestamp(wire["started_at"], session.started_at)
