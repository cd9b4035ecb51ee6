"""Only what changed is written: a reading costs a state write only where it changed the state.

Real parts: readings over real WebSockets through HA's HTTP server into the real entities;
writes and HA's state events counted as ``tests/state_writes.py`` says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.entity_component import EntityComponent
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.iot_hub.entity import IotHubEntity
from custom_components.iot_hub.kinds.charger.const import CONF_PRICE

from .conftest import (
    OVEN_ID,
    OVEN_TOKEN,
    WsConnect,
    every_reading,
    hub_entry,
    hub_of,
    oven_subentry,
    state_of,
    until,
)
from .state_writes import Writes, applied, counting_writes
from .test_charger import CARD, CHARGER_ID, CHARGER_TOKEN, PRICE, card_subentry, charger_subentry

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

TEMPERATURE = "sensor.oven_temperature"
CHARGER = "sensor.charger_1_"
# The charger's sensors that follow its readings (all enabled in these tests).
CHARGER_READING_SENSORS = tuple(
    CHARGER + key
    for key in (
        "voltage",
        "current",
        "power",
        "session_energy",
        "session_cost",
        "session_duration",
        "lifetime_energy",
        "lifetime_cost",
    )
)


@pytest.fixture
def writes(hass: HomeAssistant) -> Iterator[Writes]:
    """Every state write of an iot_hub entity, and HA's state events."""
    with counting_writes(hass) as counted:
        yield counted


def only(counter: Counter[str], entity_ids: tuple[str, ...]) -> dict[str, int]:
    """The counts of these entities that are not zero."""
    return {entity_id: counter[entity_id] for entity_id in entity_ids if counter[entity_id]}


# -- a charger ----------------------------------------------------------------------------


@pytest.fixture
def charger_entry() -> MockConfigEntry:
    """One charger (station 1) showing every reading, Juan's card, a fixed price."""
    return hub_entry(
        [
            every_reading(charger_subentry(CHARGER_ID, "Charger 1", CHARGER_TOKEN, "1")),
            card_subentry(CARD, "Juan Pérez"),
        ],
        {CONF_PRICE: PRICE},
    )


async def _charger_online(
    hass: HomeAssistant, entry: MockConfigEntry, ws_connect: WsConnect
) -> ClientWebSocketResponse:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    charger = await ws_connect(f"?role=publisher&estacionId=1&token={CHARGER_TOKEN}")
    await charger.receive_json(timeout=5)  # connected
    return charger


def metrics(session_id: int | None, v: float, a: float, w: float, ts: int) -> dict[str, Any]:
    """A seed 002 metrics frame."""
    return {"type": "metrics", "session_id": session_id, "v": v, "a": a, "w": w, "ts": ts}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_charger_frame_writes_the_sensors_it_changed(
    hass: HomeAssistant, charger_entry: MockConfigEntry, ws_connect: WsConnect, writes: Writes
) -> None:
    """Eight sensors follow a charger's metrics: each frame writes those whose state changed.

    Before, every frame wrote all eight, and HA's state machine found about half of them
    unchanged (``state_reported``): now no write is of an unchanged state.
    """
    charger = await _charger_online(hass, charger_entry, ws_connect)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    session_id = (await charger.receive_json(timeout=5))["session_id"]
    await applied(hass, CHARGER_ID, charger.send_json(metrics(session_id, 230, 31.3, 7200, 1000)))
    writes.clear()

    # 3 s later at the same power: the session's energy and cost grow; the meters hold.
    await applied(hass, CHARGER_ID, charger.send_json(metrics(session_id, 230, 31.3, 7200, 1003)))
    meters = (CHARGER + "voltage", CHARGER + "current", CHARGER + "power")
    assert only(writes.written, meters) == {}
    assert writes.written[CHARGER + "session_energy"] == 1
    assert writes.written[CHARGER + "session_cost"] == 1

    # The same frame again (its interval already counted): nothing changes, nothing written
    # (the session's duration, rounded to seconds, may tick on its own).
    writes.clear()
    await applied(hass, CHARGER_ID, charger.send_json(metrics(session_id, 230, 31.3, 7200, 1003)))
    assert only(writes.written, CHARGER_READING_SENSORS[:-3] + CHARGER_READING_SENSORS[-2:]) == {}

    # Only the voltage moves: one write, the voltage's.
    writes.clear()
    await applied(hass, CHARGER_ID, charger.send_json(metrics(session_id, 231, 31.3, 7200, 1003)))
    assert only(writes.written, CHARGER_READING_SENSORS[:-3] + CHARGER_READING_SENSORS[-2:]) == {
        CHARGER + "voltage": 1
    }
    assert state_of(hass, CHARGER + "voltage") == "231.0"

    # Frames of every sort: the writes are the state changes, and none is of a same state.
    writes.clear()
    for ts, (v, a, w) in enumerate(
        [(231, 31.3, 7200), (231, 31.3, 7200), (229, 31.3, 7160), (229, 31.3, 7160), (229, 0, 0)],
        start=1006,
    ):
        await applied(hass, CHARGER_ID, charger.send_json(metrics(session_id, v, a, w, ts)))
    assert only(writes.written, CHARGER_READING_SENSORS) == only(
        writes.changed, CHARGER_READING_SENSORS
    )
    assert only(writes.reported, CHARGER_READING_SENSORS) == {}
    assert sum(writes.written[entity_id] for entity_id in CHARGER_READING_SENSORS) < 5 * len(
        CHARGER_READING_SENSORS
    )


async def test_a_restored_total_is_written_only_when_it_grows(
    hass: HomeAssistant, charger_entry: MockConfigEntry, ws_connect: WsConnect, writes: Writes
) -> None:
    """The lifetime energy, restored from what HA showed, is not rewritten by idle frames."""
    lifetime = CHARGER + "lifetime_energy"
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(lifetime, "123.4"),
                {
                    "native_value": 123.4,
                    "native_unit_of_measurement": "kWh",
                    "device_id": CHARGER_ID,
                },
            )
        ],
    )
    charger = await _charger_online(hass, charger_entry, ws_connect)
    await until(lambda: hub_of(hass).devices[CHARGER_ID].connected)
    await hass.async_block_till_done()
    assert state_of(hass, lifetime) == "123.4"
    writes.clear()
    for ts in (1000, 1003, 1006):  # idle: no session to meter
        await applied(hass, CHARGER_ID, charger.send_json(metrics(None, 230, 0, 0, ts)))
    assert writes.written[lifetime] == 0
    assert state_of(hass, lifetime) == "123.4"
    component: EntityComponent[IotHubEntity] = hass.data["entity_components"]["sensor"]
    sensor = component.get_entity(lifetime)
    assert sensor is not None
    assert sensor.extra_restore_state_data.as_dict()["native_value"] == 123.4  # type: ignore[attr-defined]

    # A session's energy reaches the total (when it is on disk): written, once. (The session's
    # start is written at once, as every change that is not a reading is.)
    await charger.send_json({"type": "nfc_scan", "nfc_uid": CARD})
    session_id = (await charger.receive_json(timeout=5))["session_id"]
    await hass.async_block_till_done()
    writes.clear()
    for ts in (1010, 1013):
        await applied(hass, CHARGER_ID, charger.send_json(metrics(session_id, 230, 31.3, 7200, ts)))
    await charger_entry.runtime_data.sessions.async_flush()
    await hass.async_block_till_done()
    assert float(state_of(hass, lifetime) or 0) == pytest.approx(123.4 + 7200 * 3 / 3.6e6)
    assert writes.written[lifetime] == 1


# -- an oven ------------------------------------------------------------------------------

# The oven showing every reading (no record budget).
EVERY_READING_OVEN = pytest.mark.parametrize(
    "subentries", [[every_reading(oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN))]]
)


async def _oven_online(hass: HomeAssistant, ws_connect: WsConnect) -> ClientWebSocketResponse:
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: hub_of(hass).devices[OVEN_ID].connected)
    await hass.async_block_till_done()
    return oven


@EVERY_READING_OVEN
@pytest.mark.usefixtures("init_integration")
async def test_an_oven_repeating_its_temperature_is_written_once(
    hass: HomeAssistant, ws_connect: WsConnect, writes: Writes
) -> None:
    """The same temperature again and again: one write; a change, or the oven leaving, another."""
    oven = await _oven_online(hass, ws_connect)
    writes.clear()
    for _ in range(5):
        await applied(hass, OVEN_ID, oven.send_str("180.0"))
    assert writes.written[TEMPERATURE] == 1
    await applied(hass, OVEN_ID, oven.send_str("181.5"))
    assert writes.written[TEMPERATURE] == 2
    assert state_of(hass, TEMPERATURE) == "181.5"
    assert writes.reported[TEMPERATURE] == 0

    # Availability is written at once, both ways, whatever the value.
    await oven.close()
    await until(lambda: state_of(hass, TEMPERATURE) == "unavailable")
    assert writes.written[TEMPERATURE] == 3
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, TEMPERATURE) == "181.5")
    assert writes.written[TEMPERATURE] == 4
    # The state written on reconnecting is the last reading's: the same again writes nothing.
    await applied(hass, OVEN_ID, oven.send_str("181.5"))
    assert writes.written[TEMPERATURE] == 4
    assert writes.written == writes.changed


@EVERY_READING_OVEN
@pytest.mark.usefixtures("init_integration")
async def test_force_update_writes_every_reading(
    hass: HomeAssistant, ws_connect: WsConnect, writes: Writes
) -> None:
    """An entity that forces its updates (HA's ``force_update``) is written for each reading."""
    component: EntityComponent[IotHubEntity] = hass.data["entity_components"]["sensor"]
    entity = component.get_entity(TEMPERATURE)
    assert entity is not None
    entity._attr_force_update = True
    oven = await _oven_online(hass, ws_connect)
    writes.clear()
    for _ in range(3):
        await applied(hass, OVEN_ID, oven.send_str("180.0"))
    assert writes.written[TEMPERATURE] == 3
    assert writes.changed[TEMPERATURE] == 3  # HA records a forced state each time
