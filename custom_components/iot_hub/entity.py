"""Base of every iot_hub entity: device info, availability and dispatcher wiring.

Platforms know no kind: each adds, for every device, the descriptions its kind declares for
that platform (``Kind.entities``), now and for devices added later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .capacity import unique_id
from .const import DOMAIN
from .descriptions import IotHubEntityDescription
from .device import DeviceRuntime
from .hub import IotHubConfigEntry
from .signals import signal_device_added, signal_device_update, signal_new_entities

MANUFACTURER = "iot_hub"


class IotHubEntity(Entity):
    """An entity of one iot_hub device."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: IotHubEntityDescription

    def __init__(self, device: DeviceRuntime, description: IotHubEntityDescription) -> None:
        """Bind to a device."""
        self.device = device
        self.entity_description = description
        self._attr_unique_id = unique_id(device.id, description.key)
        registry = device.handler.registry_info()
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device.id)},
            name=device.name,
            manufacturer=MANUFACTURER,
            model=registry.get("model") or device.kind.model,
            serial_number=registry.get("serial_number"),
        )

    @property
    def handler(self) -> Any:
        """The device's kind handler: what the description's functions read."""
        return self.device.handler

    @property
    def available(self) -> bool:
        """Unavailable while the device is disconnected (except for diagnostics of that)."""
        return self.entity_description.available_offline or self.device.connected

    async def async_added_to_hass(self) -> None:
        """Follow the updates this entity shows."""
        await super().async_added_to_hass()
        for what in self.entity_description.updates_on:
            self.async_on_remove(
                async_dispatcher_connect(
                    self.hass, signal_device_update(self.device.id, what), self.async_write_ha_state
                )
            )


def async_setup_device_entities(
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    platform: Platform,
    factory: Callable[[DeviceRuntime, Any], IotHubEntity],
) -> None:
    """Add a platform's entities for every device now and for every device added later.

    A device may reveal entities of its own later (an appliance's parameter seen the first
    time): they are added when its handler says so.
    """
    hass = entry.runtime_data.hass
    added: dict[str, set[str]] = {}

    @callback
    def add_new(device: DeviceRuntime) -> None:
        keys = added.setdefault(device.id, set())
        descriptions = [
            description
            for description in (
                *device.kind.entities.get(platform, ()),
                *device.handler.dynamic_descriptions(platform),
            )
            if description.key not in keys
        ]
        if descriptions:
            keys.update(description.key for description in descriptions)
            async_add_entities(
                [factory(device, description) for description in descriptions],
                config_subentry_id=device.id,
            )

    @callback
    def add(device: DeviceRuntime) -> None:
        add_new(device)

        # A callback: a plain function (a lambda) would be run in the executor, off the loop.
        @callback
        def add_new_of_device() -> None:
            add_new(device)

        entry.async_on_unload(
            async_dispatcher_connect(hass, signal_new_entities(device.id), add_new_of_device)
        )

    for device in entry.runtime_data.devices.values():
        add(device)
    entry.async_on_unload(async_dispatcher_connect(hass, signal_device_added(entry.entry_id), add))
