"""The toy's entities: its number, whether it is connected, start and stop."""

from __future__ import annotations

from typing import Final

from homeassistant.components.sensor import SensorStateClass
from homeassistant.const import Platform

from custom_components.iot_hub.descriptions import (
    CONNECTIVITY,
    ON_READING,
    SESSION_BUTTONS,
    IotHubEntityDescription,
    IotHubSensorDescription,
    last_session,
)

ENTITIES: Final[dict[Platform, tuple[IotHubEntityDescription, ...]]] = {
    Platform.SENSOR: (
        IotHubSensorDescription(
            key="value",
            name="Value",
            state_class=SensorStateClass.MEASUREMENT,
            updates_on=ON_READING,
            value_fn=lambda toy: toy.value,
        ),
        IotHubSensorDescription(
            key="last_count",
            name="Last count",
            available_offline=True,
            value_fn=last_session("count"),
        ),
    ),
    Platform.BINARY_SENSOR: (CONNECTIVITY,),
    Platform.BUTTON: SESSION_BUTTONS,
}
