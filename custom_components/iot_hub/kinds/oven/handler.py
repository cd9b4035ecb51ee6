"""The smart oven (seed 000) on one device: readings, app commands, START/STOP frames.

With a target temperature, the time until the oven reaches it: the least-squares trend of the
last ``TREND_WINDOW`` seconds of temperatures (``analysis.py``), recomputed at most once per
``PREDICTION_INTERVAL`` seconds and published on the hub's feed as a prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
import logging
from typing import Final

from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...analysis import Trend
from ...descriptions import IotHubEntityDescription
from ...errors import ErrorKey, IotHubError
from ...feed import FeedKind
from ...kind import Inbound, KindContext, KindHandler, Source
from ...protocol import NUMBER_TYPES, ProtocolError
from ...sessions import ActorRef, Session
from ...signals import Update
from .codec import (
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
from .config_flow import CONF_TARGET_TEMPERATURE
from .entities import TIME_TO_TARGET
from .measure import OvenMeasure

_LOGGER = logging.getLogger(__name__)

# Words for the app's and the oven's error frames; the app shows them as they are.
WIRE_ERRORS: Final = {
    ErrorKey.SESSION_ALREADY_ACTIVE: "session already active",
    ErrorKey.NO_ACTIVE_SESSION: "no active session",
    ErrorKey.DEVICE_NOT_CONNECTED: "oven not connected",
    ErrorKey.RATE_LIMITED: "rate limit exceeded",
    ErrorKey.BINARY_FRAME: "binary frames are not supported; send text",
}
# An oven heats up in minutes along a curve: a short window follows the curve's slope now.
TREND_WINDOW: Final = 120.0
PREDICTION_INTERVAL: Final = 30.0  # seconds between two estimates of the time to target


def wire_error(_source: Source, key: ErrorKey) -> str:
    """The seed's ``{"error": "..."}`` frame, for the oven and its app alike."""
    return encode_error(WIRE_ERRORS[key])


class OvenHandler(KindHandler):
    """An oven's live state, and what its frames and its app's frames do."""

    temperature: float | None = None

    def __init__(self, device: KindContext) -> None:
        """No temperature yet, so no trend."""
        super().__init__(device)
        self.trend = Trend(TREND_WINDOW)
        self.time_to_target: float | None = None
        self._next_round = 0.0

    @property
    def target(self) -> float | None:
        """The temperature the user wants the oven at, if any."""
        target = self.device.data.get(CONF_TARGET_TEMPERATURE)
        return float(target) if isinstance(target, NUMBER_TYPES) else None

    @callback
    def receive(self, inbound: Inbound) -> None:
        """A reading from the oven, or a command from its app."""
        if inbound.source is Source.DEVICE:
            self._device_frame(inbound)
        else:
            self._app_frame(inbound)

    def _device_frame(self, inbound: Inbound) -> None:
        try:
            message = decode_device_frame(inbound.text)
        except ProtocolError as err:
            _LOGGER.debug("Invalid frame from %s: %s", self.device.name, err)
            inbound.link.send_text(encode_error(str(err)))
            return
        if isinstance(message, Identify):
            if message.client_type != CLIENT_ESP32:
                inbound.link.send_text(encode_error(ERROR_UNKNOWN_CLIENT))
            return
        now = dt_util.utcnow()
        self.temperature = message.temperature
        session = self.device.reading(now)
        if session is not None and isinstance(session.measure, OvenMeasure):
            session.measure.add(message.temperature)
        self.device.notify(Update.READING)
        self._estimate(message.temperature, now)
        if self.device.has_clients:
            self.device.broadcast(
                encode_reading_notice(session.id if session else None, message.temperature, now),
            )

    def _estimate(self, temperature: float, at: datetime) -> None:
        """Fold the reading into the trend; every 30 s, the time to target from it."""
        now = at.timestamp()
        self.trend.add(now, temperature)
        if now < self._next_round:
            return
        # The target is read once a round, not per reading; a new one resets the round.
        self._next_round = now + PREDICTION_INTERVAL
        if (target := self.target) is None:
            return
        self.time_to_target = self.trend.time_to(target, now)
        self.device.notify(Update.PREDICTION)
        if self.time_to_target is None:
            return
        self.device.publish(
            FeedKind.PREDICTION,
            {
                "quantity": "temperature",
                "target": target,
                "time_to_target_s": self.time_to_target,
                "reached_at": at + timedelta(seconds=self.time_to_target),
                "method": "linear_trend",
                "window_s": TREND_WINDOW,
                "points": len(self.trend),
            },
            at,
        )

    def _app_frame(self, inbound: Inbound) -> None:
        try:
            message = decode_app_frame(inbound.text)
        except ProtocolError as err:
            inbound.link.send_text(encode_error(str(err)))
            return
        if isinstance(message, Identify):
            if message.client_type != CLIENT_MOBILE_APP:
                inbound.link.send_text(encode_error(ERROR_UNKNOWN_CLIENT))
            return
        assert isinstance(message, Command) and inbound.actor is not None
        try:
            if message.command == "START":
                self.device.start_session(inbound.actor)
            else:
                self.device.stop_session(inbound.actor)
        except IotHubError as err:
            extra = {}
            if (active := self.device.active_session) is not None:
                extra["session_id"] = active.id
            inbound.link.send_text(encode_error(WIRE_ERRORS[err.key], **extra))

    def new_measure(self, by: ActorRef) -> OvenMeasure:
        """An oven session summarises temperatures."""
        return OvenMeasure()

    @callback
    def send_session_command(self, start: bool) -> None:
        """START or STOP to the oven."""
        self.device.send(encode_device_command("START" if start else "STOP"))

    @callback
    def session_changed(self, session: Session) -> None:
        """Tell the apps (a new, iot_hub-only frame; legacy apps ignore unknown keys)."""
        if self.device.has_clients:
            self.device.broadcast(encode_session_notice(session.id, session.status))

    def dynamic_descriptions(self, platform: Platform) -> Sequence[IotHubEntityDescription]:
        """Time to target, once the oven has a target."""
        if platform is Platform.SENSOR and self.target is not None:
            return (TIME_TO_TARGET,)
        return ()

    @callback
    def config_changed(self) -> None:
        """A new target: estimated from the next reading on (its sensor added if new)."""
        self._next_round = 0.0
        self.time_to_target = None
        self.device.notify(Update.PREDICTION)
        if self.target is not None:
            self.device.new_entities()

    def diagnostics(self) -> dict[str, float | None]:
        """The last temperature (the time to target is its sensor's state)."""
        return {"temperature": self.temperature}
