"""Entities of an oven, one platform at a time, against syrupy snapshots; availability."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import patch

from homeassistant.const import ATTR_DEVICE_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.sessions import STORAGE_VERSION

from .conftest import OVEN_ID, OVEN_TOKEN, WsConnect, state_of, until

STORE_KEY = "iot_hub.sessions.{entry_id}"


def _finished_session() -> dict[str, Any]:
    """Session 7: 45 minutes, three readings between 120 and 230 °C."""
    return {
        "id": 7,
        "device_id": OVEN_ID,
        "device_name": "Oven",
        "started_at": "2026-11-24T10:00:00+00:00",
        "started_by": {"kind": "app", "user_id": None, "name": "Cook"},
        "status": "stopped",
        "ended_at": "2026-11-24T10:45:00+00:00",
        "stopped_by": {"kind": "device", "user_id": None, "name": None},
        "readings": 3,
        "temperature_sum": 530.0,
        "temperature_min": 120.0,
        "temperature_max": 230.0,
        "last_reading_at": "2026-11-24T10:44:00+00:00",
    }


@pytest.fixture
def stored_history(hass_storage: dict[str, Any], mock_config_entry: MockConfigEntry) -> None:
    """The Store holds one finished session of the oven."""
    key = STORE_KEY.format(entry_id=mock_config_entry.entry_id)
    hass_storage[key] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": key,
        "data": {"next_id": 8, "sessions": [_finished_session()]},
    }


@pytest.fixture
def platform() -> Platform:
    """The one platform a test loads (overridden by parametrize)."""
    return Platform.SENSOR


@pytest.fixture
def only_platform(platform: Platform) -> Iterator[None]:
    """Load a single platform, as ``snapshot_platform`` requires."""
    with patch("custom_components.iot_hub.PLATFORMS", [platform]):
        yield


@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.BINARY_SENSOR, Platform.BUTTON])
@pytest.mark.usefixtures("entity_registry_enabled_by_default", "stored_history", "only_platform")
async def test_entities(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Oven connected, a reading in, a finished session in history and one running."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await oven.send_str("28.5")
    await until(lambda: mock_config_entry.runtime_data.devices[OVEN_ID].handler.temperature == 28.5)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, OVEN_ID), mock_config_entry.entry_id
    )
    assert device is not None
    await hass.services.async_call(
        DOMAIN, "start_session", {ATTR_DEVICE_ID: device.id}, blocking=True
    )
    assert await oven.receive_str(timeout=5) == "START"
    await hass.async_block_till_done()

    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)
    # Every entity belongs to the oven's device and subentry.
    for entry in er.async_entries_for_config_entry(entity_registry, mock_config_entry.entry_id):
        assert entry.device_id == device.id
        assert entry.config_subentry_id == OVEN_ID
        assert entry.unique_id.startswith(f"{OVEN_ID}_")


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "stored_history", "init_integration")
async def test_offline_availability(hass: HomeAssistant, ws_connect: WsConnect) -> None:
    """Offline: live values are unavailable; connectivity and the last session stay shown."""
    assert state_of(hass, "binary_sensor.oven_connectivity") == "off"
    assert state_of(hass, "sensor.oven_temperature") == STATE_UNAVAILABLE
    assert state_of(hass, "sensor.oven_session") == STATE_UNAVAILABLE
    assert state_of(hass, "button.oven_start_session") == STATE_UNAVAILABLE
    assert state_of(hass, "sensor.oven_last_session_readings") == "3"
    assert state_of(hass, "sensor.oven_last_session_max_temperature") == "230.0"
    assert state_of(hass, "sensor.oven_last_session_duration") == "45.0"  # minutes

    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "sensor.oven_session") == "idle")
    assert state_of(hass, "sensor.oven_temperature") == "unknown"
    await oven.close()
    await until(lambda: state_of(hass, "sensor.oven_session") == STATE_UNAVAILABLE)
    assert state_of(hass, "sensor.oven_last_session_readings") == "3"


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "init_integration")
async def test_no_session_yet(hass: HomeAssistant) -> None:
    """Without any finished session the summary sensors have no value (not zero)."""
    for key in ("readings", "max_temperature", "duration"):
        assert state_of(hass, f"sensor.oven_last_session_{key}") == "unknown"
