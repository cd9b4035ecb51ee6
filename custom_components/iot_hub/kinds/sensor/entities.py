"""A sensor device's entities: connectivity, one sensor per value it reports, its analysis.

The measurement sensors are created when a value name is first seen (and again at each start
for the names seen before); ``quantities.py`` says what a name is. Each has a predicted twin
("Predicted <name>"), disabled by default: a wearable reports seven quantities, most not
worth predicting, and every enabled entity costs hub capacity. The problem binary sensor and
the anomaly event entity exist once the device has anomaly rules (none: nothing to show).
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.const import Platform

from ...analysis import DETECTED, RESOLVED
from ...descriptions import (
    CONNECTIVITY,
    ON_READING,
    IotHubBinarySensorDescription,
    IotHubEntityDescription,
    IotHubEventDescription,
    IotHubSensorDescription,
)
from ...quantities import MEASUREMENT, quantity_of
from ...signals import Update
from .const import ANOMALY_EVENT

VALUE_PREFIX: Final = "value_"
PREDICTED_PREFIX: Final = "predicted_"

PROBLEM: Final = IotHubBinarySensorDescription(
    key="problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
    updates_on=frozenset({Update.ANOMALY, Update.CONNECTION}),
    is_on_fn=lambda sensor: bool(sensor.analysis.anomalies.active),
    attributes_fn=lambda sensor: {
        "anomalies": [a.as_data() for a in sensor.analysis.anomalies.active.values()]
    },
)

ANOMALY: Final = IotHubEventDescription(
    key=ANOMALY_EVENT,
    translation_key=ANOMALY_EVENT,
    event_types=[DETECTED, RESOLVED],
)

ENTITIES: Final[dict[Platform, tuple[IotHubEntityDescription, ...]]] = {
    Platform.BINARY_SENSOR: (CONNECTIVITY,),
}


def measurement_description(key: str) -> IotHubSensorDescription:
    """The sensor of the value named ``key``."""
    known = quantity_of(key)

    def value(handler: Any) -> float | None:
        current: float | None = handler.values.get(key)
        return current

    # A known quantity takes HA's name for its class (Temperature) or a translated one
    # (Acceleration X); others are named by their key.
    named: dict[str, Any] = {"name": key}
    if known is not None and known.translation_key is not None:
        named = {"translation_key": known.translation_key}
    elif known is not None and known.device_class is not None:
        named = {}
    return IotHubSensorDescription(
        key=f"{VALUE_PREFIX}{key}",
        **named,
        device_class=known.device_class if known else None,
        native_unit_of_measurement=known.unit if known else None,
        state_class=known.state_class if known else MEASUREMENT,
        icon=known.icon if known else None,
        suggested_display_precision=2,
        updates_on=ON_READING,
        value_fn=value,
    )


def prediction_description(key: str) -> IotHubSensorDescription:
    """The predicted value of the quantity named ``key`` (its class and unit)."""
    known = quantity_of(key)

    def value(handler: Any) -> float | None:
        predicted: float | None = handler.analysis.predictions.get(key)
        return predicted

    def attributes(handler: Any) -> dict[str, Any]:
        at = handler.analysis.predicted_for
        return {
            "predicted_for": at.isoformat() if at and key in handler.analysis.predictions else None
        }

    # A total (energy) predicted is not a total: only measurements keep their state class.
    state_class = known.state_class if known else MEASUREMENT
    return IotHubSensorDescription(
        key=f"{PREDICTED_PREFIX}{key}",
        translation_key="predicted",
        translation_placeholders={"quantity": key},
        entity_registry_enabled_default=False,
        device_class=known.device_class if known else None,
        native_unit_of_measurement=known.unit if known else None,
        state_class=state_class if state_class is MEASUREMENT else None,
        icon=known.icon if known else None,
        suggested_display_precision=2,
        updates_on=frozenset({Update.PREDICTION, Update.CONNECTION}),
        value_fn=value,
        attributes_fn=attributes,
    )
