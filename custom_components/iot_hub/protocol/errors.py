"""The one exception type every codec raises for input it cannot decode."""


class ProtocolError(ValueError):
    """A frame that does not follow the protocol; the message is safe to send back to the peer."""
