"""Sensors of every kind: the values each kind's descriptions compute from its live state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import RestoreSensor, SensorEntity, SensorExtraStoredData
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .descriptions import IotHubSensorDescription
from .device import DeviceRuntime
from .entity import IotHubEntity, async_setup_device_entities
from .hub import IotHubConfigEntry

PARALLEL_UPDATES = 0  # push only: nothing is polled


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every device."""
    async_setup_device_entities(entry, async_add_entities, Platform.SENSOR, _sensor)


def _sensor(device: DeviceRuntime, description: IotHubSensorDescription) -> IotHubSensor:
    if description.restore_fn is not None:
        return IotHubRestoredSensor(device, description)
    return IotHubSensor(device, description)


class IotHubSensor(IotHubEntity, SensorEntity):
    """A sensor of an iot_hub device."""

    entity_description: IotHubSensorDescription

    def _value(self) -> StateType:
        return self.entity_description.value_fn(self.handler)

    def _attributes(self) -> dict[str, Any] | None:
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.handler)

    @property
    def native_value(self) -> StateType:
        """Current value from the device's kind."""
        value: StateType = self._showing()
        return value

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Home Assistant's currency for money; the description's unit otherwise."""
        if self.entity_description.monetary:
            return self.hass.config.currency
        return super().native_unit_of_measurement


class IotHubRestoredSensor(IotHubSensor, RestoreSensor):
    """A total the kind keeps, raised to the value HA showed before a restart (never lowered).

    The kind stores the total itself; this covers a Store lost or older than what HA showed,
    so the Energy dashboard never sees the total go down. The restored data names its device:
    a new device that inherits a removed one's entity id must not inherit its total.
    """

    @property
    def extra_restore_state_data(self) -> SensorExtraStoredData:
        """The value, its unit, and whose it is."""
        return DeviceSensorStoredData(
            self.native_value, self.native_unit_of_measurement, self.device.id
        )

    async def async_added_to_hass(self) -> None:
        """Give the kind what HA last showed for this device."""
        await super().async_added_to_hass()
        if (extra := await self.async_get_last_extra_data()) is None:
            return
        stored = extra.as_dict()
        value = stored.get("native_value")
        restore = self.entity_description.restore_fn
        if restore and stored.get("device_id") == self.device.id and isinstance(value, int | float):
            restore(self.handler, float(value))


@dataclass
class DeviceSensorStoredData(SensorExtraStoredData):
    """A sensor's stored value with the iot_hub device it belongs to."""

    device_id: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form, with the device."""
        return {**super().as_dict(), "device_id": self.device_id}
