"""Helpers of the appliance tests: a hub on the real broker, and a device that publishes.

Tests share the machine's Mosquitto with every other test (and run in parallel), so each hub
uses a topic prefix of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
import json
from typing import Any
import uuid

import aiomqtt
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant

from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.transport.mqtt.settings import (
    CONF_MQTT_HOST,
    CONF_MQTT_LEGACY_FILTER,
    CONF_MQTT_PORT,
    CONF_MQTT_PREFIX,
    CONF_MQTT_TRANSPORT,
    TRANSPORT_DEDICATED,
)

from .conftest import hub_entry, hub_of, until

HOST = "127.0.0.1"
PORT = 1883
SERIAL = "TMP0603IF1WD"


def unique_prefix() -> str:
    """A topic prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"


def broker_options(prefix: str, legacy_filter: str = "") -> dict[str, Any]:
    """Hub options: a dedicated connection to the local broker, under ``prefix``."""
    return {
        CONF_MQTT_TRANSPORT: TRANSPORT_DEDICATED,
        CONF_MQTT_HOST: HOST,
        CONF_MQTT_PORT: PORT,
        CONF_MQTT_PREFIX: prefix,
        CONF_MQTT_LEGACY_FILTER: legacy_filter,
    }


async def load_broker_hub(
    hass: HomeAssistant, subentries: list[ConfigSubentryData], options: dict[str, Any]
) -> Hub:
    """A hub entry with these devices and (broker) options, loaded, its MQTT connection up.

    The caller unloads it: ``await hass.config_entries.async_unload(hub.entry_id)``.
    """
    entry = hub_entry(subentries, options)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub = hub_of(entry)
    assert hub.mqtt.devices is not None
    await until(lambda: hub.mqtt.devices is not None and hub.mqtt.devices.connected)
    return hub


def state(serial: str = SERIAL, estado: str = "activo", **parametros: Any) -> str:
    """The seed's state message, compact as firmware sends it."""
    return json.dumps(
        {"serial_number": serial, "estado": estado, "parametros": parametros},
        separators=(",", ":"),
    )


@contextlib.asynccontextmanager
async def device_client(
    prefix: str | None = None, serial: str = SERIAL
) -> AsyncIterator[aiomqtt.Client]:
    """An MQTT client acting as a device (its last will: offline on its status topic)."""
    will = None
    if prefix is not None:
        will = aiomqtt.Will(f"{prefix}/{serial}/status", b"offline", qos=1, retain=True)
    async with aiomqtt.Client(
        HOST, PORT, identifier=f"dev-{uuid.uuid4().hex[:8]}", will=will
    ) as client:
        yield client
