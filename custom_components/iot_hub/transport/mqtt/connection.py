"""The dedicated connection's aiomqtt client: settings, the persistent session, connect, probe.

``ClientMqttBus`` (``client_bus.py``) runs its loop on these; the options flow's broker check
uses ``async_probe``. A connect that fails or is cancelled leaves no socket behind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import logging
from typing import Any, Final
import zlib

import aiomqtt
from aiomqtt.exceptions import MqttConnectError
from homeassistant.util.ssl import client_context
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from .outbox import DEFAULT_OUTBOX_SIZE

_LOGGER = logging.getLogger(__name__)
# paho's own lines (e.g. a reset socket at each broker restart), under iot_hub's name
# rather than aiomqtt's bare "mqtt", so they can be told apart from HA's MQTT client.
_PAHO_LOGGER = logging.getLogger(f"{__name__}.paho")

DEFAULT_PORT: Final = 1883
DEFAULT_KEEPALIVE: Final = 60
# How long the broker keeps the session (subscriptions, queued QoS 1 messages) of a hub
# that is away: an HA restart or update fits, a day-old backlog of states does not.
DEFAULT_SESSION_EXPIRY: Final = 3600
DEFAULT_TIMEOUT: Final = 10.0  # seconds to wait for CONNACK, SUBACK, PUBACK

# CONNACK codes that mean the credentials, not the network (MQTT 3.1.1: 4, 5; MQTT 5: 134,
# 135, 140).
AUTH_FAILURES: Final = frozenset({4, 5, 134, 135, 140})
MAX_SUBSCRIPTION_ID: Final = 268435455


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSettings:
    """Where and how the dedicated connection reaches its broker."""

    host: str
    client_id: str  # stable per hub: the broker keeps the persistent session under it
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    keepalive: int = DEFAULT_KEEPALIVE
    session_expiry: int = DEFAULT_SESSION_EXPIRY
    timeout: float = DEFAULT_TIMEOUT
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    outbox_size: int = DEFAULT_OUTBOX_SIZE

    @property
    def address(self) -> str:
        """``host:port``, for log lines."""
        return f"{self.host}:{self.port}"


class SessionClient(aiomqtt.Client):
    """aiomqtt's client, plus what the broker's CONNACK says of subscription identifiers."""

    subscription_ids = True

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None = None,
    ) -> None:
        if getattr(properties, "SubscriptionIdentifierAvailable", 1) == 0:
            self.subscription_ids = False
        super()._on_connect(client, userdata, flags, reason_code, properties)

    def abandon(self) -> None:
        """Close the socket of a connect that failed after it opened one.

        aiomqtt leaves it open when no CONNACK came in time; paho would close it only
        after a keepalive, each retry adding one.
        """
        self._client.disconnect()


def make_client(settings: ClientSettings, *, persistent: bool = True) -> SessionClient:
    """An unconnected aiomqtt client for ``settings`` (MQTT 5).

    ``persistent``: clean start off and the session expiry of the settings; else a session
    that ends with the connection (for a connection test).
    """
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = settings.session_expiry if persistent else 0
    return SessionClient(
        settings.host,
        settings.port,
        username=settings.username or None,
        password=settings.password if settings.username else None,
        identifier=settings.client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        clean_start=not persistent,
        properties=properties,
        keepalive=settings.keepalive,
        timeout=settings.timeout,
        tls_context=client_context() if settings.tls else None,
        logger=_PAHO_LOGGER,
    )


def subscription_id(topic_filter: str) -> int:
    """The MQTT 5 subscription identifier of a filter: the same after an HA restart.

    Messages the broker queued for the persistent session carry the identifiers of the
    subscriptions they matched; stable identifiers route them to the right filter.
    """
    return zlib.crc32(topic_filter.encode()) % MAX_SUBSCRIPTION_ID + 1


def error_key(err: Exception) -> str:
    """The config-flow error key of a failed connection: invalid_auth or cannot_connect."""
    code = getattr(err, "rc", None)
    value = getattr(code, "value", code)
    if isinstance(err, MqttConnectError) and value in AUTH_FAILURES:
        return "invalid_auth"
    return "cannot_connect"


async def async_connect(client: SessionClient) -> None:
    """Connect ``client`` (raises ``aiomqtt.MqttError``); cancelled, it finishes then closes.

    aiomqtt connects in an executor thread, which a cancellation cannot stop: the socket it
    opens later would be nobody's. So a cancelled connect waits for the attempt to end (its
    timeouts bound it) and closes what it opened.
    """
    attempt = asyncio.ensure_future(client.__aenter__())
    try:
        await asyncio.shield(attempt)
    except aiomqtt.MqttError:
        client.abandon()
        raise
    except asyncio.CancelledError:
        try:
            await attempt
        except aiomqtt.MqttError:
            client.abandon()
        else:
            await async_disconnect(client)
        raise


async def async_disconnect(client: aiomqtt.Client) -> None:
    """Close ``client``'s connection, if it still has one."""
    try:
        await client.__aexit__(None, None, None)
    except aiomqtt.MqttError as err:
        _LOGGER.debug("MQTT disconnect: %s", err)


async def async_probe(settings: ClientSettings) -> str | None:
    """Connect once with ``settings`` (a session of its own) and leave: None or an error key."""
    client = make_client(settings, persistent=False)
    try:
        await async_connect(client)
    except aiomqtt.MqttError as err:
        _LOGGER.debug("MQTT broker %s refused a test connection: %s", settings.address, err)
        return error_key(err)
    await async_disconnect(client)
    return None
