"""The device WebSocket: credentials, close codes, limits and bad input, over HA's HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import logging
from unittest.mock import patch

from aiohttp import WSServerHandshakeError
from homeassistant.components.http.ban import KEY_FAILED_LOGIN_ATTEMPTS
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.const import WS_PATH, CloseCode
from custom_components.iot_hub.transport import limits, websocket, ws_link

from .conftest import (
    OVEN_ID,
    OVEN_TOKEN,
    TWO_OVENS,
    WsConnect,
    closed_with,
    state_of,
    until,
    until_recorded,
)

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])


@pytest.fixture
def no_ban_file() -> Iterator[None]:
    """Bans stay in memory: HA would write ip_bans.yaml into the shared test config dir."""
    with patch("homeassistant.components.http.ban.IpBanManager._add_ban"):
        yield


async def _setup_with_ip_ban(hass: HomeAssistant, entry: MockConfigEntry, threshold: int) -> None:
    """HA's HTTP server banning after ``threshold`` failed logins, then the hub."""
    assert await async_setup_component(
        hass, "http", {"http": {"ip_ban_enabled": True, "login_attempts_threshold": threshold}}
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)


@pytest.mark.usefixtures("init_integration")
async def test_missing_credentials_closes_4001(
    ws_connect: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    """No token at all: 4001 before anything is read, and a log line."""
    ws = await ws_connect()
    await closed_with(ws, CloseCode.MISSING_CREDENTIALS)
    await until(lambda: "missing credentials" in caplog.text)


@pytest.mark.usefixtures("no_ban_file")
async def test_invalid_token_closes_4003_counted_and_banned(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A wrong token: 4003, counted by HA's ban machinery, the token kept out of the log."""
    await _setup_with_ip_ban(hass, mock_config_entry, threshold=2)
    ws = await ws_connect("?token=not-a-token-of-anything")
    await closed_with(ws, CloseCode.INVALID_TOKEN)
    ws = await ws_connect(headers={"Authorization": "Bearer also-wrong"})
    await closed_with(ws, CloseCode.INVALID_TOKEN)
    # HA silences aiohttp's access log (bootstrap sets it to WARNING); nothing else may leak.
    assert not [
        r
        for r in caplog.records
        if r.name != "aiohttp.access" and "not-a-token-of-anything" in r.getMessage()
    ]
    # Two failures within the throttle window: one log line, but both count toward the ban,
    # and the second reaches the threshold of 2: the address is banned (HA says so itself).
    # The socket is closed first, the failure counted right after.
    await until(lambda: "Banned IP 127.0.0.1 for too many login attempts" in caplog.text)
    assert caplog.text.count("Refused a connection from 127.0.0.1: invalid token") == 1
    assert caplog.text.count("Login attempt or request with invalid authentication") == 2
    with pytest.raises(WSServerHandshakeError) as err:
        await ws_connect(f"?token={OVEN_TOKEN}")
    assert err.value.status == 403


@pytest.mark.usefixtures("no_ban_file")
async def test_failures_below_threshold_are_counted_quietly(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device retrying a bad token: every retry counts, the log gets one line a minute."""
    await _setup_with_ip_ban(hass, mock_config_entry, threshold=10)
    for _ in range(4):
        ws = await ws_connect("?token=wrong")
        await closed_with(ws, CloseCode.INVALID_TOKEN)
    await until(lambda: sum(hass.http.app[KEY_FAILED_LOGIN_ATTEMPTS].values()) == 4)
    assert caplog.text.count("Refused a connection") == 1
    assert caplog.text.count("Login attempt or request with invalid authentication") == 1


@pytest.mark.usefixtures("init_integration")
async def test_bearer_header_authenticates_device(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """ESP32 libraries that can set headers use Authorization: Bearer."""
    ws = await ws_connect(headers={"Authorization": f"Bearer {OVEN_TOKEN}"})
    await ws.send_str("99.5")
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "99.5")


async def test_not_loaded_answers_503(
    hass: HomeAssistant, ws_connect: WsConnect, mock_config_entry: MockConfigEntry
) -> None:
    """The view outlives the entry: without a loaded hub it refuses with 503."""
    assert await async_setup_component(hass, "iot_hub", {})
    with pytest.raises(WSServerHandshakeError) as err:
        await ws_connect(f"?token={OVEN_TOKEN}")
    assert err.value.status == 503


@pytest.mark.usefixtures("init_integration")
async def test_reading_becomes_state_and_connectivity(
    hass: HomeAssistant, ws_connect: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    """Readings become the temperature state; connect/disconnect log once each."""
    caplog.set_level(logging.INFO)
    assert state_of(hass, "sensor.oven_temperature") == "unavailable"
    assert state_of(hass, "binary_sensor.oven_connectivity") == "off"
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await oven.send_str('{"type": "esp32"}')
    await oven.send_str("28.5")
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "28.5")
    assert state_of(hass, "binary_sensor.oven_connectivity") == "on"
    assert state_of(hass, "button.oven_start_session") == "unknown"
    await oven.close()
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "unavailable")
    assert state_of(hass, "binary_sensor.oven_connectivity") == "off"
    assert caplog.text.count("Oven is connected") == 1
    assert caplog.text.count("Oven is disconnected") == 1


@pytest.mark.usefixtures("init_integration")
async def test_bad_device_frames_answered_and_survived(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """Non-numeric readings, unknown identification, binary: error frames, socket stays."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await oven.send_str("caliente")
    assert await oven.receive_json(timeout=5) == {"error": "invalid temperature reading"}
    await oven.send_str('{"type": "toaster"}')
    assert await oven.receive_json(timeout=5) == {"error": "Tipo de cliente no reconocido"}
    await oven.send_str('{"type": "mobile_app"}')
    assert await oven.receive_json(timeout=5) == {"error": "Tipo de cliente no reconocido"}
    await oven.send_str("{not json")
    assert await oven.receive_json(timeout=5) == {"error": "invalid JSON"}
    await oven.send_bytes(b"\x00\x01")
    assert "binary" in (await oven.receive_json(timeout=5))["error"]
    await oven.send_str("nan")
    assert await oven.receive_json(timeout=5) == {"error": "temperature out of range"}
    # Nothing bad was stored, and the connection still works.
    assert state_of(hass, "sensor.oven_temperature") == "unknown"
    await oven.send_str("31.0")
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "31.0")


@pytest.mark.usefixtures("init_integration")
async def test_too_big_frame_closes_1009_only_that_connection(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    hass_access_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A frame over the limit closes that socket with 1009; the app next to it is fine."""
    app = await ws_connect(f"?token={hass_access_token}")
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await oven.send_str("1" * (websocket.MAX_FRAME_BYTES + 1))
    await closed_with(oven, CloseCode.TOO_BIG)
    await until(lambda: "exceeds limit" in caplog.text)
    await app.send_json({"command": "STOP"})
    assert await app.receive_json(timeout=5) == {"error": "no active session"}


@pytest.mark.usefixtures("init_integration")
async def test_flood_is_dropped_then_cut_off(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    hass_access_token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frames beyond the rate get one error frame; an endless flood is closed with 1008."""
    monkeypatch.setattr(limits, "INBOUND_RATE", 0.001)
    monkeypatch.setattr(limits, "INBOUND_BURST", 5.0)
    monkeypatch.setattr(limits, "FLOOD_CLOSE_AFTER", 50)
    app = await ws_connect(f"?token={hass_access_token}")
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    for value in range(200):
        await oven.send_str(f"{value}")
    assert await oven.receive_json(timeout=5) == {"error": "rate limit exceeded"}
    await closed_with(oven, CloseCode.POLICY)
    assert "sends too fast" in caplog.text
    assert "kept flooding" in caplog.text
    # The first readings (within the burst) were applied; the neighbour still works.
    assert state_of(hass, "sensor.oven_temperature") in {"unavailable", "4.0"}
    await app.send_json({"command": "BOGUS"})
    while "error" not in (frame := await app.receive_json(timeout=5)):
        assert "session_id" in frame  # reading notices from before the flood was cut
    assert "unknown command" in frame["error"]


@pytest.mark.usefixtures("init_integration")
async def test_newer_connection_wins(hass: HomeAssistant, ws_connect: WsConnect) -> None:
    """A device connecting twice: the older socket is closed with 4008, the newer works."""
    first = await ws_connect(f"?token={OVEN_TOKEN}")
    await first.send_str("20")
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "20.0")
    second = await ws_connect(f"?token={OVEN_TOKEN}")
    await closed_with(first, CloseCode.REPLACED)
    await second.send_str("21")
    await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "21.0")
    assert state_of(hass, "binary_sensor.oven_connectivity") == "on"


@pytest.mark.usefixtures("init_integration")
async def test_slow_reader_is_cut_off(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A peer that does not read its frames cannot grow the queue without bound."""
    monkeypatch.setattr(ws_link, "MAX_PENDING", 3)
    await ws_connect(f"?token={OVEN_TOKEN}")
    hub = hass.config_entries.async_entries("iot_hub")[0].runtime_data
    link = hub.devices[OVEN_ID].link
    for _ in range(10):
        link.send_text("x" * 10)  # queued synchronously, faster than the writer can drain
    assert "is not reading its frames" in caplog.text
    assert link.closing


@pytest.mark.usefixtures("init_integration")
async def test_app_unknown_device_and_revoked_token(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """An app naming no such oven gets 4005; revoking its HA token closes it."""
    ws = await ws_connect(f"?token={hass_access_token}&device=nope")
    await closed_with(ws, CloseCode.UNKNOWN_DEVICE)
    ws = await ws_connect(f"?token={hass_access_token}&device=oven")
    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None
    hass.auth.async_remove_refresh_token(refresh_token)
    await closed_with(ws, CloseCode.INVALID_TOKEN)


@pytest.mark.parametrize(
    "subentries",
    [TWO_OVENS],
)
@pytest.mark.usefixtures("init_integration")
async def test_app_must_choose_among_several_ovens(
    ws_connect: WsConnect, hass_access_token: str, subentries: list[ConfigSubentryData]
) -> None:
    """With two ovens an app without ?device= gets 4006 (seed 002's 'no estacionId')."""
    ws = await ws_connect(f"?token={hass_access_token}")
    await closed_with(ws, CloseCode.DEVICE_NOT_CHOSEN)


async def test_ws_path_constant() -> None:
    """The firmware URL path is part of the public contract."""
    assert WS_PATH == "/api/iot_hub/ws"


@pytest.mark.usefixtures("init_integration")
async def test_too_fast_is_noticed_once_per_window_and_warned_once(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Dropped frames get one error frame per window; the log gets one warning per connection."""
    monkeypatch.setattr(limits, "INBOUND_RATE", 20.0)
    monkeypatch.setattr(limits, "INBOUND_BURST", 1.0)
    monkeypatch.setattr(limits, "FLOOD_WINDOW", 0.5)
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    for window in range(2):
        for _ in range(2):
            await oven.send_str("20")
            await oven.send_str("21")  # beyond the burst of one: dropped
            await asyncio.sleep(0.1)  # two frames' worth of refill
        assert await oven.receive_json(timeout=5) == {"error": "rate limit exceeded"}
        with pytest.raises(TimeoutError):  # the second run of the window was not noticed
            await oven.receive(timeout=0.1)
        if not window:
            await asyncio.sleep(0.5)  # a new window
    warnings = [r for r in caplog.records if "sends too fast" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING, logging.DEBUG]
    assert state_of(hass, "sensor.oven_temperature") == "20.0"


@pytest.mark.usefixtures("init_integration")
async def test_home_assistant_stop_closes_devices_with_1001(
    hass: HomeAssistant, ws_connect: WsConnect, hass_access_token: str
) -> None:
    """HA does not unload entries on stop; open sockets would otherwise hold up shutdown."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    app = await ws_connect(f"?token={hass_access_token}")
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await closed_with(oven, CloseCode.UNLOADING)
    await closed_with(app, CloseCode.UNLOADING)
