"""Shared fixtures: a hub entry with two ovens, their tokens, and WebSocket helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
import json
import os
from pathlib import Path
from types import MappingProxyType
from typing import Any
from unittest.mock import PropertyMock, patch

from aiohttp import ClientWebSocketResponse, WSMsgType
from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_DISCOVERY, CONF_PORT, CONF_PROTOCOL
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from hypothesis import settings
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.plugins import aiohttp_client  # noqa: F401  (re-exported fixture)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

import custom_components  # noqa: F401  (must be imported before the hass fixture runs)
from custom_components.iot_hub.const import (
    CONF_KIND,
    CONF_RECORD_INTERVAL,
    CONF_TOKEN_HASH,
    DEFAULT_RECORD_INTERVAL,
    DOMAIN,
    SUBENTRY_DEVICE,
    WS_PATH,
)
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.tokens import hash_token

from .mosquitto import HOST, SHARED_PORT

# What the options flow stores for MQTT and appliances when left as offered.
MQTT_OPTIONS = {
    "mqtt_transport": "home_assistant",
    "mqtt_prefix": "iot_hub",
    "mqtt_silence_timeout": 600,
}
# The kinds' own options at their defaults (appliances' log size, sensors' channel cap).
APPLIANCE_OPTIONS = {"appliance_log_size": 10_000, "max_event_clients": 100}
MQTT_FIELDS = ["mqtt_transport", "mqtt_prefix", "mqtt_legacy_filter", "mqtt_silence_timeout"]

OVEN_TOKEN = "oven-one-token-0123456789"
OVEN2_TOKEN = "oven-two-token-9876543210"
OVEN_ID = "oven1subentry"
OVEN2_ID = "oven2subentry"

type WsConnect = Callable[..., Awaitable[ClientWebSocketResponse]]
type SetupMqtt = Callable[..., Awaitable[MockConfigEntry]]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let the hass fixture find custom_components/iot_hub."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Every entity enabled, as for a user who enabled those off by default (HA's own name)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """A configuration directory of each test's own: the session archive is a real file."""
    return hass_tmp_config_dir


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots that replace HA's random ids."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def oven_subentry(subentry_id: str, title: str, token: str) -> ConfigSubentryData:
    """A device subentry as the config flow would create it."""
    return ConfigSubentryData(
        data=MappingProxyType({CONF_KIND: "oven", CONF_TOKEN_HASH: hash_token(token)}),
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_DEVICE,
        title=title,
        unique_id=None,
    )


def every_reading(subentry: ConfigSubentryData) -> ConfigSubentryData:
    """The device with a record budget of 0: each reading writes its entities' states.

    For tests about something else that send readings faster than the default budget writes
    them; tests/test_record_budget.py tests the budget itself.
    """
    data = MappingProxyType({**subentry["data"], CONF_RECORD_INTERVAL: 0})
    return ConfigSubentryData(**{**subentry, "data": data})  # type: ignore[typeddict-item]


TWO_OVENS = [
    oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN),
    oven_subentry(OVEN2_ID, "Oven 2", OVEN2_TOKEN),
]


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """The devices of the hub entry: one oven unless a test overrides it."""
    return [oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN)]


@pytest.fixture
def mock_config_entry(subentries: list[ConfigSubentryData]) -> MockConfigEntry:
    """The hub entry."""
    return hub_entry(subentries)


def hub_entry(
    subentries: list[ConfigSubentryData], options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """The hub entry as the config flow creates it, with these devices/cards and options."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="IoT Hub",
        unique_id=DOMAIN,
        data={},
        options=options or {},
        subentries_data=subentries,
        version=1,
        minor_version=1,
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The hub entry, loaded."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


async def open_sockets(
    hass_client_no_auth: ClientSessionGenerator, base: str
) -> AsyncIterator[WsConnect]:
    """For a fixture: ``connect(query="", path=base, **kwargs)`` opens a WebSocket to
    ``path + query`` through HA's real HTTP server; every one is closed after the test.

    Use as ``async for connect in open_sockets(...): yield connect``.
    """
    clients: list[Any] = []  # made at first use: a test may set up http itself first
    opened: list[ClientWebSocketResponse] = []

    async def connect(query: str = "", path: str = base, **kwargs: Any) -> ClientWebSocketResponse:
        if not clients:
            clients.append(await hass_client_no_auth())
        ws = await clients[0].ws_connect(f"{path}{query}", **kwargs)
        opened.append(ws)
        return ws

    yield connect
    for ws in opened:
        await ws.close()


@pytest.fixture
async def ws_connect(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> AsyncIterator[WsConnect]:
    """Open WebSockets to /api/iot_hub/ws through HA's real HTTP server; all closed after."""
    async for connect in open_sockets(hass_client_no_auth, WS_PATH):
        yield connect


@pytest.fixture
async def ws_url(hass_client_no_auth: ClientSessionGenerator) -> str:
    """ws:// URL of /api/iot_hub/ws on the test's HA HTTP server (for the simulators)."""
    client = await hass_client_no_auth()
    return str(client.make_url(WS_PATH).with_scheme("ws"))


settings.register_profile("dev", max_examples=200)
# CI: more examples, and derandomized so a red CI run reproduces locally.
settings.register_profile("ci", max_examples=1000, derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


async def until(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait until ``predicate()`` is truthy; frames cross a real socket, so it takes turns."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def until_recorded(
    hass: HomeAssistant, predicate: Callable[[], object], timeout: float = 5.0
) -> None:
    """Wait until ``predicate()`` is truthy, moving HA's timers past each record interval.

    A reading within its entity's record interval is written when the interval ends (the
    default budget); this ends them, so a state shows the device's latest reading.
    """
    # Not asyncio.timeout: its timer would be among those fired.
    deadline = hass.loop.time() + timeout
    while not predicate():
        if hass.loop.time() > deadline:
            raise TimeoutError
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=DEFAULT_RECORD_INTERVAL))
        await asyncio.sleep(0.02)


def state_of(hass: HomeAssistant, entity_id: str) -> str | None:
    """The state string of an entity, or None when it does not exist."""
    state = hass.states.get(entity_id)
    return state.state if state else None


async def frame(ws: ClientWebSocketResponse, timeout: float = 10) -> dict[str, Any]:
    """The next frame, as JSON (a close or anything else fails)."""
    msg = await ws.receive(timeout=timeout)
    assert msg.type is WSMsgType.TEXT, msg
    data: dict[str, Any] = json.loads(msg.data)
    return data


async def closed_with(ws: ClientWebSocketResponse, code: int) -> str:
    """The server closed ``ws`` with ``code`` (the next message is the close); its reason."""
    msg = await ws.receive(timeout=5)
    assert msg.type is WSMsgType.CLOSE, msg
    assert ws.close_code == code
    return str(msg.extra)


def hub_of(hass_or_entry: HomeAssistant | MockConfigEntry) -> Hub:
    """The loaded hub (of the one IoT Hub entry, or of this entry)."""
    entry = (
        hass_or_entry
        if isinstance(hass_or_entry, MockConfigEntry)
        else hass_or_entry.config_entries.async_entries(DOMAIN)[0]
    )
    hub = entry.runtime_data
    assert isinstance(hub, Hub)
    return hub


@pytest.fixture
async def setup_mqtt(hass: HomeAssistant) -> AsyncIterator[SetupMqtt]:
    """Set up HA's MQTT integration on a broker of 127.0.0.1; unloaded after the test."""
    entries: list[MockConfigEntry] = []

    async def setup(port: int = SHARED_PORT) -> MockConfigEntry:
        # HA's MQTT reads configuration.yaml (for YAML-configured MQTT entities).
        Path(hass.config.path("configuration.yaml")).touch()
        entry = MockConfigEntry(
            domain=mqtt.DOMAIN,
            data={mqtt.CONF_BROKER: HOST, CONF_PORT: port, CONF_PROTOCOL: "5"},
            options={CONF_DISCOVERY: False, mqtt.CONF_BIRTH_MESSAGE: {}, "will_message": {}},
        )
        entry.add_to_hass(hass)
        entries.append(entry)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return entry

    yield setup
    for entry in entries:
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
