"""What every kind's codec shares: the typed error and the JSON-object frame parse.

Each kind's own codec lives in its package (``kinds/<kind>/codec.py``). Like them, nothing here
imports Home Assistant or does I/O: a codec turns a frame into a typed domain message (or
raises ``ProtocolError``) and a domain command into a frame.
"""

from typing import Final

from .errors import ProtocolError

__all__ = ["NUMBER_TYPES", "ProtocolError"]

# For isinstance() on every value of every reading: ``int | float`` written in the call builds
# a union object each time (ten times the check's own cost); this tuple is built once.
NUMBER_TYPES: Final = (int, float)
