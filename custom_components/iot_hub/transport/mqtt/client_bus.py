"""``ClientMqttBus``: a dedicated aiomqtt connection to a broker of the hub's options.

One background task owns the connection: it connects, restores the subscriptions, delivers
messages to the callbacks and sends the outbox, and when the connection drops it waits
(exponential back-off with jitter) and starts again, logging once per outage.

The session is persistent (MQTT 5, clean start off, a session expiry): while the hub is
reconnecting, a broker that keeps sessions queues the QoS 1 messages of its subscriptions
for it, so none published after the broker came back is lost, not even before the hub
subscribes again. A broker that restarts without persistence forgets the session; the
subscriptions are then restored on reconnect and only what was published in between is
missed. Callbacks run in HA's event loop; one that raises is logged and harms nothing else.
The client, its settings and the connect itself are in ``connection.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import logging

import aiomqtt
from homeassistant.core import HomeAssistant
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from . import connection
from .backoff import Backoff
from .bus import ConnectionCallback, ConnectionListeners, MessageCallback, Unsubscribe
from .connection import MAX_SUBSCRIPTION_ID, ClientSettings, SessionClient
from .outbox import Outbox, Outgoing
from .topics import filter_matches, valid_filter, valid_topic

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)  # identity: the same callback may subscribe twice
class _Subscription:
    callback: MessageCallback
    qos: int


class ClientMqttBus:
    """The ``MqttBus`` of a dedicated broker connection."""

    def __init__(self, hass: HomeAssistant, settings: ClientSettings) -> None:
        """Prepare the connection; ``async_start`` opens it."""
        self._hass = hass
        self._settings = settings
        self._subscriptions: dict[str, list[_Subscription]] = {}
        self._id_of: dict[str, int] = {}  # subscription identifiers, and back
        self._filter_of: dict[int, str] = {}
        self._stale: set[str] = set()  # unsubscribed while offline: the session may hold them
        self._listeners = ConnectionListeners()
        self._outbox = Outbox(settings.outbox_size, f"MQTT {settings.address}")
        self._backoff = Backoff(settings.backoff_initial, settings.backoff_max)
        self._session: SessionClient | None = None  # the connected client
        self._connected = False
        self._task: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[None]] = set()  # unsubscribes in flight
        self._outage_logged = False

    @property
    def connected(self) -> bool:
        """Whether the broker is connected and the subscriptions restored."""
        return self._connected

    @property
    def settings(self) -> ClientSettings:
        """The connection's settings."""
        return self._settings

    @property
    def queued(self) -> int:
        """Publishes waiting in the outbox."""
        return len(self._outbox)

    async def async_start(self) -> None:
        """Start the connection task (returns at once)."""
        if self._task is None:
            self._task = self._hass.async_create_background_task(
                self._run(), f"iot_hub MQTT {self._settings.address}"
            )

    async def async_stop(self) -> None:
        """Disconnect and stop retrying; the outbox keeps what it holds.

        Unsubscribes under way get their acknowledgement first (bounded by the timeout): cut
        off, the broker's late UNSUBACK is an error in paho's log, and the filter would stay
        in the persistent session.
        """
        if chores := list(self._chores):
            await asyncio.wait(chores, timeout=self._settings.timeout)
        tasks = [task for task in (self._task, *self._chores) if task is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)

    async def async_subscribe(
        self, topic_filter: str, on_message: MessageCallback, qos: int = 1
    ) -> Unsubscribe:
        """Call ``on_message(topic, payload)`` for every message on ``topic_filter``."""
        if not valid_filter(topic_filter):
            raise ValueError(f"not an MQTT topic filter: {topic_filter!r}")
        if topic_filter not in self._subscriptions:
            self._subscriptions[topic_filter] = []
            self._assign_id(topic_filter)
        subscriptions = self._subscriptions[topic_filter]
        before = max((sub.qos for sub in subscriptions), default=-1)
        subscription = _Subscription(on_message, qos)
        subscriptions.append(subscription)
        self._stale.discard(topic_filter)
        if self._session is not None and qos > before:
            await self._subscribe(self._session, [(topic_filter, qos)], strict=False)

        def unsubscribe() -> None:
            current = self._subscriptions.get(topic_filter)
            if current is None or subscription not in current:
                return
            current.remove(subscription)
            if not current:
                del self._subscriptions[topic_filter]
                del self._filter_of[self._id_of.pop(topic_filter)]
                self._forget(topic_filter)

        return unsubscribe

    async def async_publish(
        self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False
    ) -> None:
        """Queue a message; it is sent in order, now or once connected (returns at once)."""
        if not valid_topic(topic):
            raise ValueError(f"not an MQTT topic: {topic!r}")
        if qos not in (0, 1, 2):
            raise ValueError(f"not an MQTT QoS: {qos!r}")
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        self._outbox.put(Outgoing(topic, data, qos, retain))

    def on_connection_change(self, callback: ConnectionCallback) -> Unsubscribe:
        """Call ``callback(connected)`` whenever the connection comes or goes."""
        return self._listeners.add(callback)

    def _assign_id(self, topic_filter: str) -> None:
        number = connection.subscription_id(topic_filter)
        while number in self._filter_of:  # two filters, one hash: rare, the next is free
            number = number % MAX_SUBSCRIPTION_ID + 1
        self._id_of[topic_filter] = number
        self._filter_of[number] = topic_filter

    async def _run(self) -> None:
        while True:
            client = connection.make_client(self._settings)
            try:
                await connection.async_connect(client)
            except aiomqtt.MqttError as err:
                self._log_outage(err)
            else:
                await self._serve(client)
            await asyncio.sleep(self._backoff.next())

    async def _serve(self, client: SessionClient) -> None:
        """Use one connection until it drops (or restoring the subscriptions fails).

        Messages are read from the first moment (the session may hold queued ones, and a
        lost connection shows there at once, while aiomqtt's pending SUBSCRIBE or PUBLISH
        would only time out); restoring, then the outbox, run beside.
        """
        self._backoff.reset()
        if self._outage_logged:
            self._outage_logged = False
            _LOGGER.info("MQTT broker %s is reachable again", self._settings.address)
        self._session = client
        name = f"iot_hub MQTT {self._settings.address}"
        receive = self._hass.async_create_background_task(self._receive(client), name)
        setup = self._hass.async_create_background_task(self._setup(client), name)
        try:
            await asyncio.wait([receive, setup], return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._session = None
            self._set_connected(False)
            for task in (receive, setup):
                task.cancel()
            await asyncio.wait([receive, setup])
            await connection.async_disconnect(client)

    async def _receive(self, client: SessionClient) -> None:
        try:
            async for message in client.messages:
                ids = getattr(message.properties, "SubscriptionIdentifier", None)
                self._dispatch(message.topic.value, message.payload, ids)
        except aiomqtt.MqttError as err:
            self._log_outage(err)

    async def _setup(self, client: SessionClient) -> None:
        """Restore the subscriptions, say connected, then send the outbox for good."""
        try:
            await self._restore(client)
        except aiomqtt.MqttError as err:  # no SUBACK in time: start over on a new connection
            self._log_outage(err)
            return
        self._set_connected(True)
        await self._drain(client)

    async def _restore(self, client: SessionClient) -> None:
        """Subscribe again (the broker may have lost the session) and drop stale filters."""
        if self._stale:
            stale = sorted(self._stale)
            await client.unsubscribe(stale)
            self._stale.difference_update(stale)
        wanted = [
            (topic_filter, max(sub.qos for sub in subscriptions))
            for topic_filter, subscriptions in self._subscriptions.items()
        ]
        if wanted:
            await self._subscribe(client, wanted, strict=True)

    async def _subscribe(
        self, client: SessionClient, wanted: list[tuple[str, int]], *, strict: bool
    ) -> None:
        """Subscribe; ``strict``: a lost connection raises, else the reconnect restores.

        With subscription identifiers (one per SUBSCRIBE packet), a message that matches
        overlapping filters reaches each filter's callbacks once, however many copies the
        broker sends.
        """
        calls = (
            [
                client.subscribe(topic_filter, qos, properties=self._properties(topic_filter))
                for topic_filter, qos in wanted
            ]
            if client.subscription_ids
            else [client.subscribe(wanted)]
        )
        codes: list[int | ReasonCode] = []
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(result, aiomqtt.MqttError) and not strict:
                _LOGGER.debug("MQTT subscribe to %s deferred to the reconnect: %s", wanted, result)
                return
            if isinstance(result, BaseException):
                raise result
            codes.extend(result)
        for (topic_filter, _), code in zip(wanted, codes, strict=False):
            if getattr(code, "is_failure", False):
                _LOGGER.warning(
                    "MQTT broker %s refused the subscription to %s: %s",
                    self._settings.address,
                    topic_filter,
                    code,
                )

    def _properties(self, topic_filter: str) -> Properties:
        properties = Properties(PacketTypes.SUBSCRIBE)  # type: ignore[no-untyped-call]
        properties.SubscriptionIdentifier = self._id_of[topic_filter]
        return properties

    def _forget(self, topic_filter: str) -> None:
        """Unsubscribe at the broker now, or at the next connection."""
        session = self._session
        if session is None:
            self._stale.add(topic_filter)
            return
        # Eager: the UNSUBSCRIBE leaves before any later SUBSCRIBE of the same filter.
        task = self._hass.async_create_background_task(
            self._unsubscribe(session, topic_filter), f"iot_hub MQTT unsubscribe {topic_filter}"
        )
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def _unsubscribe(self, client: aiomqtt.Client, topic_filter: str) -> None:
        try:
            await client.unsubscribe(topic_filter)
        except aiomqtt.MqttError as err:
            _LOGGER.debug("MQTT unsubscribe from %s deferred: %s", topic_filter, err)
            if topic_filter not in self._subscriptions:
                self._stale.add(topic_filter)

    def _dispatch(self, topic: str, payload: bytes, ids: list[int] | None) -> None:
        """Hand a message to the callbacks of the filters it matched.

        Identifiers the hub does not know belong to a subscription of an earlier run still in
        the persistent session: not ours any more. Each candidate filter is matched again, so
        a stale identifier equal to a current one routes nothing astray.
        """
        if ids:
            filters = [self._filter_of[i] for i in ids if i in self._filter_of]
        else:
            filters = list(self._subscriptions)
        for topic_filter in filters:
            subscriptions = self._subscriptions.get(topic_filter)
            if not subscriptions or not filter_matches(topic_filter, topic):
                continue
            for subscription in tuple(subscriptions):
                try:
                    subscription.callback(topic, payload)
                except Exception:
                    _LOGGER.exception("Error handling the MQTT message on %s", topic)

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Send the outbox in order; a message leaves it once the broker has it."""
        outbox = self._outbox
        while True:
            await outbox.ready.wait()
            message = outbox.peek()
            if message is None:  # pragma: no cover  (ready is clear when empty)
                continue
            try:
                await client.publish(
                    message.topic, message.payload, qos=message.qos, retain=message.retain
                )
            except aiomqtt.MqttError as err:
                # Lost connection (the receive loop ends the session) or no PUBACK in time:
                # the message stays first and goes again.
                _LOGGER.debug("MQTT publish on %s not acknowledged: %s", message.topic, err)
                await asyncio.sleep(self._settings.backoff_initial)
                continue
            except ValueError as err:  # paho refuses it (e.g. too large): it never will go
                _LOGGER.warning("MQTT message on %s dropped: %s", message.topic, err)
            outbox.sent(message)

    def _set_connected(self, connected: bool) -> None:
        if connected == self._connected:
            return
        self._connected = connected
        self._listeners.notify(connected)

    def _log_outage(self, err: Exception) -> None:
        if self._outage_logged:
            _LOGGER.debug("MQTT broker %s still unreachable: %s", self._settings.address, err)
            return
        self._outage_logged = True
        _LOGGER.warning(
            "MQTT broker %s unreachable (%s); retrying in the background",
            self._settings.address,
            err,
        )
