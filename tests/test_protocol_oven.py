"""The smart-oven codec (seed 000) on its own: seed cases and properties over any input."""

from __future__ import annotations

from datetime import UTC, datetime
import json
import math

from hypothesis import example, given, strategies as st
import pytest

from custom_components.iot_hub.kinds.oven.codec import (
    ERROR_UNKNOWN_CLIENT,
    MAX_READING_CHARS,
    MAX_TEMPERATURE,
    MIN_TEMPERATURE,
    Command,
    Identify,
    OvenCommand,
    Reading,
    decode_app_frame,
    decode_device_frame,
    encode_device_command,
    encode_error,
    encode_reading_notice,
    encode_session_notice,
)
from custom_components.iot_hub.protocol import ProtocolError

from .codec_strategies import JSON_VALUES, NESTING, PROPERTY_SETTINGS, any_frame, outcome

# -- the seed's own frames --------------------------------------------------------------------


def test_seed_device_frames() -> None:
    """The ESP32 sends ``{"type":"esp32"}`` once, then bare temperatures."""
    assert decode_device_frame('{"type":"esp32"}') == Identify("esp32")
    assert decode_device_frame("28.5") == Reading(28.5)
    assert decode_device_frame(" 28.5\n") == Reading(28.5)
    assert decode_device_frame("-40") == Reading(-40.0)
    # A device may also announce another type; the hub decides what to do with it.
    assert decode_device_frame('{"type":"mobile_app"}') == Identify("mobile_app")


def test_seed_app_frames() -> None:
    """The app sends ``{"type":"mobile_app"}``, then START/STOP commands."""
    assert decode_app_frame('{"type":"mobile_app"}') == Identify("mobile_app")
    assert decode_app_frame('{"command":"START"}') == Command("START")
    assert decode_app_frame('{"command":"STOP"}') == Command("STOP")
    assert decode_app_frame('{"type":"esp32"}') == Identify("esp32")
    # A command wins over a type in the same frame.
    assert decode_app_frame('{"type":"mobile_app","command":"stop"}') == Command("STOP")


@pytest.mark.parametrize(
    "frame", ['{"type":"toaster"}', '{"type":1}', '{"type":null}', '{"type":["esp32"]}']
)
def test_unknown_client_type_uses_the_seed_words(frame: str) -> None:
    """Any unknown type is refused with the seed's own message."""
    for decode in (decode_device_frame, decode_app_frame):
        with pytest.raises(ProtocolError) as err:
            decode(frame)
        assert str(err.value) == ERROR_UNKNOWN_CLIENT == "Tipo de cliente no reconocido"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("caliente", "invalid temperature reading"),
        ("", "invalid temperature reading"),
        ("1_000", "invalid temperature reading"),
        ("1" * (MAX_READING_CHARS + 1), "invalid temperature reading"),
        ("nan", "temperature out of range"),
        ("-inf", "temperature out of range"),
        ("1e309", "temperature out of range"),
        ("2000.01", "temperature out of range"),
        ("-273.16", "temperature out of range"),
        ("{not json", "invalid JSON"),
        ("[1]", "invalid temperature reading"),
        ('{"temperature": 28.5}', 'expected a temperature or {"type": "esp32"}'),
        pytest.param('{"a":' + "[" * 10_000, "invalid JSON", id="deep"),
        pytest.param("{" + " " * 70_000 + "}", "frame too large", id="huge"),
        ("{}" + "x", "invalid JSON"),
    ],
)
def test_bad_device_frames(frame: str, message: str) -> None:
    """What the oven must not send, with the message sent back to it."""
    with pytest.raises(ProtocolError) as err:
        decode_device_frame(frame)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("START", "invalid JSON"),
        pytest.param("[" * 10_000, "invalid JSON", id="deep-array"),
        pytest.param('{"a":' * 10_000, "invalid JSON", id="deep-object"),
        pytest.param(" " * 70_000, "frame too large", id="huge"),
        ('["START"]', "expected a JSON object"),
        ('"START"', "expected a JSON object"),
        ("{}", 'expected {"type": "mobile_app"} or {"command": ...}'),
        ('{"command":"PAUSE"}', "unknown command; expected START or STOP"),
        ('{"command":1}', "unknown command; expected START or STOP"),
        ('{"command":["START"]}', "unknown command; expected START or STOP"),
        ('{"command":" START"}', "unknown command; expected START or STOP"),
    ],
)
def test_bad_app_frames(frame: str, message: str) -> None:
    """What the app must not send, with the message sent back to it."""
    with pytest.raises(ProtocolError) as err:
        decode_app_frame(frame)
    assert str(err.value).startswith(message)


def test_temperature_range_is_inclusive() -> None:
    """Both ends of the plausible range are readings."""
    assert decode_device_frame(repr(MIN_TEMPERATURE)) == Reading(MIN_TEMPERATURE)
    assert decode_device_frame(repr(MAX_TEMPERATURE)) == Reading(MAX_TEMPERATURE)


def test_encoders_use_the_seed_keys() -> None:
    """Frames to the oven are bare words; frames to apps are JSON with the seed's keys."""
    assert encode_device_command("START") == "START"
    assert encode_device_command("STOP") == "STOP"
    at = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
    assert json.loads(encode_reading_notice(3, 28.5, at)) == {
        "session_id": 3,
        "temperature": 28.5,
        "timestamp": "2026-11-24T10:00:00+00:00",
    }
    assert json.loads(encode_reading_notice(None, 28.5, at))["session_id"] is None
    assert json.loads(encode_session_notice(3, "stopped")) == {"session_id": 3, "status": "stopped"}
    assert json.loads(encode_error("no active session")) == {"error": "no active session"}
    assert json.loads(encode_error("session already active", session_id=2)) == {
        "error": "session already active",
        "session_id": 2,
    }


# -- properties over any input ----------------------------------------------------------------

JSON_OBJECTS = st.dictionaries(
    st.sampled_from(["type", "command", "temperature", "session_id"]) | st.text(),
    JSON_VALUES,
)
DEEP = st.one_of(
    NESTING.map(lambda n: "[" * n),
    NESTING.map(lambda n: '{"type":' + "[" * n),
    NESTING.map(lambda n: '{"command":' + '{"a":' * n),
    NESTING.map(lambda n: "[" * n + "]" * n),
    NESTING.map(lambda n: "{" + "[" * n + "]" * n + "}"),
)
ANY_FRAME = any_frame(
    JSON_OBJECTS,
    DEEP,
    st.text(alphabet="0123456789.eE+-_ \t\n\u0660\u0661\u0662\u0969\u096a\uff15\uff16infatyINFATY"),
)


@PROPERTY_SETTINGS
@given(ANY_FRAME)
@example("[" * 100_000)
@example("{" * 100_000)
@example('{"type":' * 50_000)
@example("\ud800")
@example("1" * 5000)
@example('{"type": ' + "1" * 5000 + "}")
@example("\x00")
@example("\u0663\u0662.\u0665")
def test_device_decoder_never_raises_anything_else(frame: str) -> None:
    """Any text gives a typed message or a ``ProtocolError``, never another exception."""
    message = outcome(decode_device_frame, frame)
    if isinstance(message, ProtocolError):
        assert str(message)
        json.loads(encode_error(str(message)))  # always sendable back
        return
    assert isinstance(message, Identify | Reading)
    if isinstance(message, Reading):
        assert math.isfinite(message.temperature)
        assert MIN_TEMPERATURE <= message.temperature <= MAX_TEMPERATURE
    else:
        assert message.client_type in {"esp32", "mobile_app"}


@PROPERTY_SETTINGS
@given(ANY_FRAME)
@example("[" * 100_000)
@example('{"command":' * 50_000)
@example('{"command": "\u017ftart"}')
def test_app_decoder_never_raises_anything_else(frame: str) -> None:
    """Any text gives a typed message or a ``ProtocolError``, never another exception."""
    message = outcome(decode_app_frame, frame)
    if isinstance(message, ProtocolError):
        assert str(message)
        json.loads(encode_error(str(message)))
        return
    assert isinstance(message, Identify | Command)
    if isinstance(message, Command):
        assert message.command in {"START", "STOP"}
    else:
        assert message.client_type in {"esp32", "mobile_app"}


TEMPERATURES = st.floats(min_value=MIN_TEMPERATURE, max_value=MAX_TEMPERATURE)


@given(
    TEMPERATURES,
    st.sampled_from([repr, str, "{:.17g}".format, "{:e}".format, "{:.3f}".format, "{:+}".format]),
    st.sampled_from(["", " ", "\n", "\t", "\r\n"]),
)
def test_formatted_temperature_round_trips(
    temperature: float, formatter: object, padding: str
) -> None:
    """A temperature formatted the usual ways decodes to exactly what ``float()`` reads."""
    assert callable(formatter)
    text = formatter(temperature)
    reading = decode_device_frame(f"{padding}{text}{padding}")
    assert isinstance(reading, Reading)
    assert reading.temperature == float(text)
    if formatter in (repr, str):
        assert reading.temperature == temperature


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_out_of_range_values_are_refused(value: float) -> None:
    """A value outside the plausible range is never a reading."""
    if math.isfinite(value) and MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:
        assert decode_device_frame(repr(value)) == Reading(value)
    else:
        with pytest.raises(ProtocolError):
            decode_device_frame(repr(value))


COMMANDS: tuple[OvenCommand, ...] = ("START", "STOP")


@given(st.sampled_from(COMMANDS), st.data())
def test_commands_in_any_case(command: OvenCommand, data: st.DataObject) -> None:
    """Apps send start/Start/START: every ASCII casing is the same command."""
    cased = "".join(data.draw(st.sampled_from([c.lower(), c.upper()]), label=c) for c in command)
    assert decode_app_frame(json.dumps({"command": cased})) == Command(command)


@given(
    st.one_of(st.none(), st.integers(min_value=0)),
    TEMPERATURES,
    st.datetimes(timezones=st.just(UTC)),
    st.text(),
)
def test_notices_are_json_with_the_seed_keys(
    session_id: int | None, temperature: float, at: datetime, error: str
) -> None:
    """Every frame to an app is one JSON object with ``session_id`` or ``error``."""
    reading = json.loads(encode_reading_notice(session_id, temperature, at))
    assert reading["session_id"] == session_id
    assert reading["temperature"] == temperature
    assert datetime.fromisoformat(reading["timestamp"]) == at
    if session_id is not None:
        assert json.loads(encode_session_notice(session_id, "active")) == {
            "session_id": session_id,
            "status": "active",
        }
    assert json.loads(encode_error(error)) == {"error": error}


@PROPERTY_SETTINGS
@given(ANY_FRAME)
@example("\u0663\u0662.\u0665")  # Arabic-Indic digits: float() reads them as 32.5
@example("\uff12\uff18.\uff15")  # full-width digits
def test_readings_only_from_plain_ascii_numbers(frame: str) -> None:
    """A reading comes only from short ASCII number text, as the oven sends it.

    ``float()`` is more lenient (``1_000``, other scripts' digits); no oven sends those and
    accepting them would hide garbage.
    """
    try:
        message = decode_device_frame(frame)
    except ProtocolError:
        return
    if isinstance(message, Reading):
        text = frame.strip()
        assert text.isascii()
        assert "_" not in text
        assert len(text) <= MAX_READING_CHARS


@PROPERTY_SETTINGS
@given(
    st.text(max_size=8)
    | st.sampled_from(["\u017ftart", "\ufb06op", "\uff33\uff34\uff21\uff32\uff34", "stop\x00"])
)
def test_commands_only_from_their_ascii_casings(command: str) -> None:
    """Only ASCII casings of START/STOP are commands (U+017F long s upper-cases to S)."""
    try:
        message = decode_app_frame(json.dumps({"command": command}))
    except ProtocolError:
        assert command.lower() not in {"start", "stop"}
        return
    assert isinstance(message, Command)
    assert command.isascii()
    assert command.upper() == message.command
