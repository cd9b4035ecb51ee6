"""Codec of the legacy smart-oven protocol (seed 000): ESP32 and mobile-app frames.

ESP32 → server: an optional ``{"type": "esp32"}`` identification, then bare temperature text
frames such as ``28.5``. Server → ESP32: the bare text frames ``START`` and ``STOP``.
App → server: ``{"type": "mobile_app"}``, then ``{"command": "START" | "STOP"}``.
Server → app: ``{"session_id": N, ...}`` after every reading and ``{"error": "..."}`` frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
import json
import math
from typing import Any, Final, Literal, NamedTuple

from ...protocol import ProtocolError
from ...protocol.json_frames import parse_json_object

type OvenCommand = Literal["START", "STOP"]

CLIENT_ESP32: Final = "esp32"
CLIENT_MOBILE_APP: Final = "mobile_app"
KNOWN_CLIENT_TYPES: Final = frozenset({CLIENT_ESP32, CLIENT_MOBILE_APP})
COMMANDS: Final[frozenset[str]] = frozenset({"START", "STOP"})

# A temperature sent as text is never longer than this; anything longer is not a reading.
MAX_READING_CHARS: Final = 32
# Physically plausible range for an oven probe (°C); outside it a value is a sensor fault.
MIN_TEMPERATURE: Final = -273.15
MAX_TEMPERATURE: Final = 2000.0

ERROR_UNKNOWN_CLIENT: Final = "Tipo de cliente no reconocido"  # the seed's own words


@dataclass(frozen=True, slots=True)
class Identify:
    """A client said what it is (``{"type": ...}``)."""

    client_type: str


class Reading(NamedTuple):
    """A temperature reading from the oven, in °C (a named tuple: one is built per reading)."""

    temperature: float


@dataclass(frozen=True, slots=True)
class Command:
    """A START/STOP command from the mobile app."""

    command: OvenCommand


type DeviceMessage = Identify | Reading
type AppMessage = Identify | Command


def _identify(data: dict[str, Any]) -> Identify:
    client_type = data["type"]
    if not isinstance(client_type, str) or client_type not in KNOWN_CLIENT_TYPES:
        raise ProtocolError(ERROR_UNKNOWN_CLIENT)
    return Identify(client_type)


def decode_device_frame(text: str) -> DeviceMessage:
    """Decode a text frame from the oven: identification or a temperature."""
    stripped = text.strip()
    if stripped.startswith("{"):
        data = parse_json_object(stripped)
        if "type" not in data:
            raise ProtocolError('expected a temperature or {"type": "esp32"}')
        return _identify(data)
    if len(stripped) > MAX_READING_CHARS:
        raise ProtocolError("invalid temperature reading")
    # float() also takes "1_000" and other scripts' digits (Arabic-Indic, full-width); no
    # oven sends those, and they hide typos.
    if "_" in stripped or not stripped.isascii():
        raise ProtocolError("invalid temperature reading")
    try:
        temperature = float(stripped)
    except ValueError as err:
        raise ProtocolError("invalid temperature reading") from err
    if not math.isfinite(temperature) or not MIN_TEMPERATURE <= temperature <= MAX_TEMPERATURE:
        raise ProtocolError("temperature out of range")
    return Reading(temperature)


def decode_app_frame(text: str) -> AppMessage:
    """Decode a text frame from the mobile app: identification or a command."""
    data = parse_json_object(text)
    if "command" in data:
        command = data["command"]
        # ASCII only: str.upper() also maps lookalikes (U+017F long s, the U+FB06 "st"
        # ligature) onto START and STOP.
        if not isinstance(command, str) or not command.isascii() or command.upper() not in COMMANDS:
            raise ProtocolError("unknown command; expected START or STOP")
        return Command("START" if command.upper() == "START" else "STOP")
    if "type" in data:
        return _identify(data)
    raise ProtocolError('expected {"type": "mobile_app"} or {"command": ...}')


def encode_device_command(command: OvenCommand) -> str:
    """Frame telling the oven to start or stop measuring."""
    return command


def encode_reading_notice(session_id: int | None, temperature: float, timestamp: datetime) -> str:
    """Frame sent to apps after each reading; ``session_id`` is the seed's own key."""
    return json.dumps(
        {
            "session_id": session_id,
            "temperature": temperature,
            "timestamp": timestamp.isoformat(),
        }
    )


def encode_session_notice(session_id: int, status: str) -> str:
    """Frame telling apps that a session started or ended."""
    return json.dumps({"session_id": session_id, "status": status})


def encode_error(message: str, **extra: Any) -> str:
    """The seed's error frame: ``{"error": "..."}``, optionally with context."""
    return json.dumps({"error": message, **extra})
