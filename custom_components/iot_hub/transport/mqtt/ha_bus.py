"""``HaMqttBus``: iot_hub on Home Assistant's own MQTT integration (the default transport).

HA's client owns the connection: it reconnects and subscribes again by itself, so this bus
only adapts its API to the contract: payloads as bytes, connection changes from HA's
dispatcher signal, and a bounded outbox, because HA refuses a publish while disconnected.
"""

from __future__ import annotations

import asyncio
import logging

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .bus import (
    ConnectionCallback,
    ConnectionListeners,
    MessageCallback,
    MqttNotSetUpError,
    Unsubscribe,
)
from .outbox import DEFAULT_OUTBOX_SIZE, Outbox, Outgoing
from .topics import valid_filter, valid_topic

_LOGGER = logging.getLogger(__name__)


class HaMqttBus:
    """The ``MqttBus`` of Home Assistant's MQTT integration."""

    def __init__(self, hass: HomeAssistant, outbox_size: int = DEFAULT_OUTBOX_SIZE) -> None:
        """Prepare; ``async_start`` waits for HA's MQTT client."""
        self._hass = hass
        self._listeners = ConnectionListeners()
        self._outbox = Outbox(outbox_size, "MQTT (Home Assistant)")
        self._unsubscribes: dict[int, Unsubscribe] = {}
        self._next_key = 0
        self._unsub_status: Unsubscribe | None = None
        self._flush: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether HA's MQTT client is connected."""
        return self._is_connected()

    def _is_connected(self) -> bool:
        # A method, not the property, inside: it changes across awaits.
        try:
            return mqtt.is_connected(self._hass)
        except KeyError:  # HA's MQTT never set up
            return False

    @property
    def queued(self) -> int:
        """Publishes waiting in the outbox."""
        return len(self._outbox)

    async def async_start(self) -> None:
        """Wait for HA's MQTT client (raises ``MqttNotSetUpError`` when there is none)."""
        if self._unsub_status is not None:
            return
        if not await mqtt.async_wait_for_mqtt_client(self._hass):
            raise MqttNotSetUpError("Home Assistant's MQTT integration is not set up")
        self._unsub_status = mqtt.async_subscribe_connection_status(
            self._hass, self._connection_changed
        )
        if self._is_connected():
            self._start_flush()

    async def async_stop(self) -> None:
        """Unsubscribe everything and stop hearing HA's client."""
        if self._unsub_status is not None:
            self._unsub_status()
            self._unsub_status = None
        for unsubscribe in list(self._unsubscribes.values()):
            unsubscribe()
        if self._flush is not None:
            self._flush.cancel()
            await asyncio.wait([self._flush])
            self._flush = None

    async def async_subscribe(
        self, topic_filter: str, on_message: MessageCallback, qos: int = 1
    ) -> Unsubscribe:
        """Call ``on_message(topic, payload)`` for every message on ``topic_filter``."""
        if not valid_filter(topic_filter):
            raise ValueError(f"not an MQTT topic filter: {topic_filter!r}")

        @callback
        def deliver(message: mqtt.ReceiveMessage) -> None:
            payload = message.payload  # bytes: subscribed without an encoding
            if isinstance(payload, str):  # pragma: no cover
                payload = payload.encode()
            on_message(message.topic, bytes(payload))

        remove = await mqtt.async_subscribe(
            self._hass, topic_filter, deliver, qos=qos, encoding=None
        )
        key = self._next_key
        self._next_key += 1

        def unsubscribe() -> None:
            # HA raises on a second call; the contract's unsubscribe may be called twice.
            if self._unsubscribes.pop(key, None) is not None:
                remove()

        self._unsubscribes[key] = unsubscribe
        return unsubscribe

    async def async_publish(
        self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish through HA's client now, or queue it until HA's client is connected."""
        if not valid_topic(topic):
            raise ValueError(f"not an MQTT topic: {topic!r}")
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        message = Outgoing(topic, data, qos, retain)
        if len(self._outbox) or not self._is_connected():  # behind what waits: order is kept
            self._outbox.put(message)
            if self._is_connected():
                self._start_flush()
            return
        try:
            await self._send(message)
        except HomeAssistantError:
            if self._is_connected():
                raise
            self._outbox.put(message)  # lost the connection meanwhile

    def on_connection_change(self, callback: ConnectionCallback) -> Unsubscribe:
        """Call ``callback(connected)`` whenever HA's client connects or disconnects."""
        return self._listeners.add(callback)

    async def _send(self, message: Outgoing) -> None:
        await mqtt.async_publish(
            self._hass, message.topic, message.payload, message.qos, message.retain
        )

    @callback
    def _connection_changed(self, connected: bool) -> None:
        if connected:
            self._start_flush()
        self._listeners.notify(connected)

    def _start_flush(self) -> None:
        if len(self._outbox) and (self._flush is None or self._flush.done()):
            self._flush = self._hass.async_create_background_task(
                self._async_flush(), "iot_hub MQTT outbox"
            )

    async def _async_flush(self) -> None:
        """Send what waited, in order, while HA's client stays connected."""
        while self._is_connected() and (message := self._outbox.peek()) is not None:
            try:
                await self._send(message)
            except HomeAssistantError as err:
                _LOGGER.debug("MQTT outbox paused on %s: %s", message.topic, err)
                return
            self._outbox.sent(message)
