"""The hub: one per config entry. Owns devices, their links and live state, and sessions.

Transports hand it authenticated links and text frames; the device's kind handler (``oven.py``)
decodes them and applies them here; entities learn about changes through dispatcher signals.
"""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import TYPE_CHECKING, Protocol

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util.signal_type import SignalType

from .const import (
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_RESUME_GRACE,
    CONF_STATION_ID,
    CONF_TOKEN_HASH,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_RESUME_GRACE,
    DOMAIN,
    SUBENTRY_DEVICE,
    CloseCode,
    DeviceKind,
)
from .models import DeviceRuntime, Update
from .session_model import ActorRef, Session
from .sessions import SessionError, SessionManager
from .tokens import hash_token

if TYPE_CHECKING:
    from .transport.link import Link

_LOGGER = logging.getLogger(__name__)

type IotHubConfigEntry = ConfigEntry[Hub]


def signal_device_update(device_id: str, what: Update) -> SignalType[()]:
    """Signal sent when one kind of thing of one device changed.

    One signal per kind: a reading (many a second) wakes only the entities that show it.
    """
    return SignalType(f"{DOMAIN}_device_update_{device_id}_{what}")


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
        self._handlers: dict[DeviceKind, KindHandler] = {DeviceKind.OVEN: OvenHandler(self)}
        for subentry in entry.get_subentries_of_type(SUBENTRY_DEVICE):
            self._add_device(subentry)

    async def async_setup(self) -> None:
        """Load stored sessions."""
        await self.sessions.async_load()

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

    @callback
    def async_sync_subentries(self) -> None:
        """Apply added, removed, renamed and re-tokened device subentries without a reload."""
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
        session = self.sessions.start(device.id, device.name, device.kind, by, context)
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
