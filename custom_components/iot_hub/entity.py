"""Base of every iot_hub entity: device info, availability and dispatcher wiring."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, DeviceKind
from .hub import IotHubConfigEntry, signal_device_added, signal_device_update
from .models import DeviceRuntime, Update

MANUFACTURER = "iot_hub"
MODELS = {DeviceKind.OVEN: "Smart oven (ESP32)", DeviceKind.CHARGER: "EV charger (ESP32)"}


@dataclass(frozen=True, kw_only=True)
class IotHubEntityDescription(EntityDescription):
    """What every iot_hub entity description adds."""

    kinds: frozenset[DeviceKind] = frozenset(DeviceKind)
    # Updates this entity shows; readings are frequent, so most entities skip them.
    updates_on: frozenset[Update] = frozenset({Update.SESSION, Update.CONNECTION})
    # Whether the entity is useful while the device is offline (connectivity is).
    available_offline: bool = False


class IotHubEntity(Entity):
    """An entity of one iot_hub device."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: IotHubEntityDescription

    def __init__(self, device: DeviceRuntime, description: IotHubEntityDescription) -> None:
        """Bind to a device."""
        self.device = device
        self.entity_description = description
        self._attr_unique_id = f"{device.id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device.id)},
            name=device.name,
            manufacturer=MANUFACTURER,
            model=MODELS[device.kind],
        )

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


def async_setup_device_entities[D: IotHubEntityDescription](
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[D],
    factory: Callable[[DeviceRuntime, D], IotHubEntity],
) -> None:
    """Add a platform's entities for every device now and for every device added later."""
    descriptions = tuple(descriptions)

    @callback
    def add(device: DeviceRuntime) -> None:
        async_add_entities(
            [factory(device, d) for d in descriptions if device.kind in d.kinds],
            config_subentry_id=device.id,
        )

    for device in entry.runtime_data.devices.values():
        add(device)
    entry.async_on_unload(
        async_dispatcher_connect(entry.runtime_data.hass, signal_device_added(entry.entry_id), add)
    )
