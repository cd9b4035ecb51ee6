"""Sensors that only POST (seed 001's and seed 004's REST routes): present while they post."""

from __future__ import annotations

from datetime import timedelta
import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.const import DEFAULT_MQTT_SILENCE
from custom_components.iot_hub.feed import FeedKind

from .conftest import WsConnect, hub_of, state_of, until
from .sensor_tools import (
    CONSUMER,
    ENV,
    ENV_ID,
    ENV_TOKEN,
    WEARABLE,
    WEARABLE_ID,
    WEARABLE_TOKEN,
    follow_feed,
)


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor and a wearable."""
    return [ENV, WEARABLE]


async def test_a_posting_sensor_is_connected_until_it_falls_silent(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Its entities show the posted values; after the silence timeout it is lost, once."""
    events, unsubscribe = follow_feed(hass, init_integration.entry_id)
    client = await hass_client_no_auth()
    headers = {"Authorization": f"Bearer {ENV_TOKEN}"}
    for value in (21.5, 22.0):
        response = await client.post(
            "/api/iot_hub/v1/readings", json={"sensor_id": 1, "temperatura": value}, headers=headers
        )
        assert response.status == 201
        freezer.tick(timedelta(seconds=DEFAULT_MQTT_SILENCE - 1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    assert state_of(hass, "binary_sensor.environment_connectivity") == "on"
    assert state_of(hass, "sensor.environment_temperature") == "22.0"
    connections = [e.kind for e in events if e.device_id == ENV_ID and e.kind != FeedKind.READING]
    assert connections == [FeedKind.CONNECTED]  # the second POST kept it, did not reconnect

    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    unsubscribe()
    assert state_of(hass, "binary_sensor.environment_connectivity") == "off"
    assert state_of(hass, "sensor.environment_temperature") == "unavailable"
    connections = [e.kind for e in events if e.device_id == ENV_ID and e.kind != FeedKind.READING]
    assert connections == [FeedKind.CONNECTED, FeedKind.DISCONNECTED]


async def test_posts_do_not_disturb_a_real_connection(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    ws_connect: WsConnect,
) -> None:
    """A device connected over the WebSocket that also posts keeps its socket; a socket
    opened after posting replaces the posted presence."""
    client = await hass_client_no_auth()
    url = f"/api/iot_hub/sensor_data/{CONSUMER}/?token={WEARABLE_TOKEN}"
    response = await client.post(url, json={"accel_x": 1.0})
    assert response.status == 201
    assert (await response.json())["accel_x"] == 1.0
    device = hub_of(hass).devices[WEARABLE_ID]
    posted = device.link
    assert posted is not None and posted.peer == "http"

    ws = await ws_connect(f"?token={WEARABLE_TOKEN}")
    await until(lambda: device.link is not posted)
    assert posted.closing
    live = device.link
    response = await client.post(url, json={"accel_x": 2.0})
    assert response.status == 201
    assert device.link is live  # the socket stays the device's connection
    await ws.send_str(json.dumps({"accel_x": 3.0}))
    await until(lambda: device.handler.values["accel_x"] == 3.0)


async def test_a_removed_posting_device_leaves_no_timer(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Unloading the hub cancels the presence timers."""
    client = await hass_client_no_auth()
    response = await client.post(
        "/api/iot_hub/v1/readings", json={"temperatura": 20}, params={"token": ENV_TOKEN}
    )
    assert response.status == 201
    hub = hub_of(hass)
    assert hub.posted._timers
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert not hub.posted._timers
