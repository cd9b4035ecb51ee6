"""The EV charger (seed 002) on top of the hub: cards, metrics, stop, emergency, dashboards.

The charger ("publisher") sends ``nfc_scan``, ``metrics``, ``stop`` and ``emergency``; it is told
``start``/``stop`` and gets ``error`` frames. Dashboards ("clients") get ``subscribed`` and
``init`` on connect, then ``metrics`` enriched with kWh, cost and time, ``session_started``,
``session_ended``, ``emergency`` and ``error``. Every frame keeps the seed's shape.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from .const import Actor
from .protocol import ProtocolError
from .protocol.charger import (
    CODE_CARD_REJECTED,
    CODE_CHARGER_BUSY,
    CODE_EMERGENCY_ACTIVE,
    CODE_INVALID_MESSAGE,
    CODE_NO_ACTIVE_SESSION,
    ChargerStatus,
    Emergency,
    Metrics,
    NfcScan,
    SessionInfo,
    StartRequest,
    StopRequest,
    decode_client_frame,
    decode_publisher_frame,
    encode_client_error,
    encode_connected,
    encode_emergency,
    encode_error,
    encode_init,
    encode_metrics,
    encode_session_ended,
    encode_session_started,
    encode_start,
    encode_stop,
    encode_subscribed,
    encode_sync_request,
)
from .session_model import ActorRef, ChargeMeasure, Session
from .sessions import SessionError

if TYPE_CHECKING:
    from .hub import Hub
    from .models import DeviceRuntime
    from .transport.link import Link

_LOGGER = logging.getLogger(__name__)

# Session refusals as the seed's error frames: (message, code).
_SESSION_ERRORS = {
    "session_already_active": ("session already active", CODE_CHARGER_BUSY),
    "no_active_session": ("no active session", CODE_NO_ACTIVE_SESSION),
    "device_not_connected": ("charger not connected", "CHARGER_OFFLINE"),
    "emergency_active": (
        "emergency stop active: clear it in Home Assistant",
        CODE_EMERGENCY_ACTIVE,
    ),
    "card_rejected": ("card not authorised", CODE_CARD_REJECTED),
}


def station_of(device: DeviceRuntime) -> str:
    """The charger's ``estacionId`` (its name when none was set)."""
    return device.station_id or device.name


def charger_status(device: DeviceRuntime) -> ChargerStatus:
    """What the charger is doing, as the dashboard's ``init`` and the state sensor tell it."""
    if device.emergency:
        return "emergency"
    if device.link is None:
        return "offline"
    return "charging" if device.active_session else "available"


class ChargerHandler:
    """Applies charger and dashboard frames to the hub."""

    def __init__(self, hub: Hub) -> None:
        """Bind to the hub that owns the chargers."""
        self._hub = hub

    # -- greetings ------------------------------------------------------------------------

    @callback
    def device_attached(self, device: DeviceRuntime) -> None:
        """Seed 002's ack to a publisher; and its session again, if one is running.

        A charger that rebooted (or lost its link) mid-session comes back with its relay open
        while HA still holds the session: every card would then get CHARGER_BUSY. Telling
        it ``start`` again makes both agree; the firmware decides whether to resume.
        """
        self._to_device(device, encode_connected(station_of(device)))
        if device.active_session is not None:
            self.send_session_command(device, start=True)

    @callback
    def client_attached(self, device: DeviceRuntime, link: Link) -> None:
        """Ack, the charger's state, and a sync request to the charger if it is online."""
        station = station_of(device)
        link.send_text(encode_subscribed(station))
        link.send_text(encode_init(station, charger_status(device), self._session_info(device)))
        if device.link is not None:
            device.link.send_text(encode_sync_request())

    # -- frames ---------------------------------------------------------------------------

    @callback
    def on_device_text(self, device: DeviceRuntime, text: str) -> None:
        """A frame from the charger."""
        try:
            message = decode_publisher_frame(text)
        except ProtocolError as err:
            _LOGGER.debug("Invalid frame from %s: %s", device.name, err)
            self._to_device(device, encode_error(str(err), CODE_INVALID_MESSAGE))
            return
        match message:
            case NfcScan(nfc_uid=uid):
                self._nfc_scan(device, uid)
            case Metrics():
                self._metrics(device, message)
            case StopRequest():
                by_charger = ActorRef(Actor.DEVICE)
                self._answer(device, lambda: self._hub.stop_session(device, by_charger))
            case Emergency():
                self._hub.emergency(device)

    @callback
    def on_client_text(self, device: DeviceRuntime, link: Link, actor: ActorRef, text: str) -> None:
        """A frame from a dashboard: stop, or (an iot_hub addition) start."""
        try:
            message = decode_client_frame(text)
        except ProtocolError as err:
            link.send_text(encode_client_error(str(err)))
            return
        try:
            if isinstance(message, StopRequest):
                self._hub.stop_session(device, actor)
            elif isinstance(message, StartRequest) and message.nfc_uid is not None:
                self._hub.start_session(device, self._hub.card_actor(device, message.nfc_uid))
            elif isinstance(message, StartRequest):
                named = ActorRef(actor.kind, actor.user_id, message.user_name or actor.name)
                self._hub.start_session(device, named)
        except SessionError as err:
            link.send_text(encode_client_error(_SESSION_ERRORS[err.key][0]))

    def _nfc_scan(self, device: DeviceRuntime, uid: str) -> None:
        self._hub.card_scanned(device, uid)
        if device.active_session is not None:
            # A card at a busy charger is a scan, not a command (HA gets the event anyway).
            self._to_device(device, encode_error(*_SESSION_ERRORS["session_already_active"]))
            return
        self._answer(
            device, lambda: self._hub.start_session(device, self._hub.card_actor(device, uid))
        )

    def _answer(self, device: DeviceRuntime, operate: Callable[[], object]) -> None:
        """Run a session operation the charger asked for; a refusal goes back as an error."""
        try:
            operate()
        except SessionError as err:
            self._to_device(device, encode_error(*_SESSION_ERRORS[err.key]))

    def _metrics(self, device: DeviceRuntime, metrics: Metrics) -> None:
        now = dt_util.utcnow()
        device.voltage, device.current = metrics.v, metrics.a
        device.power = metrics.power
        device.last_reading_at = now
        session = device.sessions.record(device.id, now)
        if (
            session is not None
            and isinstance(session.measure, ChargeMeasure)
            # A straggler of an earlier session must not bill the running one.
            and metrics.session_id in (None, session.id)
        ):
            ts = metrics.ts if metrics.ts is not None else now.timestamp()
            self._hub.meter(device, session.measure, ts, metrics)
        elif (
            session is None
            and metrics.session_id is not None
            and metrics.session_id not in device.stops_sent
        ):
            # The charger charges for a session HA has ended (stopped while it was offline,
            # say): tell it, once per connection, or it would charge on, unbilled. Not while
            # another session runs: legacy firmware may not check the id.
            self._send_stop(device, metrics.session_id)
        self._hub.notify_reading(device)
        if device.clients:
            measure = session.measure if session else None
            kwh = measure.energy.kwh if isinstance(measure, ChargeMeasure) else 0.0
            cost = measure.cost.cost if isinstance(measure, ChargeMeasure) else 0.0
            self._hub.broadcast(
                device,
                encode_metrics(
                    session.id if session else None,
                    station_of(device),
                    metrics.v,
                    metrics.a,
                    metrics.w,
                    kwh,
                    cost,
                    session.duration(now) if session else 0.0,
                ),
            )

    # -- commands and notices -------------------------------------------------------------

    @callback
    def send_session_command(self, device: DeviceRuntime, start: bool) -> None:
        """``start {session_id, user_name}`` or ``stop {session_id}`` to the charger."""
        if start and (session := device.active_session) is not None:
            self._to_device(device, encode_start(session.id, _user_name(session)))
        elif not start:
            last = device.last_session
            self._send_stop(device, last.id if last else None)

    @callback
    def session_changed(self, device: DeviceRuntime, session: Session) -> None:
        """``session_started`` / ``session_ended`` (and ``emergency``) to the dashboards."""
        if not device.clients or not isinstance(session.measure, ChargeMeasure):
            return
        station = station_of(device)
        if session.active:
            frame = encode_session_started(
                session.id, station, _user_name(session), session.started_at
            )
        else:
            frame = encode_session_ended(
                session.id,
                station,
                session.measure.energy.kwh,
                session.measure.cost.cost,
                session.duration(dt_util.utcnow()),
            )
        self._hub.broadcast(device, frame)

    def _send_stop(self, device: DeviceRuntime, session_id: int | None) -> None:
        if session_id is not None and device.link is not None:
            device.stops_sent.add(session_id)
        self._to_device(device, encode_stop(session_id))

    @callback
    def emergency_notice(self, device: DeviceRuntime, session_id: int | None) -> None:
        """Stop the charger at once and alert the dashboards."""
        self._send_stop(device, session_id)
        self._hub.broadcast(
            device, encode_emergency(station_of(device), session_id, dt_util.utcnow())
        )

    def _session_info(self, device: DeviceRuntime) -> SessionInfo | None:
        session = device.active_session
        if session is None or not isinstance(session.measure, ChargeMeasure):
            return None
        return SessionInfo(
            session_id=session.id,
            user_name=session.measure.user_name,
            kwh=session.measure.energy.kwh,
            cost=session.measure.cost.cost,
            time=session.duration(dt_util.utcnow()),
            started_at=session.started_at,
        )

    @staticmethod
    def _to_device(device: DeviceRuntime, frame: str) -> None:
        if device.link is not None:
            device.link.send_text(frame)


def _user_name(session: Session) -> str:
    """Who the charger shows: the card's or HA user's name (the seed always sends one)."""
    if isinstance(session.measure, ChargeMeasure) and session.measure.user_name:
        return session.measure.user_name
    return session.started_by.name or "Home Assistant"
