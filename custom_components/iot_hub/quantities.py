"""What a measurement's name says it is: device class, unit and state class, by key.

Devices name their values freely: seed 001's ``temperatura``/``humedad``, seed 003's
``parametros`` (``temp``, "temperatura, watts"), seed 004's ``accel_x``…``gyro_z`` and heart
rate. The names below are the ones devices use, in Spanish and English; a key not listed is a
plain measurement (no device class, no unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import (
    LIGHT_LUX,
    PERCENTAGE,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfPressure,
    UnitOfRatio,
    UnitOfTemperature,
)

MEASUREMENT: Final = SensorStateClass.MEASUREMENT
# HA has no unit constants for these two (seed 004 states no units: A4-5).
ACCELERATION_UNIT: Final = "m/s²"
ANGULAR_VELOCITY_UNIT: Final = "°/s"
HEART_RATE_UNIT: Final = "bpm"


@dataclass(frozen=True, slots=True)
class Quantity:
    """How HA shows one named value."""

    device_class: SensorDeviceClass | None
    unit: str | None
    state_class: SensorStateClass = MEASUREMENT
    icon: str | None = None
    # The entity name's translation key, for quantities HA has no device class for.
    translation_key: str | None = None


def _same(names: tuple[str, ...], quantity: Quantity) -> dict[str, Quantity]:
    return dict.fromkeys(names, quantity)


KNOWN: Final[dict[str, Quantity]] = {
    **_same(
        ("temp", "temperatura", "temperature"),
        Quantity(SensorDeviceClass.TEMPERATURE, UnitOfTemperature.CELSIUS),
    ),
    **_same(("humedad", "humidity", "hum"), Quantity(SensorDeviceClass.HUMIDITY, PERCENTAGE)),
    **_same(
        ("watts", "potencia", "power", "w"), Quantity(SensorDeviceClass.POWER, UnitOfPower.WATT)
    ),
    **_same(
        ("voltaje", "tension", "voltage", "v"),
        Quantity(SensorDeviceClass.VOLTAGE, UnitOfElectricPotential.VOLT),
    ),
    **_same(
        ("corriente", "current", "amperios", "a"),
        Quantity(SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE),
    ),
    **_same(
        ("energia", "energy", "kwh"),
        Quantity(
            SensorDeviceClass.ENERGY, UnitOfEnergy.KILO_WATT_HOUR, SensorStateClass.TOTAL_INCREASING
        ),
    ),
    **_same(("presion", "pressure"), Quantity(SensorDeviceClass.PRESSURE, UnitOfPressure.HPA)),
    **_same(("co2",), Quantity(SensorDeviceClass.CO2, UnitOfRatio.PARTS_PER_MILLION)),
    **_same(("luz", "lux", "illuminance"), Quantity(SensorDeviceClass.ILLUMINANCE, LIGHT_LUX)),
    **{
        f"{part}_{axis}": Quantity(
            None,
            unit,
            icon=icon,
            translation_key=f"{part}_{axis}",
        )
        for part, unit, icon in (
            ("accel", ACCELERATION_UNIT, "mdi:axis-arrow"),
            ("gyro", ANGULAR_VELOCITY_UNIT, "mdi:rotate-3d-variant"),
        )
        for axis in "xyz"
    },
    **_same(
        ("heart_rate", "ritmo_cardiaco", "frecuencia_cardiaca", "bpm", "pulso"),
        Quantity(None, HEART_RATE_UNIT, icon="mdi:heart-pulse", translation_key="heart_rate"),
    ),
}


def quantity_of(key: str) -> Quantity | None:
    """What ``key`` is, if it is a name devices use (case does not matter)."""
    return KNOWN.get(key.casefold())
