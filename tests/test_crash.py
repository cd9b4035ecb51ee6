"""A crash right after a device, an app or the bus heard of a session: nothing they heard is lost.

The crash: iot_hub's files are copied the instant the device hears ``START``/``stop``
(``tests/disk.py``); the entry is unloaded (which writes everything: a crash would not), the
copies put back, HA's restore cache emptied (HA dumps it every 15 minutes, so after a crash it
may be that old), and the entry set up again from those files.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import restore_state as rs
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.iot_hub.const import EVENT_SESSION_ENDED, EVENT_SESSION_STARTED
from custom_components.iot_hub.hub import Hub

from .conftest import OVEN_ID, OVEN_TOKEN, WsConnect, hub_entry, oven_subentry, state_of, until
from .disk import on_disk, read_store, restore, snapshot
from .test_charger import CARD, CHARGER_ID, PRICE, _publisher, card_subentry, charger_subentry

__all__ = ["on_disk"]  # a fixture

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

LIFETIME = "sensor.charger_1_lifetime_energy"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An oven, a charger and Juan's card."""
    return [
        oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN),
        charger_subentry(CHARGER_ID, "Charger 1", "charger-one-token-0123456789", "1"),
        card_subentry(CARD, "Juan Pérez"),
    ]


@pytest.fixture
def mock_config_entry(subentries: list[ConfigSubentryData]) -> MockConfigEntry:
    """The hub entry with a fixed price."""
    return hub_entry(subentries, {"price_per_kwh": PRICE})


@pytest.fixture
async def entry(hass: HomeAssistant, on_disk: Path, mock_config_entry: MockConfigEntry) -> Hub:
    """The hub entry, loaded from real files."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    hub = mock_config_entry.runtime_data
    assert isinstance(hub, Hub)
    return hub


async def _crash_and_restart(
    hass: HomeAssistant, entry: MockConfigEntry, root: Path, crashed: Path
) -> Hub:
    assert await hass.config_entries.async_unload(entry.entry_id)
    restore(crashed, root)
    rs.async_get(hass).last_states = {}
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub = entry.runtime_data
    assert isinstance(hub, Hub)
    return hub


async def _started_from_the_app(
    hub: Hub, ws_connect: WsConnect, access_token: str
) -> tuple[ClientWebSocketResponse, ClientWebSocketResponse]:
    """The oven and its app connected; the app started a session and the oven heard START."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    app = await ws_connect(f"?token={access_token}&device=Oven")
    await until(lambda: hub.devices[OVEN_ID].connected and hub.devices[OVEN_ID].clients)
    await app.send_json({"command": "START"})
    assert await oven.receive_str(timeout=5) == "START"
    return oven, app


async def test_a_start_the_oven_heard_survives_a_crash(
    hass: HomeAssistant,
    *,
    entry: Hub,
    on_disk: Path,
    tmp_path: Path,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
) -> None:
    """START reached the oven and the bus: after the crash the session is there, id kept."""
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    oven, _app = await _started_from_the_app(entry, ws_connect, hass_access_token)
    snapshot(on_disk, tmp_path / "crashed")  # the instant the oven heard it
    assert [e.data["session_id"] for e in started] == [1]

    hub = await _crash_and_restart(hass, mock_config_entry, on_disk, tmp_path / "crashed")
    (record,) = hub.sessions.query([OVEN_ID])
    assert (record.id, record.status) == (1, "active")
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    assert await oven.receive_str(timeout=5) == "START"  # back mid-session: told again
    await until(lambda: state_of(hass, "sensor.oven_session") == "active")
    hub.devices[OVEN_ID].stop_session(record.started_by)
    assert await oven.receive_str(timeout=5) == "STOP"
    assert hub.devices[OVEN_ID].start_session(record.started_by).id == 2  # never reused


@pytest.mark.usefixtures("entity_registry_enabled_by_default")  # last-session sensors are off
async def test_an_end_the_oven_heard_survives_a_crash(
    hass: HomeAssistant,
    *,
    entry: Hub,
    on_disk: Path,
    tmp_path: Path,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
) -> None:
    """STOP reached the oven and the bus: after the crash the session is ended, its readings
    kept."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    oven, app = await _started_from_the_app(entry, ws_connect, hass_access_token)
    await oven.send_str("180.5")
    await until(lambda: entry.devices[OVEN_ID].last_reading_at is not None)
    await app.send_json({"command": "STOP"})
    assert await oven.receive_str(timeout=5) == "STOP"
    snapshot(on_disk, tmp_path / "crashed")
    assert [e.data["status"] for e in ended] == ["stopped"]

    hub = await _crash_and_restart(hass, mock_config_entry, on_disk, tmp_path / "crashed")
    (record,) = hub.sessions.query([OVEN_ID])
    assert (record.id, record.status) == (1, "stopped")
    assert record.summary(record.started_at)["readings"] == 1
    assert state_of(hass, "sensor.oven_last_session_readings") == "1"


def _on_disk_kwh(root: Path, entry: MockConfigEntry) -> float:
    devices = read_store(root, f"iot_hub.safety.{entry.entry_id}")["devices"]
    value: float = devices[CHARGER_ID]["lifetime"]["value"]
    return value


async def test_lifetime_energy_never_below_what_was_shown(
    hass: HomeAssistant,
    *,
    entry: Hub,
    on_disk: Path,
    tmp_path: Path,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
) -> None:
    """The lifetime energy shown is never more than what is on disk, so a crash cannot lower
    it; the charger's ``stop`` is heard once the end (and its energy) is written."""
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    session_id = (await charger.receive_json(timeout=5))["session_id"]
    for ts in (1700000000, 1700000003, 1700000006):
        await charger.send_json({"type": "metrics", "session_id": session_id, "w": 7200, "ts": ts})
    handler = entry.devices[CHARGER_ID].handler
    await until(lambda: handler.lifetime.value > 0.01)
    # Mid-session: what is shown is at most what a crash now would leave.
    assert float(state_of(hass, LIFETIME) or 0) <= _on_disk_kwh(on_disk, mock_config_entry)
    await charger.send_json({"type": "stop"})
    assert (await charger.receive_json(timeout=5))["type"] == "stop"
    await until(lambda: float(state_of(hass, LIFETIME) or 0) > 0.01)
    shown = float(state_of(hass, LIFETIME) or 0)
    snapshot(on_disk, tmp_path / "crashed")

    hub = await _crash_and_restart(hass, mock_config_entry, on_disk, tmp_path / "crashed")
    assert float(state_of(hass, LIFETIME) or 0) >= shown
    assert hub.devices[CHARGER_ID].handler.lifetime.value == pytest.approx(7200 * 6 / 3.6e6)
    (record,) = hub.sessions.query([CHARGER_ID])
    assert (record.id, record.status) == (session_id, "stopped")
