"""The default MQTT transport (``HaMqttBus``) on HA's real MQTT client and real brokers.

No ``mqtt_mock``: HA's MQTT integration is set up with a config entry pointing at the
machine's broker or a private one, with discovery, birth and will off (the shared broker
serves other test runs too). The entry is unloaded after each test, which disconnects
paho (HA itself does not on shutdown, and its timer would linger).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
from pathlib import Path
from unittest.mock import patch

import aiomqtt
from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.iot_hub.transport.mqtt.bus import MqttNotSetUpError
from custom_components.iot_hub.transport.mqtt.client_bus import ClientMqttBus
from custom_components.iot_hub.transport.mqtt.ha_bus import HaMqttBus

from .conftest import SetupMqtt, until
from .mosquitto import (
    HOST,
    SHARED_PORT,
    Mosquitto,
    mosquitto_fixture,  # noqa: F401  (the fixture)
)
from .mqtt_tools import Inbox, bus_settings, unique
from .test_mqtt_client_bus import Publisher

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def ha_bus(hass: HomeAssistant) -> AsyncIterator[HaMqttBus]:
    """A HaMqttBus, stopped after the test (start it once HA's MQTT is set up)."""
    bus = HaMqttBus(hass)
    yield bus
    await bus.async_stop()


@pytest.fixture
def base() -> str:
    """This test's topic base on the shared broker."""
    return unique("iot_hub_test")


async def test_without_ha_mqtt(hass: HomeAssistant, ha_bus: HaMqttBus) -> None:
    """No MQTT integration: starting says so (the hub turns it into a repair issue)."""
    assert not ha_bus.connected
    with pytest.raises(MqttNotSetUpError):
        await ha_bus.async_start()


async def test_receive_and_publish_on_the_shared_broker(
    hass: HomeAssistant,
    setup_mqtt: SetupMqtt,
    ha_bus: HaMqttBus,
    base: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through HA's client: bytes in, retained and plain publishes out, unsubscribe."""
    await setup_mqtt()
    await ha_bus.async_start()
    await ha_bus.async_start()  # twice is harmless
    await until(lambda: ha_bus.connected)
    inbox, gone = Inbox(), Inbox()

    def broken(topic: str, payload: bytes) -> None:
        raise ValueError("bad frame")

    await ha_bus.async_subscribe(f"{base}/+/state", inbox)
    await ha_bus.async_subscribe(f"{base}/+/state", broken)
    unsubscribe = await ha_bus.async_subscribe(f"{base}/+/status", gone)
    unsubscribe()
    unsubscribe()  # HA raises on a second call; the bus does not
    with pytest.raises(ValueError):
        await ha_bus.async_subscribe(f"{base}/#/x", inbox)
    with pytest.raises(ValueError):
        await ha_bus.async_publish(f"{base}/+/x", "x")
    async with aiomqtt.Client(HOST, SHARED_PORT, identifier=unique("dev")) as device:
        await device.subscribe(f"{base}/#", qos=1)
        # HA subscribes after a cooldown: publish until the subscription is in place.
        async with asyncio.timeout(10):
            while not inbox.messages:
                await device.publish(f"{base}/dev1/state", b"\xff not text", qos=1)
                await asyncio.sleep(0.05)
        await device.publish(f"{base}/dev1/status", b"online", qos=1)
        await device.publish(f"{base}/dev1/state", b"last", qos=1)
        await until(inbox.has(b"last"))
        assert set(inbox.payloads) == {b"\xff not text", b"last"}
        assert gone.messages == []
        assert any("Exception in deliver" in r.getMessage() for r in caplog.records)

        await ha_bus.async_publish(f"{base}/dev1/config", '{"modo":"manual"}', retain=True)
        await ha_bus.async_publish(f"{base}/dev1/command", b"START")
        got: list[aiomqtt.Message] = []
        async with asyncio.timeout(10):
            async for message in device.messages:
                if message.topic.value.endswith(("/config", "/command")):
                    got.append(message)
                if len(got) == 2:
                    break
    assert [(m.topic.value, m.payload, m.qos) for m in got] == [
        (f"{base}/dev1/config", b'{"modo":"manual"}', 1),
        (f"{base}/dev1/command", b"START", 1),
    ]
    assert ha_bus.queued == 0
    async with aiomqtt.Client(HOST, SHARED_PORT, identifier=unique("late")) as late:
        await late.subscribe(f"{base}/dev1/config", qos=1)
        async with asyncio.timeout(10):
            retained = await anext(aiter(late.messages))
        assert (retained.payload, retained.retain) == (b'{"modo":"manual"}', True)
        await late.publish(f"{base}/dev1/config", b"", qos=1, retain=True)  # leave it clean

    await ha_bus.async_stop()  # unsubscribes: nothing more arrives
    assert not [
        sub for sub in hass.data[mqtt.DATA_MQTT].client.subscriptions if sub.topic.startswith(base)
    ]


async def test_broker_restart_in_the_middle_of_traffic(
    hass: HomeAssistant,
    setup_mqtt: SetupMqtt,
    ha_bus: HaMqttBus,
    mosquitto: Mosquitto,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """HA's client reconnects and resubscribes; from then on every acked message arrives.

    HA's client starts a clean session on every connection (MQTT 5, clean start), so what is
    published after the broker is back but before HA has subscribed again is not queued for
    it: the guarantee here starts with HA's resubscription (the dedicated transport's
    persistent session closes that window). The bus's own publishes made while HA's client
    was down wait in its outbox and go out in order once it is back.
    """
    with patch("homeassistant.components.mqtt.client.RECONNECT_INTERVAL_SECONDS", 0.05):
        await setup_mqtt(mosquitto.port)
        await ha_bus.async_start()
        await until(lambda: ha_bus.connected)
        changes: list[bool] = []
        ha_bus.on_connection_change(changes.append)
        ha_bus.on_connection_change(lambda connected: 1 / 0)  # logged, harms nothing
        removed = ha_bus.on_connection_change(changes.append)
        removed()
        removed()
        data = Inbox()
        await ha_bus.async_subscribe("iot_hub/+/state", data)
        # A device that hears the hub's commands, with a session that outlives the restart.
        device = ClientMqttBus(hass, bus_settings(port=mosquitto.port))
        commands = Inbox()
        await device.async_subscribe("iot_hub/+/command", commands)
        await device.async_start()
        publisher = Publisher(mosquitto.port, "iot_hub/dev1/state")
        publisher.start()
        try:
            await until(lambda: len(data.messages) >= 50 and device.connected, timeout=10)
            await mosquitto.stop()
            await until(lambda: not ha_bus.connected)
            for n in range(10):
                await ha_bus.async_publish(f"iot_hub/dev{n}/command", str(n))
            assert ha_bus.queued == 10
            await mosquitto.start()
            await until(lambda: ha_bus.connected, timeout=10)
            mark = len(data.messages)
            await until(lambda: len(data.messages) >= mark + 50, timeout=10)
            await until(lambda: len(commands.messages) == 10, timeout=10)
        finally:
            await publisher.stop()
            await device.async_stop()
    first_after = int(data.payloads[mark])  # the first message of HA's new subscription
    owed = {n for n in publisher.acked if n >= first_after}

    def received() -> set[int]:
        return {int(payload) for payload in data.payloads}

    await until(lambda: owed <= received(), timeout=10)
    assert len(owed) >= 50
    assert changes == [False, True]
    assert commands.payloads == [str(n).encode() for n in range(10)]
    await until(lambda: ha_bus.queued == 0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "iot_hub" in r.name]
    assert [r.getMessage() for r in errors] == ["Error in an MQTT connection listener"] * 2


async def test_outbox_before_ha_connects_the_first_time(
    hass: HomeAssistant, setup_mqtt: SetupMqtt, ha_bus: HaMqttBus, tmp_path: Path
) -> None:
    """HA's MQTT set up while its broker is down: publishes wait, then go in order."""
    broker = Mosquitto(tmp_path / "late")  # configured, not started
    with patch("homeassistant.components.mqtt.client.RECONNECT_INTERVAL_SECONDS", 0.05):
        await setup_mqtt(broker.port)
        await ha_bus.async_start()
        assert not ha_bus.connected
        for n in range(3):
            await ha_bus.async_publish("iot_hub/dev/config", f"config {n}", retain=True)
        await ha_bus.async_publish("iot_hub/dev/command", "START")
        assert ha_bus.queued == 4
        try:
            await broker.start()
            await until(lambda: ha_bus.connected, timeout=10)
            await until(lambda: ha_bus.queued == 0)
            async with aiomqtt.Client(HOST, broker.port, identifier=unique("dev")) as device:
                await device.subscribe("iot_hub/#", qos=1)
                async with asyncio.timeout(10):
                    retained = await anext(aiter(device.messages))
        finally:
            await broker.stop()
    assert (retained.topic.value, retained.payload) == ("iot_hub/dev/config", b"config 2")


async def test_publish_failures(
    hass: HomeAssistant, setup_mqtt: SetupMqtt, ha_bus: HaMqttBus, base: str
) -> None:
    """HA refusing a publish: raised while connected, queued when the connection went.

    HA's client refuses promptly only for reasons a live broker does not give here, so the
    refusals are injected.
    """
    await setup_mqtt()
    await until(lambda: mqtt.is_connected(hass))
    await ha_bus.async_start()  # connected already: an empty outbox to send
    assert ha_bus.connected
    refusal = HomeAssistantError("refused")
    with patch.object(mqtt, "async_publish", side_effect=refusal):
        with pytest.raises(HomeAssistantError):
            await ha_bus.async_publish(f"{base}/a", "1")
        assert ha_bus.queued == 0
        # The connection went while HA refused: the message waits.
        with patch.object(HaMqttBus, "_is_connected", side_effect=[True, False]):
            await ha_bus.async_publish(f"{base}/a", "2")
        assert ha_bus.queued == 1
        # Sending it fails too: it stays first.
        await ha_bus.async_publish(f"{base}/a", "3")
        await hass.async_block_till_done()
        assert ha_bus.queued == 2
    async with aiomqtt.Client(HOST, SHARED_PORT, identifier=unique("dev")) as device:
        await device.subscribe(f"{base}/a", qos=1)
        await ha_bus.async_publish(f"{base}/a", "4")  # behind the two waiting: in order
        got: list[bytes] = []
        async with asyncio.timeout(10):
            async for message in device.messages:
                got.append(message.payload)
                if len(got) == 3:
                    break
    assert got == [b"2", b"3", b"4"]
