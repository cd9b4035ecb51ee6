"""Entities of an appliance: its seed ``estado``, its power switch, its mode, and its link.

Sensors of ``parametros`` are the device's own, one per key when first seen
(``parameters.py``).
"""

from __future__ import annotations

from typing import Final

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.const import Platform

from ...descriptions import (
    CONNECTIVITY,
    IotHubBinarySensorDescription,
    IotHubEntityDescription,
    IotHubSelectDescription,
    IotHubSwitchDescription,
)
from ...signals import Update

# Not READING: a report rarely changes ``estado``, and writing an unchanged state at every
# message doubled the state writes of the appliance path; the handler sends CONFIG when the
# reported ``estado`` changes.
ON_STATE: Final = frozenset({Update.CONFIG, Update.CONNECTION})
MODES: Final = ["manual", "horario"]

ENTITIES: Final[dict[Platform, tuple[IotHubEntityDescription, ...]]] = {
    Platform.BINARY_SENSOR: (
        IotHubBinarySensorDescription(
            key="estado",
            translation_key="estado",
            device_class=BinarySensorDeviceClass.POWER,
            updates_on=ON_STATE,
            is_on_fn=lambda handler: handler.estado == "activo",
        ),
        CONNECTIVITY,
    ),
    Platform.SWITCH: (
        IotHubSwitchDescription(
            key="encendido",
            translation_key="encendido",
            updates_on=ON_STATE,
            is_on_fn=lambda handler: handler.relay_on,
            turn_fn=lambda handler, on, actor: handler.async_turn(on, actor),
        ),
    ),
    Platform.SELECT: (
        IotHubSelectDescription(
            key="modo",
            translation_key="modo",
            options=MODES,
            # How the device is run is known, and can be changed, while it is offline: it
            # gets its retained configuration when it is back.
            available_offline=True,
            updates_on=frozenset({Update.CONFIG}),
            current_fn=lambda handler: handler.configuracion.modo,
            select_fn=lambda handler, option, actor: handler.async_set_mode(option, actor),
        ),
    ),
}
