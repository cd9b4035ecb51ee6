"""Sensors: temperature, session state and the last session's summary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfTemperature, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import DeviceKind
from .entity import IotHubEntity, IotHubEntityDescription, async_setup_device_entities
from .hub import IotHubConfigEntry
from .models import DeviceRuntime, Update

PARALLEL_UPDATES = 0  # push only: nothing is polled


@dataclass(frozen=True, kw_only=True)
class IotHubSensorDescription(IotHubEntityDescription, SensorEntityDescription):
    """A sensor computed from a device's runtime state."""

    value_fn: Callable[[DeviceRuntime], StateType]
    attributes_fn: Callable[[DeviceRuntime], dict[str, Any]] | None = None


def _last_summary(device: DeviceRuntime, key: str) -> StateType:
    if (session := device.last_session) is None:
        return None
    value: StateType = session.summary(dt_util.utcnow())[key]
    return value


OVEN = frozenset({DeviceKind.OVEN})

SENSORS: tuple[IotHubSensorDescription, ...] = (
    IotHubSensorDescription(
        key="temperature",
        kinds=OVEN,
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        updates_on=frozenset({Update.READING, Update.CONNECTION}),
        value_fn=lambda device: device.temperature,
    ),
    IotHubSensorDescription(
        key="session_state",
        translation_key="session_state",
        kinds=OVEN,
        device_class=SensorDeviceClass.ENUM,
        options=["idle", "active"],
        value_fn=lambda device: "active" if device.active_session else "idle",
        attributes_fn=lambda device: {"session_id": s.id if (s := device.active_session) else None},
    ),
    IotHubSensorDescription(
        key="last_session_duration",
        translation_key="last_session_duration",
        kinds=OVEN,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=1,
        available_offline=True,
        value_fn=lambda device: _last_summary(device, "duration"),
    ),
    IotHubSensorDescription(
        key="last_session_max_temperature",
        translation_key="last_session_max_temperature",
        kinds=OVEN,
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        available_offline=True,
        value_fn=lambda device: _last_summary(device, "temperature_max"),
    ),
    IotHubSensorDescription(
        key="last_session_readings",
        translation_key="last_session_readings",
        kinds=OVEN,
        available_offline=True,
        value_fn=lambda device: _last_summary(device, "readings"),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every device."""
    async_setup_device_entities(entry, async_add_entities, SENSORS, IotHubSensor)


class IotHubSensor(IotHubEntity, SensorEntity):
    """A sensor of an iot_hub device."""

    entity_description: IotHubSensorDescription

    @property
    def native_value(self) -> StateType:
        """Current value from the hub."""
        return self.entity_description.value_fn(self.device)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra context, such as the running session's id."""
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.device)
