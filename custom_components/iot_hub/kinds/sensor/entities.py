"""A sensor device's entities: connectivity, and one sensor per value it reports.

The measurement sensors are created when a value name is first seen (and again at each start
for the names seen before); ``quantities.py`` says what a name is.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.const import Platform

from ...descriptions import (
    CONNECTIVITY,
    ON_READING,
    IotHubEntityDescription,
    IotHubSensorDescription,
)
from ...quantities import MEASUREMENT, quantity_of

VALUE_PREFIX: Final = "value_"

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
