"""Sensor devices (seeds 001 and 004): readings over the device WebSocket become entities."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.kinds.sensor import SENSOR
from custom_components.iot_hub.kinds.sensor.handler import MAX_NAMES
from custom_components.iot_hub.kinds.sensor.live import ID_BLOCK, SensorLive, live_of

from .conftest import WsConnect, hub_of, state_of, until
from .sensor_tools import ENV, ENV_ID, ENV_TOKEN, WEARABLE, WEARABLE_TOKEN, follow_feed, readings


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor and a wearable."""
    return [ENV, WEARABLE]


async def test_readings_create_sensors_with_classes_and_units(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """Seed 001's and seed 004's values each become a sensor with the right class and unit."""
    env = await ws_connect(f"?token={ENV_TOKEN}")
    await env.send_str(json.dumps({"sensor_id": 1, "temperatura": 23.5, "humedad": 65.2}))
    await until(lambda: state_of(hass, "sensor.environment_temperature") == "23.5")
    assert state_of(hass, "sensor.environment_humidity") == "65.2"
    humidity = hass.states.get("sensor.environment_humidity")
    assert humidity is not None and humidity.attributes["unit_of_measurement"] == "%"

    wear = await ws_connect(f"?token={WEARABLE_TOKEN}")
    await wear.send_str(
        json.dumps({"accel_x": 0.5, "accel_y": -9.8, "accel_z": 0.1, "heart_rate": 72})
    )
    await until(lambda: state_of(hass, "sensor.wearable_heart_rate") == "72.0")
    accel = hass.states.get("sensor.wearable_acceleration_y")
    assert accel is not None and accel.attributes["unit_of_measurement"] == "m/s²"


async def test_bad_readings_get_an_error_frame_and_harm_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Non-JSON, non-numbers, infinities: an error frame, a log line, the socket stays up."""
    env = await ws_connect(f"?token={ENV_TOKEN}")
    for bad in ("not json", "[1]", '{"temperatura": "hot"}', '{"temperatura": 1e999}', "{}"):
        await env.send_str(bad)
        reply = json.loads((await env.receive(timeout=5)).data)
        assert reply["type"] == "error" and reply["error"]
    assert "cannot be read" in caplog.text
    await env.send_str('{"temperatura": 21}')
    await until(lambda: state_of(hass, "sensor.environment_temperature") == "21.0")


async def test_names_seen_survive_a_restart(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A sensor created by a reading is there again after a reload, before any reading."""
    env = await ws_connect(f"?token={ENV_TOKEN}")
    await env.send_str('{"co2": 415}')
    await until(lambda: state_of(hass, "sensor.environment_carbon_dioxide") == "415.0")
    await hub_of(hass).sessions.async_shutdown()  # what an unload writes
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    entity = er.async_get(hass).async_get("sensor.environment_carbon_dioxide")
    assert entity is not None and entity.config_subentry_id == ENV_ID
    assert state_of(hass, "sensor.environment_carbon_dioxide") == "unavailable"


async def test_reading_ids_increase_and_are_never_reused_after_a_crash(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Ids come from blocks written ahead: a crash (no shutdown) never hands one out twice."""
    live = live_of(hass)
    assert live is not None
    first = [live.reading_id() for _ in range(3)]
    assert first == [1, 2, 3]
    await hass.async_block_till_done()
    key = f"iot_hub.sensor_reading_ids.{init_integration.entry_id}"
    assert hass_storage[key]["data"] == {"reserved": 1 + ID_BLOCK}
    # kill -9: the next run reads only what is on disk.
    crashed = SensorLive(hub_of(hass))
    await crashed.async_setup()
    assert crashed.reading_id() == 1 + ID_BLOCK
    await crashed.async_shutdown()


async def test_a_device_creates_at_most_64_sensors(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A device that keeps inventing names gets 64 sensors; its values are still taken."""
    env = await ws_connect(f"?token={ENV_TOKEN}")
    for batch in range(3):
        await env.send_str(json.dumps({f"v{batch}_{i}": i for i in range(40)}))
    await env.send_str('{"v0_0": 99}')  # after the others: they were all handled by then
    handler = hub_of(hass).devices[ENV_ID].handler
    await until(lambda: handler.values.get("v0_0") == 99)
    await hass.async_block_till_done()
    sensors = [
        entity
        for entity in er.async_entries_for_config_entry(
            er.async_get(hass), init_integration.entry_id
        )
        if entity.config_subentry_id == ENV_ID and "_value_" in entity.unique_id
    ]
    assert len(sensors) == MAX_NAMES == 64
    assert len(handler.values) == 64  # names past the cap are not kept either


async def test_sensors_may_send_four_times_faster_than_other_devices(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A burst of 400 readings is taken whole: 200/s, bursts of 400 (ovens: 50/s, 100)."""
    assert SENSOR.max_rate == 200.0
    events, unsubscribe = follow_feed(hass, init_integration.entry_id)
    wear = await ws_connect(f"?token={WEARABLE_TOKEN}")
    for sample in range(400):
        await wear.send_str(json.dumps({"accel_z": 9.81, "n": sample}))
    await until(lambda: len(readings(events)) == 400)
    unsubscribe()
    assert [values["n"] for values in readings(events)] == list(range(400))  # in order
