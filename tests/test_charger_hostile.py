"""A hostile or broken charger over real sockets: absurd readings, a lying clock, card floods.

Whatever one charger sends, it gets an error frame or has its excess refused; its session,
its dashboards and the other chargers go on (issue 7, items 7, 8 and 13).
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import WsConnect, hub_entry, until
from .test_charger import (
    CARD,
    CHARGER2_TOKEN,
    CHARGER_ID,
    CHARGER_TOKEN,
    _hub,
    _publisher,
    card_subentry,
    charger_subentry,
)

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

INVALID = "INVALID_MESSAGE"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """Two chargers (stations 1 and 2) and Juan's card."""
    return [
        charger_subentry(CHARGER_ID, "Charger 1", CHARGER_TOKEN, "1"),
        charger_subentry("charger2subentry", "Charger 2", CHARGER2_TOKEN, "2"),
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
    other = await ws_connect(f"?role=publisher&estacionId=2&token={CHARGER2_TOKEN}")
    await other.receive_json(timeout=5)  # connected
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
