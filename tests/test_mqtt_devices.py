"""Ovens and chargers over MQTT: the WebSocket's frames on topics, through the real broker.

What ESPHome's ``mqtt:`` component publishes: bare temperatures on ``<prefix>/<id>/state``,
``online``/``offline`` on ``<prefix>/<id>/status``; the hub answers on ``<prefix>/<id>/command``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
from types import MappingProxyType

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.iot_hub.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.iot_hub.hub import Hub

from .appliance_tools import broker_options, device_client, load_broker_hub, unique_prefix
from .conftest import OVEN_TOKEN, hub_entry, oven_subentry, state_of, until, until_recorded

pytestmark = pytest.mark.usefixtures("socket_enabled")

OVEN = "oven-mqtt"


def mqtt_oven(subentry_id: str = "mqttoven", mqtt_id: str = OVEN) -> ConfigSubentryData:
    return ConfigSubentryData(
        data=MappingProxyType({"kind": "oven", "transport": "mqtt", "mqtt_id": mqtt_id}),
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_DEVICE,
        title="MQTT oven",
        unique_id=mqtt_id,
    )


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
async def hub(hass: HomeAssistant, prefix: str) -> AsyncIterator[Hub]:
    """An MQTT oven beside a WebSocket one, on a dedicated connection to the local broker."""
    loaded = await load_broker_hub(
        hass, [mqtt_oven(), oven_subentry("wsoven", "Oven", OVEN_TOKEN)], broker_options(prefix)
    )
    yield loaded
    await hass.config_entries.async_unload(loaded.entry_id)


async def test_an_mqtt_oven_streams_and_gets_start_stop(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """Readings become the temperature sensor; START/STOP go out on its command topic."""
    device = hub.devices["mqttoven"]
    assert state_of(hass, "sensor.mqtt_oven_temperature") == "unavailable"
    async with device_client(prefix, OVEN) as oven:
        await oven.subscribe(f"{prefix}/{OVEN}/command", qos=1)
        async with asyncio.timeout(5):
            while state_of(hass, "sensor.mqtt_oven_temperature") != "23.5":
                await oven.publish(f"{prefix}/{OVEN}/state", b"23.5", qos=1)
                await asyncio.sleep(0.02)
        assert device.connected
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.mqtt_oven_start_session"}, blocking=True
        )
        async with asyncio.timeout(5):
            message = await anext(aiter(oven.messages))
        assert (message.topic.value, message.payload) == (f"{prefix}/{OVEN}/command", b"START")
        await oven.publish(f"{prefix}/{OVEN}/state", b"24.0", qos=1)
        await until_recorded(hass, lambda: state_of(hass, "sensor.mqtt_oven_temperature") == "24.0")
        session = device.active_session
        assert session is not None
        await hass.services.async_call(
            "button", "press", {"entity_id": "button.mqtt_oven_stop_session"}, blocking=True
        )
        async with asyncio.timeout(5):
            message = await anext(aiter(oven.messages))
        assert message.payload == b"STOP"
        # Its last will: offline, and unavailable.
        await oven.publish(f"{prefix}/{OVEN}/status", b"offline", qos=1)
        await until(lambda: not device.connected)
        assert state_of(hass, "sensor.mqtt_oven_temperature") == "unavailable"


async def test_silence_without_a_last_will_means_offline(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """A device that never said online/offline is offline after the silence timeout."""
    device = hub.devices["mqttoven"]
    async with device_client(None) as oven:
        async with asyncio.timeout(5):
            while not device.connected:
                await oven.publish(f"{prefix}/{OVEN}/state", b"20", qos=1)
                await asyncio.sleep(0.02)
    assert hub.mqtt.devices is not None
    hub.mqtt.devices.check_silence(hub.devices.values(), 0)
    assert not device.connected


async def test_flood_and_oversize_are_dropped_and_logged(
    hass: HomeAssistant, hub: Hub, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """More than the allowed rate, or a payload over 16 KiB: dropped with a throttled log."""
    caplog.set_level(logging.WARNING)
    async with device_client(prefix, OVEN) as oven:
        await oven.publish(f"{prefix}/{OVEN}/state", b"1" * 20_000, qos=1)
        for _ in range(300):
            await oven.publish(f"{prefix}/{OVEN}/state", b"30", qos=0)
        await until(lambda: "refused" in caplog.text)
    assert caplog.text.count("MQTT message from") <= 2  # once a minute per id, not per message
    # The WebSocket oven beside it is not affected.
    assert hub.devices["wsoven"].link is None


async def test_mqtt_devices_without_a_broker_raise_a_repair(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    """HA's MQTT chosen but not set up, with an MQTT device: a repair issue says what to do."""
    entry = hub_entry([mqtt_oven()])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "mqtt_unavailable") is not None
    # Removing the MQTT device removes the reason.
    hass.config_entries.async_remove_subentry(entry, "mqttoven")
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "mqtt_unavailable") is None
