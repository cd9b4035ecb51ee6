"""The toy's wire format (pure): JSON numbers in; small JSON objects out."""

from __future__ import annotations

import json
import math

from custom_components.iot_hub.protocol import ProtocolError
from custom_components.iot_hub.protocol.json_frames import MAX_FRAME_CHARS


def decode_number(text: str) -> float:
    """A frame from the toy: one finite JSON number (not a bool, not a string)."""
    if len(text) > MAX_FRAME_CHARS:
        raise ProtocolError("frame too large")
    try:
        value = json.loads(text)
    except ValueError as err:
        raise ProtocolError("not JSON") from err
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError("expected a number")
    number = float(value)
    if not math.isfinite(number):
        raise ProtocolError("expected a finite number")
    return number


def encode_command(start: bool, session_id: int | None) -> str:
    """Tell the toy to count (a session started) or to stop."""
    return json.dumps({"toy": "start" if start else "stop", "session": session_id})


def encode_number(session_id: int | None, value: float) -> str:
    """A number, as the toy's apps see it."""
    return json.dumps({"session": session_id, "value": value})


def encode_error(message: str) -> str:
    """The toy's own error shape (neither the oven's nor the charger's)."""
    return json.dumps({"toy_error": message})
