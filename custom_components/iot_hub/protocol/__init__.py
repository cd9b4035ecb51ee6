"""Pure wire codecs, one module per legacy protocol.

Nothing here imports Home Assistant or does I/O: a codec turns a frame into a typed domain
message (or raises its typed error) and a domain command into a frame.
"""

from .errors import ProtocolError

__all__ = ["ProtocolError"]
