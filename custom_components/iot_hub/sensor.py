"""Sensors: oven temperature and sessions; charger meters, state, cost and lifetime energy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.const import (
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .charger import charger_status
from .const import DeviceKind
from .entity import IotHubEntity, IotHubEntityDescription, async_setup_device_entities
from .hub import IotHubConfigEntry
from .models import DeviceRuntime, Update
from .session_model import ChargeMeasure, Session

PARALLEL_UPDATES = 0  # push only: nothing is polled


@dataclass(frozen=True, kw_only=True)
class IotHubSensorDescription(IotHubEntityDescription, SensorEntityDescription):
    """A sensor computed from a device's runtime state."""

    value_fn: Callable[[DeviceRuntime], StateType]
    attributes_fn: Callable[[DeviceRuntime], dict[str, Any]] | None = None
    monetary: bool = False  # the unit is Home Assistant's currency
    restore: bool = False  # keeps its value across restarts (the lifetime energy)


def _last_summary(device: DeviceRuntime, key: str) -> StateType:
    if (session := device.last_session) is None:
        return None
    value: StateType = session.summary(dt_util.utcnow())[key]
    return value


def _charge(device: DeviceRuntime, session: Session | None = None) -> ChargeMeasure | None:
    session = session or device.active_session
    if session is not None and isinstance(session.measure, ChargeMeasure):
        return session.measure
    return None


def _session_kwh(device: DeviceRuntime) -> float:
    return round(measure.energy.kwh, 3) if (measure := _charge(device)) else 0.0


def _session_cost(device: DeviceRuntime) -> float | None:
    if (measure := _charge(device)) is None:
        return 0.0
    return round(measure.cost.cost, 2) if measure.cost.priced_kwh else None


def _session_duration(device: DeviceRuntime) -> float:
    session = device.active_session
    return round(session.duration(dt_util.utcnow())) if session else 0


OVEN = frozenset({DeviceKind.OVEN})
CHARGER = frozenset({DeviceKind.CHARGER})
ON_READING = frozenset({Update.READING, Update.SESSION, Update.CONNECTION})

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
    # -- chargers --------------------------------------------------------------------------
    IotHubSensorDescription(
        key="voltage",
        kinds=CHARGER,
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=1,
        updates_on=ON_READING,
        value_fn=lambda device: device.voltage,
    ),
    IotHubSensorDescription(
        key="current",
        kinds=CHARGER,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        updates_on=ON_READING,
        value_fn=lambda device: device.current,
    ),
    IotHubSensorDescription(
        key="power",
        kinds=CHARGER,
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        updates_on=ON_READING,
        # Idle means no power, whatever the last metrics said.
        value_fn=lambda device: device.power if device.active_session else 0.0,
    ),
    IotHubSensorDescription(
        key="session_energy",
        translation_key="session_energy",
        kinds=CHARGER,
        # No state class: a per-session value that restarts at 0 must not feed statistics
        # (the Energy dashboard takes the lifetime energy instead).
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        updates_on=ON_READING,
        value_fn=_session_kwh,
    ),
    IotHubSensorDescription(
        key="session_cost",
        translation_key="session_cost",
        kinds=CHARGER,
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        updates_on=ON_READING,
        value_fn=_session_cost,
    ),
    IotHubSensorDescription(
        key="session_duration",
        translation_key="session_duration",
        kinds=CHARGER,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        updates_on=ON_READING,
        value_fn=_session_duration,
    ),
    IotHubSensorDescription(
        key="current_user",
        translation_key="current_user",
        kinds=CHARGER,
        value_fn=lambda device: m.user_name if (m := _charge(device)) else None,
    ),
    IotHubSensorDescription(
        key="charger_state",
        translation_key="charger_state",
        kinds=CHARGER,
        device_class=SensorDeviceClass.ENUM,
        options=["available", "charging", "emergency", "offline"],
        available_offline=True,
        value_fn=charger_status,
    ),
    IotHubSensorDescription(
        key="last_session_energy",
        translation_key="last_session_energy",
        kinds=CHARGER,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        available_offline=True,
        value_fn=lambda device: _last_summary(device, "kwh"),
    ),
    IotHubSensorDescription(
        key="last_session_cost",
        translation_key="last_session_cost",
        kinds=CHARGER,
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        available_offline=True,
        value_fn=lambda device: _last_summary(device, "cost"),
    ),
    IotHubSensorDescription(
        key="last_session_charge_duration",
        translation_key="last_session_duration",
        kinds=CHARGER,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        available_offline=True,
        value_fn=lambda device: _last_summary(device, "duration"),
    ),
    IotHubSensorDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        kinds=CHARGER,
        # What HA's Energy dashboard takes: never decreases, whatever the device does.
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        available_offline=True,
        restore=True,
        updates_on=ON_READING,
        value_fn=lambda device: round(device.lifetime_kwh, 4),
    ),
    IotHubSensorDescription(
        key="lifetime_cost",
        translation_key="lifetime_cost",
        kinds=CHARGER,
        # The Energy dashboard's "entity tracking the total costs". TOTAL, not increasing:
        # negative spot prices lower it.
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        monetary=True,
        available_offline=True,
        updates_on=ON_READING,
        value_fn=lambda device: round(device.lifetime_cost, 4),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every device."""
    async_setup_device_entities(
        entry,
        async_add_entities,
        SENSORS,
        lambda device, description: (IotHubRestoredSensor if description.restore else IotHubSensor)(
            device, description
        ),
    )


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

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Home Assistant's currency for money; the description's unit otherwise."""
        if self.entity_description.monetary:
            return self.hass.config.currency
        return super().native_unit_of_measurement


class IotHubRestoredSensor(IotHubSensor, RestoreSensor):
    """The lifetime energy: a restored value the hub's total is raised to (never lowered).

    The hub stores the total itself; this covers a Store lost or older than what HA showed,
    so the Energy dashboard never sees the total go down. The restored data names its device:
    a new device that inherits a removed one's entity id must not inherit its energy.
    """

    @property
    def extra_restore_state_data(self) -> SensorExtraStoredData:
        """The value, its unit, and whose it is."""
        return DeviceSensorStoredData(
            self.native_value, self.native_unit_of_measurement, self.device.id
        )

    async def async_added_to_hass(self) -> None:
        """Raise the hub's total to what HA last showed for this device."""
        await super().async_added_to_hass()
        if (extra := await self.async_get_last_extra_data()) is None:
            return
        stored = extra.as_dict()
        value = stored.get("native_value")
        if stored.get("device_id") == self.device.id and isinstance(value, (int, float)):
            self.device.sessions.lifetime(self.device.id).raise_to(float(value))


@dataclass
class DeviceSensorStoredData(SensorExtraStoredData):
    """A sensor's stored value with the iot_hub device it belongs to."""

    device_id: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form, with the device."""
        return {**super().as_dict(), "device_id": self.device_id}
