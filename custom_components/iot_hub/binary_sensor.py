"""Binary sensors of every kind (connectivity, a charger's emergency latch, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import ExtraStoredData, RestoreEntity

from .descriptions import IotHubBinarySensorDescription
from .device import DeviceRuntime
from .entity import IotHubEntity, async_setup_device_entities
from .hub import IotHubConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every device."""
    async_setup_device_entities(entry, async_add_entities, Platform.BINARY_SENSOR, _binary_sensor)


def _binary_sensor(
    device: DeviceRuntime, description: IotHubBinarySensorDescription
) -> IotHubBinarySensor:
    if description.restore_fn is not None:
        return IotHubRestoredBinarySensor(device, description)
    return IotHubBinarySensor(device, description)


class IotHubBinarySensor(IotHubEntity, BinarySensorEntity):
    """A binary sensor of an iot_hub device."""

    entity_description: IotHubBinarySensorDescription

    def _value(self) -> bool:
        return self.entity_description.is_on_fn(self.handler)

    def _attributes(self) -> dict[str, Any] | None:
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.handler)

    @property
    def is_on(self) -> bool:
        """Current value from the device's kind."""
        on: bool = self._showing()
        return on


class IotHubRestoredBinarySensor(IotHubBinarySensor, RestoreEntity):
    """A state the kind keeps (an emergency latch), given back what HA showed before.

    A second source for the kind's own Store: if that is lost, the latch HA last showed
    still holds. The restored data names its device, as the restored sensors' does.
    """

    @property
    def extra_restore_state_data(self) -> DeviceFlagStoredData:
        """The state and whose it is."""
        return DeviceFlagStoredData(self.is_on, self.device.id)

    async def async_added_to_hass(self) -> None:
        """Give the kind what HA last showed for this device."""
        await super().async_added_to_hass()
        if (extra := await self.async_get_last_extra_data()) is None:
            return
        stored = extra.as_dict()
        restore = self.entity_description.restore_fn
        if restore and stored.get("device_id") == self.device.id and stored.get("is_on") is True:
            restore(self.handler, True)


@dataclass
class DeviceFlagStoredData(ExtraStoredData):
    """A binary sensor's state with the iot_hub device it belongs to."""

    is_on: bool
    device_id: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"is_on": self.is_on, "device_id": self.device_id}
