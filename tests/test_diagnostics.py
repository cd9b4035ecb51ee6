"""Diagnostics of the hub entry: live device state and recent sessions, secrets redacted."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.sessions import STORAGE_VERSION
from custom_components.iot_hub.tokens import hash_token

from .conftest import (
    OVEN2_ID,
    OVEN2_TOKEN,
    OVEN_ID,
    OVEN_TOKEN,
    WsConnect,
    hub_entry,
    hub_of,
    oven_subentry,
    until,
)

REDACTED = "**REDACTED**"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """Two ovens: one will be connected, one not."""
    return [
        oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN),
        oven_subentry(OVEN2_ID, "Oven 2", OVEN2_TOKEN),
    ]


@pytest.fixture
def stored_history(hass_storage: dict[str, Any], mock_config_entry: MockConfigEntry) -> None:
    """One finished session of the first oven, started by an HA user."""
    key = f"iot_hub.sessions.{mock_config_entry.entry_id}"
    hass_storage[key] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": key,
        "data": {
            "next_id": 2,
            "sessions": [
                {
                    "id": 1,
                    "device_id": OVEN_ID,
                    "device_name": "Oven",
                    "started_at": "2026-11-24T10:00:00+00:00",
                    "started_by": {"kind": "user", "user_id": "secret-user-id", "name": "Ana"},
                    "status": "stopped",
                    "ended_at": "2026-11-24T10:10:00+00:00",
                    "stopped_by": {"kind": "automation", "user_id": None, "name": None},
                    "readings": 2,
                    "temperature_sum": 300.0,
                    "temperature_min": 100.0,
                    "temperature_max": 200.0,
                    "last_reading_at": "2026-11-24T10:09:00+00:00",
                }
            ],
        },
    }


@pytest.fixture
async def oven_with_app(
    stored_history: None,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
) -> None:
    """The first oven connected, with an app, after one reading."""
    hub = init_integration.runtime_data
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await ws_connect(f"?token={hass_access_token}&device=Oven")
    await oven.send_str("180.5")
    await until(
        lambda: hub.devices[OVEN_ID].handler.temperature == 180.5 and hub.devices[OVEN_ID].clients
    )


@pytest.mark.usefixtures("oven_with_app")
async def test_entry_diagnostics(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """Connected oven with an app and a reading; the other oven offline; hashes redacted."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    dumped = json.dumps(diagnostics)
    for token in (OVEN_TOKEN, OVEN2_TOKEN):
        assert token not in dumped
        assert hash_token(token) not in dumped
    assert "secret-user-id" not in dumped
    subentries = diagnostics["entry"]["subentries"]
    assert {s["subentry_id"]: s["data"]["token_sha256"] for s in subentries} == {
        OVEN_ID: REDACTED,
        OVEN2_ID: REDACTED,
    }
    oven_diag = diagnostics["devices"][OVEN_ID]
    assert oven_diag["connected"] is True
    assert oven_diag["peer"] == "127.0.0.1"
    assert oven_diag["clients"] == 1
    assert oven_diag["last_reading_at"] is not None
    assert oven_diag["recent_sessions"][0]["started_by"]["user_id"] == REDACTED
    assert diagnostics["devices"][OVEN2_ID]["connected"] is False
    assert diagnostics["devices"][OVEN2_ID]["recent_sessions"] == []
    # device_id is HA's (random per run); the subentry id is iot_hub_device_id.
    ha_device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, OVEN_ID), init_integration.entry_id
    )
    assert ha_device is not None
    assert oven_diag["recent_sessions"][0]["device_id"] == ha_device.id
    assert oven_diag["recent_sessions"][0]["iot_hub_device_id"] == OVEN_ID
    assert diagnostics == snapshot(
        exclude=props("entry_id", "created_at", "modified_at", "last_reading_at", "device_id")
    )


async def test_mqtt_secrets_and_appliances_in_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The dedicated broker's credentials are redacted; the directory's serials are listed."""
    entry = hub_entry(
        [],
        {
            "mqtt_transport": "home_assistant",
            "mqtt_username": "iot",
            "mqtt_password": "s3cret",
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub_of(entry).kind_parts["appliance"].unknown_mqtt_device(
        None, '{"serial_number":"ABC","estado":"activo","parametros":{"temp":1}}'
    )
    result = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert "s3cret" not in str(result)
    assert result["entry"]["options"]["mqtt_password"] == "**REDACTED**"
    assert result["mqtt"]["running"] is False
    devices = result["kinds"]["appliance"]["devices"]
    assert devices["ABC"]["claimed"] is False and devices["ABC"]["id"] == 1
