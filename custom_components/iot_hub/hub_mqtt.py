"""The hub's MQTT side: which bus (HA's MQTT or a dedicated broker), and what needs it.

MQTT is optional: a hub of WebSocket ovens never needs it. With HA's MQTT integration set up
(the default transport), the hub listens for MQTT devices, known and new; with a dedicated
broker in the options, it holds its own connection. When devices need MQTT and neither is
there, a repair issue says what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
import logging
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval

from .const import CONF_MQTT_SILENCE, DEFAULT_MQTT_SILENCE, DOMAIN
from .device import DeviceRuntime
from .kind import Inbound, Kind, KindHub, Source
from .transport.link import Link
from .transport.mqtt import settings as mqtt_settings
from .transport.mqtt.bus import MqttNotSetUpError
from .transport.mqtt.devices import MqttDevices

_LOGGER = logging.getLogger(__name__)

ISSUE_MQTT_UNAVAILABLE = "mqtt_unavailable"
SILENCE_CHECK = timedelta(seconds=30)


class MqttOwner(Protocol):
    """What of the hub its MQTT side uses (the hub itself)."""

    hass: HomeAssistant
    entry: ConfigEntry[Any]
    devices: dict[str, DeviceRuntime]
    kinds: Mapping[str, Kind]
    kind_parts: dict[str, KindHub]

    def device_runtime_by_mqtt_id(self, mqtt_id: str) -> DeviceRuntime | None:
        """The device whose topics carry ``mqtt_id``."""

    def attach_device(self, device: DeviceRuntime, link: Link) -> None:
        """The device is online."""

    def detach_device(self, device: DeviceRuntime, link: Link) -> None:
        """The device is offline."""

    def receive(self, device: DeviceRuntime, inbound: Inbound) -> None:
        """A frame for the device's kind."""


class HubMqtt:
    """Starts, stops and watches the hub's MQTT devices."""

    def __init__(self, hub: MqttOwner) -> None:
        """Nothing runs until ``async_start``."""
        self.hub = hub
        self.hass: HomeAssistant = hub.hass
        self.devices: MqttDevices | None = None
        self._unsubscribes: list[Callable[[], None]] = []
        self._started_with: tuple[Any, ...] = ()

    @property
    def prefix(self) -> str:
        """The topics' prefix (an option)."""
        return mqtt_settings.prefix_of(self.hub.entry.options)

    async def async_start(self) -> None:
        """Connect when a bus is there; otherwise wait for HA's MQTT, or raise a repair."""
        options = self.hub.entry.options
        self._started_with = self._settings()
        dedicated = mqtt_settings.transport_of(options) == mqtt_settings.TRANSPORT_DEDICATED
        if not dedicated and "mqtt" not in self.hass.config.components:
            self._unavailable()

            @callback
            def _loaded(event: Event) -> None:
                if event.data.get("component") == "mqtt":
                    self.hub.entry.async_create_task(self.hass, self._async_connect(), "mqtt")

            self._unsubscribes.append(self.hass.bus.async_listen(EVENT_COMPONENT_LOADED, _loaded))
            return
        await self._async_connect()

    async def _async_connect(self) -> None:
        if self.devices is not None:
            return
        bus = mqtt_settings.bus_from_options(
            self.hass, self.hub.entry.options, f"iot_hub-{self.hub.entry.entry_id}"
        )
        hub = self.hub
        devices = MqttDevices(
            self.hass,
            bus,
            self.prefix,
            mqtt_settings.legacy_filter_of(self.hub.entry.options) or "",
            device_for=hub.device_runtime_by_mqtt_id,
            id_from_payload=self._id_from_payload,
            unknown=self._unknown_device,
            attach=hub.attach_device,
            detach=hub.detach_device,
            deliver=self._deliver,
        )
        try:
            await devices.async_start()
        except MqttNotSetUpError:
            self._unavailable()
            return
        ir.async_delete_issue(self.hass, DOMAIN, ISSUE_MQTT_UNAVAILABLE)
        self.devices = devices
        for device in hub.devices.values():
            self.bind(device)
        self._unsubscribes.append(
            async_track_time_interval(self.hass, self._check_silence, SILENCE_CHECK)
        )

    def bind(self, device: DeviceRuntime) -> None:
        """Let an MQTT device's kind publish its configuration; online if it spoke lately."""
        if (mqtt := self.devices) is None or (mqtt_id := device.mqtt_id) is None:
            return

        def publish(leaf: str, payload: str, retain: bool) -> None:
            mqtt.publish(mqtt_id, leaf, payload, retain)

        device.mqtt_publish = publish
        device.handler.mqtt_ready()
        mqtt.adopt(device, self.hub.entry.options.get(CONF_MQTT_SILENCE, DEFAULT_MQTT_SILENCE))

    def _id_from_payload(self, text: str) -> str | None:
        """The serial a legacy-topic message names, as the kinds that take them read it."""
        for kind in self.hub.kinds.values():
            if kind.mqtt_id_of is not None and (mqtt_id := kind.mqtt_id_of(text)) is not None:
                return mqtt_id
        return None

    @callback
    def _unknown_device(self, mqtt_id: str | None, text: str) -> None:
        """A message from an id no device has: the kinds that discover devices hear it."""
        for part in self.hub.kind_parts.values():
            part.unknown_mqtt_device(mqtt_id, text)

    @callback
    def _deliver(self, device: DeviceRuntime, link: Link, text: str) -> None:
        """A frame on an MQTT device's state topic."""
        self.hub.receive(device, Inbound(Source.DEVICE, text, link))

    @callback
    def _check_silence(self, _now: object) -> None:
        if self.devices is not None:
            timeout = self.hub.entry.options.get(CONF_MQTT_SILENCE, DEFAULT_MQTT_SILENCE)
            self.devices.check_silence(self.hub.devices.values(), timeout)

    def _unavailable(self) -> None:
        """A repair issue, when devices need MQTT (a hub of WebSocket devices does not)."""
        if not any(device.mqtt_id is not None for device in self.hub.devices.values()):
            ir.async_delete_issue(self.hass, DOMAIN, ISSUE_MQTT_UNAVAILABLE)
            return
        _LOGGER.warning("MQTT devices are configured but no MQTT broker is available")
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ISSUE_MQTT_UNAVAILABLE,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_MQTT_UNAVAILABLE,
        )

    @callback
    def devices_changed(self) -> None:
        """Devices came or went: whether MQTT is missing may have changed."""
        if self.devices is None:
            self._unavailable()

    def diagnostics(self) -> dict[str, Any]:
        """Whether MQTT runs, on which transport, and under which topics."""
        options = self.hub.entry.options
        return {
            "transport": mqtt_settings.transport_of(options),
            "prefix": self.prefix,
            "legacy_filter": mqtt_settings.legacy_filter_of(options),
            "running": self.devices is not None,
            "connected": self.devices is not None and self.devices.connected,
        }

    def _settings(self) -> tuple[Any, ...]:
        options = self.hub.entry.options
        keys = (key for key in options if key.startswith("mqtt_") and key != CONF_MQTT_SILENCE)
        return tuple(sorted((key, options[key]) for key in keys))

    async def async_apply_options(self) -> None:
        """The options changed: reconnect when the MQTT ones did."""
        if self._settings() == self._started_with:
            return
        _LOGGER.info("MQTT options changed; reconnecting")
        await self.async_stop()
        await self.async_start()

    async def async_stop(self) -> None:
        """Unsubscribe and disconnect."""
        for unsubscribe in self._unsubscribes:
            unsubscribe()
        self._unsubscribes.clear()
        if self.devices is not None:
            await self.devices.async_stop()
            self.devices = None
