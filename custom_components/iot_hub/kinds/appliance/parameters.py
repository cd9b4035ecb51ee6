"""What a key of ``parametros`` says it is: one sensor description per key, when first seen.

The seed's keys are free (``temp`` in its example, "temperatura, watts" in its prose); the
names below are the ones devices use, in Spanish and English. A key not listed is a plain
measurement when numeric, and a text sensor otherwise.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    PERCENTAGE,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfPressure,
    UnitOfTemperature,
)

from ...descriptions import ON_READING, IotHubSensorDescription
from .codec import Parameter

type Known = tuple[SensorDeviceClass, str, SensorStateClass]

MEASUREMENT = SensorStateClass.MEASUREMENT
KNOWN: Final[dict[str, Known]] = {
    **dict.fromkeys(
        ("temp", "temperatura", "temperature"),
        (SensorDeviceClass.TEMPERATURE, UnitOfTemperature.CELSIUS, MEASUREMENT),
    ),
    **dict.fromkeys(
        ("humedad", "humidity", "hum"),
        (SensorDeviceClass.HUMIDITY, PERCENTAGE, MEASUREMENT),
    ),
    **dict.fromkeys(
        ("watts", "potencia", "power", "w"),
        (SensorDeviceClass.POWER, UnitOfPower.WATT, MEASUREMENT),
    ),
    **dict.fromkeys(
        ("voltaje", "tension", "voltage", "v"),
        (SensorDeviceClass.VOLTAGE, UnitOfElectricPotential.VOLT, MEASUREMENT),
    ),
    **dict.fromkeys(
        ("corriente", "current", "amperios", "a"),
        (SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, MEASUREMENT),
    ),
    **dict.fromkeys(
        ("energia", "energy", "kwh"),
        (SensorDeviceClass.ENERGY, UnitOfEnergy.KILO_WATT_HOUR, SensorStateClass.TOTAL_INCREASING),
    ),
    **dict.fromkeys(
        ("presion", "pressure"),
        (SensorDeviceClass.PRESSURE, UnitOfPressure.HPA, MEASUREMENT),
    ),
}


def is_number(value: Any) -> bool:
    """A number a numeric sensor may show (booleans are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def parameter_description(key: str, first: Parameter) -> IotHubSensorDescription:
    """The sensor of ``parametros[key]``; ``first`` is the first value seen (its type)."""
    known = KNOWN.get(key.casefold())
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
        device_class=known[0] if known else None,
        native_unit_of_measurement=known[1] if known else None,
        state_class=(known[2] if known else MEASUREMENT) if numeric else None,
        updates_on=ON_READING,
        value_fn=value,
    )
