"""The EV charger (seed 002) on one device: what its frames and its dashboards' frames mean.

The charger ("publisher") sends ``nfc_scan``, ``metrics``, ``stop`` and ``emergency``; it is told
``start``/``stop`` and gets ``error`` frames. Dashboards ("clients") get ``subscribed`` and
``init`` on connect, then ``metrics`` enriched with kWh, cost and time, ``session_started``,
``session_ended``, ``emergency`` and ``error``. Every frame keeps the seed's shape.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from time import monotonic
from typing import TYPE_CHECKING, Final

from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...const import Actor
from ...errors import ErrorKey, IotHubError
from ...kind import Inbound, Source
from ...protocol import ProtocolError
from ...sessions import ActorRef, Session
from ...signals import Update
from .codec import (
    CODE_CARD_REJECTED,
    CODE_CHARGER_BUSY,
    CODE_EMERGENCY_ACTIVE,
    CODE_INVALID_MESSAGE,
    CODE_NO_ACTIVE_SESSION,
    Emergency,
    Metrics,
    NfcScan,
    StopRequest,
    decode_client_frame,
    decode_publisher_frame,
)
from .const import CONF_STATION_ID
from .core import ChargerCore, user_name_of
from .encode import (
    SessionInfo,
    encode_client_error,
    encode_connected,
    encode_error,
    encode_init,
    encode_metrics,
    encode_session_ended,
    encode_session_started,
    encode_subscribed,
    encode_sync_request,
)

if TYPE_CHECKING:
    from ...transport.link import Link

_LOGGER = logging.getLogger(__name__)

# Refusals as the seed's error frames: (message, code); dashboards get the message only.
WIRE_ERRORS: Final = {
    ErrorKey.SESSION_ALREADY_ACTIVE: ("session already active", CODE_CHARGER_BUSY),
    ErrorKey.NO_ACTIVE_SESSION: ("no active session", CODE_NO_ACTIVE_SESSION),
    ErrorKey.DEVICE_NOT_CONNECTED: ("charger not connected", "CHARGER_OFFLINE"),
    ErrorKey.EMERGENCY_ACTIVE: (
        "emergency stop active: clear it in Home Assistant",
        CODE_EMERGENCY_ACTIVE,
    ),
    ErrorKey.CARD_REJECTED: ("card not authorised", CODE_CARD_REJECTED),
    ErrorKey.RATE_LIMITED: ("rate limit exceeded", "RATE_LIMITED"),
    ErrorKey.BINARY_FRAME: ("binary frames are not supported; send text", CODE_INVALID_MESSAGE),
}


def wire_error(source: Source, key: ErrorKey) -> str:
    """``error {message, code}`` for the charger; ``error {message}`` for a dashboard."""
    message, code = WIRE_ERRORS[key]
    return encode_error(message, code) if source is Source.DEVICE else encode_client_error(message)


class ChargerHandler(ChargerCore):
    """Applies charger and dashboard frames."""

    @callback
    def receive(self, inbound: Inbound) -> None:
        """A frame from the charger or from one of its dashboards."""
        if inbound.source is Source.DEVICE:
            self._charger_frame(inbound)
        else:
            self._dashboard_frame(inbound)

    # -- greetings -------------------------------------------------------------------------

    @callback
    def device_attached(self) -> None:
        """Seed 002's ack to a publisher (the hub then tells it its running session, if any).

        A charger that rebooted (or lost its link) mid-session comes back with its relay open
        while HA still holds the session: every card would then get CHARGER_BUSY.
        """
        self.stops_sent.clear()
        self.device.send(encode_connected(self.station))

    @callback
    def client_attached(self, link: Link) -> None:
        """Ack, the charger's state, and a sync request to the charger if it is online."""
        link.send_text(encode_subscribed(self.station))
        link.send_text(encode_init(self.station, self.status, self._session_info()))
        self.device.send(encode_sync_request())

    # -- frames in -------------------------------------------------------------------------

    def _charger_frame(self, inbound: Inbound) -> None:
        try:
            message = decode_publisher_frame(inbound.text)
        except ProtocolError as err:
            _LOGGER.debug("Invalid frame from %s: %s", self.device.name, err)
            inbound.link.send_text(encode_error(str(err), CODE_INVALID_MESSAGE))
            return
        match message:
            case NfcScan(nfc_uid=uid):
                self._nfc_scan(inbound, uid)
            case Metrics():
                self._metrics(message)
            case StopRequest():
                by_charger = ActorRef(Actor.DEVICE)
                self._answer(inbound, lambda: self.device.stop_session(by_charger))
            case Emergency():
                self.emergency_stop()

    def _dashboard_frame(self, inbound: Inbound) -> None:
        """A dashboard's stop, or (an iot_hub addition) start."""
        try:
            message = decode_client_frame(inbound.text)
        except ProtocolError as err:
            inbound.link.send_text(encode_client_error(str(err)))
            return
        actor = inbound.actor or ActorRef(Actor.APP)
        try:
            if isinstance(message, StopRequest):
                self.device.stop_session(actor)
            elif message.nfc_uid is not None:
                self.device.start_session(self.card_actor(message.nfc_uid))
            else:
                named = ActorRef(actor.kind, actor.user_id, message.user_name or actor.name)
                self.device.start_session(named)
        except IotHubError as err:
            inbound.link.send_text(wire_error(Source.CLIENT, err.key))

    def _nfc_scan(self, inbound: Inbound, uid: str) -> None:
        self.card_scanned(uid)
        if self.device.active_session is not None:
            # A card at a busy charger is a scan, not a command (HA gets the event anyway).
            inbound.link.send_text(wire_error(Source.DEVICE, ErrorKey.SESSION_ALREADY_ACTIVE))
            return
        self._answer(inbound, lambda: self.device.start_session(self.card_actor(uid)))

    @staticmethod
    def _answer(inbound: Inbound, operate: Callable[[], object]) -> None:
        """Run a session operation the charger asked for; a refusal goes back as an error."""
        try:
            operate()
        except IotHubError as err:
            inbound.link.send_text(wire_error(Source.DEVICE, err.key))

    def _metrics(self, metrics: Metrics) -> None:
        now = dt_util.utcnow()
        self.voltage, self.current, self.power = metrics.v, metrics.a, metrics.power
        session = self.device.reading(now)
        measure = self.charge(session) if session is not None else None
        # A straggler of an earlier session must not bill the running one.
        if session is not None and measure is not None and metrics.session_id in (None, session.id):
            ts = metrics.ts if metrics.ts is not None else now.timestamp()
            self.meter(measure, ts, metrics, monotonic())
        elif (
            session is None
            and metrics.session_id is not None
            and metrics.session_id not in self.stops_sent
            and self.device.sessions.announced(metrics.session_id)  # else its stop is coming
        ):
            # The charger charges for a session HA has ended (stopped while it was offline,
            # say): tell it, once per connection, or it would charge on, unbilled. Not while
            # another session runs: legacy firmware may not check the id.
            self.send_stop(metrics.session_id)
        self.device.notify(Update.READING)
        if self.device.has_clients:
            self.device.broadcast(
                encode_metrics(
                    session.id if session else None,
                    self.station,
                    metrics.v,
                    metrics.a,
                    metrics.w,
                    measure.energy.kwh if measure else 0.0,
                    measure.cost.cost if measure else 0.0,
                    session.duration(now) if session else 0.0,
                )
            )

    # -- notices ---------------------------------------------------------------------------

    @callback
    def session_changed(self, session: Session) -> None:
        """``session_started`` / ``session_ended`` to the dashboards."""
        if not self.device.has_clients or (measure := self.charge(session)) is None:
            return
        if session.active:
            frame = encode_session_started(
                session.id, self.station, user_name_of(session), session.started_at
            )
        else:
            frame = encode_session_ended(
                session.id,
                self.station,
                measure.energy.kwh,
                measure.cost.cost,
                session.duration(dt_util.utcnow()),
            )
        self.device.broadcast(frame)

    def _session_info(self) -> SessionInfo | None:
        session = self.device.active_session
        if session is None or (measure := self.charge(session)) is None:
            return None
        return SessionInfo(
            session_id=session.id,
            user_name=measure.user_name,
            kwh=measure.energy.kwh,
            cost=measure.cost.cost,
            time=session.duration(dt_util.utcnow()),
            started_at=session.started_at,
        )

    def diagnostics(self) -> dict[str, object]:
        """Station, last metrics, latch and lifetime totals."""
        return {
            "station_id": self.device.data.get(CONF_STATION_ID),
            "status": self.status,
            "voltage": self.voltage,
            "current": self.current,
            "power": self.power,
            "max_power_kw": self.max_power_kw,
            "metering_refused": dict(self.refused),
            "tags_held_back": self.tags.held_back,
            "emergency": self.emergency,
            "lifetime_kwh": self.lifetime.value,
            "lifetime_cost": self.lifetime_cost,
        }
