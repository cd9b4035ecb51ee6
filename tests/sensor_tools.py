"""Sensor devices for tests: subentries as the config flow creates them, tokens, the feed,
and seed 004's stream sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.const import CONF_KIND, CONF_TOKEN_HASH, SUBENTRY_DEVICE
from custom_components.iot_hub.feed import FeedEvent, FeedKind, signal_feed
from custom_components.iot_hub.kinds.sensor.const import (
    CONF_CONSUMER_ID,
    CONF_MODELO,
    CONF_SENSOR_ID,
    CONF_TIPO,
)
from custom_components.iot_hub.kinds.sensor.live import SensorLive, live_of
from custom_components.iot_hub.tokens import hash_token

from .conftest import WsConnect, open_sockets

ENV_ID = "sensor_env_sub"
ENV_TOKEN = "env-token-0123456789abcdef0123456789"
WEARABLE_ID = "sensor_wear_sub"
WEARABLE_TOKEN = "wear-token-0123456789abcdef012345678"
CONSUMER = "22"
# One wearable sample of the six motion values.
MOTION = {"accel_x": 0.5, "accel_y": -9.8, "accel_z": 0.1, "gyro_x": 1, "gyro_y": 2, "gyro_z": 3}

type Subscribe = Callable[..., Awaitable[ClientWebSocketResponse]]


def sensor_subentry(
    subentry_id: str,
    title: str,
    token: str,
    sensor_id: int,
    *,
    consumer_id: str | None = None,
    tipo: str | None = "temperatura",
    modelo: str | None = "DHT22",
) -> ConfigSubentryData:
    """A sensor device subentry as the config flow would create it."""
    return ConfigSubentryData(
        data=MappingProxyType(
            {
                CONF_KIND: "sensor",
                CONF_TOKEN_HASH: hash_token(token),
                CONF_SENSOR_ID: sensor_id,
                CONF_TIPO: tipo,
                CONF_MODELO: modelo,
                CONF_CONSUMER_ID: consumer_id,
            }
        ),
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_DEVICE,
        title=title,
        unique_id=None,
    )


ENV = sensor_subentry(ENV_ID, "Environment", ENV_TOKEN, 1)
WEARABLE = sensor_subentry(
    WEARABLE_ID, "Wearable", WEARABLE_TOKEN, 2, consumer_id=CONSUMER, tipo="imu", modelo="MPU6050"
)


def follow_feed(hass: HomeAssistant, entry_id: str) -> tuple[list[FeedEvent], Callable[[], None]]:
    """Every event of the hub's feed from now on, and how to stop following it."""
    events: list[FeedEvent] = []

    @callback
    def heard(event: FeedEvent) -> None:
        events.append(event)

    return events, async_dispatcher_connect(hass, signal_feed(entry_id), heard)


def readings(events: list[FeedEvent]) -> list[Mapping[str, float]]:
    """The values of the readings among ``events``, in order."""
    return [event.data["values"] for event in events if event.kind is FeedKind.READING]


def sensor_live(hass: HomeAssistant) -> SensorLive:
    """The loaded hub's sensor part: channels, streams, reading ids."""
    live = live_of(hass)
    assert live is not None
    return live


@pytest.fixture(name="stream")
async def stream_fixture(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> AsyncIterator[WsConnect]:
    """Open stream WebSockets (``/api/iot_hub/ws/<path>``); all closed after the test.

    In a test module: ``from .sensor_tools import stream_fixture  # noqa: F401``.
    """
    async for connect in open_sockets(hass_client_no_auth, "/api/iot_hub/ws/"):
        yield connect


@pytest.fixture(name="subscribe")
def subscribe_fixture(stream: WsConnect, hass_access_token: str) -> Subscribe:
    """``subscribe(name, consumer=CONSUMER, **kwargs)``: a client of the stream
    ``<name>/<consumer>/`` as the HA admin (``?token=``).

    In a test module, with ``stream_fixture``: ``subscribe_fixture  # noqa: F401``.
    """

    async def subscribe(
        name: str, consumer: str = CONSUMER, **kwargs: Any
    ) -> ClientWebSocketResponse:
        return await stream(f"{name}/{consumer}/?token={hass_access_token}", **kwargs)

    return subscribe
