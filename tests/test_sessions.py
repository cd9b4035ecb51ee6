"""Oven sessions end to end: app, UI buttons and actions; two ovens; restarts; the Store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.iot_hub.const import DOMAIN, EVENT_SESSION_ENDED, EVENT_SESSION_STARTED
from custom_components.iot_hub.sessions import STORAGE_VERSION

from .conftest import (
    OVEN2_ID,
    OVEN2_TOKEN,
    OVEN_ID,
    OVEN_TOKEN,
    TWO_OVENS,
    WsConnect,
    state_of,
    until,
)

STORE_KEY = "iot_hub.sessions.{entry_id}"


def _ha_device_id(hass: HomeAssistant, entry: MockConfigEntry, device_id: str) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, device_id), entry.entry_id)
    assert device is not None
    return device.id


async def _sessions(hass: HomeAssistant, **data: Any) -> list[dict[str, Any]]:
    response = await hass.services.async_call(
        DOMAIN, "get_sessions", data, blocking=True, return_response=True
    )
    assert response is not None
    sessions = response["sessions"]
    assert isinstance(sessions, list)
    return sessions


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "init_integration")
async def test_app_session_round_trip(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str, hass_admin_user: Any
) -> None:
    """App START → oven gets START → readings in the session → STOP → stored and fired."""
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await oven.send_str('{"type": "esp32"}')
    app = await ws_connect(f"?token={hass_access_token}")
    await app.send_json({"type": "mobile_app"})

    await oven.send_str("25.0")  # before any session: no session id, like the seed's NULL
    notice = await app.receive_json(timeout=5)
    assert notice["session_id"] is None
    assert notice["temperature"] == 25.0

    await app.send_json({"command": "START"})
    assert await oven.receive_str(timeout=5) == "START"
    assert await app.receive_json(timeout=5) == {"session_id": 1, "status": "active"}
    assert state_of(hass, "sensor.oven_session") == "active"
    assert hass.states.get("sensor.oven_session").attributes["session_id"] == 1

    for value in ("100.0", "150.5", "200.0"):
        await oven.send_str(value)
        notice = await app.receive_json(timeout=5)
        assert notice["session_id"] == 1
        assert notice["temperature"] == float(value)

    await app.send_json({"command": "START"})
    assert await app.receive_json(timeout=5) == {
        "error": "session already active",
        "session_id": 1,
    }

    await app.send_json({"command": "STOP"})
    assert await oven.receive_str(timeout=5) == "STOP"
    assert await app.receive_json(timeout=5) == {"session_id": 1, "status": "stopped"}
    await app.send_json({"command": "STOP"})
    assert await app.receive_json(timeout=5) == {"error": "no active session"}

    await hass.async_block_till_done()
    assert state_of(hass, "sensor.oven_session") == "idle"
    assert state_of(hass, "sensor.oven_last_session_readings") == "3"
    assert state_of(hass, "sensor.oven_last_session_max_temperature") == "200.0"
    assert len(started) == len(ended) == 1
    event = ended[0].data
    assert event["session_id"] == 1
    assert event["device_id"] == _ha_device_id(
        hass, hass.config_entries.async_entries(DOMAIN)[0], OVEN_ID
    )
    assert event["started_by"]["kind"] == "app"
    assert event["summary"]["readings"] == 3
    assert event["summary"]["temperature_min"] == 100.0
    assert event["summary"]["temperature_avg"] == 150.17
    (record,) = await _sessions(hass)
    assert record["status"] == "stopped"
    assert record["stopped_by"]["kind"] == "app"


@pytest.mark.usefixtures("init_integration")
async def test_app_errors_do_not_disturb(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """Bad JSON, unknown client type and unknown commands get error frames; nothing closes."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    app = await ws_connect(f"?token={hass_access_token}")
    await app.send_str("{{{")
    assert await app.receive_json(timeout=5) == {"error": "invalid JSON"}
    await app.send_json({"type": "esp32"})
    assert await app.receive_json(timeout=5) == {"error": "Tipo de cliente no reconocido"}
    await app.send_json({"type": "fridge"})
    assert await app.receive_json(timeout=5) == {"error": "Tipo de cliente no reconocido"}
    await app.send_json(["START"])
    assert "error" in await app.receive_json(timeout=5)
    await app.send_json({"command": "start"})  # case-insensitive, as apps send it
    assert await oven.receive_str(timeout=5) == "START"


@pytest.mark.usefixtures("init_integration")
async def test_app_start_while_oven_offline(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """No oven, no session: the app is told, nothing is recorded."""
    app = await ws_connect(f"?token={hass_access_token}")
    await app.send_json({"command": "START"})
    assert await app.receive_json(timeout=5) == {"error": "oven not connected"}
    assert await _sessions(hass) == []


@pytest.mark.parametrize("subentries", [TWO_OVENS])
@pytest.mark.usefixtures("init_integration")
async def test_two_ovens_never_cross(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    hass_access_token: str,
    subentries: list[ConfigSubentryData],
) -> None:
    """Each app talks to its own oven; readings and sessions stay apart."""
    oven1 = await ws_connect(f"?token={OVEN_TOKEN}")
    oven2 = await ws_connect(f"?token={OVEN2_TOKEN}")
    app1 = await ws_connect(f"?token={hass_access_token}&device=Oven")
    app2 = await ws_connect(f"?token={hass_access_token}&device={OVEN2_ID}")

    await app1.send_json({"command": "START"})
    assert await oven1.receive_str(timeout=5) == "START"
    assert await app1.receive_json(timeout=5) == {"session_id": 1, "status": "active"}
    await app2.send_json({"command": "START"})
    assert await oven2.receive_str(timeout=5) == "START"
    assert await app2.receive_json(timeout=5) == {"session_id": 2, "status": "active"}

    await oven1.send_str("111")
    await oven2.send_str("222")
    assert (await app1.receive_json(timeout=5))["temperature"] == 111.0
    assert (await app2.receive_json(timeout=5))["temperature"] == 222.0
    await until(lambda: state_of(hass, "sensor.oven_2_temperature") == "222.0")
    assert state_of(hass, "sensor.oven_temperature") == "111.0"

    await app1.send_json({"command": "STOP"})
    assert await oven1.receive_str(timeout=5) == "STOP"
    assert await app1.receive_json(timeout=5) == {"session_id": 1, "status": "stopped"}
    assert state_of(hass, "sensor.oven_2_session") == "active"
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    only_two = await _sessions(hass, device_id=[_ha_device_id(hass, entry, OVEN2_ID)])
    assert [s["id"] for s in only_two] == [2]
    assert only_two[0]["summary"]["readings"] == 1


@pytest.mark.usefixtures("init_integration")
async def test_buttons_record_the_user(
    hass: HomeAssistant, ws_connect: WsConnect, hass_admin_user: Any
) -> None:
    """The dashboard's buttons start/stop and the session records which HA user did it."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "button.oven_start_session") == "unknown")
    context = Context(user_id=hass_admin_user.id)
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: "button.oven_start_session"},
        blocking=True,
        context=context,
    )
    assert await oven.receive_str(timeout=5) == "START"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "button", "press", {ATTR_ENTITY_ID: "button.oven_start_session"}, blocking=True
        )
    assert err.value.translation_key == "session_already_active"
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: "button.oven_stop_session"},
        blocking=True,
        context=context,
    )
    assert await oven.receive_str(timeout=5) == "STOP"
    (record,) = await _sessions(hass)
    assert record["started_by"] == {
        "kind": "user",
        "user_id": hass_admin_user.id,
        "name": hass_admin_user.name,
    }


async def test_actions_and_their_errors(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """start/stop_session by automation: translated errors, response data, filters."""
    oven_device = _ha_device_id(hass, init_integration, OVEN_ID)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "start_session", {ATTR_DEVICE_ID: oven_device}, blocking=True
        )
    assert err.value.translation_key == "device_not_connected"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "stop_session", {ATTR_DEVICE_ID: oven_device}, blocking=True
        )
    assert err.value.translation_key == "no_active_session"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "start_session", {ATTR_DEVICE_ID: "no-such-device"}, blocking=True
        )
    assert err.value.translation_key == "service_device_not_found"

    # A device of this entry that is not an iot_hub device (the hub's own, say).
    stranger = dr.async_get(hass).async_get_or_create(
        config_entry_id=init_integration.entry_id, identifiers={("other", "x")}, name="Stranger"
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "start_session", {ATTR_DEVICE_ID: stranger.id}, blocking=True
        )
    assert err.value.translation_key == "not_a_session_device"

    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")
    response = await hass.services.async_call(
        DOMAIN,
        "start_session",
        {ATTR_DEVICE_ID: oven_device},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["session"]["status"] == "active"
    assert response["session"]["started_by"]["kind"] == "automation"
    # One meaning of device_id everywhere: HA's device id; the subentry id has its own name.
    assert response["session"]["device_id"] == oven_device
    assert response["session"]["iot_hub_device_id"] == OVEN_ID
    assert await oven.receive_str(timeout=5) == "START"
    await oven.send_str("50")
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "50.0")
    await hass.services.async_call(
        DOMAIN, "stop_session", {ATTR_DEVICE_ID: oven_device}, blocking=True
    )
    assert await oven.receive_str(timeout=5) == "STOP"

    sessions = await _sessions(hass, device_id=oven_device, limit=5)
    assert [s["id"] for s in sessions] == [1]
    assert sessions[0]["device_id"] == oven_device
    assert sessions[0]["iot_hub_device_id"] == OVEN_ID
    assert "ha_device_id" not in sessions[0]
    assert sessions[0]["summary"]["readings"] == 1
    started_at = sessions[0]["started_at"]
    assert await _sessions(hass, end_time="2000-01-01T00:00:00+00:00") == []
    assert await _sessions(hass, start_time="2999-01-01T00:00:00+00:00") == []
    assert len(await _sessions(hass, start_time=started_at)) == 1


async def _oven_gone_mid_session(
    hass: HomeAssistant, ws_connect: WsConnect, access_token: str
) -> ClientWebSocketResponse:
    """The oven connects, its app starts a session, the oven's socket drops: the app."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    app = await ws_connect(f"?token={access_token}")
    await app.send_json({"command": "START"})
    assert await oven.receive_str(timeout=5) == "START"
    await oven.close()
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "off")
    return app


@pytest.mark.usefixtures("init_integration")
async def test_stop_while_oven_offline_still_ends_session(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """An oven that vanished mid-session can still have its session stopped from HA."""
    app = await _oven_gone_mid_session(hass, ws_connect, hass_access_token)
    await app.send_json({"command": "STOP"})
    assert await app.receive_json(timeout=5) == {"session_id": 1, "status": "active"}
    assert await app.receive_json(timeout=5) == {"session_id": 1, "status": "stopped"}


@pytest.mark.usefixtures("init_integration")
async def test_oven_back_mid_session_is_told_start(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """An oven that lost its socket mid-session gets START again, as a charger gets `start`:
    a rebooted oven would otherwise sit cold while HA shows the session active."""
    app = await _oven_gone_mid_session(hass, ws_connect, hass_access_token)
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    assert await oven.receive_str(timeout=5) == "START"
    await app.send_json({"command": "STOP"})
    assert await oven.receive_str(timeout=5) == "STOP"
    # Back with no session running: nothing to tell it.
    await oven.close()
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "off")
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await oven.send_str("not a reading")
    assert "error" in await oven.receive_json(timeout=5)  # the first frame it gets


def _stored_active_session() -> dict[str, Any]:
    return {
        "id": 7,
        "device_id": OVEN_ID,
        "device_name": "Oven",
        "started_at": "2026-11-24T10:00:00+00:00",
        "started_by": {"kind": "app", "user_id": None, "name": "Cook"},
        "status": "active",
        "ended_at": None,
        "stopped_by": None,
        "readings": 2,
        "temperature_sum": 300.0,
        "temperature_min": 100.0,
        "temperature_max": 200.0,
        "last_reading_at": "2026-11-24T10:01:00+00:00",
    }


@pytest.fixture
def stored_session(hass_storage: dict[str, Any], mock_config_entry: MockConfigEntry) -> None:
    """What the Store held when HA stopped: session 7 running."""
    hass_storage[STORE_KEY.format(entry_id=mock_config_entry.entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": STORE_KEY.format(entry_id=mock_config_entry.entry_id),
        "data": {"next_id": 8, "sessions": [_stored_active_session()]},
    }


@pytest.mark.usefixtures("stored_session", "init_integration")
async def test_restart_session_continues_when_oven_returns(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    hass_access_token: str,
) -> None:
    """After a restart the running session continues if the oven is back within the grace."""
    assert state_of(hass, "sensor.oven_session") == "unavailable"
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    # Back within the grace period: told its session again (a rebooted oven would be cold).
    assert await oven.receive_str(timeout=5) == "START"
    await until(lambda: state_of(hass, "sensor.oven_session") == "active")
    app = await ws_connect(f"?token={hass_access_token}")
    await oven.send_str("210")
    assert (await app.receive_json(timeout=5))["session_id"] == 7
    # Well past the grace period: the returned oven's session is not interrupted.
    # (Firing time runs every loop timer, the sockets' too, so no socket I/O after it.)
    # The freezer fixture would stop the loop clock, and with it every socket wait.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1))
    await hass.async_block_till_done()
    (record,) = await _sessions(hass)
    assert record["status"] == "active"
    assert record["summary"]["readings"] == 3
    assert record["summary"]["temperature_max"] == 210.0
    assert state_of(hass, "sensor.oven_session") == "active"


@pytest.mark.usefixtures("stored_session", "init_integration")
async def test_restart_session_interrupted_when_oven_stays_away(
    hass: HomeAssistant,
    ws_connect: WsConnect,
) -> None:
    """No oven within the grace period: the session becomes interrupted, with an event."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=301))
    await hass.async_block_till_done()
    assert [e.data["status"] for e in ended] == ["interrupted"]
    (record,) = await _sessions(hass)
    assert record["status"] == "interrupted"
    assert record["stopped_by"]["kind"] == "system"
    # A new session gets the next id, not a reused one.
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    response = await hass.services.async_call(
        DOMAIN,
        "start_session",
        {ATTR_DEVICE_ID: _ha_device_id(hass, entry, OVEN_ID)},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["session"]["id"] == 8
    assert await oven.receive_str(timeout=5) == "START"


async def test_reload_is_a_restart(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
    hass_storage: dict[str, Any],
) -> None:
    """Unload writes the Store at once; the reloaded hub resumes the running session."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    app = await ws_connect(f"?token={hass_access_token}")
    await app.send_json({"command": "START"})
    assert await oven.receive_str(timeout=5) == "START"
    await oven.send_str("123.4")
    await app.receive_json(timeout=5)
    await app.receive_json(timeout=5)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    stored = hass_storage[STORE_KEY.format(entry_id=init_integration.entry_id)]["data"]
    assert stored["sessions"][0]["status"] == "active"
    assert stored["sessions"][0]["measure"]["readings"] == 1
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    assert await oven.receive_str(timeout=5) == "START"  # told its session again
    await until(lambda: state_of(hass, "sensor.oven_session") == "active")
    assert hass.states.get("sensor.oven_session").attributes["session_id"] == 1


@pytest.mark.usefixtures("stored_session", "init_integration")
async def test_store_written_by_version_1_1_is_migrated(
    hass: HomeAssistant, hass_storage: dict[str, Any], mock_config_entry: MockConfigEntry
) -> None:
    """Oven fields stored at the top level (1.1) move into the session's measure (1.2, 1.3)."""
    await hass.async_block_till_done()
    stored = hass_storage[STORE_KEY.format(entry_id=mock_config_entry.entry_id)]
    assert (stored["version"], stored["minor_version"]) == (1, 3)
    (session,) = stored["data"]["sessions"]
    assert session["kind"] == "oven"
    assert session["measure"] == {
        "readings": 2,
        "temperature_sum": 300.0,
        "temperature_min": 100.0,
        "temperature_max": 200.0,
    }
    assert "readings" not in session
    (record,) = await _sessions(hass)
    assert record["summary"]["temperature_avg"] == 150.0
