"""Binary sensors: whether the device is connected; a charger's latched emergency stop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DeviceKind
from .entity import IotHubEntity, IotHubEntityDescription, async_setup_device_entities
from .hub import IotHubConfigEntry
from .models import DeviceRuntime, Update

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class IotHubBinarySensorDescription(IotHubEntityDescription, BinarySensorEntityDescription):
    """A binary sensor computed from a device's runtime state."""

    is_on_fn: Callable[[DeviceRuntime], bool]


BINARY_SENSORS: tuple[IotHubBinarySensorDescription, ...] = (
    IotHubBinarySensorDescription(
        key="connectivity",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        available_offline=True,
        updates_on=frozenset({Update.CONNECTION}),
        is_on_fn=lambda device: device.connected,
    ),
    IotHubBinarySensorDescription(
        key="emergency",
        translation_key="emergency",
        kinds=frozenset({DeviceKind.CHARGER}),
        device_class=BinarySensorDeviceClass.SAFETY,
        available_offline=True,  # a latched emergency matters most when the charger is gone
        is_on_fn=lambda device: device.emergency,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every device."""
    async_setup_device_entities(entry, async_add_entities, BINARY_SENSORS, IotHubBinarySensor)


class IotHubBinarySensor(IotHubEntity, BinarySensorEntity):
    """A binary sensor of an iot_hub device."""

    entity_description: IotHubBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Current value from the hub."""
        return self.entity_description.is_on_fn(self.device)
