"""What a key of ``parametros`` says it is: one sensor description per key, when first seen.

The seed's keys are free (``temp`` in its example, "temperatura, watts" in its prose); what a
name means is in ``quantities.py``. A key not listed there is a plain measurement when numeric,
and a text sensor otherwise.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorStateClass

from ...descriptions import ON_READING, IotHubSensorDescription
from ...protocol import NUMBER_TYPES
from ...quantities import quantity_of
from .codec import Parameter

MEASUREMENT = SensorStateClass.MEASUREMENT


def is_number(value: Any) -> bool:
    """A number a numeric sensor may show (booleans are not)."""
    return isinstance(value, NUMBER_TYPES) and not isinstance(value, bool)


def parameter_description(key: str, first: Parameter) -> IotHubSensorDescription:
    """The sensor of ``parametros[key]``; ``first`` is the first value seen (its type)."""
    known = quantity_of(key)
    numeric = known is not None or is_number(first)

    def value(handler: Any) -> Any:
        current = handler.parameter(key)
        if numeric:
            # A numeric sensor must never be handed text: HA would refuse the state.
            return current if is_number(current) else None
        return (
            None
            if current is None
            else str(current).lower()
            if isinstance(current, bool)
            else current
        )

    return IotHubSensorDescription(
        key=f"parametro_{key}",
        name=key,
        device_class=known.device_class if known else None,
        native_unit_of_measurement=known.unit if known else None,
        state_class=(known.state_class if known else MEASUREMENT) if numeric else None,
        icon=known.icon if known else None,
        updates_on=ON_READING,
        value_fn=value,
    )
