"""What a device kind is, what it may use of the hub, and what transports hand it.

A kind (oven, charger, ...) is one package under ``kinds/`` that exports one ``Kind``: its
handler (one per device: frames in, frames out, live state), its session measure, its entity
descriptions, its extra config-flow fields, its connection routes, its wire errors and its
logbook summary. The hub gives each handler a ``KindContext`` for its device and knows kinds
only through these types; ``kinds/__init__.py`` is the one list of kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from homeassistant.config_entries import ConfigSubentry, ConfigSubentryFlow
from homeassistant.const import Platform
from homeassistant.core import Context, HomeAssistant

from .const import DOMAIN, SessionStatus
from .errors import ErrorKey, IotHubError
from .feed import FeedKind
from .sessions import ActorRef, Measure, Session, SessionManager
from .signals import Update

if TYPE_CHECKING:
    from .descriptions import IotHubEntityDescription
    from .transport.link import Link


class Source(StrEnum):
    """Which end of a device's protocol a frame came from."""

    DEVICE = "device"  # the device itself (authenticated by its token)
    CLIENT = "client"  # an app or dashboard of the device (an HA user)


class Inbound(NamedTuple):
    """One frame for a device's kind, whatever carried it (WebSocket, MQTT, HTTP POST).

    ``link`` is where replies go: the peer's connection, or a one-shot link that collects
    them for an HTTP response. ``actor`` is the client's user; None for the device.
    One is built per frame: a named tuple costs a fraction of a frozen dataclass's
    ``__init__``, and is as immutable.
    """

    source: Source
    text: str
    link: Link
    actor: ActorRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """What a kind makes of a connection's query (``?role=...&estacionId=...``).

    ``refusal``: the query itself is wrong (close code, reason). ``devices``/``clients``:
    whether a device token / an HA user may connect this way. ``admits``: whether a device
    that presented its token may use this route (``mismatch`` says why not). ``chooses``:
    which device of the kind a client wants (None: named by ``?device=``, or the only one).
    """

    kind: str
    refusal: tuple[int, str] | None = None
    devices: bool = True
    clients: bool = True
    admits: Callable[[KindContext], bool] | None = None
    mismatch: str = "token belongs to another device"
    chooses: Callable[[KindContext], bool] | None = None


class KindContext(Protocol):
    """What a kind's handler may use of the hub, for its one device."""

    id: str  # the device's subentry id (stable across renames)
    name: str
    data: Mapping[str, Any]  # the device subentry's data (kind fields included)
    last_reading_at: datetime | None

    @property
    def hass(self) -> HomeAssistant:
        """Home Assistant."""

    @property
    def options(self) -> Mapping[str, Any]:
        """The hub entry's options (prices and the like)."""

    @property
    def sessions(self) -> SessionManager:
        """The hub's sessions (for what ``start_session``/``stop_session`` don't cover)."""

    @property
    def connected(self) -> bool:
        """Whether the device itself is connected now."""

    @property
    def has_clients(self) -> bool:
        """Whether any app or dashboard watches the device."""

    @property
    def active_session(self) -> Session | None:
        """The running session, if any."""

    @property
    def last_session(self) -> Session | None:
        """The most recent finished session, if any."""

    def send(self, frame: str) -> bool:
        """Send a frame to the device; False when it is not connected."""

    def broadcast(self, frame: str) -> None:
        """Send a frame to every client of the device."""

    def notify(self, what: Update) -> None:
        """Tell the entities that show ``what`` to refresh."""

    def reading(self, at: datetime) -> Session | None:
        """A reading arrived at ``at``: the active session it belongs to, if any."""

    def start_session(self, by: ActorRef, context: Context | None = None) -> Session:
        """Start a session; the device is told once it is on disk. Raises ``IotHubError``."""

    def stop_session(
        self,
        by: ActorRef,
        context: Context | None = None,
        status: SessionStatus = SessionStatus.STOPPED,
    ) -> Session:
        """Stop the active session and tell the device; raises ``IotHubError``."""

    def ha_device_id(self) -> str | None:
        """The device's id in HA's device registry."""

    def fire_entity_event(self, key: str, event_type: str, data: dict[str, Any]) -> None:
        """Trigger the device's event entity ``key``."""

    def publish(self, what: FeedKind, data: Mapping[str, Any], at: datetime | None = None) -> None:
        """Tell the hub's feed (event channels, bus events) what happened to the device."""

    def stored_state(self) -> dict[str, Any]:
        """What the kind kept for this device with the sessions (empty at first)."""

    def keep_state(
        self,
        provide: Callable[[], dict[str, Any]],
        saved: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Keep what ``provide`` returns with the sessions from now on.

        ``saved`` is given what was written, once it is on disk (to show only what a crash
        cannot take back).
        """

    def state_changed(self, now: bool = False) -> None:
        """The kept state changed: write it soon.

        ``now``: it is safety state (an emergency latch): written at once, in a Store of its
        own that survives the loss of the sessions file.
        """

    def subentries(self, subentry_type: str) -> list[ConfigSubentry]:
        """The hub's subentries of a type (a kind's own, such as a charger's cards)."""

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run a coroutine tied to the hub entry's life."""

    def publish_config(self, payload: str) -> None:
        """Publish the device's configuration where it reads it on boot.

        Over MQTT: retained on ``<prefix>/<id>/config``. A WebSocket device has no such
        place: nothing is sent.
        """

    def kind_hub(self) -> Any:
        """The per-hub part of the device's kind (``Kind.per_hub``), if it has one."""

    def new_entities(self) -> None:
        """The handler has new dynamic descriptions (a parameter seen the first time)."""


class HubContext(Protocol):
    """What the per-hub part of a kind may use of the hub."""

    @property
    def hass(self) -> HomeAssistant:
        """Home Assistant."""

    @property
    def entry_id(self) -> str:
        """The hub's config entry id."""

    @property
    def options(self) -> Mapping[str, Any]:
        """The hub entry's options."""

    def devices_of(self, kind: str) -> list[KindContext]:
        """The hub's devices of one kind."""

    def device(self, device_id: str) -> KindContext | None:
        """The device with this subentry id."""

    def heard_by_post(self, device: KindContext) -> None:
        """A device posted a reading: present until the silence timeout passes without one."""

    def device_by_mqtt_id(self, mqtt_id: str) -> KindContext | None:
        """The device whose topics carry ``mqtt_id``."""

    def subentries(self, subentry_type: str) -> list[ConfigSubentry]:
        """The hub's subentries of a type."""

    def add_device(
        self, title: str, data: Mapping[str, Any], unique_id: str | None
    ) -> KindContext | None:
        """Add a device subentry (as a claim does) and return the running device."""

    def update_device(self, device: KindContext, title: str, data: Mapping[str, Any]) -> None:
        """Change a device's subentry (name, data) and apply it at once."""


class KindHub:
    """The part of a kind that lives once per hub (the appliances' directory).

    It hears the MQTT messages of devices nobody added yet, for kinds that discover them.
    """

    def __init__(self, hub: HubContext) -> None:
        """Bind to the hub."""
        self.hub = hub

    async def async_setup(self) -> None:
        """Load what it keeps (before the hub's devices are added)."""

    async def async_shutdown(self) -> None:
        """Write what it keeps (unload)."""

    def unknown_mqtt_device(self, mqtt_id: str | None, payload: str) -> None:
        """A message from a device the hub does not have (``mqtt_id`` None: legacy topic)."""

    def options_changed(self) -> None:
        """The hub's options changed."""

    def diagnostics(self) -> dict[str, Any]:
        """What it keeps, for diagnostics (redacted by the caller)."""
        return {}


def loaded_kind_hub[T: KindHub](hass: HomeAssistant, kind: str, cls: type[T]) -> T | None:
    """The per-hub part of ``kind`` in the loaded hub, if any (what its HTTP views serve)."""
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        part = getattr(entry.runtime_data, "kind_parts", {}).get(kind)
        if isinstance(part, cls):
            return part
    return None


class KindHandler:
    """One device's behaviour; a kind subclasses it and overrides what its protocol needs."""

    def __init__(self, device: KindContext) -> None:
        """Bind to the device's context."""
        self.device = device

    def receive(self, inbound: Inbound) -> None:
        """A frame from the device or one of its clients."""

    def device_attached(self) -> None:
        """The device (re)connected: greet it as its protocol expects.

        The hub then sends ``send_session_command(start=True)`` if a session is running.
        """

    def client_attached(self, link: Link) -> None:
        """A client subscribed: greet it as its protocol expects."""

    def check_start(self) -> None:
        """Raise ``IotHubError`` when a session must not start now (beyond the hub's rules)."""

    def starter(self, actor: ActorRef, user_name: str | None, card: str | None) -> ActorRef:
        """Who a session started by an action is for: ``actor``, under ``user_name`` if given.

        ``card`` is for kinds that know cards (a charger checks it like a scan).
        """
        if card is not None:
            raise IotHubError(ErrorKey.NOT_SUPPORTED, self.device.name)
        if user_name is not None:
            return ActorRef(actor.kind, actor.user_id, user_name)
        return actor

    def new_measure(self, by: ActorRef) -> Measure:
        """What a new session of this device measures (kinds with sessions override it)."""
        raise NotImplementedError

    def send_session_command(self, start: bool) -> None:
        """Tell the device a session started or stopped."""

    def session_changed(self, session: Session) -> None:
        """Tell the device's clients a session started or ended."""

    def diagnostics(self) -> dict[str, Any]:
        """The device's live state for diagnostics (redacted by the caller)."""
        return {}

    def registry_info(self) -> dict[str, str | None]:
        """What the device registry shows beyond the kind's model (a serial, a model)."""
        return {}

    def dynamic_descriptions(self, platform: Platform) -> Sequence[IotHubEntityDescription]:
        """Entities the device revealed itself (a parameter key), beyond the kind's own."""
        return ()

    def config_changed(self) -> None:
        """The device's subentry data changed (a reconfigure, a claim's edit)."""

    def unload(self) -> None:
        """The device was removed or the hub unloads: stop what the handler listens to."""

    def mqtt_ready(self) -> None:
        """An MQTT device can publish now (``publish_config``): send what it must hold."""


class SubentryFields(Protocol):
    """Extra fields a kind asks for when a device is added or reconfigured."""

    def schema(self, current: Mapping[str, Any] | None) -> dict[Any, Any]:
        """The fields (probatio markers to selectors); ``current`` holds the saved values."""

    def suggested(self, others: Sequence[ConfigSubentry]) -> dict[str, Any]:
        """Suggested values for a new device, given the hub's other devices."""

    def validate(
        self,
        user_input: Mapping[str, Any],
        others: Sequence[ConfigSubentry],
        current: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The data to store and the form's errors (field -> translation key).

        ``current``: the device's saved data when it is reconfigured (None when added).
        """

    def current_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """What a reconfigure form shows as entered (fields without a saved default)."""

    def device_query(self, data: Mapping[str, Any]) -> str:
        """Query parameters the firmware's URL adds before the token (``a=1&b=2&``)."""


class OptionFields(Protocol):
    """Hub options a kind adds to the options flow (a charger's energy price)."""

    def schema(self, options: Mapping[str, Any], hass: HomeAssistant) -> dict[Any, Any]:
        """The fields, showing the saved ``options``."""

    def clean(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """The options to save from what the user entered."""


def _no_route(_query: Mapping[str, str]) -> Route | None:
    return None


@dataclass(frozen=True, kw_only=True)
class Kind:
    """Everything iot_hub knows of one kind of device; registered in ``kinds/__init__.py``."""

    key: str  # stored in the device subentry; never changes
    model: str  # the device registry's model
    create: Callable[[KindContext], KindHandler]
    # Sessions: how a stored measure is read back (None: the kind has no sessions).
    load_measure: Callable[[dict[str, Any]], Measure] | None = None
    entities: Mapping[Platform, Sequence[IotHubEntityDescription]] = field(default_factory=dict)
    # A connection's query parameters that this kind claims (seed 002's role/estacionId).
    route: Callable[[Mapping[str, str]], Route | None] = _no_route
    # Whether an app that connects with no parameters (seed 000's) talks to this kind.
    plain_clients: bool = False
    fields: SubentryFields | None = None
    options: OptionFields | None = None
    subentry_flows: Mapping[str, type[ConfigSubentryFlow]] = field(default_factory=dict)
    # Actions of this kind alone (``iot_hub.<name>``, targeting a device): name -> what the
    # device's handler does; refusals raise ``IotHubError``.
    actions: Mapping[str, Callable[[Any], object]] = field(default_factory=dict)
    # The error frame for a peer (device or client) that met ``ErrorKey``.
    wire_error: Callable[[Source, ErrorKey], str]
    errors: frozenset[ErrorKey] = frozenset()  # keys beyond the sessions' and transports'
    logbook_summary: Callable[[dict[str, Any]], str] | None = None
    # Diagnostics keys that hold secrets of this kind (card uids and the like).
    redact: frozenset[str] = frozenset()
    # Frames per second one device may sustain (bursts of twice that); None: the transports'
    # default (50/s, bursts of 100). Wearables sample at 50 Hz and more.
    max_rate: float | None = None
    # How its devices may reach the hub: "websocket" and/or "mqtt" (the first is the default).
    transports: tuple[str, ...] = ("websocket",)
    # The part of the kind that lives once per hub (None: the kind has none).
    per_hub: Callable[[HubContext], KindHub] | None = None
    # The serial an MQTT message on the legacy topic names, for kinds that take such topics.
    mqtt_id_of: Callable[[str], str | None] | None = None
    # What lives once per HA run (HTTP views, websocket_api commands); registered at setup.
    register: Callable[[HomeAssistant], None] | None = None

    @property
    def has_sessions(self) -> bool:
        """Whether devices of this kind run sessions."""
        return self.load_measure is not None
