"""The charger's entities: meters, session, state, lifetime totals, emergency, card scans.

Enabled by default: what most users need (10, so 1,000 chargers fit HA's 10,000 enabled
entities per entry): power, session energy, charger state (it says ``offline`` too), lifetime
energy and cost (the Energy dashboard), emergency, card scan, start, stop and clear emergency.
Off by default, one click away: voltage and current (power is their product), session cost,
duration and user (the dashboards' frames and the session events carry them), the last
session's figures (``iot_hub.get_sessions``, ``iot_hub_session_ended``) and connectivity.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    Platform,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.util import dt as dt_util

from ...descriptions import (
    CONNECTIVITY,
    ON_READING,
    SESSION_BUTTONS,
    IotHubBinarySensorDescription,
    IotHubButtonDescription,
    IotHubEntityDescription,
    IotHubEventDescription,
    IotHubSensorDescription,
    last_session,
)
from .const import CARD_SCAN, EVENT_AUTHORISED, EVENT_REJECTED
from .handler import ChargerHandler


def _session_kwh(charger: ChargerHandler) -> float:
    return round(measure.energy.kwh, 3) if (measure := charger.charge()) else 0.0


def _session_cost(charger: ChargerHandler) -> float | None:
    if (measure := charger.charge()) is None:
        return 0.0
    return round(measure.cost.cost, 2) if measure.cost.priced_kwh else None


def _session_duration(charger: ChargerHandler) -> float:
    session = charger.device.active_session
    return round(session.duration(dt_util.utcnow())) if session else 0


def _restore_lifetime(charger: ChargerHandler, kwh: float) -> None:
    # The Energy dashboard must never see the total go down: take back what HA showed.
    charger.restore_totals(kwh=kwh)


def _restore_cost(charger: ChargerHandler, cost: float) -> None:
    charger.restore_totals(cost=cost)


def _restore_latch(charger: ChargerHandler, latched: bool) -> None:
    if latched:
        charger.restore_latch()


def _measurement(
    key: str, device_class: SensorDeviceClass, unit: str, precision: int
) -> IotHubSensorDescription:
    """Voltage or current: off by default (power is what most users watch)."""
    return IotHubSensorDescription(
        key=key,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=unit,
        suggested_display_precision=precision,
        entity_registry_enabled_default=False,
        updates_on=ON_READING,
        value_fn=lambda charger: getattr(charger, key),
    )


SENSORS: Final = (
    _measurement("voltage", SensorDeviceClass.VOLTAGE, UnitOfElectricPotential.VOLT, 1),
    _measurement("current", SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, 1),
    IotHubSensorDescription(
        key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        updates_on=ON_READING,
        # Idle means no power, whatever the last metrics said.
        value_fn=lambda charger: charger.power if charger.device.active_session else 0.0,
    ),
    IotHubSensorDescription(
        key="session_energy",
        translation_key="session_energy",
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
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        updates_on=ON_READING,
        value_fn=_session_cost,
    ),
    IotHubSensorDescription(
        key="session_duration",
        translation_key="session_duration",
        entity_registry_enabled_default=False,
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
        entity_registry_enabled_default=False,
        value_fn=lambda charger: m.user_name if (m := charger.charge()) else None,
    ),
    IotHubSensorDescription(
        key="charger_state",
        translation_key="charger_state",
        device_class=SensorDeviceClass.ENUM,
        options=["available", "charging", "emergency", "offline"],
        available_offline=True,
        value_fn=lambda charger: charger.status,
    ),
    IotHubSensorDescription(
        key="last_session_energy",
        translation_key="last_session_energy",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        available_offline=True,
        value_fn=last_session("kwh"),
    ),
    IotHubSensorDescription(
        key="last_session_cost",
        translation_key="last_session_cost",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        available_offline=True,
        value_fn=last_session("cost"),
    ),
    IotHubSensorDescription(
        key="last_session_charge_duration",
        translation_key="last_session_duration",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        available_offline=True,
        value_fn=last_session("duration"),
    ),
    IotHubSensorDescription(
        key="lifetime_energy",
        translation_key="lifetime_energy",
        # What HA's Energy dashboard takes: never decreases, whatever the device does.
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        available_offline=True,
        restore_fn=_restore_lifetime,
        updates_on=ON_READING,
        value_fn=lambda charger: round(charger.shown_lifetime, 4),  # as written to disk
    ),
    IotHubSensorDescription(
        key="lifetime_cost",
        translation_key="lifetime_cost",
        # The Energy dashboard's "entity tracking the total costs". TOTAL, not increasing:
        # negative spot prices lower it.
        device_class=SensorDeviceClass.MONETARY,
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        monetary=True,
        available_offline=True,
        restore_fn=_restore_cost,
        updates_on=ON_READING,
        value_fn=lambda charger: round(charger.lifetime_cost, 4),
    ),
)

EMERGENCY: Final = IotHubBinarySensorDescription(
    key="emergency",
    translation_key="emergency",
    device_class=BinarySensorDeviceClass.SAFETY,
    available_offline=True,  # a latched emergency matters most when the charger is gone
    is_on_fn=lambda charger: charger.emergency,
    restore_fn=_restore_latch,  # a second source for the latch, should its Store be lost
)

CLEAR_EMERGENCY: Final = IotHubButtonDescription(
    key="clear_emergency",
    translation_key="clear_emergency",
    available_offline=True,  # the user clears it after checking the charger, online or not
    press_fn=lambda charger, _actor: charger.clear_emergency(),
)

CARD_SCAN_EVENT: Final = IotHubEventDescription(
    key=CARD_SCAN,
    translation_key=CARD_SCAN,
    event_types=[EVENT_AUTHORISED, EVENT_REJECTED],
)

ENTITIES: Final[dict[Platform, tuple[IotHubEntityDescription, ...]]] = {
    Platform.SENSOR: SENSORS,
    # The charger state says offline: connectivity is off by default here.
    Platform.BINARY_SENSOR: (
        replace(CONNECTIVITY, entity_registry_enabled_default=False),
        EMERGENCY,
    ),
    Platform.BUTTON: (*SESSION_BUTTONS, CLEAR_EMERGENCY),
    Platform.EVENT: (CARD_SCAN_EVENT,),
}
