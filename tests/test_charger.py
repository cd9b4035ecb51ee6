"""EV chargers (seed 002) over HA's real HTTP server: close codes, the seed's flow, emergency."""

from __future__ import annotations

import hashlib
import json
from types import MappingProxyType
from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.const import (
    CONF_KIND,
    CONF_TOKEN_HASH,
    DOMAIN,
    SUBENTRY_DEVICE,
    Actor,
    CloseCode,
)
from custom_components.iot_hub.errors import IotHubError
from custom_components.iot_hub.kinds.charger.codec import CLOSE_MISSING_STATION
from custom_components.iot_hub.kinds.charger.const import (
    CONF_CARD_UID,
    CONF_PRICE,
    CONF_STATION_ID,
    EVENT_EMERGENCY,
    EVENT_NFC_SCAN,
    SUBENTRY_CARD,
)
from custom_components.iot_hub.kinds.charger.core import emergency_notification_id
from custom_components.iot_hub.sessions import ActorRef
from custom_components.iot_hub.tokens import hash_token
from custom_components.iot_hub.transport import limits

from .conftest import (
    OVEN_ID,
    OVEN_TOKEN,
    WsConnect,
    closed_with,
    hub_entry,
    hub_of,
    oven_subentry,
    until,
)

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

CHARGER_TOKEN = "charger-one-token-0123456789"
CHARGER2_TOKEN = "charger-two-token-0123456789"
CHARGER_ID = "charger1subentry"
CARD = "VIRTUAL-1-A4F2E8"  # the seed's own example card
PRICE = 7.0  # per kWh: the seed's example is 2.45 kWh -> 17.15


def charger_subentry(subentry_id: str, title: str, token: str, station: str) -> ConfigSubentryData:
    """A charger as the config flow creates it."""
    return ConfigSubentryData(
        data=MappingProxyType(
            {CONF_KIND: "charger", CONF_TOKEN_HASH: hash_token(token), CONF_STATION_ID: station}
        ),
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_DEVICE,
        title=title,
        unique_id=None,
    )


def card_subentry_id(uid: str) -> str:
    """The subentry id the tests give a card (free of the uid, which diagnostics redact)."""
    return f"card_{hashlib.sha256(uid.encode()).hexdigest()[:12]}"


def card_subentry(uid: str, user: str) -> ConfigSubentryData:
    """An authorised card as the config flow creates it."""
    return ConfigSubentryData(
        data=MappingProxyType({CONF_CARD_UID: uid}),
        subentry_id=card_subentry_id(uid),
        subentry_type=SUBENTRY_CARD,
        title=user,
        unique_id=uid,
    )


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """Two chargers (stations 1 and 2), an oven, and Juan's card."""
    return [
        charger_subentry(CHARGER_ID, "Charger 1", CHARGER_TOKEN, "1"),
        charger_subentry("charger2subentry", "Charger 2", CHARGER2_TOKEN, "2"),
        oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN),
        card_subentry(CARD, "Juan Pérez"),
    ]


@pytest.fixture
def mock_config_entry(subentries: list[ConfigSubentryData]) -> MockConfigEntry:
    """The hub entry with a fixed price."""
    return hub_entry(subentries, {CONF_PRICE: PRICE})


async def _publisher(
    ws_connect: WsConnect, station: str = "1", token: str = CHARGER_TOKEN
) -> ClientWebSocketResponse:
    """A charger connecting as seed 002 does; it must get the ``connected`` ack."""
    ws = await ws_connect(f"?role=publisher&estacionId={station}&token={token}")
    assert await ws.receive_json(timeout=5) == {
        "type": "connected",
        "role": "publisher",
        "estacionId": station,
    }
    return ws


@pytest.mark.usefixtures("init_integration")
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?role=publisher&estacionId=1", CloseCode.MISSING_CREDENTIALS),
        (f"?role=publisher&token={CHARGER_TOKEN}", CLOSE_MISSING_STATION),
        ("?role=client&token=whatever", CloseCode.DEVICE_NOT_CHOSEN),
        ("?role=publisher&estacionId=1&token=wrong", CloseCode.INVALID_TOKEN),
        (f"?role=publisher&estacionId=2&token={CHARGER_TOKEN}", CloseCode.UNKNOWN_DEVICE),
        (f"?role=publisher&estacionId=9&token={CHARGER_TOKEN}", CloseCode.UNKNOWN_DEVICE),
        # A dashboard needs an HA token; a charger's own token is not one.
        (f"?role=client&estacionId=1&token={CHARGER_TOKEN}", CloseCode.INVALID_TOKEN),
        (f"?role=viewer&estacionId=1&token={CHARGER_TOKEN}", CloseCode.POLICY),
    ],
)
async def test_close_codes(ws_connect: WsConnect, query: str, code: int) -> None:
    """Every close code of seed 002 (plus 4001), before any frame is read."""
    await closed_with(await ws_connect(query), code)


@pytest.mark.usefixtures("init_integration")
async def test_ha_tokens_for_publishers_and_unknown_stations(
    ws_connect: WsConnect, hass_access_token: str
) -> None:
    """A charger authenticates with its device token; a dashboard must name a real station."""
    ws = await ws_connect(f"?role=publisher&estacionId=1&token={hass_access_token}")
    await closed_with(ws, CloseCode.INVALID_TOKEN)
    ws = await ws_connect(f"?role=client&estacionId=9&token={hass_access_token}")
    await closed_with(ws, CloseCode.UNKNOWN_DEVICE)


@pytest.mark.usefixtures("init_integration")
async def test_seed_flow_nfc_metrics_stop(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """The seed's example flow, message by message, as a dashboard and a charger see it."""
    scans = async_capture_events(hass, EVENT_NFC_SCAN)
    dashboard = await ws_connect(f"?role=client&estacionId=1&token={hass_access_token}")
    assert await dashboard.receive_json(timeout=5) == {"type": "subscribed", "estacionId": "1"}
    assert await dashboard.receive_json(timeout=5) == {
        "type": "init",
        "charger": {"id": 1, "status": "desconectado", "session": None},
    }
    charger = await _publisher(ws_connect)
    # A second dashboard while the charger is online: the charger is asked to sync.
    second = await ws_connect(f"?role=client&estacionId=1&token={hass_access_token}")
    assert (await second.receive_json(timeout=5))["type"] == "subscribed"
    assert (await second.receive_json(timeout=5))["charger"]["status"] == "disponible"
    assert await charger.receive_json(timeout=5) == {"type": "sync_request", "from": "server"}

    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    start = await charger.receive_json(timeout=5)
    assert start == {"type": "start", "session_id": start["session_id"], "user_name": "Juan Pérez"}
    session_id = start["session_id"]
    started = await dashboard.receive_json(timeout=5)
    assert started["type"] == "session_started"
    assert started["session_id"] == session_id
    assert started["charger_id"] == 1
    assert started["user_name"] == "Juan Pérez"
    assert started["timestamp"].endswith("Z")

    # 3572.1 W for 6 s of device time = 5.95 Wh.
    for ts in (1699276425, 1699276428, 1699276431):
        await charger.send_json(
            {
                "type": "metrics",
                "session_id": session_id,
                "v": 220.5,
                "a": 16.2,
                "w": 3572.1,
                "ts": ts,
            }
        )
        metrics = await dashboard.receive_json(timeout=5)
    assert list(metrics) == [
        "type",
        "session_id",
        "charger_id",
        "v",
        "a",
        "w",
        "kwh",
        "cost",
        "time",
    ]
    assert metrics["charger_id"] == 1
    assert metrics["kwh"] == pytest.approx(3572.1 * 6 / 3.6e6, abs=1e-3)
    assert metrics["cost"] == pytest.approx(metrics["kwh"] * PRICE, abs=0.01)

    await charger.send_json({"type": "stop", "session_id": session_id})
    assert await charger.receive_json(timeout=5) == {"type": "stop", "session_id": session_id}
    ended = await dashboard.receive_json(timeout=5)
    assert ended["type"] == "session_ended"
    assert ended["session_id"] == session_id
    assert ended["kwh"] == pytest.approx(0.006, abs=1e-3)
    assert set(ended) == {"type", "session_id", "charger_id", "kwh", "cost", "duration"}

    response = await hass.services.async_call(
        DOMAIN, "get_sessions", {}, blocking=True, return_response=True
    )
    assert response is not None
    (record,) = response["sessions"]
    assert record["kind"] == "charger"
    assert record["status"] == "stopped"
    assert record["started_by"] == {
        "kind": "card",
        "user_id": None,
        "name": "Juan Pérez",
        "card": CARD,
    }
    assert record["stopped_by"]["kind"] == "device"
    summary = record["summary"]
    assert summary["kwh"] == pytest.approx(0.006, abs=1e-3)
    assert summary["cost"] == pytest.approx(0.04, abs=0.01)
    assert summary["peak_power"] == 3572.1
    assert summary["user_name"] == "Juan Pérez"
    assert hub_of(hass).devices[CHARGER_ID].handler.lifetime.value == pytest.approx(
        3572.1 * 6 / 3.6e6
    )
    assert [(e.data["uid"], e.data["authorised"]) for e in scans] == [(CARD, True)]


@pytest.mark.usefixtures("init_integration")
async def test_rejected_and_repeated_cards(hass: HomeAssistant, ws_connect: WsConnect) -> None:
    """Default reject; every scan is an event, repeats and rejections included."""
    scans = async_capture_events(hass, EVENT_NFC_SCAN)
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": "STRANGER-01"})
    assert await charger.receive_json(timeout=5) == {
        "type": "error",
        "message": "card not authorised",
        "code": "CARD_REJECTED",
    }
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD.lower()})  # readers differ
    assert (await charger.receive_json(timeout=5))["type"] == "start"
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    assert (await charger.receive_json(timeout=5))["code"] == "CHARGER_BUSY"
    assert [e.data["authorised"] for e in scans] == [False, True, True]
    assert scans[0].data["user_name"] is None


@pytest.mark.usefixtures("init_integration")
async def test_dashboard_starts_and_stops(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """A dashboard's stop (the seed) and start (iot_hub's addition) reach the charger once."""
    dashboard = await ws_connect(f"?role=client&estacionId=1&token={hass_access_token}")
    for _ in range(2):
        await dashboard.receive_json(timeout=5)  # subscribed, init
    await dashboard.send_json({"type": "start"})
    assert await dashboard.receive_json(timeout=5) == {
        "type": "error",
        "message": "charger not connected",
    }
    charger = await _publisher(ws_connect)
    await dashboard.send_json({"type": "start", "user_name": "Ana"})
    start = await charger.receive_json(timeout=5)
    assert (start["type"], start["user_name"]) == ("start", "Ana")
    assert (await dashboard.receive_json(timeout=5))["type"] == "session_started"
    await dashboard.send_json({"type": "stop"})
    assert await charger.receive_json(timeout=5) == {
        "type": "stop",
        "session_id": start["session_id"],
    }
    assert (await dashboard.receive_json(timeout=5))["type"] == "session_ended"
    # On behalf of a card: checked like a scan.
    await dashboard.send_json({"type": "start", "nfc_uid": "STRANGER-01"})
    assert await dashboard.receive_json(timeout=5) == {
        "type": "error",
        "message": "card not authorised",
    }
    await dashboard.send_json({"type": "start", "nfc_uid": CARD})
    assert (await charger.receive_json(timeout=5))["user_name"] == "Juan Pérez"
    (record, _) = hub_of(hass).sessions.query([CHARGER_ID])
    assert record.started_by.card == CARD


@pytest.mark.usefixtures("init_integration")
async def test_bad_frames_answered(ws_connect: WsConnect, hass_access_token: str) -> None:
    """Bad frames get the seed's error frames; the connections stay up."""
    charger = await _publisher(ws_connect)
    await charger.send_str("{not json")
    reply = await charger.receive_json(timeout=5)
    assert reply["type"] == "error"
    assert reply["code"] == "INVALID_MESSAGE"
    await charger.send_json({"type": "stop"})
    assert (await charger.receive_json(timeout=5))["code"] == "NO_ACTIVE_SESSION"
    dashboard = await ws_connect(f"?role=client&estacionId=1&token={hass_access_token}")
    for _ in range(2):
        await dashboard.receive_json(timeout=5)
    await charger.receive_json(timeout=5)  # sync_request
    await dashboard.send_str("[]")
    assert (await dashboard.receive_json(timeout=5))["type"] == "error"
    await dashboard.send_json({"type": "stop"})
    assert await dashboard.receive_json(timeout=5) == {
        "type": "error",
        "message": "no active session",
    }


@pytest.mark.usefixtures("init_integration")
async def test_emergency_latches_until_cleared(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """Emergency: stop at once, session 'emergency', alert, no new start until cleared."""
    emergencies = async_capture_events(hass, EVENT_EMERGENCY)
    charger = await _publisher(ws_connect)
    dashboard = await ws_connect(f"?role=client&estacionId=1&token={hass_access_token}")
    for _ in range(2):
        await dashboard.receive_json(timeout=5)
    await charger.receive_json(timeout=5)  # sync_request
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    session_id = (await charger.receive_json(timeout=5))["session_id"]
    await dashboard.receive_json(timeout=5)  # session_started
    await charger.send_json({"type": "emergency", "session_id": session_id})
    assert await charger.receive_json(timeout=5) == {"type": "stop", "session_id": session_id}
    frames = [await dashboard.receive_json(timeout=5) for _ in range(2)]
    assert {f["type"] for f in frames} == {"session_ended", "emergency"}
    alert = next(f for f in frames if f["type"] == "emergency")
    assert (alert["charger_id"], alert["session_id"]) == (1, session_id)
    assert [e.data["session_id"] for e in emergencies] == [session_id]
    notification_id = emergency_notification_id(CHARGER_ID)
    notice = persistent_notification._async_get_or_create_notifications(hass)[notification_id]
    assert "Charger 1 reported an emergency stop" in notice["message"]

    hub = hub_of(hass)
    assert hub.sessions.query([CHARGER_ID])[0].status == "emergency"
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    assert (await charger.receive_json(timeout=5))["code"] == "EMERGENCY_ACTIVE"

    hub.devices[CHARGER_ID].handler.clear_emergency()
    assert notification_id not in persistent_notification._async_get_or_create_notifications(hass)
    with pytest.raises(IotHubError):
        hub.devices[CHARGER_ID].handler.clear_emergency()
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    assert (await charger.receive_json(timeout=5))["type"] == "start"


async def test_restart_mid_charge_keeps_energy_cost_and_latch(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A reload (as a restart) mid-charge: the session resumes with its meter; the lifetime
    total and an emergency latch of another charger survive."""
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    session_id = (await charger.receive_json(timeout=5))["session_id"]
    for ts in (1700000000, 1700000003):
        await charger.send_json({"type": "metrics", "w": 7200, "ts": ts})
    hub = hub_of(hass)
    await until(lambda: hub.devices[CHARGER_ID].handler.lifetime.value > 0)
    hub.devices["charger2subentry"].handler.emergency_stop()

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    hub = hub_of(hass)
    assert hub.devices["charger2subentry"].handler.emergency
    assert hub.devices[CHARGER_ID].handler.lifetime.value == pytest.approx(0.006)
    assert hub.devices[CHARGER_ID].handler.lifetime_cost == pytest.approx(0.006 * PRICE)
    charger = await _publisher(ws_connect)  # back within the grace period
    # It is told its session again (a rebooted charger would not know it).
    assert await charger.receive_json(timeout=5) == {
        "type": "start",
        "session_id": session_id,
        "user_name": "Juan Pérez",
    }
    # The device clock goes on where it was: the meter integrates from the stored sample.
    await charger.send_json(
        {"type": "metrics", "session_id": session_id, "w": 7200, "ts": 1700000006}
    )
    await until(lambda: hub.devices[CHARGER_ID].handler.lifetime.value > 0.007)
    await charger.send_json({"type": "stop"})
    assert await charger.receive_json(timeout=5) == {"type": "stop", "session_id": session_id}
    (record,) = hub.sessions.query([CHARGER_ID])
    assert record.id == session_id
    assert record.summary(record.started_at)["kwh"] == pytest.approx(7200 * 6 / 3.6e6, abs=1e-3)
    assert record.summary(record.started_at)["cost"] == pytest.approx(0.08, abs=0.01)


@pytest.mark.usefixtures("init_integration")
async def test_actions_for_chargers(hass: HomeAssistant, ws_connect: WsConnect) -> None:
    """start_session for a user or a card, get_sessions by user, clear_emergency."""
    charger = await _publisher(ws_connect)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, CHARGER_ID), hass.config_entries.async_entries(DOMAIN)[0].entry_id
    )
    assert device is not None
    target = {"device_id": device.id}
    await hass.services.async_call(
        DOMAIN, "start_session", {**target, "user_name": "Ana"}, blocking=True
    )
    assert (await charger.receive_json(timeout=5))["user_name"] == "Ana"
    await hass.services.async_call(DOMAIN, "stop_session", target, blocking=True)
    await charger.receive_json(timeout=5)  # stop
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "start_session", {**target, "card": "STRANGER-01"}, blocking=True
        )
    assert err.value.translation_key == "card_rejected"
    await hass.services.async_call(DOMAIN, "start_session", {**target, "card": CARD}, blocking=True)
    assert (await charger.receive_json(timeout=5))["user_name"] == "Juan Pérez"

    async def sessions_of(user: str) -> list[dict[str, Any]]:
        response = await hass.services.async_call(
            DOMAIN, "get_sessions", {"user_name": user}, blocking=True, return_response=True
        )
        assert response is not None
        return list(response["sessions"])

    assert [s["summary"]["user_name"] for s in await sessions_of("ana")] == ["Ana"]
    assert [s["summary"]["user_name"] for s in await sessions_of("Juan Pérez")] == ["Juan Pérez"]
    assert await sessions_of("nobody") == []

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "clear_emergency", target, blocking=True)
    assert err.value.translation_key == "no_emergency"
    await charger.send_json({"type": "emergency"})
    await charger.receive_json(timeout=5)  # stop
    await until(lambda: hub_of(hass).devices[CHARGER_ID].handler.emergency)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "start_session", target, blocking=True)
    assert err.value.translation_key == "emergency_active"
    await hass.services.async_call(DOMAIN, "clear_emergency", target, blocking=True)
    assert not hub_of(hass).devices[CHARGER_ID].handler.emergency


@pytest.mark.usefixtures("init_integration")
async def test_scans_reach_the_tag_integration(hass: HomeAssistant, ws_connect: WsConnect) -> None:
    """With HA's tag integration loaded, every scan is a tag_scanned of the charger's device."""
    assert await async_setup_component(hass, "tag", {})
    tags = async_capture_events(hass, "tag_scanned")
    charger = await _publisher(ws_connect)
    for uid in ("STRANGER-01", CARD):
        await charger.send_json({"type": "nfc_scan", "nfc_uid": uid})
        await charger.receive_json(timeout=5)
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, CHARGER_ID), hass.config_entries.async_entries(DOMAIN)[0].entry_id
    )
    assert device is not None
    assert [(e.data["tag_id"], e.data["device_id"]) for e in tags] == [
        ("STRANGER-01", device.id),
        (CARD, device.id),
    ]


async def test_diagnostics_redact_card_uids(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    ws_connect: WsConnect,
) -> None:
    """A card uid in a public bug report could be cloned onto a blank card: never shown."""
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    await charger.receive_json(timeout=5)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    text = json.dumps(diagnostics)
    assert CARD not in text
    assert CHARGER_TOKEN not in text
    charger_diagnostics = diagnostics["devices"][CHARGER_ID]
    assert charger_diagnostics["station_id"] == "1"
    assert charger_diagnostics["active_session"]["started_by"]["card"] == "**REDACTED**"


@pytest.mark.usefixtures("init_integration")
async def test_metrics_of_an_earlier_session_do_not_bill_the_running_one(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """Metrics name their session; a late one of session N is not energy of session N+1."""
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    first = (await charger.receive_json(timeout=5))["session_id"]
    await charger.send_json({"type": "stop"})
    await charger.receive_json(timeout=5)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    second = (await charger.receive_json(timeout=5))["session_id"]
    for ts in (1700000000, 1700000003):
        await charger.send_json({"type": "metrics", "session_id": first, "w": 7200, "ts": ts})
    for ts in (1700000006, 1700000009):
        await charger.send_json({"type": "metrics", "session_id": second, "w": 3600, "ts": ts})
    hub = hub_of(hass)
    await until(lambda: hub.devices[CHARGER_ID].handler.lifetime.value > 0)
    session = hub.devices[CHARGER_ID].active_session
    assert session is not None
    assert session.summary(session.started_at)["kwh"] == pytest.approx(3600 * 3 / 3.6e6, abs=1e-3)
    assert session.summary(session.started_at)["peak_power"] == 3600.0


@pytest.mark.usefixtures("init_integration")
async def test_rebooted_charger_is_told_its_session(ws_connect: WsConnect) -> None:
    """A charger back mid-session gets `start` again, so a card is not met with CHARGER_BUSY."""
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    start = await charger.receive_json(timeout=5)
    await charger.close()
    charger = await _publisher(ws_connect)
    assert await charger.receive_json(timeout=5) == start
    await charger.send_json({"type": "stop"})
    assert await charger.receive_json(timeout=5) == {
        "type": "stop",
        "session_id": start["session_id"],
    }


@pytest.mark.usefixtures("init_integration")
async def test_charger_that_missed_its_stop_is_told_again(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """Stopped in HA while the charger was offline: its next metrics get `stop` again."""
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    session_id = (await charger.receive_json(timeout=5))["session_id"]
    await charger.close()
    hub = hub_of(hass)
    await until(lambda: not hub.devices[CHARGER_ID].connected)
    hub.devices[CHARGER_ID].stop_session(ActorRef(Actor.USER, None, "Ana"))
    charger = await _publisher(ws_connect)  # no session to tell it: HA ended it
    await charger.send_json({"type": "metrics", "session_id": session_id, "w": 7200, "ts": 1})
    assert await charger.receive_json(timeout=5) == {"type": "stop", "session_id": session_id}
    assert hub.devices[CHARGER_ID].handler.lifetime.value == 0.0
    # Once per connection: metrics already in flight do not earn more stops.
    await charger.send_json({"type": "metrics", "session_id": session_id, "w": 7200, "ts": 4})
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    assert (await charger.receive_json(timeout=5))["type"] == "start"


# -- transport notices and plain apps beside chargers --------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_flood_and_binary_frames_are_answered_in_the_charger_protocol(
    ws_connect: WsConnect, hass_access_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A charger gets ``{type, message, code}``, a dashboard ``{type, message}``; never the
    oven's ``{"error"}`` (issue 6: the transport answered every kind in the oven's shape)."""
    monkeypatch.setattr(limits, "INBOUND_RATE", 0.001)
    monkeypatch.setattr(limits, "INBOUND_BURST", 5.0)
    monkeypatch.setattr(limits, "FLOOD_CLOSE_AFTER", 50)
    charger = await _publisher(ws_connect)
    dashboard = await ws_connect(f"?role=client&estacionId=1&token={hass_access_token}")
    assert (await dashboard.receive_json(timeout=5))["type"] == "subscribed"
    assert (await dashboard.receive_json(timeout=5))["type"] == "init"
    assert (await charger.receive_json(timeout=5))["type"] == "sync_request"

    await charger.send_bytes(b"\x00\x01")
    assert await charger.receive_json(timeout=5) == {
        "type": "error",
        "message": "binary frames are not supported; send text",
        "code": "INVALID_MESSAGE",
    }
    await dashboard.send_bytes(b"\x00\x01")
    assert await dashboard.receive_json(timeout=5) == {
        "type": "error",
        "message": "binary frames are not supported; send text",
    }
    for _ in range(200):
        await charger.send_json({"type": "metrics", "w": 1000.0})
    frame = await charger.receive_json(timeout=5)
    while frame.get("type") != "error":  # replies to the frames within the burst
        frame = await charger.receive_json(timeout=5)
    assert frame == {"type": "error", "message": "rate limit exceeded", "code": "RATE_LIMITED"}
    await closed_with(charger, CloseCode.POLICY)
    for _ in range(200):
        await dashboard.send_json({"type": "stop"})
    # Before it: the charger's metrics, and "no active session" for the stops in the burst.
    while (frame := await dashboard.receive_json(timeout=5)).get("message") != (
        "rate limit exceeded"
    ):
        assert frame["type"] in {"metrics", "error"}, frame
    assert frame == {"type": "error", "message": "rate limit exceeded"}


@pytest.mark.usefixtures("init_integration")
async def test_plain_oven_app_finds_the_only_oven_beside_chargers(
    ws_connect: WsConnect, hass_access_token: str
) -> None:
    """A seed-000 app names no device: the one oven is chosen, chargers don't count; a
    charger named with ``?device=`` is not a device that app can talk to (4005)."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    app = await ws_connect(f"?token={hass_access_token}")
    await app.send_json({"type": "mobile_app"})
    await app.send_json({"command": "START"})
    assert await oven.receive_str(timeout=5) == "START"
    assert (await app.receive_json(timeout=5))["status"] == "active"
    wrong = await ws_connect(f"?token={hass_access_token}&device=Charger 1")
    await closed_with(wrong, CloseCode.UNKNOWN_DEVICE)


@pytest.mark.usefixtures("init_integration")
async def test_charger_actions_on_an_oven_are_not_supported(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """A card or clear_emergency aimed at an oven: a translated "not supported", nothing else."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, OVEN_ID), hass.config_entries.async_entries(DOMAIN)[0].entry_id
    )
    assert device is not None
    target = {"device_id": device.id}
    for action, data in (("start_session", {"card": CARD}), ("clear_emergency", {})):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(DOMAIN, action, {**target, **data}, blocking=True)
        assert err.value.translation_key == "not_supported"
        assert err.value.translation_placeholders == {"device": "Oven"}
    assert hub_of(hass).devices[OVEN_ID].active_session is None
    # A name is for any kind: the oven's session is recorded as started for that person.
    response = await hass.services.async_call(
        DOMAIN,
        "start_session",
        {**target, "user_name": "Ana"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["session"]["started_by"]["name"] == "Ana"
    assert await oven.receive_str(timeout=5) == "START"


@pytest.fixture
def unreadable_kept_state(hass_storage: dict[str, Any], mock_config_entry: MockConfigEntry) -> None:
    """A sessions Store that is valid JSON, but the charger's kept state is nonsense."""
    key = f"iot_hub.sessions.{mock_config_entry.entry_id}"
    hass_storage[key] = {
        "version": 1,
        "minor_version": 2,
        "key": key,
        "data": {
            "next_id": 5,
            "sessions": [],
            "devices": {CHARGER_ID: {"lifetime": "lots", "lifetime_cost": 1.0, "emergency": 0}},
        },
    }


@pytest.mark.usefixtures("unreadable_kept_state", "init_integration")
async def test_an_unreadable_kept_state_latches_instead_of_failing(
    hass: HomeAssistant, ws_connect: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    """The hub loads; the charger whose latch cannot be read is latched (the safe side)."""
    hub = hub_of(hass)
    assert hub.devices[CHARGER_ID].handler.emergency
    assert not hub.devices["charger2subentry"].handler.emergency
    logged = [r.getMessage() for r in caplog.get_records("setup") if r.levelname == "ERROR"]
    assert any(m.startswith("The kept state of Charger 1 is unreadable") for m in logged)
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    assert (await charger.receive_json(timeout=5))["code"] == "EMERGENCY_ACTIVE"
