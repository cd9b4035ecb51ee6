"""The seam, proven: a kind defined in tests/ works end to end, nothing else changed for it.

The toy (``tests/toy_kind/``) is registered as a real kind is, one more entry in
``kinds.KINDS``, then added through the subentry flow, connected over a real WebSocket to
HA's HTTP server, driven through a session recorded by the real recorder, and read back
through actions, the logbook and diagnostics.
"""

from __future__ import annotations

from dataclasses import replace
import json
from pathlib import Path
import re

from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.config_entries import SOURCE_USER, ConfigSubentryData
from homeassistant.const import ATTR_DEVICE_ID, CONF_NAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from custom_components.iot_hub import kinds
from custom_components.iot_hub.const import (
    CONF_KIND,
    DOMAIN,
    EVENT_SESSION_ENDED,
    EVENT_SESSION_STARTED,
    SUBENTRY_DEVICE,
)

from .conftest import WsConnect, state_of, until
from .test_logbook import _stored_events, logbook_entries
from .toy_kind import TOY

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

INTEGRATION = Path(__file__).parent.parent / "custom_components" / "iot_hub"


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The real recorder: requested before ``hass`` (see ha-api-notes §10, pitfall 4)."""


@pytest.fixture(autouse=True)
def register_toy(monkeypatch: pytest.MonkeyPatch) -> None:
    """One more entry in the list of kinds: what adding a kind to kinds/__init__.py does."""
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, TOY))


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """A hub with no devices yet: the toy is added through the UI's flow."""
    return []


async def _add_toy(hass: HomeAssistant, entry: MockConfigEntry) -> tuple[str, str]:
    """Add a device of kind "toy" as the UI does; the token shown, and the subentry id."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    kind_selector = result["data_schema"].schema[CONF_KIND]
    assert "toy" in kind_selector.config["options"]  # offered beside the built-in kinds
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Counter", CONF_KIND: "toy"}
    )
    assert result["step_id"] == "token"  # no fields of its own: straight to the token
    token = result["description_placeholders"]["token"]
    assert result["description_placeholders"]["url"].endswith(f"/api/iot_hub/ws?token={token}")
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (subentry,) = entry.get_subentries_of_type(SUBENTRY_DEVICE)
    assert subentry.data[CONF_KIND] == "toy"
    return token, subentry.subentry_id


async def test_a_kind_from_outside_works_end_to_end(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Flow, entities, frames both ways, a recorded session, the logbook, diagnostics."""
    hass.config.components.add("frontend")  # logbook's panel; the frontend is not installed
    assert await async_setup_component(hass, "logbook", {})
    start = dt_util.utcnow()
    token, toy_id = await _add_toy(hass, init_integration)

    # Its entities, from its own descriptions, on an HA device of its own model.
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, toy_id), init_integration.entry_id
    )
    assert device is not None
    assert device.model == "Toy counter"
    entities = er.async_entries_for_device(er.async_get(hass), device.id)
    assert sorted(e.entity_id for e in entities) == [
        "binary_sensor.counter_connectivity",
        "button.counter_start_session",
        "button.counter_stop_session",
        "sensor.counter_last_count",
        "sensor.counter_value",
    ]
    assert state_of(hass, "sensor.counter_value") == "unavailable"

    # Frames in: numbers become states; a bad frame gets the toy's own error shape.
    toy = await ws_connect(f"?token={token}")
    await until(lambda: state_of(hass, "binary_sensor.counter_connectivity") == "on")
    await toy.send_str("1.5")
    await until(lambda: state_of(hass, "sensor.counter_value") == "1.5")
    await toy.send_str('"one"')
    assert await toy.receive_json(timeout=5) == {"toy_error": "expected a number"}
    await toy.send_bytes(b"\x01")  # the transport's notice, worded by the toy's kind
    assert await toy.receive_json(timeout=5) == {"toy_error": "text only"}

    # An app on the toy's own route; a session started by the button, stopped by the app.
    app = await ws_connect(f"?toy=counter&token={hass_access_token}")
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.counter_start_session"}, blocking=True
    )
    assert await toy.receive_json(timeout=5) == {"toy": "start", "session": 1}
    for number in ("2", "3", "4.5"):
        await toy.send_str(number)
    for number in (2.0, 3.0, 4.5):
        assert await app.receive_json(timeout=5) == {"session": 1, "value": number}
    await app.send_str("stop")
    assert await toy.receive_json(timeout=5) == {"toy": "stop", "session": 1}
    await app.send_str("stop")
    assert await app.receive_json(timeout=5) == {"toy_error": "not counting"}
    await until(lambda: state_of(hass, "sensor.counter_last_count") == "3")

    # The session: in the archive, in the recorder, in the logbook.
    response = await hass.services.async_call(
        DOMAIN, "get_sessions", {ATTR_DEVICE_ID: device.id}, blocking=True, return_response=True
    )
    assert response is not None
    (session,) = response["sessions"]
    assert (session["kind"], session["device_id"], session["iot_hub_device_id"]) == (
        "toy",
        device.id,
        toy_id,
    )
    assert session["summary"]["count"] == 3
    assert session["summary"]["total"] == 9.5
    await async_wait_recording_done(hass)
    stored = await get_instance(hass).async_add_executor_job(_stored_events, hass)
    assert [event_type for event_type, _ in stored] == [EVENT_SESSION_STARTED, EVENT_SESSION_ENDED]
    assert stored[1][1]["summary"]["total"] == 9.5
    entries = await logbook_entries(hass, hass_ws_client, start, device.id)
    messages = [entry["message"] for entry in entries]
    assert messages[0].startswith("started session 1 by ")
    assert re.fullmatch(r"stopped session 1 by .+: 3 numbers, total 9\.5, [0-9] s", messages[1]), (
        messages
    )

    # Diagnostics: the hub's part and the toy's own.
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    toy_diagnostics = diagnostics["devices"][toy_id]
    assert toy_diagnostics["kind"] == "toy"
    assert toy_diagnostics["value"] == 4.5
    assert toy_diagnostics["recent_sessions"][0]["summary"]["count"] == 3
    assert token not in json.dumps(diagnostics)


def test_nothing_outside_the_toy_package_names_it() -> None:
    """The integration knows the toy only through the list it was added to at run time."""
    for path in INTEGRATION.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "toy" not in text.casefold(), path
    assert set(TOY.entities) == {Platform.SENSOR, Platform.BINARY_SENSOR, Platform.BUTTON}


async def test_a_kind_without_sessions_refuses_them(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A kind may have no sessions (a plain sensor): session actions say so, translated."""
    plain = replace(TOY, key="plain", load_measure=None)
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS, plain))  # registered before setup
    init_integration = mock_config_entry
    init_integration.add_to_hass(hass)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Plain", CONF_KIND: "plain"}
    )
    await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    (subentry,) = init_integration.get_subentries_of_type(SUBENTRY_DEVICE)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, subentry.subentry_id), init_integration.entry_id
    )
    assert device is not None
    for action in ("start_session", "stop_session"):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN, action, {ATTR_DEVICE_ID: device.id}, blocking=True
            )
        assert err.value.translation_key == "not_a_session_device"

    # A device whose kind this version no longer knows is skipped, loudly; the rest loads.
    monkeypatch.setattr(kinds, "KINDS", kinds.KINDS[:-1])
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert subentry.subentry_id not in init_integration.runtime_data.devices
    assert "of a kind this version does not know (plain)" in caplog.text


async def test_a_kind_without_fields_in_every_flow(
    hass: HomeAssistant, init_integration: MockConfigEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fieldless kind: reconfigured (name, record budget) and added over MQTT (topic id)."""
    _token, toy_id = await _add_toy(hass, init_integration)
    result = await init_integration.start_subentry_reconfigure_flow(hass, toy_id)
    assert list(result["data_schema"].schema) == [CONF_NAME, "record_interval", "rotate_token"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Abacus", "record_interval": 0, "rotate_token": False}
    )
    assert result["reason"] == "reconfigure_successful"
    assert init_integration.subentries[toy_id].data["record_interval"] == 0

    mqtt_toy = replace(TOY, transports=("websocket", "mqtt"))
    monkeypatch.setattr(kinds, "KINDS", (*kinds.KINDS[:-1], mqtt_toy))
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Topic counter", CONF_KIND: "toy", "transport": "mqtt"}
    )
    assert result["step_id"] == "details"
    assert list(result["data_schema"].schema) == ["mqtt_id"]  # nothing of the kind's own
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"mqtt_id": "counter-1"}
    )
    assert result["step_id"] == "topics"
