"""What the MQTT device simulators share: iot_hub's topic layout and an ESPHome-like connection.

The topics (``<prefix>/<id>/state``, ``command``, ``config``, ``status``) are iot_hub's MQTT
contract, written here from the documentation and not imported from ``custom_components``,
like everything in ``simulators``.

``MqttDeviceSimulator`` connects the way ESPHome's ``mqtt:`` component does in the example
configurations (``simulators/esphome/*.yaml``): a retained last will ``offline`` on the
status topic, then its subscriptions, then the retained birth message ``online``, and a
retained ``offline`` again when it shuts down cleanly. It reconnects with backoff after the
broker goes away, as firmware does.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
import random
import signal
import time
from typing import ClassVar, Final

import aiomqtt

from .common import STABLE_AFTER, Printer, silent

DEFAULT_PREFIX: Final = "iot_hub"
DEFAULT_BROKER: Final = "127.0.0.1"
DEFAULT_PORT: Final = 1883
ONLINE: Final = "online"
OFFLINE: Final = "offline"
# ESPHome's default MQTT keepalive: a device that vanished is declared offline (its will is
# published) within about 1.5 times this.
KEEPALIVE: Final = 15
CONNECT_TIMEOUT: Final = 10.0


def check_topic_id(value: str, what: str = "device id") -> str:
    """``value`` if it can be one level of an MQTT topic, else ``ValueError``.

    Args:
        value: A device id or serial number.
        what: How to name it in the error.
    """
    if not value or any(c.isspace() or c in "+#/" for c in value) or not value.isprintable():
        raise ValueError(f"{what} must be printable, without blanks, '+', '#' or '/'")
    return value


def check_publish_topic(value: str) -> str:
    """``value`` if a message can be published on it (no wildcards), else ``ValueError``."""
    if not value or "+" in value or "#" in value:
        raise ValueError("a topic to publish on needs a name without '+' or '#'")
    return value


@dataclass(frozen=True, slots=True)
class Topics:
    """The four topics of one device under iot_hub's prefix."""

    prefix: str
    device_id: str

    def _topic(self, leaf: str) -> str:
        return f"{self.prefix}/{self.device_id}/{leaf}"

    @property
    def state(self) -> str:
        """Device -> hub: the kind's frames (a bare reading, the seed-003 JSON, ...)."""
        return self._topic("state")

    @property
    def command(self) -> str:
        """Hub -> device, QoS 1, not retained (an oven's ``START`` / ``STOP``)."""
        return self._topic("command")

    @property
    def config(self) -> str:
        """Hub -> device, QoS 1, retained: an appliance's configuration."""
        return self._topic("config")

    @property
    def status(self) -> str:
        """Device -> hub, retained: ``online`` (birth) / ``offline`` (last will, shutdown)."""
        return self._topic("status")


@dataclass(frozen=True, slots=True)
class MqttConnection:
    """How a device reaches the broker, and how it behaves when the broker goes away.

    Attributes:
        broker: The MQTT broker's host name or address.
        port: The broker's port.
        username: MQTT user name, if the broker wants one.
        password: MQTT password.
        client_id: The MQTT client id; ``iot-hub-<kind>-<id>`` when None (a stable one, as
            ESPHome's, so the broker keeps the session's subscriptions).
        clean_session: Start a fresh session on each connection (ESPHome's default is a
            persistent one: QoS 1 commands sent while it was away are delivered).
        reconnect: Reconnect after a drop; False makes ``run()`` return instead.
        initial_backoff: First wait before reconnecting (seconds); it doubles.
        max_backoff: Longest wait between two attempts (seconds).
        keepalive: MQTT keepalive (seconds).
    """

    broker: str = DEFAULT_BROKER
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    clean_session: bool = False
    reconnect: bool = True
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    keepalive: int = KEEPALIVE


class MqttDeviceSimulator:
    """A simulated ESP32 on MQTT: connect with a last will, serve, reconnect with backoff.

    Subclasses name their subscriptions (``_subscriptions``), handle messages
    (``_on_message``), say what to publish on each new connection (``_on_connect``) and run
    the periodic publisher (``_work``). ``status`` False leaves out the birth, will and
    shutdown messages (a legacy device that knows nothing of them).

    Attributes:
        connections: How many times the device connected.
        connected: Set while a connection is up.
        published: Every (topic, payload) published, in order, over every connection.
    """

    _kind: ClassVar[str] = "device"

    def __init__(
        self,
        topics: Topics,
        connection: MqttConnection | None = None,
        *,
        status: bool = True,
        log: Printer = silent,
    ) -> None:
        """Configure the device; nothing connects before ``run()``.

        Args:
            topics: The device's topics.
            connection: How to reach the broker; 127.0.0.1:1883 by default.
            status: Publish the birth/will/shutdown messages on the status topic.
            log: Where the device says what it does, one line at a time.
        """
        self.topics = topics
        self._conn = connection or MqttConnection()
        self._client_id = self._conn.client_id or f"iot-hub-{self._kind}-{topics.device_id}"
        self._status = status
        self._log = log
        self._stopping = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self.connections = 0
        self.connected = asyncio.Event()
        self.published: list[tuple[str, str]] = []

    @property
    def connection(self) -> MqttConnection:
        """How the device reaches the broker."""
        return self._conn

    def stop(self) -> None:
        """Ask ``run()`` to publish ``offline``, disconnect and return."""
        self._stopping.set()

    async def run(self) -> None:
        """Connect and serve until ``stop()``; reconnect with backoff after drops."""
        backoff = self._conn.initial_backoff
        while not self._stopping.is_set():
            up_since = time.monotonic()
            try:
                await self._connect_and_serve()
            except aiomqtt.MqttError as err:
                self._log(f"MQTT: {err}")
            if self._stopping.is_set() or not self._conn.reconnect:
                return
            if time.monotonic() - up_since >= STABLE_AFTER:
                backoff = self._conn.initial_backoff
            # Jitter, so a fleet of devices does not reconnect in lockstep after a restart.
            delay = backoff * random.uniform(0.8, 1.2)
            self._log(f"Reconnecting in {delay:.1f} s")
            try:
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            except TimeoutError:
                pass
            backoff = min(backoff * 2, self._conn.max_backoff)

    async def publish(
        self, topic: str, payload: str, *, qos: int = 1, retain: bool = False
    ) -> bool:
        """Publish if connected, as firmware does (a message while offline is dropped).

        Returns:
            Whether the message went out.
        """
        client = self._client
        if client is None:
            return False
        try:
            await client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as err:
            self._log(f"Publish on {topic} failed: {err}")
            return False
        self.published.append((topic, payload))
        return True

    def _subscriptions(self) -> Sequence[str]:
        """The topics to subscribe to (QoS 1) on every connection; none by default."""
        return ()

    async def _on_message(self, topic: str, payload: bytes) -> None:
        """One message on a subscribed topic; nothing by default."""

    async def _on_connect(self) -> None:
        """Subscribed and online: publish what a new connection publishes; nothing by default."""

    async def _work(self) -> None:
        """The periodic publisher, cancelled when the connection ends."""
        await asyncio.Event().wait()

    async def _connect_and_serve(self) -> None:
        conn = self._conn
        self._log(f"Connecting to mqtt://{conn.broker}:{conn.port}")
        will = (
            aiomqtt.Will(self.topics.status, OFFLINE, qos=1, retain=True) if self._status else None
        )
        client = aiomqtt.Client(
            conn.broker,
            conn.port,
            identifier=self._client_id,
            username=conn.username,
            password=conn.password,
            will=will,
            clean_session=conn.clean_session,
            keepalive=conn.keepalive,
            timeout=CONNECT_TIMEOUT,
        )
        async with client:
            self._client = client
            self.connections += 1
            try:
                for topic in self._subscriptions():
                    await client.subscribe(topic, qos=1)
                if self._status:
                    await self.publish(self.topics.status, ONLINE, retain=True)
                self._log("Connected")
                self.connected.set()
                await self._on_connect()
                await self._serve(client)
                if self._stopping.is_set() and self._status:
                    # ESPHome's shutdown message: a clean exit says so before disconnecting.
                    await self.publish(self.topics.status, OFFLINE, retain=True)
            finally:
                self.connected.clear()
                self._client = None
        self._log("Disconnected")

    async def _serve(self, client: aiomqtt.Client) -> None:
        name = f"{self._kind} simulator"
        reader = asyncio.create_task(self._read(client), name=f"{name} reader")
        worker = asyncio.create_task(self._work(), name=f"{name} publisher")
        stopper = asyncio.create_task(self._stopping.wait(), name=f"{name} stop")
        tasks = {reader, worker, stopper}
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task is not stopper and (err := task.exception()) is not None:
                raise err

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            data = (
                bytes(payload)
                if isinstance(payload, bytes | bytearray)
                else str(payload or "").encode()
            )
            try:
                await self._on_message(message.topic.value, data)
            except Exception as err:  # noqa: BLE001 - one bad message must not kill the device
                self._log(f"Message on {message.topic.value} not handled: {err!r}")


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The broker options every MQTT device simulator takes."""
    parser.add_argument(
        "--broker", default=DEFAULT_BROKER, help="MQTT broker host (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="MQTT broker port (default %(default)s)"
    )
    parser.add_argument("--username", help="MQTT user name")
    parser.add_argument("--password", help="MQTT password")
    parser.add_argument(
        "--prefix", default=DEFAULT_PREFIX, help="iot_hub's topic prefix (default %(default)s)"
    )
    parser.add_argument(
        "--clean-session",
        action="store_true",
        help="leave no session on the broker (ESPHome keeps one: QoS 1 messages sent while "
        "the device was away are delivered when it comes back)",
    )


def connection_from(args: argparse.Namespace) -> MqttConnection:
    """The connection ``add_connection_arguments``' options describe."""
    return MqttConnection(
        broker=args.broker,
        port=args.port,
        username=args.username,
        password=args.password,
        clean_session=args.clean_session,
    )


async def run_until_signalled(device: MqttDeviceSimulator) -> None:
    """Run ``device`` until SIGINT or SIGTERM, which stop it cleanly (``offline`` published).

    Without this, Ctrl-C would cancel the connection mid-way: the client would disconnect
    without the shutdown message and the retained status would stay ``online``. (SIGKILL
    is the way to see the last will instead.)
    """
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, device.stop)
    try:
        await device.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
