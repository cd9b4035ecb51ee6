"""A hostile or broken charger over real sockets: absurd readings, a lying clock, card floods.

Whatever one charger sends, it gets an error frame or has its excess refused; its session,
its dashboards and the other chargers go on (issue 7, items 7, 8 and 13).
"""

from __future__ import annotations

import asyncio
from time import monotonic
from types import MappingProxyType
from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.kinds.charger import handler as charger_handler
from custom_components.iot_hub.kinds.charger.clock import CLOCK_SLACK_S
from custom_components.iot_hub.kinds.charger.const import CONF_MAX_POWER, DEFAULT_MAX_POWER_KW
from custom_components.iot_hub.kinds.charger.measure import ChargeMeasure

from .conftest import WsConnect, hub_entry, until
from .test_charger import (
    CARD,
    CHARGER2_TOKEN,
    CHARGER_ID,
    CHARGER_TOKEN,
    _hub,
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


async def _publisher(
    ws_connect: WsConnect, station: str = "1", token: str = CHARGER_TOKEN
) -> ClientWebSocketResponse:
    ws = await ws_connect(f"?role=publisher&estacionId={station}&token={token}")
    assert (await ws.receive_json(timeout=5))["type"] == "connected"
    return ws


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
    handler = _hub(hass).devices[CHARGER_ID].handler

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
    measure = _hub(hass).devices[device_id].handler.charge()
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
    handler = _hub(hass).devices[CHARGER_ID].handler
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
