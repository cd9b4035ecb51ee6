"""One configured device as the hub runs it: identity, links, and the context its kind uses.

``DeviceRuntime`` is what a kind's handler sees as its ``KindContext`` and what entities are
bound to. It knows its kind only through ``kinds.base.Kind``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .const import (
    CONF_MQTT_ID,
    CONF_RECORD_INTERVAL,
    CONF_TRANSPORT,
    DEFAULT_RECORD_INTERVAL,
    DOMAIN,
    TRANSPORT_MQTT,
    TRANSPORT_WEBSOCKET,
    SessionStatus,
)
from .errors import ErrorKey, IotHubError
from .feed import FeedEvent, FeedKind, publish
from .kind import Kind, KindHandler
from .sessions import ActorRef, Session, SessionManager
from .signals import Update, signal_device_update, signal_entity_event, signal_new_entities
from .transport.link import Link


@dataclass(slots=True, eq=False)
class DeviceRuntime:
    """A configured device: identity from its subentry, live state from its connection."""

    id: str  # subentry id; also the HA device identifier
    name: str
    kind: Kind
    token_hash: str | None  # None for an MQTT device: the broker authenticates it
    data: Mapping[str, Any]
    hass: HomeAssistant
    entry: ConfigEntry[Any]
    sessions: SessionManager
    link: Link | None = None
    clients: set[Link] = field(default_factory=set)
    last_reading_at: datetime | None = None
    # Set by the hub for an MQTT device: publish (topic leaf, payload, retain).
    mqtt_publish: Callable[[str, str, bool], None] | None = None
    # The per-hub part of the device's kind (``Kind.per_hub``), if it has one.
    kind_part: Any = None
    # Set right after construction: the kind's handler needs this context to be built.
    handler: KindHandler = field(init=False)
    _signals: dict[Update, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Build the kind's handler for this device."""
        self._signals = {what: signal_device_update(self.id, what) for what in Update}
        self.handler = self.kind.create(self)

    @property
    def transport(self) -> str:
        """How the device reaches the hub: ``websocket`` or ``mqtt``."""
        return str(self.data.get(CONF_TRANSPORT, TRANSPORT_WEBSOCKET))

    @property
    def mqtt_id(self) -> str | None:
        """The ``<id>`` of an MQTT device's topics."""
        if self.transport != TRANSPORT_MQTT:
            return None
        return str(self.data[CONF_MQTT_ID])

    # -- what entities and the hub read ----------------------------------------------------

    @property
    def record_interval(self) -> float:
        """Seconds between two states a reading may write per entity (0: every reading)."""
        interval: float = self.data.get(CONF_RECORD_INTERVAL, DEFAULT_RECORD_INTERVAL)
        return interval

    @property
    def options(self) -> Mapping[str, Any]:
        """The hub entry's options."""
        return self.entry.options

    @property
    def connected(self) -> bool:
        """Whether the device itself (not an app) is connected now."""
        return self.link is not None

    @property
    def has_clients(self) -> bool:
        """Whether any app or dashboard watches the device."""
        return bool(self.clients)

    @property
    def active_session(self) -> Session | None:
        """The running session, if any."""
        return self.sessions.active(self.id)

    @property
    def last_session(self) -> Session | None:
        """The most recent finished session, if any."""
        return self.sessions.last_ended(self.id)

    def ha_device_id(self) -> str | None:
        """The device registry id of this device."""
        entry = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, self.id), self.entry.entry_id
        )
        return entry.id if entry else None

    # -- frames ----------------------------------------------------------------------------

    def send(self, frame: str) -> bool:
        """Send a frame to the device; False when it is not connected."""
        if self.link is None:
            return False
        self.link.send_text(frame)
        return True

    def broadcast(self, frame: str) -> None:
        """Send a frame to every client of the device."""
        for client in self.clients:
            client.send_text(frame)

    @callback
    def notify(self, what: Update) -> None:
        """Entities showing ``what`` should refresh."""
        async_dispatcher_send(self.hass, self._signals[what])

    def fire_entity_event(self, key: str, event_type: str, data: dict[str, Any]) -> None:
        """Trigger the device's event entity ``key``."""
        async_dispatcher_send(self.hass, signal_entity_event(self.id, key), event_type, data)

    @callback
    def publish(self, what: FeedKind, data: Mapping[str, Any], at: datetime | None = None) -> None:
        """Tell the hub's feed (event channels, bus events) what happened to this device."""
        publish(
            self.hass,
            self.entry.entry_id,
            FeedEvent(what, self.id, self.name, self.kind.key, at or dt_util.utcnow(), data),
        )

    # -- sessions --------------------------------------------------------------------------

    @callback
    def reading(self, at: datetime) -> Session | None:
        """A reading arrived: remember when, and return the session it belongs to."""
        self.last_reading_at = at
        return self.sessions.record(self.id, at)

    @callback
    def start_session(self, by: ActorRef, context: Context | None = None) -> Session:
        """Start a session and tell the device once it is on disk; raises ``IotHubError``."""
        if not self.kind.has_sessions:
            raise IotHubError(ErrorKey.NOT_A_SESSION_DEVICE, self.name)
        if not self.connected:
            raise IotHubError(ErrorKey.DEVICE_NOT_CONNECTED, self.name)
        self.handler.check_start()
        return self.sessions.start(
            self.id,
            self.name,
            self.kind.key,
            self.handler.new_measure(by),
            by,
            context,
            announce=lambda: self.handler.send_session_command(start=True),
        )

    @callback
    def stop_session(
        self,
        by: ActorRef,
        context: Context | None = None,
        status: SessionStatus = SessionStatus.STOPPED,
    ) -> Session:
        """Stop the active session; tell the device, if it is there, once the end is on disk.

        Raises ``IotHubError``.
        """
        if not self.kind.has_sessions:
            raise IotHubError(ErrorKey.NOT_A_SESSION_DEVICE, self.name)
        return self.sessions.stop(self.id, self.name, by, context, status, announce=self._told_stop)

    @callback
    def _told_stop(self) -> None:
        if self.connected:
            self.handler.send_session_command(start=False)

    # -- what a kind keeps -----------------------------------------------------------------

    def stored_state(self) -> dict[str, Any]:
        """What the kind kept for this device with the sessions (empty at first)."""
        return self.sessions.device_state(self.id)

    def keep_state(
        self,
        provide: Callable[[], dict[str, Any]],
        saved: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Keep what ``provide`` returns with the sessions; ``saved`` hears what is on disk."""
        self.sessions.keep_device_state(self.id, provide, saved)

    def state_changed(self, now: bool = False) -> None:
        """The kept state changed: write it soon (``now``: safety state, written at once)."""
        self.sessions.schedule_save(now=now)

    def subentries(self, subentry_type: str) -> list[ConfigSubentry]:
        """The hub's subentries of a type."""
        return self.entry.get_subentries_of_type(subentry_type)

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run a coroutine tied to the hub entry's life."""
        self.entry.async_create_task(self.hass, coro, name)

    def publish_config(self, payload: str) -> None:
        """Publish the configuration retained on ``<prefix>/<id>/config`` (MQTT devices)."""
        if self.mqtt_publish is not None:
            self.mqtt_publish("config", payload, True)

    def kind_hub(self) -> Any:
        """The per-hub part of the device's kind, if it has one."""
        return self.kind_part

    @callback
    def new_entities(self) -> None:
        """The handler revealed new entities: the platforms add them."""
        async_dispatcher_send(self.hass, signal_new_entities(self.id))
