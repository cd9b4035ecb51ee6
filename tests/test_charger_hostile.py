"""A hostile or broken charger over real sockets: absurd readings, a lying clock, card floods.

Whatever one charger sends, it gets an error frame or has its excess refused; its session,
its dashboards and the other chargers go on (issue 7, items 7, 8 and 13).
"""

from __future__ import annotations

import asyncio
import math
from time import monotonic
from types import MappingProxyType
from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from hypothesis import given, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.kinds.charger import (
    cards as charger_cards,
    handler as charger_handler,
)
from custom_components.iot_hub.kinds.charger.clock import CLOCK_SLACK_S
from custom_components.iot_hub.kinds.charger.const import (
    CONF_MAX_POWER,
    CONF_NEW_TAGS_PER_HOUR,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_NEW_TAGS_PER_HOUR,
    EVENT_NFC_SCAN,
)
from custom_components.iot_hub.kinds.charger.measure import ChargeMeasure
from custom_components.iot_hub.kinds.charger.tag_allowance import WINDOW_S, TagAllowance

from .conftest import WsConnect, hub_entry, hub_of, until
from .test_charger import (
    CARD,
    CHARGER2_TOKEN,
    CHARGER_ID,
    CHARGER_TOKEN,
    _publisher,
    card_subentry,
    charger_subentry,
)

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

INVALID = "INVALID_MESSAGE"


CHARGER2_ID = "charger2subentry"
FAST_KW = 350.0  # charger 1 is rated for the fastest DC charging; charger 2 keeps the default


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """Two chargers (stations 1 and 2; charger 1 rated 350 kW) and Juan's card."""
    fast = charger_subentry(CHARGER_ID, "Charger 1", CHARGER_TOKEN, "1")
    fast["data"] = MappingProxyType({**fast["data"], CONF_MAX_POWER: FAST_KW})
    return [
        fast,
        charger_subentry(CHARGER2_ID, "Charger 2", CHARGER2_TOKEN, "2"),
        card_subentry(CARD, "Juan Pérez"),
    ]


@pytest.fixture
def mock_config_entry(subentries: list[ConfigSubentryData]) -> MockConfigEntry:
    """The hub entry, no price."""
    return hub_entry(subentries)


async def _start(charger: ClientWebSocketResponse) -> int:
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    start = await charger.receive_json(timeout=5)
    assert start["type"] == "start"
    session_id: int = start["session_id"]
    return session_id


async def _error_for(charger: ClientWebSocketResponse, frame: dict[str, Any]) -> str:
    await charger.send_json(frame)
    reply = await charger.receive_json(timeout=5)
    assert reply["type"] == "error", (frame, reply)
    assert reply["code"] == INVALID, (frame, reply)
    message: str = reply["message"]
    return message


@pytest.mark.usefixtures("init_integration")
async def test_absurd_readings_get_an_error_frame_and_harm_nothing(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """Overflowing products, negative power and current, absurd magnitudes: INVALID_MESSAGE
    each; the session, its dashboard and another charger keep working."""
    charger = await _publisher(ws_connect)
    dashboard = await ws_connect(f"?role=client&estacionId=1&token={hass_access_token}")
    for _ in range(2):
        await dashboard.receive_json(timeout=5)  # subscribed, init
    await charger.receive_json(timeout=5)  # sync_request
    other = await _publisher(ws_connect, "2", CHARGER2_TOKEN)
    session_id = await _start(charger)
    await dashboard.receive_json(timeout=5)  # session_started
    good = {"type": "metrics", "session_id": session_id, "v": 230.0, "a": 10.0, "w": 2300.0}
    await charger.send_json({**good, "ts": 1_700_000_000})
    assert (await dashboard.receive_json(timeout=5))["w"] == 2300.0
    handler = hub_of(hass).devices[CHARGER_ID].handler

    for bad, message in (
        ({"v": 1e200, "a": 1e200, "w": None}, "v out of range"),
        ({"v": 1e154, "a": 1e154, "w": None}, "v out of range"),
        ({"v": 1999.0, "a": 3999.0, "w": None}, "v * a out of range"),
        ({"w": -5000.0}, "w out of range"),
        ({"a": -16.0}, "a out of range"),
        ({"v": -230.0}, "v out of range"),
        ({"w": 1e12}, "w out of range"),
        ({"kwh": 1e300}, "energy counter out of range"),
        ({"wh": 1e300}, "energy counter out of range"),
    ):
        assert await _error_for(charger, {**good, **bad, "ts": 1_700_000_001}) == message
    assert (handler.voltage, handler.current, handler.power) == (230.0, 10.0, 2300.0)

    # Sensor noise just below zero is zero, never a negative state.
    await charger.send_json({**good, "a": -0.2, "w": -30.0, "ts": 1_700_000_003})
    frame = await dashboard.receive_json(timeout=5)
    assert (frame["a"], frame["w"]) == (0.0, 0.0)
    assert (handler.current, handler.power) == (0.0, 0.0)
    await charger.send_json({**good, "ts": 1_700_000_006})
    assert (await dashboard.receive_json(timeout=5))["w"] == 2300.0
    measure = handler.charge()
    assert measure is not None
    assert measure.energy.kwh == pytest.approx(2300 * 1.5 / 3.6e6 + 1150 * 3 / 3.6e6)
    await other.send_json({"type": "stop"})
    assert (await other.receive_json(timeout=5))["code"] == "NO_ACTIVE_SESSION"
    await charger.send_json({"type": "stop"})
    assert await charger.receive_json(timeout=5) == {"type": "stop", "session_id": session_id}
    await until(lambda: handler.device.active_session is None)


# -- item 7: energy bounded by HA's clock and the charger's rating -----------------------------


def _measure(hass: HomeAssistant, device_id: str = CHARGER_ID) -> ChargeMeasure:
    measure = hub_of(hass).devices[device_id].handler.charge()
    assert measure is not None
    return measure


@pytest.mark.usefixtures("init_integration")
async def test_a_lying_device_clock_adds_no_energy(
    hass: HomeAssistant, ws_connect: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's two attacks: 100 frames in ~2 s whose ts step +60 s at 350 kW (577 kWh by
    the device clock), and a counter 1 -> 8000 kWh over ts +86,000 s. What HA's clock allows
    is credited; the rest is refused, logged once and counted in diagnostics."""
    charger = await _publisher(ws_connect)
    await _start(charger)
    handler = hub_of(hass).devices[CHARGER_ID].handler
    began = monotonic()
    for chunk in range(4):
        for i in range(25):
            ts = 1_700_000_000 + 60 * (25 * chunk + i)
            await charger.send_json({"type": "metrics", "w": FAST_KW * 1000, "ts": ts})
        await asyncio.sleep(0.5)
    await until(lambda: _measure(hass).energy.samples == 100)
    elapsed = monotonic() - began
    kwh = _measure(hass).energy.kwh
    assert kwh <= FAST_KW * (elapsed + CLOCK_SLACK_S) / 3600 < 2  # not 577.5
    assert handler.lifetime.value == pytest.approx(kwh)

    lifetime = handler.lifetime.value
    for kwh_counter, ts in ((1.0, 1_800_000_000), (8000.0, 1_800_086_000)):
        await charger.send_json({"type": "metrics", "w": 7000, "kwh": kwh_counter, "ts": ts})
    await until(lambda: _measure(hass).energy.rejected == 1)
    assert handler.lifetime.value == lifetime  # not + 7,999 kWh

    refused = handler.diagnostics()["metering_refused"]
    assert refused["readings"] == 1  # the counter jump
    assert refused["intervals"] >= 90  # the intervals that outran HA's clock
    assert refused["device_seconds"] >= 90 * 60 - elapsed - CLOCK_SLACK_S
    warnings = [r for r in caplog.records if "metering of Charger 1" in r.getMessage()]
    assert len(warnings) == 1, warnings


@pytest.mark.usefixtures("init_integration")
async def test_power_above_the_chargers_rating_is_refused(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """A charger with the default rating: a 350 kW sample is refused, its neighbours count."""
    charger = await _publisher(ws_connect, "2", CHARGER2_TOKEN)
    await _start(charger)
    limit_w = DEFAULT_MAX_POWER_KW * 1000
    for ts, watts in ((1_700_000_000, 7000), (1_700_000_003, 350_000), (1_700_000_006, 7000)):
        await charger.send_json({"type": "metrics", "w": watts, "ts": ts})
    await until(lambda: _measure(hass, CHARGER2_ID).energy.samples == 2)
    energy = _measure(hass, CHARGER2_ID).energy
    assert (energy.max_power_w, energy.rejected, energy.peak_w) == (limit_w, 1, 7000)
    assert energy.kwh == pytest.approx(7000 * 6 / 3.6e6)


@pytest.mark.usefixtures("init_integration")
async def test_a_rating_that_is_no_rating_is_the_default(hass: HomeAssistant) -> None:
    """Stored data edited by hand (or older) never breaks metering: the default rating."""
    device = hub_of(hass).devices[CHARGER2_ID]
    assert device.handler.max_power_kw == DEFAULT_MAX_POWER_KW  # added before ratings
    for junk in ("fast", -1, 0, math.inf, None, True):
        device.data = {**device.data, CONF_MAX_POWER: junk}
        assert device.handler.max_power_kw == DEFAULT_MAX_POWER_KW, junk
    device.data = {**device.data, CONF_MAX_POWER: 11}
    assert device.handler.max_power_kw == 11.0


@pytest.mark.usefixtures("init_integration")
async def test_a_backlog_after_a_reconnect_is_credited(
    hass: HomeAssistant, ws_connect: WsConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batching is no attack: 40 s offline on HA's clock, then 13 queued readings at once,
    are all credited (the time HA saw pass covers them)."""
    now = [1000.0]
    monkeypatch.setattr(charger_handler, "monotonic", lambda: now[0])
    charger = await _publisher(ws_connect)
    await _start(charger)
    await charger.send_json({"type": "metrics", "w": 7200, "ts": 1_700_000_000})
    await until(lambda: _measure(hass).energy.samples == 1)
    now[0] += 40.0
    for i in range(1, 14):
        await charger.send_json({"type": "metrics", "w": 7200, "ts": 1_700_000_000 + 3 * i})
    await until(lambda: _measure(hass).energy.samples == 14)
    assert _measure(hass).energy.kwh == pytest.approx(7200 * 39 / 3.6e6)
    # Then the device runs ahead of HA's clock: what outran it is not credited.
    for i in range(14, 34):
        await charger.send_json({"type": "metrics", "w": 7200, "ts": 1_700_000_000 + 3 * i})
    await until(lambda: _measure(hass).energy.samples == 34)
    assert _measure(hass).energy.kwh == pytest.approx(7200 * (40 + CLOCK_SLACK_S) / 3.6e6)


# -- item 13: card scans that create HA objects ------------------------------------------------


def _tags(hass: HomeAssistant) -> list[str]:
    """Tag ids HA's tag integration holds an entity for."""
    return [e.unique_id for e in er.async_get(hass).entities.values() if e.domain == "tag"]


async def _scan(charger: ClientWebSocketResponse, uid: str) -> dict[str, Any]:
    await charger.send_json({"type": "nfc_scan", "nfc_uid": uid})
    reply: dict[str, Any] = await charger.receive_json(timeout=5)
    return reply


@pytest.mark.usefixtures("init_integration")
async def test_unknown_cards_register_a_bounded_number_of_tags(
    hass: HomeAssistant, ws_connect: WsConnect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 scans of new uids: the first 20 become HA tags, the rest only events; a repair
    issue names the charger. Cards, known tags and the other charger are never held back;
    an hour later new uids register again."""
    assert await async_setup_component(hass, "tag", {})
    now = [5000.0]
    monkeypatch.setattr(charger_cards, "monotonic", lambda: now[0])
    scans = async_capture_events(hass, EVENT_NFC_SCAN)
    tag_scans = async_capture_events(hass, "tag_scanned")
    states = async_capture_events(hass, "state_changed")
    charger = await _publisher(ws_connect)
    for i in range(60):
        assert (await _scan(charger, f"STRANGER-{i:03}"))["code"] == "CARD_REJECTED"
    await hass.async_block_till_done()
    assert len(scans) == 60  # the bus event for every scan
    card_events = [
        e
        for e in states
        if e.data["entity_id"] == "event.charger_1_card_scan"
        and e.data["new_state"].attributes.get("uid") is not None
    ]
    assert len(card_events) == 60  # and the event entity
    assert sorted(_tags(hass)) == [f"STRANGER-{i:03}" for i in range(DEFAULT_NEW_TAGS_PER_HOUR)]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"tag_flood_{CHARGER_ID}")
    assert issue is not None
    assert issue.translation_key == "tag_flood"
    assert issue.translation_placeholders == {"device": "Charger 1", "limit": "20"}

    # Already a tag, an authorised card, another charger: registered as before.
    tag_scans.clear()
    assert (await _scan(charger, "STRANGER-000"))["code"] == "CARD_REJECTED"
    assert (await _scan(charger, CARD))["type"] == "start"
    other = await _publisher(ws_connect, "2", CHARGER2_TOKEN)
    assert (await _scan(other, "STRANGER-999"))["code"] == "CARD_REJECTED"
    await hass.async_block_till_done()
    assert [e.data["tag_id"] for e in tag_scans] == ["STRANGER-000", CARD, "STRANGER-999"]
    assert hub_of(hass).devices[CHARGER_ID].handler.diagnostics()["tags_held_back"] == 40

    now[0] += 3601  # an hour later
    assert (await _scan(other, "LATER-1"))["code"] == "CARD_REJECTED"
    await _scan(charger, "LATER-2")  # a busy charger: CHARGER_BUSY, a scan all the same
    await hass.async_block_till_done()
    assert {"LATER-1", "LATER-2"} <= set(_tags(hass))


@pytest.mark.usefixtures("init_integration")
async def test_the_tag_limit_is_an_option(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """0 keeps every unknown uid out of the tag integration (events still fire)."""
    assert await async_setup_component(hass, "tag", {})
    hass.config_entries.async_update_entry(init_integration, options={CONF_NEW_TAGS_PER_HOUR: 0})
    await hass.async_block_till_done()
    scans = async_capture_events(hass, EVENT_NFC_SCAN)
    charger = await _publisher(ws_connect)
    for uid in ("STRANGER-1", "STRANGER-2"):
        await _scan(charger, uid)
    await hass.async_block_till_done()
    assert (len(scans), _tags(hass)) == (2, [])
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"tag_flood_{CHARGER_ID}") is not None
    # An allowance that is no count (stored by hand, say) is the default one.
    hass.config_entries.async_update_entry(
        init_integration, options={CONF_NEW_TAGS_PER_HOUR: "many"}
    )
    await hass.async_block_till_done()
    await _scan(charger, "STRANGER-3")
    await hass.async_block_till_done()
    assert _tags(hass) == ["STRANGER-3"]


@given(
    st.lists(st.tuples(st.integers(0, 30), st.floats(0, 900)), max_size=200),
    st.integers(0, 10),
)
def test_the_allowance_never_registers_more_than_the_limit_an_hour(
    scans: list[tuple[int, float]], limit: int
) -> None:
    """Over any scans, the new uids let through within any hour are at most ``limit``; a uid
    let through passes again within its hour; what is held back is counted."""
    allowance = TagAllowance()
    now, first_admitted, held_back = 0.0, list[tuple[float, int]](), 0
    for uid, wait in scans:
        now += wait
        recent = {u for at, u in first_admitted if now - at < WINDOW_S}
        if allowance.admit(str(uid), now, limit):
            if uid not in recent:
                first_admitted.append((now, uid))
        else:
            held_back += 1
            assert uid not in recent
        assert len({u for at, u in first_admitted if now - at < WINDOW_S}) <= limit
    assert allowance.held_back == held_back


async def test_the_time_ha_was_down_is_never_credited(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Across a restart the meter keeps its budget but not HA's clock (it restarts with the
    machine): a charger claiming 50 s passed during the restart gets the stored 10 s."""
    now = [1000.0]
    monkeypatch.setattr(charger_handler, "monotonic", lambda: now[0])
    charger = await _publisher(ws_connect)
    await _start(charger)
    watts = 7200.0
    for count, (ts, at) in enumerate(((1_700_000_000, 1000.0), (1_700_000_003, 1003.0))):
        now[0] = at
        await charger.send_json({"type": "metrics", "w": watts, "ts": ts})
        await until(lambda n=count: _measure(hass).energy.samples == n + 1)

    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    charger = await _publisher(ws_connect)
    assert (await charger.receive_json(timeout=5))["type"] == "start"  # its session resumes
    for count, (ts, at) in enumerate(((1_700_000_053, 5.0), (1_700_000_056, 8.0))):
        now[0] = at
        await charger.send_json({"type": "metrics", "w": watts, "ts": ts})
        await until(lambda n=count: _measure(hass).energy.samples == n + 3)
    credited_s = 3 + CLOCK_SLACK_S + 3
    assert _measure(hass).energy.kwh == pytest.approx(watts * credited_s / 3.6e6)
    handler = hub_of(hass).devices[CHARGER_ID].handler
    assert handler.lifetime.value == pytest.approx(watts * credited_s / 3.6e6)
    assert handler.diagnostics()["metering_refused"]["device_seconds"] == 50 - CLOCK_SLACK_S
