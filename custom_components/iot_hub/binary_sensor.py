"""Binary sensors of every kind (connectivity, a charger's emergency latch, ...)."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .descriptions import IotHubBinarySensorDescription
from .entity import IotHubEntity, async_setup_device_entities
from .hub import IotHubConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every device."""
    async_setup_device_entities(
        entry, async_add_entities, Platform.BINARY_SENSOR, IotHubBinarySensor
    )


class IotHubBinarySensor(IotHubEntity, BinarySensorEntity):
    """A binary sensor of an iot_hub device."""

    entity_description: IotHubBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Current value from the device's kind."""
        return self.entity_description.is_on_fn(self.handler)
