"""The JSON-object frame every JSON protocol starts from, with its typed errors."""

from __future__ import annotations

import json
from typing import Any, Final

from .errors import ProtocolError

# A device or dashboard frame is well under 1 KiB; anything this long is not one.
MAX_FRAME_CHARS: Final = 65_536


def parse_json_object(text: str) -> dict[str, Any]:
    """The frame as a JSON object, or a ``ProtocolError`` saying why it is not one."""
    if len(text) > MAX_FRAME_CHARS:
        raise ProtocolError("frame too large")
    try:
        data = json.loads(text)
    except ValueError as err:  # JSONDecodeError, and ints past Python's digit limit
        raise ProtocolError("invalid JSON") from err
    except RecursionError as err:
        raise ProtocolError("invalid JSON: nested too deeply") from err
    if not isinstance(data, dict):
        raise ProtocolError("expected a JSON object")
    return data
