"""The dedicated MQTT transport (``ClientMqttBus``) against real Mosquitto brokers.

The machine's broker (127.0.0.1:1883) for the everyday paths; private brokers (``mosquitto``
fixture) for what needs one stopped, restarted, with passwords or with TLS.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import logging
import ssl
from typing import Any
from unittest.mock import patch

import aiomqtt
from homeassistant.core import HomeAssistant
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
import pytest

from custom_components.iot_hub.transport.mqtt import client_bus, connection
from custom_components.iot_hub.transport.mqtt.client_bus import ClientMqttBus
from custom_components.iot_hub.transport.mqtt.connection import ClientSettings, async_probe

from .conftest import until
from .mosquitto import (
    HOST,
    SHARED_PORT,
    Mosquitto,
    free_port,
    mosquitto_fixture,  # noqa: F401  (the fixture)
)
from .mqtt_tools import Inbox, bus_settings, make_tls, unique

type MakeBus = Callable[..., Awaitable[ClientMqttBus]]

# Real sockets to 127.0.0.1 (PHACC's pytest-socket allows that host once sockets are enabled).
pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
def base() -> str:
    """This test's topic base on the shared broker."""
    return unique("iot_hub_test")


@pytest.fixture
async def make_bus(hass: HomeAssistant) -> AsyncIterator[MakeBus]:
    """Start dedicated buses (``bus_settings`` keywords); all stopped after the test."""
    buses: list[ClientMqttBus] = []

    async def make(settings: ClientSettings | None = None, **changes: Any) -> ClientMqttBus:
        bus = ClientMqttBus(hass, settings or bus_settings(**changes))
        buses.append(bus)
        await bus.async_start()
        return bus

    yield make
    for bus in buses:
        await bus.async_stop()


@contextlib.asynccontextmanager
async def observer(
    topic_filter: str, port: int = SHARED_PORT
) -> AsyncIterator[tuple[aiomqtt.Client, list[aiomqtt.Message]]]:
    """A plain aiomqtt client subscribed to ``topic_filter`` (QoS 1), keeping what it gets."""
    got: list[aiomqtt.Message] = []
    async with aiomqtt.Client(HOST, port, identifier=unique("observer")) as client:
        await client.subscribe(topic_filter, qos=1)

        async def read() -> None:
            async for message in client.messages:
                got.append(message)  # noqa: PERF401  (as they come, not at the end)

        reader = asyncio.create_task(read())
        try:
            yield client, got
        finally:
            reader.cancel()
            await asyncio.wait([reader])


async def connected(bus: ClientMqttBus) -> ClientMqttBus:
    """``bus`` once it is connected."""
    await until(lambda: bus.connected)
    return bus


async def test_subscribe_receive_and_publish(make_bus: MakeBus, base: str) -> None:
    """Messages on a filter reach the callback as bytes; the bus's publishes reach others."""
    bus = await connected(await make_bus())
    inbox = Inbox()
    await bus.async_subscribe(f"{base}/+/state", inbox)
    async with observer(f"{base}/#") as (client, got):
        await client.publish(f"{base}/dev1/state", b'{"estado":"activo"}', qos=1)
        await client.publish(f"{base}/dev1/other", b"not for the bus", qos=1)
        await client.publish(f"{base}/dev2/state", "23.5", qos=0)
        await until(inbox.has(b"23.5"))
        assert inbox.messages == [
            (f"{base}/dev1/state", b'{"estado":"activo"}'),
            (f"{base}/dev2/state", b"23.5"),
        ]
        await bus.async_publish(f"{base}/dev1/command", "START")
        await bus.async_publish(f"{base}/dev1/command", b"STOP", qos=0)
        await until(lambda: len([m for m in got if m.topic.matches("+/+/command")]) == 2)
    commands = [m for m in got if m.topic.value.endswith("/command")]
    assert [(m.payload, m.qos, m.retain) for m in commands] == [
        (b"START", 1, False),
        (b"STOP", 0, False),
    ]
    await until(lambda: bus.queued == 0)  # the PUBACK may come after the delivery


async def test_retained_and_not(make_bus: MakeBus, base: str) -> None:
    """A retained configuration reaches a device that subscribes later; a command does not."""
    bus = await connected(await make_bus())
    config = f"{base}/dev1/config"
    await bus.async_publish(config, '{"modo":"manual","encendido":true}', retain=True)
    await bus.async_publish(f"{base}/dev1/command", "START")
    await until(lambda: bus.queued == 0)
    # Same publisher, same order: the command was at the broker before this subscribe.
    async with observer(f"{base}/#") as (client, got):
        await until(lambda: len(got) >= 1)
        await client.publish(f"{base}/done", b"", qos=1)
        await until(lambda: any(m.topic.value == f"{base}/done" for m in got))
        retained = [(m.topic.value, m.payload, m.retain) for m in got if m.retain]
        assert retained == [(config, b'{"modo":"manual","encendido":true}', True)]
        assert not any(m.topic.value.endswith("/command") for m in got)
        await client.publish(config, b"", qos=1, retain=True)  # leave the broker clean


async def test_qos1_subscription_queued_by_the_broker_while_the_hub_is_away(
    make_bus: MakeBus, base: str
) -> None:
    """The session persists: QoS 1 messages published while the hub was stopped arrive later."""
    settings = bus_settings()
    bus = await connected(await make_bus(settings))
    first = Inbox()
    await bus.async_subscribe(f"{base}/+/state", first)
    await bus.async_stop()
    assert not bus.connected
    async with aiomqtt.Client(HOST, SHARED_PORT, identifier=unique("pub")) as client:
        for n in range(5):
            await client.publish(f"{base}/dev/state", str(n), qos=1)
    again = await make_bus(settings)  # an HA restart: the same client id
    inbox = Inbox()
    await again.async_subscribe(f"{base}/+/state", inbox)
    await until(inbox.has(b"4"))
    assert inbox.payloads == [b"0", b"1", b"2", b"3", b"4"]
    assert first.messages == []


async def test_unsubscribe(make_bus: MakeBus, base: str) -> None:
    """After unsubscribing, a callback hears nothing; others on the same filter still do."""
    bus = await connected(await make_bus())
    gone, kept, other = Inbox(), Inbox(), Inbox()
    unsubscribe = await bus.async_subscribe(f"{base}/a", gone)
    await bus.async_subscribe(f"{base}/a", kept)
    unsubscribe_b = await bus.async_subscribe(f"{base}/b", other)
    await bus.async_subscribe(f"{base}/c", other)
    unsubscribe()
    unsubscribe()  # twice is harmless
    unsubscribe_b()  # the last one on the filter: UNSUBSCRIBE
    async with aiomqtt.Client(HOST, SHARED_PORT, identifier=unique("pub")) as client:
        await client.publish(f"{base}/a", b"1", qos=1)
        await client.publish(f"{base}/b", b"2", qos=1)
        await client.publish(f"{base}/c", b"3", qos=1)
    await until(other.has(b"3"))  # same publisher, one order: b came before c
    assert kept.payloads == [b"1"]
    assert gone.payloads == []
    assert other.payloads == [b"3"]


async def test_stop_lets_an_unsubscribe_under_way_finish(make_bus: MakeBus, base: str) -> None:
    """Unsubscribing and stopping at once (an unload): the UNSUBSCRIBE gets its UNSUBACK.

    Cut off, the broker's late acknowledgement is an error in paho's log, and the filter would
    stay in the persistent session, queueing messages for a hub that no longer wants them.
    """
    bus = await connected(await make_bus())
    unsubscribe = await bus.async_subscribe(f"{base}/gone", Inbox())
    unsubscribe()
    [pending] = bus._chores  # the UNSUBSCRIBE on its way
    await bus.async_stop()
    assert pending.done() and not pending.cancelled()


async def test_overlapping_filters_and_qos_upgrade(make_bus: MakeBus, base: str) -> None:
    """Every matching subscription hears a message; a higher QoS on a filter is sent again."""
    bus = await connected(await make_bus())
    low, high, wide = Inbox(), Inbox(), Inbox()
    await bus.async_subscribe(f"{base}/x", low, qos=0)
    await bus.async_subscribe(f"{base}/x", high, qos=1)
    await bus.async_subscribe(f"{base}/#", wide)
    async with aiomqtt.Client(HOST, SHARED_PORT, identifier=unique("pub")) as client:
        await client.publish(f"{base}/x", b"m", qos=1)
    await until(lambda: bool(low.messages and high.messages and wide.messages))
    assert low.payloads == high.payloads == wide.payloads == [b"m"]


async def test_hostile_payloads_and_raising_callbacks(
    make_bus: MakeBus, base: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Bytes that are no text, empty payloads, a callback or listener that raises: logged only."""
    bus = await connected(await make_bus())

    def broken(topic: str, payload: bytes) -> None:
        raise ValueError("bad frame")

    def broken_listener(connected: bool) -> None:
        raise RuntimeError("listener bug")

    inbox = Inbox()
    await bus.async_subscribe(f"{base}/+/state", broken)
    await bus.async_subscribe(f"{base}/+/state", inbox)
    bus.on_connection_change(broken_listener)
    async with aiomqtt.Client(HOST, SHARED_PORT, identifier=unique("pub")) as client:
        for payload in (b"\xff\xfe\x00garbage", b"", b"{" * 10000, b"ok"):
            await client.publish(f"{base}/dev/state", payload, qos=1)
    await until(inbox.has(b"ok"))
    assert inbox.payloads == [b"\xff\xfe\x00garbage", b"", b"{" * 10000, b"ok"]
    assert bus.connected
    errors = [r for r in caplog.records if "Error handling the MQTT message" in r.getMessage()]
    assert len(errors) == 4
    await bus.async_stop()  # the listener raises on the way down: logged
    assert any("connection listener" in r.getMessage() for r in caplog.records)


async def test_bad_topics_are_refused_before_anything_is_sent(make_bus: MakeBus) -> None:
    """Wildcards in a publish topic, bad filters or QoS raise at once; nothing is queued."""
    bus = await make_bus()
    for topic in ("a/+/b", "a/#", "", "a\x00b"):
        with pytest.raises(ValueError):
            await bus.async_publish(topic, "x")
    with pytest.raises(ValueError):
        await bus.async_publish("a/b", "x", qos=3)
    for topic_filter in ("a/#/b", "a/b+", ""):
        with pytest.raises(ValueError):
            await bus.async_subscribe(topic_filter, Inbox())
    assert bus.queued == 0


async def test_outbox_while_the_broker_is_down(
    make_bus: MakeBus, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Publishes made before the broker is up wait, bounded, then go in order."""
    broker = Mosquitto(tmp_path / "broker")  # configured, not started
    bus = await make_bus(port=broker.port, outbox_size=3)
    changes: list[bool] = []
    bus.on_connection_change(changes.append)
    inbox = Inbox()
    await bus.async_subscribe("hub/+/command", inbox)  # hears its own publishes
    for n in range(5):
        await bus.async_publish(f"hub/dev{n}/command", str(n))
    assert not bus.connected
    assert bus.queued == 3
    full = [r for r in caplog.records if r.levelno >= logging.WARNING and "full" in r.getMessage()]
    assert len(full) == 1  # one warning, not one per drop
    try:
        await broker.start()
        await until(inbox.has(b"4"))
        await until(lambda: bus.queued == 0)  # its PUBACK may come after the echo
    finally:
        await bus.async_stop()
        await broker.stop()
    assert inbox.payloads == [b"2", b"3", b"4"]
    assert changes == [True, False]
    assert any("2 older messages were dropped" in r.getMessage() for r in caplog.records)


async def test_unreachable_broker_is_retried_and_logged_once(
    make_bus: MakeBus, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listening: not connected, retried with back-off, one warning for the outage."""
    caplog.set_level(logging.DEBUG, logger=client_bus.__name__)
    bus = await make_bus(port=free_port())
    await until(lambda: sum("still unreachable" in r.getMessage() for r in caplog.records) >= 3)
    assert not bus.connected
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0].getMessage()


async def test_broker_that_never_answers(make_bus: MakeBus) -> None:
    """A peer that accepts TCP but never sends CONNACK: each attempt's socket is closed.

    Stopping mid-attempt waits for it to end and closes it too.
    """
    opened = 0
    closed = 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened, closed
        opened += 1
        await reader.read()  # until the client closes
        closed += 1
        writer.close()

    server = await asyncio.start_server(silent, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        bus = await make_bus(port=port, timeout=0.2)
        await until(lambda: closed >= 2)  # attempts time out, their sockets are closed
        await until(lambda: opened > closed)  # one more attempt under way
        await bus.async_stop()
        await until(lambda: closed == opened)
        assert not bus.connected
    finally:
        server.close()
        await server.wait_closed()


async def test_probe(mosquitto: Mosquitto) -> None:
    """One test connection: fine, or nobody listening."""
    assert await async_probe(bus_settings(port=mosquitto.port)) is None
    assert await async_probe(bus_settings(port=free_port())) == "cannot_connect"


async def test_password_broker(make_bus: MakeBus, tmp_path: Any) -> None:
    """Wrong or missing credentials are invalid_auth; the right ones connect."""
    broker = Mosquitto(tmp_path / "auth", users={"hub": "s3cret"})
    await broker.start()
    try:
        assert await async_probe(bus_settings(port=broker.port)) == "invalid_auth"
        wrong = bus_settings(port=broker.port, username="hub", password="nope")
        assert await async_probe(wrong) == "invalid_auth"
        assert "nope" not in repr(wrong)
        right = bus_settings(port=broker.port, username="hub", password="s3cret")
        assert await async_probe(right) is None
        bus = await connected(await make_bus(right))
        inbox = Inbox()
        await bus.async_subscribe("a/b", inbox)
        await bus.async_publish("a/b", "hello")
        await until(inbox.has(b"hello"))
    finally:
        await broker.stop()


async def test_tls(make_bus: MakeBus, tmp_path: Any) -> None:
    """With TLS on, the connection is encrypted and the broker's certificate is checked."""
    tls = make_tls(tmp_path / "tls")
    broker = Mosquitto(tmp_path / "tls-broker", tls=tls)
    await broker.start()
    try:
        # HA's client context trusts public CAs only: a private CA's broker is refused.
        refused = bus_settings(port=broker.port, tls=True)
        assert await async_probe(refused) == "cannot_connect"
        trusting = ssl.create_default_context(cafile=str(tls.ca))
        with patch.object(connection, "client_context", return_value=trusting):
            assert await async_probe(refused) is None
            bus = await connected(await make_bus(port=broker.port, tls=True))
        inbox = Inbox()
        await bus.async_subscribe("a/b", inbox)
        await bus.async_publish("a/b", "over tls")
        await until(inbox.has(b"over tls"))
        # Plain MQTT to a TLS listener is no MQTT at all.
        assert await async_probe(bus_settings(port=broker.port, timeout=1.0)) == "cannot_connect"
    finally:
        await broker.stop()


class Publisher:
    """A device publishing numbered QoS 1 messages without pause, reconnecting when cut off.

    ``acked`` holds every number the broker acknowledged (PUBACK): those it owes subscribers.
    """

    def __init__(self, port: int, topic: str) -> None:
        self.port = port
        self.topic = topic
        self.acked: list[int] = []
        self.failed = 0
        self._next = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.wait([self._task])

    async def _run(self) -> None:
        while True:
            client = aiomqtt.Client(HOST, self.port, identifier=unique("device"))
            try:
                async with client:
                    while True:
                        number = self._next
                        self._next += 1
                        await client.publish(self.topic, str(number), qos=1, timeout=2)
                        self.acked.append(number)
                        await asyncio.sleep(0.002)
            except aiomqtt.MqttError:
                self.failed += 1
                await asyncio.sleep(0.02)
            finally:
                # A publish that timed out leaves aiomqtt's disconnect error unread.
                if client._disconnected.done() and not client._disconnected.cancelled():
                    client._disconnected.exception()


async def test_broker_restart_in_the_middle_of_traffic(
    make_bus: MakeBus, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """The bus reconnects, resubscribes, and receives every QoS 1 message the broker acked.

    The broker saves sessions on SIGTERM (``persistence true``): the bus's session, its
    subscriptions and the messages queued for it survive the restart. The bus is held back
    from reconnecting until the device has published 50 more messages to the restarted
    broker: those arrive too, queued in the session. The bus's own publishes made while the
    broker was down wait in the outbox and go out in order.
    """
    gate = asyncio.Event()
    gate.set()
    connect = connection.async_connect

    async def gated_connect(client: aiomqtt.Client) -> None:
        await gate.wait()
        await connect(client)

    with patch.object(connection, "async_connect", gated_connect):
        bus = await connected(await make_bus(port=mosquitto.port))
        changes: list[bool] = []
        bus.on_connection_change(changes.append)
        data, own = Inbox(), Inbox()
        await bus.async_subscribe("iot_hub/+/state", data)
        await bus.async_subscribe("iot_hub/+/command", own)
        publisher = Publisher(mosquitto.port, "iot_hub/dev1/state")
        publisher.start()
        try:
            await until(lambda: len(data.messages) >= 50)
            gate.clear()
            await mosquitto.stop()
            await until(lambda: not bus.connected)
            for n in range(10):
                await bus.async_publish(f"iot_hub/dev{n}/command", str(n))
            assert bus.queued == 10
            await mosquitto.start()
            came_back = len(publisher.acked)
            await until(lambda: len(publisher.acked) >= came_back + 50, timeout=10)
            assert not bus.connected  # 50 acked while the bus was away
            gate.set()
            await until(lambda: bus.connected)
            await until(lambda: len(own.messages) == 10)
            reconnected = len(publisher.acked)
            await until(lambda: len(publisher.acked) >= reconnected + 50, timeout=10)
        finally:
            await publisher.stop()

    def received() -> set[int]:
        return {int(payload) for payload in data.payloads}

    await until(lambda: set(publisher.acked) <= received(), timeout=10)
    assert publisher.failed >= 1  # the device did see the broker go
    assert changes == [False, True]
    assert own.payloads == [str(n).encode() for n in range(10)]
    await until(lambda: bus.queued == 0)
    outage = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name == client_bus.__name__
    ]
    assert len(outage) == 1, [r.getMessage() for r in outage]
    assert any("reachable again" in r.getMessage() for r in caplog.records)


async def test_unsubscribed_while_offline_leaves_the_session(
    make_bus: MakeBus, mosquitto: Mosquitto
) -> None:
    """A filter dropped while the broker was away is unsubscribed at the next connection."""
    settings = bus_settings(port=mosquitto.port)
    bus = await connected(await make_bus(settings))
    gone, kept = Inbox(), Inbox()
    unsubscribe = await bus.async_subscribe("a/gone", gone)
    await bus.async_subscribe("a/kept", kept)
    await mosquitto.stop()
    await until(lambda: not bus.connected)
    unsubscribe()
    await mosquitto.start()
    await until(lambda: bus.connected)
    async with aiomqtt.Client(HOST, mosquitto.port, identifier=unique("pub")) as client:
        await client.publish("a/gone", b"1", qos=1)
        await client.publish("a/kept", b"2", qos=1)
    await until(kept.has(b"2"))
    assert gone.messages == []
    log = mosquitto.log()
    assert f"Received UNSUBSCRIBE from {settings.client_id}" in log


async def test_refused_subscription_is_logged(
    make_bus: MakeBus, base: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A SUBACK that refuses a filter (a broker's ACL): one warning naming it.

    Mosquitto 2.0 grants every subscription and applies its ACL on delivery, so the refusal
    is injected.
    """
    real_subscribe = connection.SessionClient.subscribe

    async def refusing(self: Any, topic: Any, *args: Any, **kwargs: Any) -> Any:
        if topic == f"{base}/secret/#":
            return [ReasonCode(PacketTypes.SUBACK, "Not authorized")]
        return await real_subscribe(self, topic, *args, **kwargs)

    with patch.object(connection.SessionClient, "subscribe", refusing):
        bus = await connected(await make_bus())
        inbox = Inbox()
        await bus.async_subscribe(f"{base}/secret/#", inbox)
        await bus.async_subscribe(f"{base}/allowed/#", inbox)
    await bus.async_publish(f"{base}/allowed/x", "ok")
    await until(inbox.has(b"ok"))
    refused = [
        r.getMessage() for r in caplog.records if "refused the subscription" in r.getMessage()
    ]
    assert len(refused) == 1
    assert f"{base}/secret/#" in refused[0]
    assert "Not authorized" in refused[0]


async def test_without_subscription_identifiers(make_bus: MakeBus, base: str) -> None:
    """A broker without subscription identifiers (CONNACK says so): filters are matched here."""
    with patch.object(connection.SessionClient, "subscription_ids", False):
        bus = await connected(await make_bus())
        inbox, other = Inbox(), Inbox()
        await bus.async_subscribe(f"{base}/+/state", inbox)
        await bus.async_subscribe(f"{base}/x/status", other)
        await bus.async_publish(f"{base}/dev/state", "1")
        await until(inbox.has(b"1"))
    assert other.messages == []


async def test_connack_without_subscription_identifiers(hass: HomeAssistant) -> None:
    """The CONNACK property that turns subscription identifiers off is heard."""
    client = connection.make_client(bus_settings())
    assert client.subscription_ids
    properties = Properties(PacketTypes.CONNACK)
    properties.SubscriptionIdentifierAvailable = 0
    client._on_connect(None, None, None, ReasonCode(PacketTypes.CONNACK, "Success"), properties)
    assert not client.subscription_ids


async def test_colliding_subscription_ids(make_bus: MakeBus, base: str) -> None:
    """Two filters whose identifiers collide get distinct ones; each hears only its own."""
    with patch.object(connection, "subscription_id", return_value=7):
        bus = await connected(await make_bus())
        one, two = Inbox(), Inbox()
        await bus.async_subscribe(f"{base}/one", one)
        await bus.async_subscribe(f"{base}/two", two)
    await bus.async_publish(f"{base}/one", "1")
    await bus.async_publish(f"{base}/two", "2")
    await until(lambda: bool(one.messages and two.messages))
    assert (one.payloads, two.payloads) == ([b"1"], [b"2"])
    # A queued message of an earlier run carrying an identifier now taken by another filter
    # goes nowhere (the filter does not match its topic); unknown identifiers neither.
    bus._dispatch(f"{base}/old", b"x", [7, 8, 123456])
    assert (one.payloads, two.payloads) == ([b"1"], [b"2"])


async def test_failures_of_single_operations(
    make_bus: MakeBus, base: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A SUBSCRIBE, UNSUBSCRIBE or PUBLISH that fails is retried or deferred, not lost.

    A real broker answers these promptly, so the failures are injected.
    """
    bus = await connected(await make_bus())
    assert bus.settings.port == SHARED_PORT
    real_subscribe = connection.SessionClient.subscribe
    real_publish = connection.SessionClient.publish
    failures = {"subscribe": 1, "publish": 1}

    async def flaky_subscribe(self: Any, *args: Any, **kwargs: Any) -> Any:
        if failures["subscribe"]:
            failures["subscribe"] -= 1
            raise aiomqtt.MqttError("injected")
        return await real_subscribe(self, *args, **kwargs)

    async def flaky_publish(self: Any, topic: str, *args: Any, **kwargs: Any) -> Any:
        if topic.endswith("/poison"):
            raise ValueError("payload too large")
        if failures["publish"]:
            failures["publish"] -= 1
            raise aiomqtt.MqttError("injected")
        return await real_publish(self, topic, *args, **kwargs)

    async def failing_unsubscribe(self: Any, *args: Any, **kwargs: Any) -> None:
        raise aiomqtt.MqttError("injected")

    inbox = Inbox()
    with (
        patch.object(connection.SessionClient, "subscribe", flaky_subscribe),
        patch.object(connection.SessionClient, "publish", flaky_publish),
        patch.object(connection.SessionClient, "unsubscribe", failing_unsubscribe),
    ):
        unsubscribe = await bus.async_subscribe(f"{base}/later", Inbox())  # deferred
        await bus.async_subscribe(f"{base}/#", inbox)
        unsubscribe()  # fails: the filter stays stale for the next connection
        await bus.async_publish(f"{base}/x/poison", "never")
        await bus.async_publish(f"{base}/x/state", "once")
        await until(inbox.has(b"once"))
    assert inbox.payloads == [b"once"]
    assert bus._stale == {f"{base}/later"}
    assert any("dropped: payload too large" in r.getMessage() for r in caplog.records)


async def test_restore_failure_starts_a_new_connection(
    hass: HomeAssistant, base: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No SUBACK in time while restoring: the connection is dropped and made again."""
    real_subscribe = connection.SessionClient.subscribe
    calls = 0

    async def first_times_out(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise aiomqtt.MqttError("Operation timed out")
        return await real_subscribe(self, *args, **kwargs)

    bus = ClientMqttBus(hass, bus_settings())
    inbox = Inbox()
    await bus.async_subscribe(f"{base}/x", inbox)  # before start: restored at connect
    with patch.object(connection.SessionClient, "subscribe", first_times_out):
        await bus.async_start()
        try:
            await connected(bus)
            await bus.async_publish(f"{base}/x", "after")
            await until(inbox.has(b"after"))
        finally:
            await bus.async_stop()
    assert calls == 2
    assert any("Operation timed out" in r.getMessage() for r in caplog.records)


async def test_listeners_and_lifecycle(make_bus: MakeBus) -> None:
    """A removed listener hears nothing; start and stop twice are harmless."""
    bus = await make_bus(port=free_port())
    heard: list[bool] = []
    remove = bus.on_connection_change(heard.append)
    remove()
    remove()
    await bus.async_start()
    await bus.async_stop()
    await bus.async_stop()
    assert heard == []
    assert not bus.connected


async def test_disconnect_error_is_only_logged(hass: HomeAssistant) -> None:
    """A failing DISCONNECT leaves nothing to handle."""
    client = connection.make_client(bus_settings())
    with patch.object(connection.SessionClient, "__aexit__", side_effect=aiomqtt.MqttError("gone")):
        await connection.async_disconnect(client)
