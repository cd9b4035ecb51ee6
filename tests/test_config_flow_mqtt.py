"""Config flows of MQTT devices: discovery and claim, transports, topics, MQTT options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_IGNORE, SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.const import DOMAIN, SUBENTRY_DEVICE
from custom_components.iot_hub.kinds.appliance.config_flow import ApplianceFields

from .appliance_tools import PORT, SERIAL, broker_options, unique_prefix
from .conftest import hub_entry, hub_of

DISCOVERY = {"kind": "appliance", "mqtt_id": SERIAL, "serial_number": SERIAL}


@pytest.fixture
async def hub_loaded(hass: HomeAssistant) -> MockConfigEntry:
    """A hub with no device and no MQTT (HA's MQTT is not set up)."""
    entry = hub_entry([])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _discover(hass: HomeAssistant, data: dict[str, Any] | None = None) -> Any:
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_INTEGRATION_DISCOVERY}, data=data or DISCOVERY
    )


async def test_discovery_confirm_claims_with_checked_fields(
    hass: HomeAssistant, hub_loaded: MockConfigEntry
) -> None:
    """The confirm form refuses an empty or taken name and bad texts, then adds the device."""
    result = await _discover(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"] == {"serial": SERIAL, "kind": "appliance"}
    fields = [str(key) for key in result["data_schema"].schema]
    assert "serial_number" not in fields  # the discovered serial is not asked again
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": " ", "modo": "manual"}
    )
    assert result["errors"] == {"name": "name_empty"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Plug", "tipo": "x" * 300, "modo": "manual"}
    )
    assert result["errors"] == {"tipo": "text_invalid"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Plug", "tipo": "enchufe", "modo": "horario"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "device_added"
    [subentry] = hub_loaded.get_subentries_of_type(SUBENTRY_DEVICE)
    assert subentry.title == "Plug"
    assert subentry.unique_id == SERIAL
    assert subentry.data["configuracion"] == {"modo": "horario", "encendido": False}
    # The same serial discovered again: already a device.
    result = await _discover(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # A second serial cannot take the first one's name.
    result = await _discover(hass, {**DISCOVERY, "mqtt_id": "B2", "serial_number": "B2"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "plug", "modo": "manual"}
    )
    assert result["errors"] == {"name": "name_exists"}


async def test_discovery_claimed_elsewhere_meanwhile_aborts(
    hass: HomeAssistant, hub_loaded: MockConfigEntry
) -> None:
    """A form left open while the device is claimed (an action, the REST route) aborts."""
    result = await _discover(hass)
    await hass.services.async_call(DOMAIN, "claim_device", {"serial_number": SERIAL}, blocking=True)
    # The claim closed the pending flow.
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    result = await _discover(hass)
    assert result["type"] is FlowResultType.ABORT


async def test_discovery_confirm_after_claim_elsewhere_aborts(
    hass: HomeAssistant, hub_loaded: MockConfigEntry
) -> None:
    """The device was added between the form and its submission."""
    await _discover(hass)
    hub = hub_of(hub_loaded)
    hub.add_device(
        "Elsewhere",
        {"kind": "appliance", "transport": "mqtt", "mqtt_id": SERIAL, "serial_number": SERIAL},
        SERIAL,
    )
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert not flows  # adopting the serial closed it


async def test_discovery_confirm_after_the_hub_unloaded_aborts(
    hass: HomeAssistant, hub_loaded: MockConfigEntry
) -> None:
    """The form was open when the hub went away: nothing to add the device to."""
    result = await _discover(hass, {**DISCOVERY, "mqtt_id": "Z9", "serial_number": "Z9"})
    await hass.config_entries.async_unload(hub_loaded.entry_id)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Z", "modo": "manual"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_ignored_discovery_is_remembered(
    hass: HomeAssistant, hub_loaded: MockConfigEntry
) -> None:
    """Ignore creates an ignored entry with the serial's unique id; the next discovery aborts."""
    result = await _discover(hass)
    await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_IGNORE},
        data={"unique_id": f"appliance:{SERIAL}", "title": SERIAL},
    )
    await hass.async_block_till_done()
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    result = await _discover(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    # The hub itself is still one, and still the only loaded entry.
    assert len(hass.config_entries.async_loaded_entries(DOMAIN)) == 1


async def test_discovery_without_a_loaded_hub_aborts(hass: HomeAssistant) -> None:
    """No hub (unloaded): nothing to add the device to."""
    result = await _discover(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def _add_device(hass: HomeAssistant, entry: MockConfigEntry, **user: Any) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": "user"}
    )
    return await hass.config_entries.subentries.async_configure(result["flow_id"], user)


async def test_an_oven_over_mqtt_gets_topics_not_a_token(
    hass: HomeAssistant, hub_loaded: MockConfigEntry, issue_registry: ir.IssueRegistry
) -> None:
    """Transport MQTT: an MQTT id (checked, unique), then its topics; no token is stored."""
    result = await _add_device(hass, hub_loaded, name="Kitchen oven", kind="oven", transport="mqtt")
    assert result["step_id"] == "details"
    flow_id = result["flow_id"]
    result = await hass.config_entries.subentries.async_configure(flow_id, {"mqtt_id": "a/b"})
    assert result["errors"] == {"mqtt_id": "mqtt_id_invalid"}
    result = await hass.config_entries.subentries.async_configure(flow_id, {"mqtt_id": "kitchen"})
    assert result["step_id"] == "topics"
    assert result["description_placeholders"]["state"] == "iot_hub/kitchen/state"
    assert result["description_placeholders"]["command"] == "iot_hub/kitchen/command"
    result = await hass.config_entries.subentries.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    [subentry] = hub_loaded.get_subentries_of_type(SUBENTRY_DEVICE)
    assert dict(subentry.data) == {
        "kind": "oven",
        "transport": "mqtt",
        "mqtt_id": "kitchen",
        "record_interval": 10,  # the form's default, for MQTT devices too
    }
    # MQTT devices without any broker: a repair issue says what to do.
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "mqtt_unavailable") is not None

    result = await _add_device(hass, hub_loaded, name="Second", kind="oven", transport="mqtt")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"mqtt_id": "kitchen"}
    )
    assert result["errors"] == {"mqtt_id": "mqtt_id_exists"}


async def test_an_appliance_added_by_hand_is_claimed_before_it_is_seen(
    hass: HomeAssistant, hub_loaded: MockConfigEntry
) -> None:
    """The serial is its MQTT id; a bad or taken serial is refused; reconfigure has no token."""
    result = await _add_device(
        hass, hub_loaded, name="Plug", kind="appliance", transport="websocket"
    )
    assert result["step_id"] == "details"  # an appliance is MQTT whatever was chosen
    flow_id = result["flow_id"]
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {"serial_number": "bad serial", "modo": "manual"}
    )
    assert result["errors"] == {"serial_number": "serial_invalid"}
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {"serial_number": SERIAL, "modelo": "T-01", "modo": "manual"}
    )
    assert result["step_id"] == "topics"
    result = await hass.config_entries.subentries.async_configure(flow_id, {})
    [subentry] = hub_loaded.get_subentries_of_type(SUBENTRY_DEVICE)
    assert subentry.data["mqtt_id"] == SERIAL
    assert subentry.data["modelo"] == "T-01"

    result = await _add_device(hass, hub_loaded, name="Other", kind="appliance")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"serial_number": SERIAL, "modo": "manual"}
    )
    assert result["errors"] == {"serial_number": "serial_exists"}

    result = await hub_loaded.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    fields = [str(key) for key in result["data_schema"].schema]
    assert "rotate_token" not in fields and "serial_number" not in fields
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Plug", "descripcion": "Salón", "modo": "horario"}
    )
    assert result["reason"] == "reconfigure_successful"
    subentry = hub_loaded.subentries[subentry.subentry_id]
    assert subentry.data["descripcion"] == "Salón"
    assert subentry.data["modelo"] is None  # cleared in the form
    assert subentry.data["configuracion"]["modo"] == "horario"


async def test_options_mqtt_prefix_and_filter_are_checked(
    hass: HomeAssistant, hub_loaded: MockConfigEntry
) -> None:
    """A prefix with wildcards and a malformed legacy filter are refused."""
    result = await hass.config_entries.options.async_init(hub_loaded.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "history_size": 10,
            "resume_grace_period": 10,
            "mqtt_transport": "home_assistant",
            "mqtt_prefix": "a/+",
            "mqtt_legacy_filter": "a/#/b",
            "mqtt_silence_timeout": 60,
        },
    )
    assert result["errors"] == {
        "mqtt_prefix": "prefix_invalid",
        "mqtt_legacy_filter": "filter_invalid",
    }


async def test_options_dedicated_broker_is_tried_before_it_is_saved(
    hass: HomeAssistant, hub_loaded: MockConfigEntry, socket_enabled: None
) -> None:
    """A broker that does not answer is refused; the local Mosquitto is saved and used."""
    prefix = unique_prefix()
    base = {
        "history_size": 10,
        "resume_grace_period": 10,
        "mqtt_transport": "dedicated",
        "mqtt_prefix": prefix,
        "mqtt_silence_timeout": 60,
    }
    result = await hass.config_entries.options.async_init(hub_loaded.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], base)
    assert result["step_id"] == "broker"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"mqtt_host": "127.0.0.1", "mqtt_port": 1, "mqtt_tls": False}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"mqtt_host": "127.0.0.1", "mqtt_port": PORT, "mqtt_tls": False, "mqtt_client_id": ""},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    expected = broker_options(prefix)
    for key in ("mqtt_transport", "mqtt_host", "mqtt_port", "mqtt_prefix"):
        assert hub_loaded.options[key] == expected[key]
    hub = hub_of(hub_loaded)
    assert hub.mqtt.devices is not None  # reconnected on the new options, without a reload
    # Back to HA's MQTT: the broker settings are kept for next time.
    result = await hass.config_entries.options.async_init(hub_loaded.entry_id)
    assert result["data_schema"]({**base})["mqtt_transport"] == "dedicated"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, "mqtt_transport": "home_assistant"}
    )
    await hass.async_block_till_done()
    assert hub_loaded.options["mqtt_host"] == "127.0.0.1"
    assert hub.mqtt.devices is None  # HA's MQTT is not set up here


def test_appliance_fields_add_nothing_to_a_websocket_url() -> None:
    """The contract's device query: appliances never use the WebSocket, so it is empty."""
    assert ApplianceFields().device_query({"serial_number": SERIAL}) == ""
