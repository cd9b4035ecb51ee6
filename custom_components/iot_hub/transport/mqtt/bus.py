"""The one contract both MQTT transports keep: subscribe, publish, and say when connected.

``HaMqttBus`` (``ha_bus.py``) goes through Home Assistant's own MQTT integration;
``ClientMqttBus`` (``client_bus.py``) holds a dedicated aiomqtt connection to a broker of the
hub's options. The hub and kinds only ever see this protocol, so a device behaves the same on
either. Callbacks run in HA's event loop.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from typing import Protocol

from homeassistant.exceptions import HomeAssistantError

type MessageCallback = Callable[[str, bytes], None]  # topic, payload
type ConnectionCallback = Callable[[bool], None]  # connected now?
type Unsubscribe = Callable[[], None]

_LOGGER = logging.getLogger(__name__)


class MqttNotSetUpError(HomeAssistantError):
    """HA's MQTT integration is not set up (or not enabled): nothing to carry iot_hub."""


class MqttBus(Protocol):
    """A connection to an MQTT broker, as iot_hub uses one."""

    @property
    def connected(self) -> bool:
        """Whether the broker is reachable now."""

    async def async_start(self) -> None:
        """Start connecting (returns at once; a broker that is down is retried with backoff)."""

    async def async_stop(self) -> None:
        """Disconnect and stop retrying."""

    async def async_subscribe(
        self, topic_filter: str, on_message: MessageCallback, qos: int = 1
    ) -> Unsubscribe:
        """Receive every message on ``topic_filter``, also after reconnecting."""

    async def async_publish(
        self, topic: str, payload: str | bytes, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish; while disconnected, the message waits (bounded) for the connection."""

    def on_connection_change(self, callback: ConnectionCallback) -> Unsubscribe:
        """Hear when the broker connection comes and goes."""


class ConnectionListeners:
    """Who hears a bus's connection come and go (both buses keep theirs in one)."""

    def __init__(self) -> None:
        """Nobody yet."""
        self._listeners: dict[object, ConnectionCallback] = {}

    def add(self, callback: ConnectionCallback) -> Unsubscribe:
        """Hear every change; the same callback may be added twice (one registration each)."""
        key = object()
        self._listeners[key] = callback

        def remove() -> None:
            self._listeners.pop(key, None)

        return remove

    def notify(self, connected: bool) -> None:
        """Tell everyone; a listener that raises is logged and the others still hear it."""
        for callback in tuple(self._listeners.values()):
            try:
                callback(connected)
            except Exception:
                _LOGGER.exception("Error in an MQTT connection listener")
