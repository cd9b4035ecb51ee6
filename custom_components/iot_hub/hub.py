"""The hub: one per config entry. Owns devices, their tokens and links, routing and sessions.

Transports hand it authenticated links and ``Inbound`` frames; it routes each frame to the
device's kind handler, which decodes it and acts through its ``KindContext`` (``device.py``).
The hub knows kinds only through ``kinds.base``: the list of kinds is given to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
import logging
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import capacity
from .const import (
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_MQTT_SILENCE,
    CONF_RESUME_GRACE,
    CONF_TOKEN_HASH,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_MQTT_SILENCE,
    DEFAULT_RESUME_GRACE,
    DOMAIN,
    SUBENTRY_DEVICE,
    CloseCode,
)
from .device import DeviceRuntime
from .errors import ErrorKey
from .feed import FeedKind
from .hub_mqtt import HubMqtt
from .kind import Inbound, Kind, KindContext, KindHub, Route, Source
from .posted import PostedDevices
from .sessions import Measure, SessionManager
from .signals import Update, signal_device_added
from .tokens import hash_token
from .transport.link import Link

_LOGGER = logging.getLogger(__name__)

type IotHubConfigEntry = ConfigEntry[Hub]

QUERY_DEVICE = "device"  # how an app without a kind's route names its device


class Hub:
    """State of every device of one config entry."""

    def __init__(
        self, hass: HomeAssistant, entry: IotHubConfigEntry, kinds: Sequence[Kind]
    ) -> None:
        """Build an empty hub; ``async_setup`` loads sessions and adds the devices."""
        self.hass = hass
        self.entry = entry
        self.kinds: Mapping[str, Kind] = {kind.key: kind for kind in kinds}
        self.sessions = SessionManager(
            hass,
            entry.entry_id,
            history_size=entry.options.get(CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE),
            resume_grace=timedelta(
                seconds=entry.options.get(CONF_RESUME_GRACE, DEFAULT_RESUME_GRACE)
            ),
            load_measure=self._load_measure,
            ha_device_id=self.ha_device_id,
            on_change=self._session_changed,
        )
        self.devices: dict[str, DeviceRuntime] = {}
        self._by_token_hash: dict[str, DeviceRuntime] = {}
        self._by_mqtt_id: dict[str, DeviceRuntime] = {}
        # The per-hub parts of kinds (the appliances' directory), by kind key.
        self.kind_parts: dict[str, KindHub] = {
            kind.key: kind.per_hub(self) for kind in kinds if kind.per_hub is not None
        }
        self.mqtt = HubMqtt(self)
        self.posted = PostedDevices(hass, self.attach_device, self.detach_device)

    def _load_measure(self, kind: str, data: dict[str, Any]) -> Measure:
        load = self.kinds[kind].load_measure
        assert load is not None  # only kinds with sessions store any
        return load(data)

    async def async_setup(self) -> None:
        """Load sessions, add the devices, forget those removed while HA was stopped."""
        await self.sessions.async_load()
        for part in self.kind_parts.values():
            await part.async_setup()
        for subentry in self.entry.get_subentries_of_type(SUBENTRY_DEVICE):
            self._add_device(subentry)
        for device_id in self.sessions.device_ids() - self.devices.keys():
            self.sessions.forget_device(device_id)
        capacity.check(self.hass, self.entry, self.kinds)
        await self.mqtt.async_start()

    async def async_shutdown(self) -> None:
        """Close every connection, disconnect MQTT and write what is kept (unload)."""
        self.close_connections("iot_hub is unloading")
        self.posted.stop()
        for device in self.devices.values():
            device.handler.unload()
        await self.mqtt.async_stop()
        for part in self.kind_parts.values():
            await part.async_shutdown()
        await self.sessions.async_shutdown()

    @callback
    def close_connections(self, reason: str) -> None:
        """Close every device and client connection with 1001 (going away)."""
        for device in self.devices.values():
            _close_all(device, CloseCode.UNLOADING, reason)

    # -- devices ---------------------------------------------------------------------------

    def _add_device(self, subentry: ConfigSubentry) -> DeviceRuntime | None:
        if (kind := self.kinds.get(subentry.data[CONF_KIND])) is None:
            _LOGGER.error(
                "Device %s is of a kind this version does not know (%s)",
                subentry.title,
                subentry.data[CONF_KIND],
            )
            return None
        device = DeviceRuntime(
            id=subentry.subentry_id,
            name=subentry.title,
            kind=kind,
            token_hash=subentry.data.get(CONF_TOKEN_HASH),
            data=subentry.data,
            hass=self.hass,
            entry=self.entry,
            sessions=self.sessions,
            kind_part=self.kind_parts.get(kind.key),
        )
        self.devices[device.id] = device
        if device.token_hash is not None:
            self._by_token_hash[device.token_hash] = device
        if device.mqtt_id is not None:
            self._by_mqtt_id[device.mqtt_id] = device
            self.mqtt.bind(device)
        return device

    def _remove_device(self, device: DeviceRuntime) -> None:
        if device.token_hash is not None:
            del self._by_token_hash[device.token_hash]
        if device.mqtt_id is not None:
            self._by_mqtt_id.pop(device.mqtt_id, None)
        _close_all(device, CloseCode.DEVICE_REMOVED, "device removed from iot_hub")
        device.handler.unload()
        if device.mqtt_publish is not None:
            # A retained configuration would outlive the device's entry: clear it.
            device.mqtt_publish("config", "", True)
        self.sessions.forget_device(device.id)
        device.publish(FeedKind.DEVICE_REMOVED, {})
        _LOGGER.info("Device %s removed", device.name)

    @callback
    def async_sync_subentries(self) -> None:
        """Apply added, removed, renamed and re-tokened subentries without a reload."""
        current = {s.subentry_id: s for s in self.entry.get_subentries_of_type(SUBENTRY_DEVICE)}
        if came_or_went := current.keys() != self.devices.keys():
            # Devices come or go: past HA's entity cap, a repair issue says so.
            capacity.check(self.hass, self.entry, self.kinds)
        for device_id in self.devices.keys() - current.keys():
            self._remove_device(self.devices.pop(device_id))
        for device_id, subentry in current.items():
            device = self.devices.get(device_id)
            if device is None:
                if (added := self._add_device(subentry)) is not None:
                    async_dispatcher_send(
                        self.hass, signal_device_added(self.entry.entry_id), added
                    )
                    added.publish(FeedKind.DEVICE_ADDED, {})
                continue
            changed = device.data != subentry.data
            if device.name != subentry.title:
                device.name = subentry.title
                if (ha_id := self.ha_device_id(device.id)) is not None:
                    dr.async_get(self.hass).async_update_device(ha_id, name=device.name)
                changed = True
            device.data = subentry.data
            if changed:
                device.handler.config_changed()
                self._update_registry(device)
                device.publish(FeedKind.DEVICE_UPDATED, {})
            if (token_hash := subentry.data.get(CONF_TOKEN_HASH)) != device.token_hash:
                # A rotated token: the old one must stop working at once.
                if device.token_hash is not None:
                    del self._by_token_hash[device.token_hash]
                device.token_hash = token_hash
                if token_hash is not None:
                    self._by_token_hash[token_hash] = device
                if device.link is not None:
                    device.link.close(CloseCode.INVALID_TOKEN, "token rotated")
        if came_or_went:
            self.mqtt.devices_changed()  # whether MQTT is missing may have changed

    def _update_registry(self, device: DeviceRuntime) -> None:
        """Show what the kind says of the device (its model, its serial) in the registry."""
        if (info := device.handler.registry_info()) and (
            ha_id := self.ha_device_id(device.id)
        ) is not None:
            dr.async_get(self.hass).async_update_device(
                ha_id,
                model=info.get("model") or device.kind.model,
                serial_number=info.get("serial_number"),
            )

    def device_for_token(self, token: str) -> DeviceRuntime | None:
        """The device this token belongs to (looked up by digest, not compared in clear)."""
        return self._by_token_hash.get(hash_token(token))

    def route(self, query: Mapping[str, str]) -> Route | None:
        """The route a kind claims for this connection query; None when no kind does."""
        for kind in self.kinds.values():
            if (route := kind.route(query)) is not None:
                return route
        return None

    @staticmethod
    def admits_devices(route: Route | None, query: Mapping[str, str]) -> bool:
        """Whether a device token may connect with this query.

        A kind's route says so itself. Without one, ``?device=`` is how an app names its
        device: a device token on that query is an app holding a device's token, refused
        rather than taken for the device (which would close the real one's socket).
        """
        return route.devices if route is not None else QUERY_DEVICE not in query

    def device_for_client(
        self, route: Route | None, query: Mapping[str, str]
    ) -> DeviceRuntime | int:
        """The device an app client wants, or a close code.

        On a kind's route the kind chooses. Otherwise ``?device=`` names it (name, id or HA
        device id) among the devices whose kind talks to such plain apps; without it the
        only one is chosen, as the legacy single-oven server did.
        """
        if route is not None:
            candidates = [d for d in self.devices.values() if d.kind.key == route.kind]
        else:
            candidates = [d for d in self.devices.values() if d.kind.plain_clients]
        if route is not None and route.chooses is not None:
            chosen = [device for device in candidates if route.chooses(device)]
            return chosen[0] if chosen else CloseCode.UNKNOWN_DEVICE
        if (selector := query.get(QUERY_DEVICE)) is None:
            if len(candidates) == 1:
                return candidates[0]
            return CloseCode.DEVICE_NOT_CHOSEN if candidates else CloseCode.UNKNOWN_DEVICE
        wanted = selector.casefold()
        for device in candidates:
            if wanted in (device.id.casefold(), device.name.casefold()) or (
                selector == self.ha_device_id(device.id)
            ):
                return device
        return CloseCode.UNKNOWN_DEVICE

    def ha_device_id(self, device_id: str) -> str | None:
        """The device registry id of an iot_hub device."""
        if (device := self.devices.get(device_id)) is not None:
            return device.ha_device_id()
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

    # -- what kinds' per-hub parts use (HubContext) -----------------------------------------

    @property
    def entry_id(self) -> str:
        """The hub's config entry id."""
        return self.entry.entry_id

    @property
    def options(self) -> Mapping[str, Any]:
        """The hub entry's options."""
        return self.entry.options

    def devices_of(self, kind: str) -> list[KindContext]:
        """The hub's devices of one kind."""
        return [device for device in self.devices.values() if device.kind.key == kind]

    def device(self, device_id: str) -> KindContext | None:
        """The device with this subentry id."""
        return self.devices.get(device_id)

    @callback
    def heard_by_post(self, device: KindContext) -> None:
        """A device posted a reading: present until the silence timeout passes without one."""
        runtime = self.devices.get(device.id)
        if runtime is not None:
            silence = self.entry.options.get(CONF_MQTT_SILENCE, DEFAULT_MQTT_SILENCE)
            self.posted.heard(runtime, silence)

    def device_by_mqtt_id(self, mqtt_id: str) -> KindContext | None:
        """The device whose topics carry ``mqtt_id``."""
        return self._by_mqtt_id.get(mqtt_id)

    def device_runtime_by_mqtt_id(self, mqtt_id: str) -> DeviceRuntime | None:
        """The same, as the hub's runtime (for its MQTT side)."""
        return self._by_mqtt_id.get(mqtt_id)

    def subentries(self, subentry_type: str) -> list[ConfigSubentry]:
        """The hub's subentries of a type."""
        return self.entry.get_subentries_of_type(subentry_type)

    @callback
    def add_device(
        self, title: str, data: Mapping[str, Any], unique_id: str | None
    ) -> DeviceRuntime | None:
        """Add a device subentry (a claim) and return it running, as the config flow would."""
        subentry = ConfigSubentry(
            data=MappingProxyType(dict(data)),
            subentry_type=SUBENTRY_DEVICE,
            title=title,
            unique_id=unique_id,
        )
        self.hass.config_entries.async_add_subentry(self.entry, subentry)
        # The update listener would add it soon; the caller wants it now.
        self.async_sync_subentries()
        return self.devices.get(subentry.subentry_id)

    @callback
    def update_device(self, device: KindContext, title: str, data: Mapping[str, Any]) -> None:
        """Change a device's subentry (name, data) and apply it at once."""
        subentry = self.entry.subentries[device.id]
        self.hass.config_entries.async_update_subentry(
            self.entry, subentry, title=title, data=MappingProxyType(dict(data))
        )
        self.async_sync_subentries()

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
        device.handler.device_attached()
        session = device.active_session
        if session is not None and self.sessions.announced(session.id):
            # Back mid-session (a reboot, a lost link, HA restarted within the grace): the
            # device may have lost its session while HA still shows it running. Tell it
            # again, whatever its kind; the firmware decides whether to resume. (A start not
            # yet on disk is told when it is announced.)
            device.handler.send_session_command(start=True)
        device.notify(Update.CONNECTION)
        device.publish(FeedKind.CONNECTED, {})

    @callback
    def detach_device(self, device: DeviceRuntime, link: Link) -> None:
        """The device's connection ended (ignored if a newer one already replaced it)."""
        if device.link is not link:
            return
        device.link = None
        _LOGGER.info("%s is disconnected", device.name)
        device.notify(Update.CONNECTION)
        device.publish(FeedKind.DISCONNECTED, {})

    @callback
    def attach_client(self, device: DeviceRuntime, link: Link) -> None:
        """An app/dashboard client subscribed to the device."""
        device.clients.add(link)
        device.handler.client_attached(link)

    @callback
    def detach_client(self, device: DeviceRuntime, link: Link) -> None:
        """An app/dashboard client went away."""
        device.clients.discard(link)

    # -- frames ----------------------------------------------------------------------------

    @callback
    def receive(self, device: DeviceRuntime, inbound: Inbound) -> None:
        """A frame for the device's kind; frames still arriving on a replaced link are dropped.

        A replaced connection may still deliver a few frames before its close lands; applying
        them would mix an old socket's readings (and its error replies) into the new one's.
        """
        if inbound.source is Source.DEVICE and inbound.link.closing:
            return
        device.handler.receive(inbound)

    @staticmethod
    def notice(device: DeviceRuntime, source: Source, key: ErrorKey) -> str:
        """A transport's notice (rate limit, binary frame) in the protocol of the peer's kind."""
        return device.kind.wire_error(source, key)

    @callback
    def _session_changed(self, device_id: str) -> None:
        if (device := self.devices.get(device_id)) is None:
            return
        if (session := device.active_session or device.last_session) is not None:
            device.handler.session_changed(session)
        device.notify(Update.SESSION)


def _close_all(device: DeviceRuntime, code: int, reason: str) -> None:
    for link in (device.link, *device.clients):
        if link is not None:
            link.close(code, reason)
    device.link = None
    device.clients.clear()
