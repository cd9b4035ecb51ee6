"""The smart oven (seed 000): an ESP32 that streams temperatures and records sessions.

The oven connects with its device token and sends bare temperatures; its mobile app connects
with an HA token and no other parameter (``?device=`` names the oven when there are several),
so ovens take the plain app connections.
"""

from __future__ import annotations

from typing import Final

from ...const import TRANSPORT_MQTT, TRANSPORT_WEBSOCKET
from ...kind import Kind
from .config_flow import OvenFields
from .entities import ENTITIES
from .handler import OvenHandler, wire_error
from .measure import OvenMeasure, logbook_summary

OVEN: Final = Kind(
    key="oven",
    model="Smart oven (ESP32)",
    create=OvenHandler,
    load_measure=OvenMeasure.from_dict,
    entities=ENTITIES,
    fields=OvenFields(),
    plain_clients=True,
    transports=(TRANSPORT_WEBSOCKET, TRANSPORT_MQTT),
    wire_error=wire_error,
    logbook_summary=logbook_summary,
)

__all__ = ["OVEN"]
