"""Sensors over MQTT: the same JSON readings on ``<prefix>/<id>/state``, through the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
from types import MappingProxyType

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest

from custom_components.iot_hub.const import SUBENTRY_DEVICE
from custom_components.iot_hub.hub import Hub

from .appliance_tools import broker_options, device_client, load_broker_hub, unique_prefix
from .conftest import state_of, until
from .sensor_tools import follow_feed, readings

pytestmark = pytest.mark.usefixtures("socket_enabled")

MQTT_ID = "env-mqtt"


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
async def hub(hass: HomeAssistant, prefix: str) -> AsyncIterator[Hub]:
    """An environment sensor on MQTT, on a dedicated connection to the local broker."""
    sensor = ConfigSubentryData(
        data=MappingProxyType(
            {"kind": "sensor", "transport": "mqtt", "mqtt_id": MQTT_ID, "sensor_id": 7}
        ),
        subentry_id="mqttsensor",
        subentry_type=SUBENTRY_DEVICE,
        title="Garden",
        unique_id=MQTT_ID,
    )
    loaded = await load_broker_hub(hass, [sensor], broker_options(prefix))
    yield loaded
    await hass.config_entries.async_unload(loaded.entry_id)


async def test_mqtt_readings_become_sensors_and_bad_ones_harm_nothing(
    hass: HomeAssistant, hub: Hub, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Seed 001's reading as JSON on the state topic; garbage is logged and skipped."""
    state = f"{prefix}/{MQTT_ID}/state"
    reading = {"sensor_id": 7, "temperatura": 18.5, "humedad": 40}
    async with device_client(prefix, MQTT_ID) as device:
        async with asyncio.timeout(5):
            while state_of(hass, "sensor.garden_temperature") != "18.5":
                await device.publish(state, json.dumps(reading).encode(), qos=1)
                await asyncio.sleep(0.02)
        assert state_of(hass, "sensor.garden_humidity") == "40.0"
        for bad in (b"not json", b'{"temperatura": "warm"}', b"\xff\xfe", b"[]"):
            await device.publish(state, bad, qos=1)
        await device.publish(state, b'{"temperatura": 19.25}', qos=1)
        handler = hub.devices["mqttsensor"].handler
        await until(lambda: handler.values.get("temperatura") == 19.25)
    assert "Garden sent a reading that cannot be read" in caplog.text
    assert caplog.text.count("cannot be read") == 1  # once per device per minute


async def test_mqtt_sensors_have_the_sensor_rate(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """300 readings at once are all taken (an oven's id would be cut after 100)."""
    state = f"{prefix}/{MQTT_ID}/state"
    events, unsubscribe = follow_feed(hass, hub.entry_id)
    async with device_client(prefix, MQTT_ID) as device:
        for sample in range(300):
            await device.publish(state, json.dumps({"n": sample}).encode(), qos=1)
        await until(lambda: len(readings(events)) == 300)
    unsubscribe()
    assert [values["n"] for values in readings(events)] == list(range(300))
