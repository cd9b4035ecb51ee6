"""One toy device: numbers in, commands out, numbers to its apps."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.util import dt as dt_util

from custom_components.iot_hub.errors import ErrorKey, IotHubError
from custom_components.iot_hub.kind import Inbound, KindHandler, Source
from custom_components.iot_hub.protocol import ProtocolError
from custom_components.iot_hub.sessions import ActorRef
from custom_components.iot_hub.signals import Update

from .codec import decode_number, encode_command, encode_error, encode_number
from .measure import ToyMeasure

WIRE_ERRORS: Final = {
    ErrorKey.SESSION_ALREADY_ACTIVE: "already counting",
    ErrorKey.NO_ACTIVE_SESSION: "not counting",
    ErrorKey.DEVICE_NOT_CONNECTED: "toy offline",
    ErrorKey.RATE_LIMITED: "slow down",
    ErrorKey.BINARY_FRAME: "text only",
}


def wire_error(_source: Source, key: ErrorKey) -> str:
    """Every refusal in the toy's shape."""
    return encode_error(WIRE_ERRORS[key])


class ToyHandler(KindHandler):
    """The toy's last number, and what its frames do."""

    value: float | None = None

    def receive(self, inbound: Inbound) -> None:
        """Numbers from the toy; ``"start"``/``"stop"`` from its apps."""
        if inbound.source is Source.CLIENT:
            assert inbound.actor is not None
            try:
                if inbound.text == "start":
                    self.device.start_session(inbound.actor)
                else:
                    self.device.stop_session(inbound.actor)
            except IotHubError as err:
                inbound.link.send_text(wire_error(Source.CLIENT, err.key))
            return
        try:
            value = decode_number(inbound.text)
        except ProtocolError as err:
            inbound.link.send_text(encode_error(str(err)))
            return
        self.value = value
        session = self.device.reading(dt_util.utcnow())
        if session is not None and isinstance(session.measure, ToyMeasure):
            session.measure.add(value)
        self.device.notify(Update.READING)
        self.device.broadcast(encode_number(session.id if session else None, value))

    def new_measure(self, by: ActorRef) -> ToyMeasure:
        """A toy session counts and sums."""
        return ToyMeasure()

    def send_session_command(self, start: bool) -> None:
        """Start or stop counting."""
        session = self.device.active_session if start else self.device.last_session
        self.device.send(encode_command(start, session.id if session else None))

    def diagnostics(self) -> dict[str, Any]:
        """The last number."""
        return {"value": self.value}
