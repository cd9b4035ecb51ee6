"""MQTT appliances (seed 003): devices claimed by serial, switched by hand or on a schedule.

An appliance publishes ``{"serial_number", "estado", "parametros"}`` over MQTT; an unknown
serial shows up in *Discovered* until it is claimed (the UI, ``iot_hub.claim_device`` or the
legacy ``POST /api/iot_hub/dispositivos/reclamar``). The legacy REST routes, the SSE stream and
the logs are layers over the per-hub ``ApplianceDirectory``.
"""

from __future__ import annotations

import json
from typing import Final

from ...const import TRANSPORT_MQTT
from ...errors import ErrorKey
from ...kind import Kind, Source
from ...protocol import ProtocolError
from .codec import decode_state
from .config_flow import ApplianceFields, ApplianceOptions
from .const import KIND
from .directory import ApplianceDirectory
from .entities import ENTITIES
from .handler import ApplianceHandler
from .surfaces import async_register


def _serial_of(payload: str) -> str | None:
    """The serial a legacy-topic message names (None when it does not read)."""
    try:
        return decode_state(payload).serial_number
    except ProtocolError:
        return None


def _wire_error(source: Source, key: ErrorKey) -> str:
    """The seed has no error frames: refusals are logged, and this is never published.

    It exists for the contract (a frame for every key), in the seed's Flask error shape.
    """
    del source
    return json.dumps({"error": key.value.replace("_", " ")})


APPLIANCE: Final = Kind(
    key=KIND,
    model="MQTT appliance",
    create=ApplianceHandler,
    entities=ENTITIES,
    fields=ApplianceFields(),
    options=ApplianceOptions(),
    wire_error=_wire_error,
    transports=(TRANSPORT_MQTT,),
    per_hub=ApplianceDirectory,
    mqtt_id_of=_serial_of,
    register=async_register,
)

__all__ = ["APPLIANCE"]
