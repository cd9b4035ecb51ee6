"""The oven's entities: temperature, session state, the last session's figures, controls.

Enabled by default: what most users watch and press (temperature, session state,
connectivity, start and stop). The last session's figures are off by default, one click away:
every finished session is also in ``iot_hub.get_sessions`` and ``iot_hub_session_ended``, and
each enabled entity costs hub capacity (HA's 10,000 per entry: 2,000 ovens at 5 each). An oven
given a target temperature also gets Time to target (enabled: the user asked for it).
"""

from __future__ import annotations

from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import Platform, UnitOfTemperature, UnitOfTime

from ...descriptions import (
    CONNECTIVITY,
    SESSION_BUTTONS,
    IotHubEntityDescription,
    IotHubSensorDescription,
    last_session,
)
from ...signals import Update

SENSORS: Final = (
    IotHubSensorDescription(
        key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        updates_on=frozenset({Update.READING, Update.CONNECTION}),
        value_fn=lambda oven: oven.temperature,
    ),
    IotHubSensorDescription(
        key="session_state",
        translation_key="session_state",
        device_class=SensorDeviceClass.ENUM,
        options=["idle", "active"],
        value_fn=lambda oven: "active" if oven.device.active_session else "idle",
        attributes_fn=lambda oven: {
            "session_id": s.id if (s := oven.device.active_session) else None
        },
    ),
    IotHubSensorDescription(
        key="last_session_duration",
        translation_key="last_session_duration",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=1,
        available_offline=True,
        value_fn=last_session("duration"),
    ),
    IotHubSensorDescription(
        key="last_session_max_temperature",
        translation_key="last_session_max_temperature",
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        suggested_display_precision=1,
        available_offline=True,
        value_fn=last_session("temperature_max"),
    ),
    IotHubSensorDescription(
        key="last_session_readings",
        translation_key="last_session_readings",
        entity_registry_enabled_default=False,
        available_offline=True,
        value_fn=last_session("readings"),
    ),
)

ENTITIES: Final[dict[Platform, tuple[IotHubEntityDescription, ...]]] = {
    Platform.SENSOR: SENSORS,
    Platform.BINARY_SENSOR: (CONNECTIVITY,),
    Platform.BUTTON: SESSION_BUTTONS,
}

TIME_TO_TARGET: Final = IotHubSensorDescription(
    key="time_to_target",
    translation_key="time_to_target",
    device_class=SensorDeviceClass.DURATION,
    native_unit_of_measurement=UnitOfTime.SECONDS,
    suggested_unit_of_measurement=UnitOfTime.MINUTES,
    suggested_display_precision=1,
    updates_on=frozenset({Update.PREDICTION, Update.CONNECTION}),
    value_fn=lambda oven: oven.time_to_target,
    attributes_fn=lambda oven: {"target_temperature": oven.target},
)
