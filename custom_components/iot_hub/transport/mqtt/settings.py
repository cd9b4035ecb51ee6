"""The hub's MQTT options: their keys and defaults, the bus they choose, a broker check.

``CONF_MQTT_TRANSPORT`` picks Home Assistant's MQTT integration (the default) or a dedicated
connection whose host, port, credentials, TLS and client id are the other options. The
transports are imported when chosen, so a hub without MQTT never loads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
import secrets
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant

if TYPE_CHECKING:
    from .bus import MqttBus
    from .connection import ClientSettings

CONF_MQTT_TRANSPORT: Final = "mqtt_transport"
TRANSPORT_HOME_ASSISTANT: Final = "home_assistant"
TRANSPORT_DEDICATED: Final = "dedicated"
TRANSPORTS: Final = (TRANSPORT_HOME_ASSISTANT, TRANSPORT_DEDICATED)

CONF_MQTT_HOST: Final = "mqtt_host"
CONF_MQTT_PORT: Final = "mqtt_port"
CONF_MQTT_USERNAME: Final = "mqtt_username"
CONF_MQTT_PASSWORD: Final = "mqtt_password"
CONF_MQTT_TLS: Final = "mqtt_tls"
CONF_MQTT_CLIENT_ID: Final = "mqtt_client_id"
CONF_MQTT_PREFIX: Final = "mqtt_prefix"
CONF_MQTT_LEGACY_FILTER: Final = "mqtt_legacy_filter"

DEFAULT_MQTT_TRANSPORT: Final = TRANSPORT_HOME_ASSISTANT
DEFAULT_MQTT_PORT: Final = 1883
DEFAULT_MQTT_TLS_PORT: Final = 8883  # what the options flow may suggest with TLS on
DEFAULT_MQTT_PREFIX: Final = "iot_hub"
DEFAULT_MQTT_LEGACY_FILTER: Final = ""  # off

CHECK_TIMEOUT: Final = 5.0  # seconds a broker check waits for each step


def transport_of(options: Mapping[str, Any]) -> str:
    """The transport the options choose."""
    return str(options.get(CONF_MQTT_TRANSPORT) or DEFAULT_MQTT_TRANSPORT)


def prefix_of(options: Mapping[str, Any]) -> str:
    """The topic prefix of the options."""
    return str(options.get(CONF_MQTT_PREFIX) or DEFAULT_MQTT_PREFIX)


def legacy_filter_of(options: Mapping[str, Any]) -> str | None:
    """The legacy firmware's topic filter, or None when it is off."""
    return str(options.get(CONF_MQTT_LEGACY_FILTER) or "") or None


def client_settings(options: Mapping[str, Any], client_id: str, **extra: Any) -> ClientSettings:
    """The dedicated connection's settings; the client id option wins over ``client_id``.

    ``extra``: more ``ClientSettings`` fields (timeouts, back-off) for a check or a test.
    """
    from .connection import ClientSettings

    return ClientSettings(
        host=str(options.get(CONF_MQTT_HOST) or ""),
        port=int(options.get(CONF_MQTT_PORT) or DEFAULT_MQTT_PORT),
        username=options.get(CONF_MQTT_USERNAME) or None,
        password=options.get(CONF_MQTT_PASSWORD) or None,
        tls=bool(options.get(CONF_MQTT_TLS, False)),
        client_id=str(options.get(CONF_MQTT_CLIENT_ID) or client_id),
        **extra,
    )


def bus_from_options(hass: HomeAssistant, options: Mapping[str, Any], client_id: str) -> MqttBus:
    """The bus the hub's options choose (not started).

    ``client_id``: the dedicated connection's default client id, stable per hub entry (the
    broker keeps the persistent session under it), e.g. ``iot_hub-<entry id>``.
    """
    if transport_of(options) == TRANSPORT_DEDICATED:
        from .client_bus import ClientMqttBus

        return ClientMqttBus(hass, client_settings(options, client_id))
    from .ha_bus import HaMqttBus

    return HaMqttBus(hass)


async def async_check_broker(hass: HomeAssistant, options: Mapping[str, Any]) -> str | None:
    """Try the dedicated connection of ``options`` once: None, ``cannot_connect`` or ``invalid_auth``.

    It connects under a client id of its own, so a running hub keeps its session.
    """
    from .connection import async_probe

    settings = client_settings(
        options, "iot_hub", timeout=CHECK_TIMEOUT, keepalive=int(CHECK_TIMEOUT) * 2
    )
    if not settings.host:
        return "cannot_connect"
    probe = f"{settings.client_id}-check-{secrets.token_hex(4)}"
    return await async_probe(replace(settings, client_id=probe))
