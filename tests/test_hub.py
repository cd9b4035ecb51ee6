"""The hub and its sessions driven directly (no sockets): restarts, removals, lookups."""

from __future__ import annotations

from datetime import timedelta
import typing
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.iot_hub.const import CONF_TOKEN_HASH, DOMAIN, EVENT_SESSION_ENDED, CloseCode
from custom_components.iot_hub.kind import Inbound, Source
from custom_components.iot_hub.sessions import STORAGE_VERSION
from custom_components.iot_hub.tokens import hash_token
from custom_components.iot_hub.transport.link import Link
from custom_components.iot_hub.transport.ws_link import WsLink

from .conftest import OVEN_ID, OVEN_TOKEN, TWO_OVENS, hub_of
from .fakes import FakeLink

STORE_KEY = "iot_hub.sessions.{entry_id}"
GRACE = timedelta(seconds=301)  # just past the default resume grace period


def _active_session(device_id: str, session_id: int = 7) -> dict[str, Any]:
    return {
        "id": session_id,
        "device_id": device_id,
        "device_name": "Oven",
        "started_at": "2026-11-24T10:00:00+00:00",
        "started_by": {"kind": "app", "user_id": None, "name": "Cook"},
        "status": "active",
        "ended_at": None,
        "stopped_by": None,
        "readings": 1,
        "temperature_sum": 100.0,
        "temperature_min": 100.0,
        "temperature_max": 100.0,
        "last_reading_at": "2026-11-24T10:01:00+00:00",
    }


@pytest.fixture
def stored_sessions() -> list[dict[str, Any]]:
    """What the Store held when HA stopped (overridden by parametrize)."""
    return [_active_session(OVEN_ID)]


@pytest.fixture(autouse=True)
def store(
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    stored_sessions: list[dict[str, Any]],
) -> None:
    """Put the stored sessions in place before the entry loads."""
    key = STORE_KEY.format(entry_id=mock_config_entry.entry_id)
    hass_storage[key] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": key,
        "data": {"next_id": 8, "sessions": stored_sessions},
    }


async def _past_grace(hass: HomeAssistant) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + GRACE)
    await hass.async_block_till_done()


# -- a session waiting for its device after a restart ----------------------------------------


async def test_stopping_a_waiting_session_cancels_the_interruption(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Stopped from HA before the oven is back: it ends once, as stopped, never interrupted."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, OVEN_ID), init_integration.entry_id
    )
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "stop_session", {ATTR_DEVICE_ID: device.id}, blocking=True
    )
    await _past_grace(hass)
    assert [(e.data["session_id"], e.data["status"]) for e in ended] == [(7, "stopped")]
    assert ended[0].data["stopped_by"]["kind"] == "automation"


async def test_unload_cancels_the_interruption(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Unloaded within the grace period: the session is saved as still running."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await _past_grace(hass)
    assert ended == []
    stored = hass_storage[STORE_KEY.format(entry_id=init_integration.entry_id)]["data"]
    assert [(s["id"], s["status"]) for s in stored["sessions"]] == [(7, "active")]


@pytest.mark.parametrize(
    "subentries",
    [TWO_OVENS],
)
async def test_removed_device_forgets_its_waiting_session(
    hass: HomeAssistant, init_integration: MockConfigEntry, subentries: list[ConfigSubentryData]
) -> None:
    """Removing the device drops its sessions; no interruption fires for it later."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    hub = hub_of(init_integration)
    assert hass.config_entries.async_remove_subentry(init_integration, OVEN_ID)
    await hass.async_block_till_done()
    await _past_grace(hass)
    assert ended == []
    assert hub.sessions.query() == []


@pytest.mark.parametrize("stored_sessions", [[_active_session("gone-device")]])
@pytest.mark.usefixtures("init_integration")
async def test_session_of_a_device_removed_while_stopped(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Sessions of a device removed while HA was stopped are dropped at setup.

    Left alone they stayed "active" in every query, as the demo showed, until an
    interruption with no device to point at.
    """
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    assert hub_of(init_integration).sessions.query() == []
    await _past_grace(hass)
    assert ended == []
    await hass.async_block_till_done()
    stored = hass_storage[STORE_KEY.format(entry_id=init_integration.entry_id)]["data"]
    assert stored["sessions"] == []
    # The oven that does exist is not disturbed by it.
    assert hass.states.get("sensor.oven_session") is not None


# -- subentry changes applied to the running hub ----------------------------------------------


@pytest.mark.parametrize("stored_sessions", [[]])
async def test_rename_and_rotate_while_offline(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Both at once, oven offline: nothing to close; old token refused, new one accepted."""
    hub = hub_of(init_integration)
    device = hub.devices[OVEN_ID]
    hass.config_entries.async_update_subentry(
        init_integration,
        init_integration.subentries[OVEN_ID],
        title="Bread oven",
        data={"kind": "oven", CONF_TOKEN_HASH: hash_token("brand-new-token")},
    )
    await hass.async_block_till_done()
    assert device.name == "Bread oven"
    assert hub.device_for_token(OVEN_TOKEN) is None
    assert hub.device_for_token("brand-new-token") is device
    registry_device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, OVEN_ID), init_integration.entry_id
    )
    assert registry_device is not None
    assert registry_device.name == "Bread oven"


@pytest.mark.parametrize("stored_sessions", [[]])
async def test_rename_without_a_registry_device(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A rename still applies to the hub when the registry has no device for it (yet)."""
    hub = hub_of(init_integration)
    registry = dr.async_get(hass)
    registry_device = registry.async_get_device_by_identifier(
        (DOMAIN, OVEN_ID), init_integration.entry_id
    )
    assert registry_device is not None
    registry.async_remove_device(registry_device.id)
    link = FakeLink()
    hub.attach_device(hub.devices[OVEN_ID], link)
    hass.config_entries.async_update_subentry(
        init_integration, init_integration.subentries[OVEN_ID], title="Bread oven"
    )
    await hass.async_block_till_done()
    assert hub.devices[OVEN_ID].name == "Bread oven"
    assert hub.device_for_client(None, {"device": "bread oven"}) is hub.devices[OVEN_ID]
    assert link.closed is None
    assert (
        registry.async_get_device_by_identifier((DOMAIN, OVEN_ID), init_integration.entry_id)
        is None
    )


# -- lookups ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stored_sessions", [[]])
async def test_device_lookups(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Apps may name the oven by name, subentry id or registry id; unknown ids give nothing."""
    hub = hub_of(init_integration)
    oven = hub.devices[OVEN_ID]
    registry_device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, OVEN_ID), init_integration.entry_id
    )
    assert registry_device is not None
    assert hub.device_for_client(None, {}) is oven
    assert hub.device_for_client(None, {"device": "OVEN"}) is oven
    assert hub.device_for_client(None, {"device": OVEN_ID}) is oven
    assert hub.device_for_client(None, {"device": registry_device.id}) is oven
    assert hub.device_for_client(None, {"device": "toaster"}) == CloseCode.UNKNOWN_DEVICE
    assert hub.device_for_ha_device(registry_device.id) is oven
    assert hub.device_for_ha_device("no-such-registry-id") is None
    assert hub.ha_device_id("no-such-device") is None


@pytest.mark.parametrize("stored_sessions", [[]])
@pytest.mark.parametrize("subentries", [[]])
async def test_no_devices(
    init_integration: MockConfigEntry, subentries: list[ConfigSubentryData]
) -> None:
    """A hub without devices answers every app with 'unknown device'."""
    hub = hub_of(init_integration)
    assert hub.device_for_client(None, {}) == CloseCode.UNKNOWN_DEVICE
    assert hub.device_for_token(OVEN_TOKEN) is None


def test_links_implement_the_protocol() -> None:
    """The socket link and the test double offer what the hub may use of a link."""
    members = typing.get_protocol_members(Link)
    assert members == {"peer", "closing", "send_text", "close"}
    assert members <= set(dir(WsLink))
    assert isinstance(vars(WsLink)["peer"], property)
    assert members <= set(dir(FakeLink()))


async def test_frames_of_a_replaced_link_are_dropped(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A replaced socket's late frames neither update state nor get replies on the new one."""
    hub = hub_of(init_integration)
    oven = hub.devices[OVEN_ID]
    old, new = FakeLink(), FakeLink()
    hub.attach_device(oven, old)
    hub.attach_device(oven, new)
    assert old.closed == (CloseCode.REPLACED, "replaced by a newer connection")
    hub.receive(oven, Inbound(Source.DEVICE, "999", old))
    hub.receive(oven, Inbound(Source.DEVICE, "not a number", old))
    assert oven.handler.temperature is None
    # Each was told the stored session 7 on attach; no replies to the late frames.
    assert new.sent == ["START"]
    assert old.sent == ["START"]
    hub.receive(oven, Inbound(Source.DEVICE, "180", new))
    assert oven.handler.temperature == 180.0


async def test_frames_without_a_connection_fit_the_transport_contract(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A frame that no WebSocket carried (an MQTT message, an HTTP POST of a reading) goes
    through the same ``Inbound``: a one-shot link collects the replies, and the device's
    connection, if any, is not disturbed."""
    hub = hub_of(init_integration)
    oven = hub.devices[OVEN_ID]
    socket = FakeLink()
    hub.attach_device(oven, socket)
    post = FakeLink(peer="192.0.2.99")  # never attached: like the reply of one HTTP request
    hub.receive(oven, Inbound(Source.DEVICE, "21.5", post))
    assert oven.handler.temperature == 21.5
    hub.receive(oven, Inbound(Source.DEVICE, "warm", post))
    assert post.sent == ['{"error": "invalid temperature reading"}']
    assert socket.sent == ["START"]  # session 7, on attach; no replies to the POST
    assert oven.link is socket
    assert socket.closed is None
