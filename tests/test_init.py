"""Setting up, unloading and reloading the hub entry."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from aiohttp import WSServerHandshakeError
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.const import DOMAIN, Actor, CloseCode
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kind import Inbound, Source
from custom_components.iot_hub.sessions import ActorRef

from .conftest import OVEN_ID, OVEN_TOKEN, WsConnect, closed_with, state_of, until
from .fakes import FakeLink

STORE_KEY = "iot_hub.sessions.{entry_id}"


async def test_services_exist_without_an_entry(hass: HomeAssistant) -> None:
    """Actions are registered in ``async_setup``, before any hub entry is loaded."""
    assert await async_setup_component(hass, DOMAIN, {})
    for service in ("start_session", "stop_session", "get_sessions"):
        assert hass.services.has_service(DOMAIN, service)


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_unload_closes_connections_then_503(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
    hass_storage: dict[str, Any],
) -> None:
    """Unload: oven and app get 1001, the Store is written, the endpoint answers 503."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    app = await ws_connect(f"?token={hass_access_token}")
    hub: Hub = init_integration.runtime_data
    await until(lambda: hub.devices[OVEN_ID].connected and hub.devices[OVEN_ID].clients)
    await app.send_json({"command": "START"})
    assert await oven.receive_str(timeout=5) == "START"
    assert await app.receive_json(timeout=5) == {"session_id": 1, "status": "active"}

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    await closed_with(oven, CloseCode.UNLOADING)
    await closed_with(app, CloseCode.UNLOADING)
    assert state_of(hass, "sensor.oven_temperature") == STATE_UNAVAILABLE
    stored = hass_storage[STORE_KEY.format(entry_id=init_integration.entry_id)]["data"]
    assert [(s["id"], s["status"]) for s in stored["sessions"]] == [(1, "active")]

    with pytest.raises(WSServerHandshakeError) as err:
        await ws_connect(f"?token={OVEN_TOKEN}")
    assert err.value.status == 503

    # Set up again: the same token works, and the session is still running.
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "sensor.oven_session") == "active")
    state = hass.states.get("sensor.oven_session")
    assert state is not None
    assert state.attributes["session_id"] == 1


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_reload_keeps_sessions_and_ids(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A reload keeps finished sessions, the running one and the id sequence."""
    hub: Hub = init_integration.runtime_data
    link = FakeLink()
    hub.attach_device(hub.devices[OVEN_ID], link)
    actor = ActorRef(Actor.AUTOMATION)
    for _ in range(2):
        hub.devices[OVEN_ID].start_session(actor)
        hub.receive(hub.devices[OVEN_ID], Inbound(Source.DEVICE, "180", link))
        hub.devices[OVEN_ID].stop_session(actor)
    hub.devices[OVEN_ID].start_session(actor)
    await hass.async_block_till_done()  # each is told once it is on disk, in order
    assert link.sent == ["START", "STOP", "START", "STOP", "START"]

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert link.closed == (CloseCode.UNLOADING, "iot_hub is unloading")

    reloaded: Hub = init_integration.runtime_data
    assert reloaded is not hub
    sessions = reloaded.sessions.query([OVEN_ID])
    assert [(s.id, s.status.value, s.summary(s.started_at)["readings"]) for s in sessions] == [
        (3, "active", 0),
        (2, "stopped", 1),
        (1, "stopped", 1),
    ]
    assert state_of(hass, "sensor.oven_last_session_readings") == "1"
    new_link = FakeLink()
    reloaded.attach_device(reloaded.devices[OVEN_ID], new_link)
    reloaded.devices[OVEN_ID].stop_session(actor)
    assert reloaded.devices[OVEN_ID].start_session(actor).id == 4
    await hass.async_block_till_done()
    assert new_link.sent == ["START", "STOP", "START"]  # session 3 again, on attach


async def test_failed_platform_unload_keeps_the_hub_running(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """If a platform refuses to unload, the hub keeps its devices connected."""
    hub: Hub = init_integration.runtime_data
    link = FakeLink()
    hub.attach_device(hub.devices[OVEN_ID], link)
    with patch.object(hass.config_entries, "async_unload_platforms", return_value=False):
        assert not await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state is ConfigEntryState.FAILED_UNLOAD
    assert link.closed is None
    assert hub.devices[OVEN_ID].link is link
