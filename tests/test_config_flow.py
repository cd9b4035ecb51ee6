"""Config flow: the hub entry, its options, and device subentries (add, reconfigure, remove)."""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigSubentry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.iot_hub.config_flow import HUB_TITLE
from custom_components.iot_hub.const import (
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER,
    CONF_RECORD_INTERVAL,
    CONF_RESUME_GRACE,
    CONF_TOKEN_HASH,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    DEFAULT_MAX_CONNECTIONS_PER_USER,
    DEFAULT_RECORD_INTERVAL,
    DEFAULT_RESUME_GRACE,
    DOMAIN,
    EVENT_SESSION_ENDED,
    MAX_RECORD_INTERVAL,
    SUBENTRY_DEVICE,
    WS_PATH,
    Actor,
    CloseCode,
)
from custom_components.iot_hub.device_flow import CONF_ROTATE_TOKEN
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.sessions import ActorRef
from custom_components.iot_hub.tokens import hash_token

from .conftest import (
    APPLIANCE_OPTIONS,
    MQTT_OPTIONS,
    OVEN2_TOKEN,
    OVEN_ID,
    OVEN_TOKEN,
    TWO_OVENS,
    WsConnect,
    closed_with,
    state_of,
    until,
)
from .fakes import FakeLink

MANIFEST = "custom_components/iot_hub/manifest.json"
TOKEN_IN_URL = re.compile(r"\?token=(?P<token>[A-Za-z0-9_-]+)$")


def _subentry_titled(entry: MockConfigEntry, title: str) -> ConfigSubentry:
    (subentry,) = (s for s in entry.subentries.values() if s.title == title)
    return subentry


def _defaults(result: Any) -> dict[str, Any]:
    """The defaults a form's schema offers, by field name (fields without one left out)."""
    schema = result["data_schema"]
    assert schema is not None
    return {str(key): key.default() for key in schema.schema if callable(key.default)}


def _suggested(result: Any) -> dict[str, Any]:
    """The suggested values a form's schema offers, by field name."""
    schema = result["data_schema"]
    assert schema is not None
    return {
        str(key): key.description["suggested_value"]
        for key in schema.schema
        if key.description and "suggested_value" in key.description
    }


def _ha_device(hass: HomeAssistant, entry: MockConfigEntry, device_id: str) -> dr.DeviceEntry:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, device_id), entry.entry_id)
    assert device is not None
    return device


async def _add_device(hass: HomeAssistant, entry: MockConfigEntry, name: str) -> tuple[str, str]:
    """Run the device subentry flow to its end; returns the token shown and the URL."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: name, CONF_KIND: "oven"}
    )
    assert result["step_id"] == "details"  # an optional target temperature: none
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "token"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    return placeholders["token"], placeholders["url"]


# -- the hub entry ----------------------------------------------------------------------------


async def test_user_step_creates_the_hub(hass: HomeAssistant) -> None:
    """The hub needs only a confirmation; it is created with no data and loads."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] is None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == HUB_TITLE
    assert result["data"] == {}
    entry = result["result"]
    assert entry.unique_id == DOMAIN
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, Hub)
    assert entry.runtime_data.devices == {}


@pytest.mark.usefixtures("init_integration")
async def test_second_hub_aborts(hass: HomeAssistant) -> None:
    """Only one hub, refused by the flow itself: the manifest's single_config_entry would also
    abort the discovery flows of new appliances, so the manifest must not set it."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance_allowed"
    manifest = json.loads((Path(__file__).parent.parent / MANIFEST).read_text(encoding="utf-8"))
    assert "single_config_entry" not in manifest
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


# -- options ----------------------------------------------------------------------------------


async def test_options_history_size_applies_without_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A smaller history applies to the running hub (same object, device still connected)."""
    hub: Hub = init_integration.runtime_data
    device = hub.devices[OVEN_ID]
    link = FakeLink()
    hub.attach_device(device, link)
    actor = ActorRef(Actor.AUTOMATION)
    for _ in range(3):
        device.start_session(actor)
        device.stop_session(actor)
    assert [s.id for s in hub.sessions.query([OVEN_ID])] == [3, 2, 1]

    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    defaults = _defaults(result)
    assert defaults == {
        CONF_HISTORY_SIZE: DEFAULT_HISTORY_SIZE,
        CONF_RESUME_GRACE: DEFAULT_RESUME_GRACE,
        CONF_MAX_CONNECTIONS_PER_ADDRESS: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
        CONF_MAX_CONNECTIONS_PER_USER: DEFAULT_MAX_CONNECTIONS_PER_USER,
        **MQTT_OPTIONS,
        **APPLIANCE_OPTIONS,
    }
    # The number selector hands over floats; they are stored as ints.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_HISTORY_SIZE: 2.0, CONF_RESUME_GRACE: 5.0, CONF_MAX_CONNECTIONS_PER_USER: 4.0},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    caps = {CONF_MAX_CONNECTIONS_PER_ADDRESS: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS}
    caps[CONF_MAX_CONNECTIONS_PER_USER] = 4
    stored = {**MQTT_OPTIONS, "mqtt_legacy_filter": "", **APPLIANCE_OPTIONS}
    assert init_integration.options == {
        CONF_HISTORY_SIZE: 2,
        CONF_RESUME_GRACE: 5,
        **caps,
        **stored,
    }

    assert init_integration.runtime_data is hub  # not reloaded
    assert link.closed is None  # and the device was not dropped
    assert [s.id for s in hub.sessions.query([OVEN_ID])] == [3, 2]
    device.start_session(actor)
    device.stop_session(actor)
    assert [s.id for s in hub.sessions.query([OVEN_ID])] == [4, 3]

    # The form now shows the stored values.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    defaults = _defaults(result)
    assert defaults == {
        CONF_HISTORY_SIZE: 2,
        CONF_RESUME_GRACE: 5,
        **caps,
        **MQTT_OPTIONS,
        **APPLIANCE_OPTIONS,
    }


async def test_options_grace_period_used_after_restart(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The grace period matters when sessions are reloaded: the new value is the one used."""
    hub: Hub = init_integration.runtime_data
    hub.attach_device(hub.devices[OVEN_ID], FakeLink())
    hub.devices[OVEN_ID].start_session(ActorRef(Actor.AUTOMATION))
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_HISTORY_SIZE: 10, CONF_RESUME_GRACE: 5}
    )
    await hass.async_block_till_done()

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=4))
    await hass.async_block_till_done()
    assert ended == []
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=6))
    await hass.async_block_till_done()
    assert [e.data["status"] for e in ended] == ["interrupted"]


# -- adding a device --------------------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_add_device_validates_the_name(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Blank and already used names (any case) are refused on the form."""
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "   ", CONF_KIND: "oven"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_empty"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: " oVEN ", CONF_KIND: "oven"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_exists"}
    assert len(init_integration.subentries) == 1


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_add_device_token_works_without_reload(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    entity_registry: er.EntityRegistry,
) -> None:
    """The token is shown once, only its digest is stored, and it works at once.

    The new device's entities appear without a reload: the connected oven stays connected.
    """
    await async_process_ha_core_config(hass, {"internal_url": "http://ha.local:8123"})
    hub: Hub = init_integration.runtime_data
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")

    token, url = await _add_device(hass, init_integration, "  Pizza oven ")
    assert url == f"ws://ha.local:8123{WS_PATH}?token={token}"
    assert len(token) >= 40  # 32 random bytes, URL-safe
    subentry = _subentry_titled(init_integration, "Pizza oven")
    assert dict(subentry.data) == {
        CONF_KIND: "oven",
        CONF_TOKEN_HASH: hash_token(token),
        CONF_RECORD_INTERVAL: DEFAULT_RECORD_INTERVAL,  # the form's default, stored
    }
    assert token not in repr(init_integration.as_dict())

    assert init_integration.runtime_data is hub
    assert state_of(hass, "binary_sensor.oven_connectivity") == "on"
    device = _ha_device(hass, init_integration, subentry.subentry_id)
    assert device.name == "Pizza oven"
    entities = er.async_entries_for_device(entity_registry, device.id)
    assert {e.entity_id for e in entities} >= {
        "sensor.pizza_oven_temperature",
        "binary_sensor.pizza_oven_connectivity",
        "button.pizza_oven_start_session",
    }
    assert all(e.config_subentry_id == subentry.subentry_id for e in entities)
    assert state_of(hass, "binary_sensor.pizza_oven_connectivity") == "off"

    pizza = await ws_connect(f"?token={token}")
    await pizza.send_str("250")
    await until(lambda: state_of(hass, "sensor.pizza_oven_temperature") == "250.0")
    assert state_of(hass, "binary_sensor.pizza_oven_connectivity") == "on"
    assert not oven.closed


async def test_device_url_uses_wss_for_https(hass: HomeAssistant) -> None:
    """An https base URL becomes wss (only the scheme is rewritten)."""
    from custom_components.iot_hub.device_flow import _device_url

    await async_process_ha_core_config(hass, {"internal_url": "https://http.example:8443"})
    assert _device_url(hass, "abc") == f"wss://http.example:8443{WS_PATH}?token=abc"


@pytest.mark.usefixtures("init_integration")
async def test_device_url_fallback_without_url(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without any known URL the token step still shows a usable template."""
    with patch("custom_components.iot_hub.device_flow.get_url", side_effect=NoURLAvailableError):
        token, url = await _add_device(hass, init_integration, "Oven 3")
    assert url == f"ws://HOME_ASSISTANT_HOST:8123{WS_PATH}?token={token}"
    match = TOKEN_IN_URL.search(url)
    assert match is not None
    assert match["token"] == token


async def test_record_budget_is_set_when_added_and_reconfigured(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Every device's record interval: offered with its default on the first form (every
    kind passes it), refused outside 0..3600 s, stored in whole seconds, and changed by
    reconfiguring with the current value offered, applied without a reload."""
    hub: Hub = init_integration.runtime_data
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    assert _defaults(result)[CONF_RECORD_INTERVAL] == DEFAULT_RECORD_INTERVAL
    flow_id = result["flow_id"]
    for bad in (-1, MAX_RECORD_INTERVAL + 1, "often"):
        with pytest.raises(InvalidData):
            await hass.config_entries.subentries.async_configure(
                flow_id, {CONF_NAME: "Slow oven", CONF_KIND: "oven", CONF_RECORD_INTERVAL: bad}
            )
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {CONF_NAME: "Slow oven", CONF_KIND: "oven", CONF_RECORD_INTERVAL: 60.0}
    )
    assert result["step_id"] == "details"  # an optional target temperature: none
    result = await hass.config_entries.subentries.async_configure(flow_id, {})
    assert result["step_id"] == "token"
    await hass.config_entries.subentries.async_configure(flow_id, {})
    await hass.async_block_till_done()
    subentry = _subentry_titled(init_integration, "Slow oven")
    assert subentry.data[CONF_RECORD_INTERVAL] == 60
    assert isinstance(subentry.data[CONF_RECORD_INTERVAL], int)
    assert hub.devices[subentry.subentry_id].record_interval == 60

    result = await init_integration.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert _defaults(result)[CONF_RECORD_INTERVAL] == 60
    with pytest.raises(InvalidData):
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {CONF_NAME: "Slow oven", CONF_RECORD_INTERVAL: -5, CONF_ROTATE_TOKEN: False},
        )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Slow oven", CONF_RECORD_INTERVAL: 0, CONF_ROTATE_TOKEN: False},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.subentries[subentry.subentry_id].data[CONF_RECORD_INTERVAL] == 0
    assert hub.devices[subentry.subentry_id].record_interval == 0
    assert init_integration.runtime_data is hub


# -- reconfiguring a device -------------------------------------------------------------------


@pytest.mark.parametrize("subentries", [TWO_OVENS])
async def test_reconfigure_rename(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Renaming validates the name, updates the registry device and keeps the token."""
    hub: Hub = init_integration.runtime_data
    link = FakeLink()
    hub.attach_device(hub.devices[OVEN_ID], link)
    result = await init_integration.start_subentry_reconfigure_flow(hass, OVEN_ID)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    defaults = _defaults(result)
    assert defaults == {
        CONF_NAME: "Oven",
        CONF_RECORD_INTERVAL: DEFAULT_RECORD_INTERVAL,  # added before the budget: the default
        CONF_ROTATE_TOKEN: False,
    }

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "", CONF_ROTATE_TOKEN: False}
    )
    assert result["errors"] == {CONF_NAME: "name_empty"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "oven 2", CONF_ROTATE_TOKEN: False}
    )
    assert result["errors"] == {CONF_NAME: "name_exists"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: " Kitchen oven", CONF_ROTATE_TOKEN: False}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    subentry = init_integration.subentries[OVEN_ID]
    assert subentry.title == "Kitchen oven"
    assert subentry.data[CONF_TOKEN_HASH] == hash_token(OVEN_TOKEN)
    assert _ha_device(hass, init_integration, OVEN_ID).name == "Kitchen oven"
    assert hub.devices[OVEN_ID].name == "Kitchen oven"
    assert hub.device_for_client(None, {"device": "kitchen OVEN"}) is hub.devices[OVEN_ID]
    assert hub.device_for_token(OVEN_TOKEN) is hub.devices[OVEN_ID]
    assert link.closed is None
    assert init_integration.runtime_data is hub

    # Keeping its own name (in another case) is not a clash with itself.
    result = await init_integration.start_subentry_reconfigure_flow(hass, OVEN_ID)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "KITCHEN OVEN", CONF_ROTATE_TOKEN: False}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert _ha_device(hass, init_integration, OVEN_ID).name == "KITCHEN OVEN"


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_reconfigure_rotate_token(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A new token: the old one's live connection closes with 4003 and it stops working."""
    old = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")

    result = await init_integration.start_subentry_reconfigure_flow(hass, OVEN_ID)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Oven", CONF_ROTATE_TOKEN: True}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "token"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    new_token = placeholders["token"]
    assert placeholders["name"] == "Oven"
    assert new_token != OVEN_TOKEN
    # Nothing changes before the token step is confirmed.
    assert init_integration.subentries[OVEN_ID].data[CONF_TOKEN_HASH] == hash_token(OVEN_TOKEN)
    assert not old.closed

    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.subentries[OVEN_ID].data == {
        CONF_KIND: "oven",
        CONF_TOKEN_HASH: hash_token(new_token),
        CONF_RECORD_INTERVAL: DEFAULT_RECORD_INTERVAL,
    }
    await closed_with(old, CloseCode.INVALID_TOKEN)

    refused = await ws_connect(f"?token={OVEN_TOKEN}")
    await closed_with(refused, CloseCode.INVALID_TOKEN)
    new = await ws_connect(f"?token={new_token}")
    await new.send_str("42")
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "42.0")


# -- removing a device ------------------------------------------------------------------------


@pytest.mark.parametrize("subentries", [TWO_OVENS])
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_remove_device_subentry(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
) -> None:
    """Removing a subentry closes its sockets (4010) and removes its device and entities."""
    entity_registry = er.async_get(hass)
    device_registry = dr.async_get(hass)
    hub: Hub = init_integration.runtime_data
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    app = await ws_connect(f"?token={hass_access_token}&device=Oven")
    oven2 = await ws_connect(f"?token={OVEN2_TOKEN}")
    await until(lambda: len(hub.devices[OVEN_ID].clients) == 1)
    await app.send_json({"command": "START"})
    assert await oven.receive_str(timeout=5) == "START"
    device_id = _ha_device(hass, init_integration, OVEN_ID).id
    assert er.async_entries_for_device(entity_registry, device_id)

    assert hass.config_entries.async_remove_subentry(init_integration, OVEN_ID)
    await hass.async_block_till_done()

    await closed_with(oven, CloseCode.DEVICE_REMOVED)
    # The app gets the session notice first, then the close.
    assert await app.receive_json(timeout=5) == {"session_id": 1, "status": "active"}
    await closed_with(app, CloseCode.DEVICE_REMOVED)
    assert device_registry.async_get(device_id) is None
    assert er.async_entries_for_device(entity_registry, device_id) == []
    assert hass.states.get("sensor.oven_temperature") is None
    assert OVEN_ID not in hub.devices
    assert hub.device_for_token(OVEN_TOKEN) is None
    assert hub.sessions.query([OVEN_ID]) == []
    assert init_integration.runtime_data is hub

    # The other oven is untouched, and the removed token no longer opens anything.
    await oven2.send_str("77")
    await until(lambda: state_of(hass, "sensor.oven_2_temperature") == "77.0")
    refused = await ws_connect(f"?token={OVEN_TOKEN}")
    await closed_with(refused, CloseCode.INVALID_TOKEN)
