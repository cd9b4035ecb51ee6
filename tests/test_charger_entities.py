"""Entities of a charger: snapshots per platform, the lifetime energy, card events, emergency."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

from aiohttp import ClientWebSocketResponse
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.kinds.charger.const import CONF_PRICE

from .conftest import WsConnect, every_reading, hub_entry, state_of, until
from .test_charger import CARD, CHARGER_ID, CHARGER_TOKEN, PRICE, card_subentry, charger_subentry

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])


@pytest.fixture
def subentries() -> list:
    """One charger (station 1), showing every reading, and Juan's card."""
    return [
        every_reading(charger_subentry(CHARGER_ID, "Charger 1", CHARGER_TOKEN, "1")),
        card_subentry(CARD, "Juan Pérez"),
    ]


@pytest.fixture
def mock_config_entry(subentries: list) -> MockConfigEntry:
    """The hub entry with a fixed price."""
    return hub_entry(subentries, {CONF_PRICE: PRICE})


@pytest.fixture
def platform() -> Platform:
    """The one platform a test loads (overridden by parametrize)."""
    return Platform.SENSOR


@pytest.fixture
def only_platform(platform: Platform) -> Iterator[None]:
    """Load a single platform, as ``snapshot_platform`` requires."""
    with patch("custom_components.iot_hub.PLATFORMS", [platform]):
        yield


async def _charging(ws_connect: WsConnect) -> ClientWebSocketResponse:
    """The charger online, Juan's card scanned, two metrics 3 s apart at 7200 W."""
    charger = await ws_connect(f"?role=publisher&estacionId=1&token={CHARGER_TOKEN}")
    await charger.receive_json(timeout=5)  # connected
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    session_id = (await charger.receive_json(timeout=5))["session_id"]
    for ts in (1700000000, 1700000003):
        await charger.send_json(
            {"type": "metrics", "session_id": session_id, "v": 230, "a": 31.3, "w": 7200, "ts": ts}
        )
    return charger


@pytest.mark.parametrize(
    "platform", [Platform.SENSOR, Platform.BINARY_SENSOR, Platform.BUTTON, Platform.EVENT]
)
@pytest.mark.usefixtures("entity_registry_enabled_by_default", "only_platform")
async def test_entities(
    hass: HomeAssistant,
    *,
    platform: Platform,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """A charging charger: every entity, its device class, unit, state and translation."""
    hass.config.currency = "EUR"
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    hub = mock_config_entry.runtime_data
    if platform is Platform.EVENT:
        # An event's state is when it fired: snapshot it before any scan (tested below).
        await ws_connect(f"?role=publisher&estacionId=1&token={CHARGER_TOKEN}")
        await until(lambda: hub.devices[CHARGER_ID].connected)
    else:
        await _charging(ws_connect)
        await until(lambda: hub.devices[CHARGER_ID].handler.lifetime.value > 0)
        await hub.sessions.async_flush()  # the lifetime total shows what is on disk
    await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "init_integration")
async def test_charging_states(hass: HomeAssistant, ws_connect: WsConnect) -> None:
    """Meters, cost in HA's currency, user and state follow the session; idle reads zero."""
    assert state_of(hass, "sensor.charger_1_charger_state") == "offline"
    assert state_of(hass, "sensor.charger_1_power") == "unavailable"
    charger = await _charging(ws_connect)
    kwh = 7200 * 3 / 3.6e6
    await until(lambda: state_of(hass, "sensor.charger_1_session_energy") == str(round(kwh, 3)))
    assert state_of(hass, "sensor.charger_1_charger_state") == "charging"
    assert state_of(hass, "sensor.charger_1_power") == "7200.0"
    assert state_of(hass, "sensor.charger_1_voltage") == "230.0"
    assert state_of(hass, "sensor.charger_1_current_user") == "Juan Pérez"
    cost = hass.states.get("sensor.charger_1_session_cost")
    assert cost is not None
    assert float(cost.state) == round(kwh * PRICE, 2)
    assert cost.attributes["unit_of_measurement"] == hass.config.currency
    await hass.config_entries.async_entries(DOMAIN)[0].runtime_data.sessions.async_flush()
    lifetime = hass.states.get("sensor.charger_1_lifetime_energy")
    assert lifetime is not None
    assert lifetime.attributes["state_class"] == "total_increasing"
    assert float(lifetime.state) == pytest.approx(kwh, abs=1e-4)
    total_cost = hass.states.get("sensor.charger_1_lifetime_cost")
    assert total_cost is not None
    assert total_cost.attributes["state_class"] == "total"
    assert float(total_cost.state) == pytest.approx(kwh * PRICE, abs=1e-4)

    await charger.send_json({"type": "stop"})
    await until(lambda: state_of(hass, "sensor.charger_1_charger_state") == "available")
    assert state_of(hass, "sensor.charger_1_power") == "0.0"
    assert state_of(hass, "sensor.charger_1_session_energy") == "0.0"
    assert state_of(hass, "sensor.charger_1_last_session_energy") == str(round(kwh, 3))
    assert float(state_of(hass, "sensor.charger_1_lifetime_energy") or 0) == pytest.approx(
        kwh, abs=1e-4
    )


@pytest.mark.parametrize(
    ("stored_device", "expected"),
    [
        (CHARGER_ID, 123.4),  # this charger's: a lost or older Store cannot lower it
        ("a-removed-charger", 0.0),  # a removed device that had the same entity id
    ],
)
async def test_lifetime_energy_never_drops_below_what_ha_showed(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, stored_device: str, expected: float
) -> None:
    """The restored total raises the hub's, if it is this device's."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State("sensor.charger_1_lifetime_energy", "123.4"),
                {
                    "native_value": 123.4,
                    "native_unit_of_measurement": "kWh",
                    "device_id": stored_device,
                },
            )
        ],
    )
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.runtime_data.devices[CHARGER_ID].handler.lifetime.value == expected
    assert state_of(hass, "sensor.charger_1_lifetime_energy") == str(expected)
    # What HA stores on the way out names the device.
    sensor = hass.data["sensor"].get_entity("sensor.charger_1_lifetime_energy")
    assert sensor.extra_restore_state_data.as_dict()["device_id"] == CHARGER_ID


@pytest.mark.usefixtures("init_integration")
async def test_every_scan_is_an_event(hass: HomeAssistant, ws_connect: WsConnect) -> None:
    """A repeated card fires again (a state machine value would not change)."""
    charger = await ws_connect(f"?role=publisher&estacionId=1&token={CHARGER_TOKEN}")
    await charger.receive_json(timeout=5)
    seen: list[tuple[str, str | None, str | None]] = []
    for uid in ("STRANGER-01", "STRANGER-01", CARD):
        await charger.send_json({"type": "nfc_scan", "nfc_uid": uid})
        await charger.receive_json(timeout=5)  # the reply follows the event
        state = hass.states.get("event.charger_1_card_scan")
        assert state is not None
        seen.append((state.state, state.attributes["event_type"], state.attributes["user_name"]))
    assert [kind for _, kind, _ in seen] == ["rejected", "rejected", "authorised"]
    assert seen[2][2] == "Juan Pérez"
    assert len({fired_at for fired_at, _, _ in seen}) == 3  # the repeat is an event of its own


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "init_integration")
async def test_emergency_sensor_and_clear_button(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """The emergency shows, survives the charger leaving, and the button clears it."""
    charger = await _charging(ws_connect)
    await charger.send_json({"type": "emergency"})
    await until(lambda: state_of(hass, "binary_sensor.charger_1_emergency_stop") == "on")
    assert state_of(hass, "sensor.charger_1_charger_state") == "emergency"
    await charger.close()
    await until(lambda: state_of(hass, "binary_sensor.charger_1_connectivity") == "off")
    assert state_of(hass, "binary_sensor.charger_1_emergency_stop") == "on"
    await hass.services.async_call(
        "button",
        "press",
        {ATTR_ENTITY_ID: "button.charger_1_clear_emergency"},
        blocking=True,
    )
    assert state_of(hass, "binary_sensor.charger_1_emergency_stop") == "off"
    assert state_of(hass, "sensor.charger_1_charger_state") == "offline"
