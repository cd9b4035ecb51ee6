"""The hub's MQTT options: the bus they choose and the broker check of the options flow."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest

from custom_components.iot_hub.transport.mqtt.client_bus import ClientMqttBus
from custom_components.iot_hub.transport.mqtt.ha_bus import HaMqttBus
from custom_components.iot_hub.transport.mqtt.settings import (
    CONF_MQTT_CLIENT_ID,
    CONF_MQTT_HOST,
    CONF_MQTT_LEGACY_FILTER,
    CONF_MQTT_PASSWORD,
    CONF_MQTT_PORT,
    CONF_MQTT_PREFIX,
    CONF_MQTT_TLS,
    CONF_MQTT_TRANSPORT,
    CONF_MQTT_USERNAME,
    TRANSPORT_DEDICATED,
    TRANSPORT_HOME_ASSISTANT,
    async_check_broker,
    bus_from_options,
    client_settings,
    legacy_filter_of,
    prefix_of,
    transport_of,
)

from .conftest import until
from .mosquitto import HOST, SHARED_PORT, Mosquitto, free_port
from .mqtt_tools import unique


def dedicated(port: int = SHARED_PORT, **more: Any) -> dict[str, Any]:
    """Options of a hub on a dedicated broker of 127.0.0.1."""
    return {
        CONF_MQTT_TRANSPORT: TRANSPORT_DEDICATED,
        CONF_MQTT_HOST: HOST,
        CONF_MQTT_PORT: port,
    } | more


def test_defaults() -> None:
    """No options: HA's MQTT, prefix iot_hub, no legacy filter."""
    assert transport_of({}) == TRANSPORT_HOME_ASSISTANT
    assert prefix_of({}) == "iot_hub"
    assert prefix_of({CONF_MQTT_PREFIX: "home/iot"}) == "home/iot"
    assert legacy_filter_of({}) is None
    assert legacy_filter_of({CONF_MQTT_LEGACY_FILTER: ""}) is None
    assert legacy_filter_of({CONF_MQTT_LEGACY_FILTER: "dispositivos/#"}) == "dispositivos/#"


def test_client_settings() -> None:
    """Options map onto the dedicated connection; the client id option wins."""
    settings = client_settings({CONF_MQTT_HOST: "broker.lan"}, "iot_hub-entry1")
    assert (settings.host, settings.port, settings.tls) == ("broker.lan", 1883, False)
    assert (settings.username, settings.password) == (None, None)
    assert settings.client_id == "iot_hub-entry1"
    assert settings.keepalive == 60
    settings = client_settings(
        {
            CONF_MQTT_HOST: "broker.lan",
            CONF_MQTT_PORT: 8883,
            CONF_MQTT_USERNAME: "hub",
            CONF_MQTT_PASSWORD: "pw",
            CONF_MQTT_TLS: True,
            CONF_MQTT_CLIENT_ID: "my-hub",
        },
        "iot_hub-entry1",
    )
    assert (settings.port, settings.tls, settings.username, settings.password) == (
        8883,
        True,
        "hub",
        "pw",
    )
    assert settings.client_id == "my-hub"
    assert settings.address == "broker.lan:8883"


def test_bus_from_options(hass: HomeAssistant) -> None:
    """The transport option picks the bus."""
    assert isinstance(bus_from_options(hass, {}, "iot_hub-x"), HaMqttBus)
    bus = bus_from_options(hass, dedicated(), "iot_hub-x")
    assert isinstance(bus, ClientMqttBus)
    assert bus.settings.client_id == "iot_hub-x"


@pytest.mark.usefixtures("socket_enabled")
async def test_check_broker(hass: HomeAssistant) -> None:
    """The shared broker answers; a closed port or no host cannot connect."""
    assert await async_check_broker(hass, dedicated()) is None
    assert await async_check_broker(hass, dedicated(free_port())) == "cannot_connect"
    assert await async_check_broker(hass, dedicated() | {CONF_MQTT_HOST: ""}) == "cannot_connect"


@pytest.mark.usefixtures("socket_enabled")
async def test_check_broker_credentials(hass: HomeAssistant, tmp_path: Any) -> None:
    """Wrong or missing credentials: invalid_auth; the right ones pass."""
    broker = Mosquitto(tmp_path / "auth", users={"hub": "s3cret"})
    await broker.start()
    try:
        options = dedicated(broker.port)
        assert await async_check_broker(hass, options) == "invalid_auth"
        wrong = options | {CONF_MQTT_USERNAME: "hub", CONF_MQTT_PASSWORD: "x"}
        assert await async_check_broker(hass, wrong) == "invalid_auth"
        right = options | {CONF_MQTT_USERNAME: "hub", CONF_MQTT_PASSWORD: "s3cret"}
        assert await async_check_broker(hass, right) is None
    finally:
        await broker.stop()


@pytest.mark.usefixtures("socket_enabled")
async def test_check_leaves_the_running_hub_connected(hass: HomeAssistant) -> None:
    """The check connects under a client id of its own: the hub's session is not taken over."""
    client_id = unique("iot_hub-test")
    options = dedicated(**{CONF_MQTT_CLIENT_ID: client_id})
    bus = bus_from_options(hass, options, "unused")
    changes: list[bool] = []
    bus.on_connection_change(changes.append)
    await bus.async_start()
    try:
        await until(lambda: bus.connected)
        assert await async_check_broker(hass, options) is None
        await bus.async_publish("iot_hub_test/check", "still here")
        await until(lambda: isinstance(bus, ClientMqttBus) and bus.queued == 0)
    finally:
        await bus.async_stop()
    assert changes == [True, False]
