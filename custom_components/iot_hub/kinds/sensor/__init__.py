"""Environment and wearable sensors (seeds 001 and 004): named readings, live everywhere.

A sensor reports objects of named numbers (``{"temperatura": 23.5, "humedad": 65.2}``,
``{"accel_x": ..., "gyro_z": ..., "heart_rate": ...}``) over the device WebSocket, MQTT or the
legacy REST routes. Each name becomes a sensor entity; every reading also reaches seed 001's
event channels and seed 004's live streams.
"""

from __future__ import annotations

from typing import Final

from ...const import TRANSPORT_MQTT, TRANSPORT_WEBSOCKET
from ...kind import Kind
from .config_flow import SensorFields, SensorOptions
from .const import KIND, MAX_RATE
from .entities import ENTITIES
from .handler import SensorHandler, wire_error
from .live import SensorLive
from .surfaces import async_register

SENSOR: Final = Kind(
    key=KIND,
    model="Sensor",
    create=SensorHandler,
    entities=ENTITIES,
    fields=SensorFields(),
    wire_error=wire_error,
    transports=(TRANSPORT_WEBSOCKET, TRANSPORT_MQTT),
    max_rate=MAX_RATE,
    per_hub=SensorLive,
    options=SensorOptions(),
    register=async_register,
)

__all__ = ["SENSOR"]
