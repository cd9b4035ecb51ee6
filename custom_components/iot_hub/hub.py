"""The hub: one per config entry. Owns devices, their links and live state, and sessions.

Transports hand it authenticated links and text frames; the device's kind handler (``oven.py``)
decodes them and applies them here; entities learn about changes through dispatcher signals.
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import TYPE_CHECKING, Protocol

from homeassistant.components import persistent_notification, tag
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util.signal_type import SignalType

from .const import (
    CONF_CARD_UID,
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_RESUME_GRACE,
    CONF_STATION_ID,
    CONF_TOKEN_HASH,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_RESUME_GRACE,
    DOMAIN,
    EVENT_EMERGENCY,
    EVENT_NFC_SCAN,
    SUBENTRY_CARD,
    SUBENTRY_DEVICE,
    Actor,
    CloseCode,
    DeviceKind,
    SessionStatus,
)
from .models import DeviceRuntime, Update
from .protocol.charger import Metrics
from .session_model import ActorRef, ChargeMeasure, Session, new_measure
from .sessions import SessionError, SessionManager
from .tokens import hash_token

if TYPE_CHECKING:
    from .transport.link import Link

_LOGGER = logging.getLogger(__name__)

type IotHubConfigEntry = ConfigEntry[Hub]


def signal_card_scanned(device_id: str) -> SignalType[str, str | None]:
    """Signal sent for every card scanned at a charger: its uid and user (None: rejected)."""
    return SignalType(f"{DOMAIN}_card_scanned_{device_id}")


def signal_device_update(device_id: str, what: Update) -> SignalType[()]:
    """Signal sent when one kind of thing of one device changed.

    One signal per kind: a reading (many a second) wakes only the entities that show it.
    """
    return SignalType(f"{DOMAIN}_device_update_{device_id}_{what}")


def normalise_uid(uid: str) -> str:
    """Card uids compare without case or surrounding blanks (readers differ in both)."""
    return uid.strip().upper()


def emergency_notification_id(device_id: str) -> str:
    """The persistent notification of a device's emergency stop."""
    return f"{DOMAIN}_emergency_{device_id}"


def signal_device_added(entry_id: str) -> SignalType[DeviceRuntime]:
    """Signal sent when a device subentry was added after setup."""
    return SignalType(f"{DOMAIN}_device_added_{entry_id}")


class KindHandler(Protocol):
    """What a device kind (oven, charger, ...) implements on top of the hub."""

    def on_device_text(self, device: DeviceRuntime, text: str) -> None:
        """A text frame from the device."""

    def on_client_text(self, device: DeviceRuntime, link: Link, actor: ActorRef, text: str) -> None:
        """A text frame from an app/dashboard client of the device."""

    def send_session_command(self, device: DeviceRuntime, start: bool) -> None:
        """Tell the device a session started or stopped."""

    def session_changed(self, device: DeviceRuntime, session: Session) -> None:
        """Tell the device's clients a session started or ended."""

    def device_attached(self, device: DeviceRuntime) -> None:
        """The device (re)connected: greet it as its protocol expects."""

    def client_attached(self, device: DeviceRuntime, link: Link) -> None:
        """A client subscribed: greet it, and ask the device to sync if the protocol has that."""


class Hub:
    """State of every device of one config entry."""

    def __init__(self, hass: HomeAssistant, entry: IotHubConfigEntry) -> None:
        """Build the hub from the entry's subentries; call ``async_setup`` next."""
        # Imported here: oven.py needs Hub for typing, and kinds register against the hub.
        from .charger import ChargerHandler
        from .oven import OvenHandler

        self.hass = hass
        self.entry = entry
        self.sessions = SessionManager(
            hass,
            entry.entry_id,
            history_size=entry.options.get(CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE),
            resume_grace=timedelta(
                seconds=entry.options.get(CONF_RESUME_GRACE, DEFAULT_RESUME_GRACE)
            ),
            ha_device_id=self.ha_device_id,
            on_change=self._session_changed,
        )
        self.devices: dict[str, DeviceRuntime] = {}
        self._by_token_hash: dict[str, DeviceRuntime] = {}
        self._charger = ChargerHandler(self)
        self._handlers: dict[DeviceKind, KindHandler] = {
            DeviceKind.OVEN: OvenHandler(self),
            DeviceKind.CHARGER: self._charger,
        }
        for subentry in entry.get_subentries_of_type(SUBENTRY_DEVICE):
            self._add_device(subentry)
        self.cards: dict[str, str] = {}  # normalised uid -> the card user's name
        self._load_cards()

    async def async_setup(self) -> None:
        """Load stored sessions, and forget those of devices removed while HA was stopped."""
        await self.sessions.async_load()
        for device_id in self.sessions.device_ids() - self.devices.keys():
            self.sessions.forget_device(device_id)

    async def async_shutdown(self) -> None:
        """Close every connection and write sessions (unload)."""
        self.close_connections("iot_hub is unloading")
        await self.sessions.async_shutdown()

    @callback
    def close_connections(self, reason: str) -> None:
        """Close every device and client connection with 1001 (going away)."""
        for device in self.devices.values():
            self._close_all(device, CloseCode.UNLOADING, reason)

    # -- devices ---------------------------------------------------------------------------

    def _add_device(self, subentry: ConfigSubentry) -> DeviceRuntime:
        device = DeviceRuntime(
            id=subentry.subentry_id,
            name=subentry.title,
            kind=DeviceKind(subentry.data[CONF_KIND]),
            token_hash=subentry.data[CONF_TOKEN_HASH],
            sessions=self.sessions,
            station_id=subentry.data.get(CONF_STATION_ID),
        )
        self.devices[device.id] = device
        self._by_token_hash[device.token_hash] = device
        return device

    def _load_cards(self) -> None:
        self.cards = {
            normalise_uid(sub.data[CONF_CARD_UID]): sub.title
            for sub in self.entry.get_subentries_of_type(SUBENTRY_CARD)
        }

    @callback
    def async_sync_subentries(self) -> None:
        """Apply added, removed, renamed and re-tokened subentries without a reload."""
        self._load_cards()
        current = {s.subentry_id: s for s in self.entry.get_subentries_of_type(SUBENTRY_DEVICE)}
        for device_id in self.devices.keys() - current.keys():
            device = self.devices.pop(device_id)
            del self._by_token_hash[device.token_hash]
            self._close_all(device, CloseCode.DEVICE_REMOVED, "device removed from iot_hub")
            self.sessions.forget_device(device_id)
            _LOGGER.info("Device %s removed", device.name)
        for device_id, subentry in current.items():
            if (existing := self.devices.get(device_id)) is None:
                added = self._add_device(subentry)
                async_dispatcher_send(self.hass, signal_device_added(self.entry.entry_id), added)
                continue
            device = existing
            if device.name != subentry.title:
                device.name = subentry.title
                if (ha_id := self.ha_device_id(device.id)) is not None:
                    dr.async_get(self.hass).async_update_device(ha_id, name=device.name)
            device.station_id = subentry.data.get(CONF_STATION_ID)
            if subentry.data[CONF_TOKEN_HASH] != device.token_hash:
                # A rotated token: the old one must stop working at once.
                del self._by_token_hash[device.token_hash]
                device.token_hash = subentry.data[CONF_TOKEN_HASH]
                self._by_token_hash[device.token_hash] = device
                if device.link is not None:
                    device.link.close(CloseCode.INVALID_TOKEN, "token rotated")

    def device_for_token(self, token: str) -> DeviceRuntime | None:
        """The device this token belongs to (looked up by digest, not compared in clear)."""
        return self._by_token_hash.get(hash_token(token))

    def device_for_client(self, selector: str | None) -> DeviceRuntime | int:
        """The device an app client asked for (name, id or HA device id), or a close code.

        Without a selector the only session-capable device is chosen, as the legacy
        single-oven server did.
        """
        if selector is None:
            candidates = list(self.devices.values())
            if len(candidates) == 1:
                return candidates[0]
            return CloseCode.DEVICE_NOT_CHOSEN if candidates else CloseCode.UNKNOWN_DEVICE
        wanted = selector.casefold()
        for device in self.devices.values():
            if wanted in (device.id.casefold(), device.name.casefold()) or (
                selector == self.ha_device_id(device.id)
            ):
                return device
        return CloseCode.UNKNOWN_DEVICE

    def device_for_station(self, station_id: str) -> DeviceRuntime | int:
        """The charger with this ``estacionId``, or the seed's 4005 (unknown station)."""
        for device in self.devices.values():
            if device.station_id == station_id:
                return device
        return CloseCode.UNKNOWN_DEVICE

    def ha_device_id(self, device_id: str) -> str | None:
        """The device registry id of an iot_hub device."""
        entry = dr.async_get(self.hass).async_get_device_by_identifier(
            (DOMAIN, device_id), self.entry.entry_id
        )
        return entry.id if entry else None

    def device_for_ha_device(self, ha_device_id: str) -> DeviceRuntime | None:
        """The iot_hub device behind a device registry id."""
        entry = dr.async_get(self.hass).async_get(ha_device_id)
        if entry is None:
            return None
        for domain, identifier in entry.identifiers:
            if domain == DOMAIN and (device := self.devices.get(identifier)) is not None:
                return device
        return None

    # -- links -----------------------------------------------------------------------------

    @callback
    def attach_device(self, device: DeviceRuntime, link: Link) -> None:
        """The device connected; a newer connection replaces an older one."""
        if (old := device.link) is not None:
            _LOGGER.info(
                "%s connected again from %s; closing the older connection", device.name, link.peer
            )
            old.close(CloseCode.REPLACED, "replaced by a newer connection")
        else:
            _LOGGER.info("%s is connected (%s)", device.name, link.peer)
        device.link = link
        device.stops_sent.clear()
        self.sessions.device_returned(device.id)
        self._handlers[device.kind].device_attached(device)
        self._notify(device, Update.CONNECTION)

    @callback
    def detach_device(self, device: DeviceRuntime, link: Link) -> None:
        """The device's connection ended (ignored if a newer one already replaced it)."""
        if device.link is not link:
            return
        device.link = None
        _LOGGER.info("%s is disconnected", device.name)
        self._notify(device, Update.CONNECTION)

    @callback
    def attach_client(self, device: DeviceRuntime, link: Link) -> None:
        """An app/dashboard client subscribed to the device."""
        device.clients.add(link)
        self._handlers[device.kind].client_attached(device, link)

    @callback
    def detach_client(self, device: DeviceRuntime, link: Link) -> None:
        """An app/dashboard client went away."""
        device.clients.discard(link)

    def _close_all(self, device: DeviceRuntime, code: int, reason: str) -> None:
        for link in (device.link, *device.clients):
            if link is not None:
                link.close(code, reason)
        device.link = None
        device.clients.clear()

    # -- frames ----------------------------------------------------------------------------

    @callback
    def handle_device_text(self, device: DeviceRuntime, link: Link, text: str) -> None:
        """A text frame from the device; frames still arriving on a replaced link are dropped.

        A replaced connection may still deliver a few frames before its close lands; applying
        them would mix an old socket's readings (and its error replies) into the new one's.
        """
        if device.link is link:
            self._handlers[device.kind].on_device_text(device, text)

    @callback
    def handle_client_text(
        self, device: DeviceRuntime, link: Link, actor: ActorRef, text: str
    ) -> None:
        """A text frame from an app/dashboard client."""
        self._handlers[device.kind].on_client_text(device, link, actor, text)

    @callback
    def broadcast(self, device: DeviceRuntime, text: str) -> None:
        """Send a frame to every client of the device."""
        for client in device.clients:
            client.send_text(text)

    # -- sessions --------------------------------------------------------------------------

    @callback
    def start_session(
        self, device: DeviceRuntime, by: ActorRef, context: Context | None = None
    ) -> Session:
        """Start a session and tell the device; raises ``SessionError``."""
        if not device.connected:
            raise SessionError("device_not_connected", device.name)
        if device.emergency:
            raise SessionError("emergency_active", device.name)
        session = self.sessions.start(
            device.id, device.name, new_measure(device.kind, by), by, context
        )
        self._handlers[device.kind].send_session_command(device, start=True)
        return session

    @callback
    def stop_session(
        self, device: DeviceRuntime, by: ActorRef, context: Context | None = None
    ) -> Session:
        """Stop the active session and tell the device if it is there; raises ``SessionError``."""
        session = self.sessions.stop(device.id, device.name, by, context)
        if device.connected:
            self._handlers[device.kind].send_session_command(device, start=False)
        return session

    # -- chargers ----------------------------------------------------------------------------

    def card_actor(self, device: DeviceRuntime, uid: str) -> ActorRef:
        """The actor for an authorised card; ``SessionError`` for any other (default reject)."""
        if (user := self.cards.get(normalise_uid(uid))) is None:
            raise SessionError("card_rejected", device.name)
        return ActorRef(Actor.CARD, None, user, uid)

    @callback
    def card_scanned(self, device: DeviceRuntime, uid: str) -> None:
        """Every scan, repeats included: an HA event, and HA's tag integration when loaded."""
        user = self.cards.get(normalise_uid(uid))
        ha_device_id = self.ha_device_id(device.id)
        self.hass.bus.async_fire(
            EVENT_NFC_SCAN,
            {
                "device_id": ha_device_id,
                "device_name": device.name,
                "uid": uid,
                "authorised": user is not None,
                "user_name": user,
            },
        )
        async_dispatcher_send(self.hass, signal_card_scanned(device.id), uid, user)
        if "tag" in self.hass.config.components:
            self.entry.async_create_task(
                self.hass, tag.async_scan_tag(self.hass, uid, ha_device_id), f"{DOMAIN} tag scan"
            )

    def price_now(self) -> float | None:
        """The energy price in force: the live price sensor's state, else the fixed price."""
        options = self.entry.options
        if (entity_id := options.get(CONF_PRICE_ENTITY)) is not None:
            state = self.hass.states.get(entity_id)
            try:
                return float(state.state) if state is not None else None
            except ValueError:
                return None  # unknown/unavailable: that energy stays uncosted
        price = options.get(CONF_PRICE)
        return float(price) if price is not None else None

    @callback
    def meter(
        self, device: DeviceRuntime, measure: ChargeMeasure, ts: float, metrics: Metrics
    ) -> None:
        """Fold a charger's metrics into its session: energy, cost, and the lifetime total."""
        added = 0.0
        if metrics.energy_kwh is not None:
            added += measure.energy.add_energy_reading(ts, metrics.energy_kwh)
        # In counter mode a power sample only keeps the peak; otherwise it adds energy.
        added += measure.energy.add_power_sample(ts, metrics.power)
        if added > 0:
            cost = measure.add(added, self.price_now())
            self.sessions.add_energy(device.id, added, cost)

    @callback
    def emergency(self, device: DeviceRuntime) -> None:
        """Emergency stop: end the session, stop the charger, latch, alert the user."""
        session = device.active_session
        if session is not None:
            self.sessions.stop(
                device.id, device.name, ActorRef(Actor.DEVICE), None, SessionStatus.EMERGENCY
            )
        self.sessions.set_emergency(device.id, latched=True)
        self._charger.emergency_notice(device, session.id if session else None)
        _LOGGER.warning("Emergency stop on %s", device.name)
        self.hass.bus.async_fire(
            EVENT_EMERGENCY,
            {
                "device_id": self.ha_device_id(device.id),
                "device_name": device.name,
                "session_id": session.id if session else None,
            },
        )
        persistent_notification.async_create(
            self.hass,
            f"{device.name} reported an emergency stop. It cannot charge again until you clear"
            " the emergency (its Clear emergency button or the iot_hub.clear_emergency action).",
            f"Emergency stop: {device.name}",
            emergency_notification_id(device.id),
        )
        self._notify(device, Update.SESSION)

    @callback
    def clear_emergency(self, device: DeviceRuntime) -> None:
        """The user checked the charger: it may charge again."""
        if not device.emergency:
            raise SessionError("no_emergency", device.name)
        self.sessions.set_emergency(device.id, latched=False)
        persistent_notification.async_dismiss(self.hass, emergency_notification_id(device.id))
        _LOGGER.info("Emergency of %s cleared", device.name)
        self._notify(device, Update.SESSION)

    @callback
    def _session_changed(self, device_id: str) -> None:
        if (device := self.devices.get(device_id)) is None:
            return
        if (session := device.active_session or device.last_session) is not None:
            self._handlers[device.kind].session_changed(device, session)
        self._notify(device, Update.SESSION)

    @callback
    def notify_reading(self, device: DeviceRuntime) -> None:
        """Entities showing readings should refresh."""
        self._notify(device, Update.READING)

    def _notify(self, device: DeviceRuntime, what: Update) -> None:
        async_dispatcher_send(self.hass, signal_device_update(device.id, what))
