"""The session archive on a real disk: bad records, a truncated file, safety state.

Every test here writes and reads the Store files themselves (``tests/disk.py``) and restarts
the hub entry from what is on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.iot_hub.const import DOMAIN

from .conftest import (
    OVEN_ID,
    OVEN_TOKEN,
    WsConnect,
    hub_entry,
    hub_of,
    oven_subentry,
    state_of,
    until,
)
from .disk import on_disk, read_store, restore, snapshot, write_store
from .test_charger import CARD, CHARGER_ID, PRICE, _publisher, card_subentry, charger_subentry

__all__ = ["on_disk"]  # a fixture

SESSIONS = "iot_hub.sessions.{}"
QUARANTINE = "iot_hub.quarantine.{}"
SAFETY = "iot_hub.safety.{}"


def _finished(session_id: int, **changes: Any) -> dict[str, Any]:
    return {
        "id": session_id,
        "device_id": OVEN_ID,
        "device_name": "Oven",
        "kind": "oven",
        "started_at": "2026-11-24T10:00:00+00:00",
        "started_by": {"kind": "app", "user_id": None, "name": "Cook"},
        "status": "stopped",
        "ended_at": "2026-11-24T10:10:00+00:00",
        "stopped_by": {"kind": "app", "user_id": None, "name": "Cook"},
        "last_reading_at": None,
        "measure": {
            "readings": 1,
            "temperature_sum": 180.0,
            "temperature_min": 180.0,
            "temperature_max": 180.0,
        },
        **changes,
    }


async def _restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


# -- 1: one bad record -------------------------------------------------------------------


async def test_a_bad_record_is_set_aside_not_the_hub(
    hass: HomeAssistant, on_disk: Path, mock_config_entry: MockConfigEntry
) -> None:
    """A malformed record is kept aside with a repair issue; the good ones load; HA serves."""
    entry_id = mock_config_entry.entry_id
    bad = [
        _finished(2, started_at="yesterday"),
        _finished(3, kind="toaster"),  # a kind this version does not know
        "not a session",
        _finished(5, id="5"),
        _finished(6, ended_at="2026-11-24T10:10:00"),  # no time zone
    ]
    write_store(
        on_disk,
        SESSIONS.format(entry_id),
        {"next_id": 7, "sessions": [_finished(1), *bad, _finished(4)]},
        minor_version=2,
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert [s.id for s in hub_of(mock_config_entry).sessions.query()] == [4, 1]
    aside = read_store(on_disk, QUARANTINE.format(entry_id))["records"]
    assert [r["record"] for r in aside] == bad
    assert all(r["error"] for r in aside)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"sessions_quarantined_{entry_id}")
    assert issue is not None
    assert issue.translation_key == "sessions_quarantined"
    assert issue.translation_placeholders == {
        "count": "5",
        "path": str(on_disk / QUARANTINE.format(entry_id)),
    }

    # The archive no longer holds them; a restart neither loses the good ones nor sets the
    # bad ones aside twice.
    await _restart(hass, mock_config_entry)
    assert [s.id for s in hub_of(mock_config_entry).sessions.query()] == [4, 1]
    assert len(read_store(on_disk, QUARANTINE.format(entry_id))["records"]) == 5
    assert hub_of(mock_config_entry).sessions.query()[0].id == 4


# -- 2: a truncated archive ------------------------------------------------------------------


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """A charger, an oven and Juan's card."""
    return [
        charger_subentry(CHARGER_ID, "Charger 1", "charger-one-token-0123456789", "1"),
        oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN),
        card_subentry(CARD, "Juan Pérez"),
    ]


@pytest.fixture
def mock_config_entry(subentries: list[ConfigSubentryData]) -> MockConfigEntry:
    """The hub entry with a fixed price."""
    return hub_entry(subentries, {"price_per_kwh": PRICE})


def _truncate(root: Path, key: str) -> None:
    path = root / key
    text = path.read_text(encoding="utf-8") if path.exists() else '{"version": 1, "data": {}}'
    path.write_text(text[: len(text) // 2], encoding="utf-8")


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_truncated_archive_keeps_latch_ids_and_totals(
    hass: HomeAssistant,
    on_disk: Path,
    tmp_path: Path,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
) -> None:
    """Latch, next id and lifetime totals survive a truncated archive; a repair says so."""
    entry_id = mock_config_entry.entry_id
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    assert (await charger.receive_json(timeout=5))["session_id"] == 1
    for ts in (1700000000, 1700000003):
        await charger.send_json({"type": "metrics", "w": 7200, "ts": ts})
    handler = hub_of(mock_config_entry).devices[CHARGER_ID].handler
    await until(lambda: handler.lifetime.value > 0)
    await charger.send_json({"type": "emergency"})
    await until(lambda: handler.emergency)
    await hass.async_block_till_done()
    lifetime, cost = handler.lifetime.value, handler.lifetime_cost
    crashed = tmp_path / "crashed"
    snapshot(on_disk, crashed)  # what a power cut right after the emergency leaves

    assert await hass.config_entries.async_unload(entry_id)
    restore(crashed, on_disk)
    _truncate(on_disk, SESSIONS.format(entry_id))
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.LOADED
    handler = hub_of(mock_config_entry).devices[CHARGER_ID].handler
    assert handler.emergency
    assert state_of(hass, "binary_sensor.charger_1_emergency_stop") == "on"
    assert handler.lifetime.value >= lifetime
    assert handler.lifetime_cost >= cost
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"sessions_lost_{entry_id}")
    assert issue is not None
    assert issue.translation_key == "sessions_lost"
    assert issue.translation_placeholders is not None
    assert ".corrupt." in issue.translation_placeholders["path"]
    # The next session does not reuse an id.
    handler.clear_emergency()
    charger = await _publisher(ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    assert (await charger.receive_json(timeout=5))["session_id"] == 2


async def test_entity_states_are_the_second_source(
    hass: HomeAssistant, on_disk: Path, mock_config_entry: MockConfigEntry
) -> None:
    """Archive and safety store both lost: the restored states keep the latch and totals."""
    entry_id = mock_config_entry.entry_id
    write_store(on_disk, SAFETY.format(entry_id), {"next_id": 9, "devices": {}})
    _truncate(on_disk, SESSIONS.format(entry_id))
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State("binary_sensor.charger_1_emergency_stop", "on"),
                {"is_on": True, "device_id": CHARGER_ID},
            ),
            (
                State("sensor.charger_1_lifetime_energy", "5.0"),
                {"native_value": 5.0, "native_unit_of_measurement": "kWh", "device_id": CHARGER_ID},
            ),
            (
                State("sensor.charger_1_lifetime_cost", "12.5"),
                {
                    "native_value": 12.5,
                    "native_unit_of_measurement": "EUR",
                    "device_id": CHARGER_ID,
                },
            ),
        ],
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    handler = hub_of(mock_config_entry).devices[CHARGER_ID].handler
    assert handler.emergency
    assert handler.lifetime.value == 5.0
    assert handler.lifetime_cost == 12.5
    # What it took back is written at once to the safety store.
    stored = read_store(on_disk, SAFETY.format(entry_id))
    assert stored["next_id"] == 9
    assert stored["devices"][CHARGER_ID]["emergency"] is True
