"""Seed 001's channel clients for tests: real sockets through HA's HTTP server, exact frames."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import json
import re
from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .conftest import frame, open_sockets

BASE = "/api/iot_hub/v1"
WS = f"{BASE}/ws"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")

type ChannelConnect = Callable[..., Awaitable[ClientWebSocketResponse]]
type Listen = Callable[..., Awaitable[ClientWebSocketResponse]]


@pytest.fixture(name="channel_connect")
async def channel_connect_fixture(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> AsyncIterator[ChannelConnect]:
    """Open seed-001 channel sockets (``/v1/ws`` unless a path is given); all closed after.

    In a test module: ``from .channel_tools import channel_connect_fixture  # noqa: F401``.
    """
    async for connect in open_sockets(hass_client_no_auth, WS):
        yield connect


@pytest.fixture(name="listen")
def listen_fixture(channel_connect: ChannelConnect, hass_access_token: str) -> Listen:
    """``listen(channel, user="")``: a client of ``channel`` as the HA admin (``?token=``),
    its ``connection`` frame checked; ``user`` is the seed's optional ``user_id``.

    In a test module, with ``channel_connect_fixture``: ``listen_fixture  # noqa: F401``.
    """

    async def listen(channel: str, user: str = "") -> ClientWebSocketResponse:
        query = f"?channel={channel}&token={hass_access_token}" + (
            f"&user_id={user}" if user else ""
        )
        ws = await channel_connect(query)
        assert exact(await frame(ws)) == connection(channel)
        return ws

    return listen


def shape(value: Any) -> Any:
    """``value`` with every seed timestamp replaced by ``"TS"`` (after checking its form)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    if isinstance(value, str) and STAMP.fullmatch(value):
        return "TS"
    return value


def exact(value: dict[str, Any]) -> str:
    """The frame as text with timestamps masked: equal texts mean equal keys in equal order."""
    return json.dumps(shape(value))


def connection(channel: str) -> str:
    """The first frame of a channel."""
    return exact(
        {"type": "connection", "status": "connected", "channel": channel, "timestamp": "TS"}
    )


def system(level: str, message: str, data: dict[str, Any]) -> str:
    """A ``system_event``."""
    return exact(
        {
            "type": "system_event",
            "level": level,
            "message": message,
            "data": data,
            "timestamp": "TS",
        }
    )


def entity(
    entity_type: str, event_type: str, entity_id: int, data: dict[str, Any], action: str
) -> str:
    """An ``entity_event`` in the seed's key order."""
    return exact(
        {
            "type": "entity_event",
            "entity_type": entity_type,
            "event_type": event_type,
            "entity_id": entity_id,
            "data": data,
            "timestamp": "TS",
            "metadata": {"action": action},
        }
    )
