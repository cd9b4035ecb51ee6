"""The smart oven (seed 000) on top of the hub: readings, app commands, START/STOP frames."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from .protocol import ProtocolError
from .protocol.oven import (
    CLIENT_ESP32,
    CLIENT_MOBILE_APP,
    ERROR_UNKNOWN_CLIENT,
    Command,
    Identify,
    decode_app_frame,
    decode_device_frame,
    encode_device_command,
    encode_error,
    encode_reading_notice,
    encode_session_notice,
)
from .session_model import ActorRef, OvenMeasure, Session
from .sessions import SessionError

if TYPE_CHECKING:
    from .hub import Hub
    from .models import DeviceRuntime
    from .transport.link import Link

_LOGGER = logging.getLogger(__name__)

# Words for the app's error frames; the app shows them as they are.
_SESSION_ERRORS = {
    "session_already_active": "session already active",
    "no_active_session": "no active session",
    "device_not_connected": "oven not connected",
}


class OvenHandler:
    """Applies oven and mobile-app frames to the hub."""

    def __init__(self, hub: Hub) -> None:
        """Bind to the hub that owns the ovens."""
        self._hub = hub

    @callback
    def on_device_text(self, device: DeviceRuntime, text: str) -> None:
        """A reading (or the optional identification) from the oven."""
        try:
            message = decode_device_frame(text)
        except ProtocolError as err:
            _LOGGER.debug("Invalid frame from %s: %s", device.name, err)
            if device.link is not None:
                device.link.send_text(encode_error(str(err)))
            return
        if isinstance(message, Identify):
            if message.client_type != CLIENT_ESP32 and device.link is not None:
                device.link.send_text(encode_error(ERROR_UNKNOWN_CLIENT))
            return
        now = dt_util.utcnow()
        device.temperature = message.temperature
        device.last_reading_at = now
        session = device.sessions.record(device.id, now)
        if session is not None and isinstance(session.measure, OvenMeasure):
            session.measure.add(message.temperature)
        self._hub.notify_reading(device)
        if device.clients:
            self._hub.broadcast(
                device,
                encode_reading_notice(session.id if session else None, message.temperature, now),
            )

    @callback
    def on_client_text(self, device: DeviceRuntime, link: Link, actor: ActorRef, text: str) -> None:
        """An identification or START/STOP from the mobile app."""
        try:
            message = decode_app_frame(text)
        except ProtocolError as err:
            link.send_text(encode_error(str(err)))
            return
        if isinstance(message, Identify):
            if message.client_type != CLIENT_MOBILE_APP:
                link.send_text(encode_error(ERROR_UNKNOWN_CLIENT))
            return
        assert isinstance(message, Command)
        try:
            if message.command == "START":
                self._hub.start_session(device, actor)
            else:
                self._hub.stop_session(device, actor)
        except SessionError as err:
            extra = {}
            if (active := device.active_session) is not None:
                extra["session_id"] = active.id
            link.send_text(encode_error(_SESSION_ERRORS[err.key], **extra))

    @callback
    def send_session_command(self, device: DeviceRuntime, start: bool) -> None:
        """START or STOP to the oven."""
        if device.link is not None:
            device.link.send_text(encode_device_command("START" if start else "STOP"))

    @callback
    def session_changed(self, device: DeviceRuntime, session: Session) -> None:
        """Tell the apps (a new, iot_hub-only frame; legacy apps ignore unknown keys)."""
        if device.clients:
            self._hub.broadcast(device, encode_session_notice(session.id, session.status))

    @callback
    def device_attached(self, device: DeviceRuntime) -> None:
        """The seed's oven expects no greeting."""

    @callback
    def client_attached(self, device: DeviceRuntime, link: Link) -> None:
        """The seed's app expects no greeting either."""
