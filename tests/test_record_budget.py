"""The record budget: what reaches the recorder is bounded per entity; nothing else is held.

Real parts: readings over real WebSockets through HA's HTTP server, states recorded by the
real recorder and read back from its database. HA's timers are moved past each record
interval with ``async_fire_time_changed``, so an interval ends when the test says.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import json

from homeassistant.components.recorder import Recorder, get_instance, history
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_component import EntityComponent
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager

from custom_components.iot_hub.const import DEFAULT_RECORD_INTERVAL
from custom_components.iot_hub.entity import IotHubEntity
from custom_components.iot_hub.feed import FeedEvent, FeedKind, signal_feed
from custom_components.iot_hub.signals import Update

from .conftest import (
    OVEN_ID,
    OVEN_TOKEN,
    WsConnect,
    every_reading,
    hub_of,
    oven_subentry,
    state_of,
    until,
)
from .sensor_tools import ENV, ENV_ID, ENV_TOKEN
from .state_writes import applied, counting_writes

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

TEMPERATURE = "sensor.oven_temperature"
CONNECTIVITY = "binary_sensor.oven_connectivity"


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The real recorder: requested before ``hass`` (see ha-api-notes §10, pitfall 4)."""


def end_interval(hass: HomeAssistant) -> None:
    """HA's timers move past the default record interval: the open intervals end."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=DEFAULT_RECORD_INTERVAL))


async def recorded(hass: HomeAssistant, entity_id: str, since: datetime) -> list[str]:
    """The states of ``entity_id`` the recorder stored since ``since``, oldest first."""
    await async_wait_recording_done(hass)
    changes = await get_instance(hass).async_add_executor_job(
        lambda: history.state_changes_during_period(
            hass, since, entity_id=entity_id, include_start_time_state=False
        )
    )
    return [state.state for state in changes.get(entity_id, [])]


async def send_readings(hass: HomeAssistant, oven: object, values: list[float]) -> None:
    """Send the oven's readings and wait until the hub has the last one."""
    for value in values:
        await oven.send_str(str(value))  # type: ignore[attr-defined]
    handler = hub_of(hass).devices[OVEN_ID].handler
    await until(lambda: handler.temperature == values[-1])


async def test_readings_are_recorded_at_most_once_per_interval(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
) -> None:
    """The default budget: the first reading at once, then one state per interval, the latest.

    Fifty readings over five intervals make six recorded temperatures (elapsed / interval
    + 1): the first reading's, then at each interval's end the last one before it. The
    connection changes the entities at once, within an interval too.
    """
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, CONNECTIVITY) == "on")
    start = dt_util.utcnow()
    value = 100.0
    for interval in range(5):
        values = [value + i for i in range(10)]
        value += 10
        await send_readings(hass, oven, values)
        if interval == 0:  # the first reading after a quiet period is written at once
            assert state_of(hass, TEMPERATURE) == "100.0"
        else:  # the rest wait for the interval's end
            assert state_of(hass, TEMPERATURE) == f"{values[0] - 1}"
        end_interval(hass)
        await hass.async_block_till_done()
        assert state_of(hass, TEMPERATURE) == f"{values[-1]}"
    assert await recorded(hass, TEMPERATURE, start) == [
        "100.0",
        "109.0",
        "119.0",
        "129.0",
        "139.0",
        "149.0",
    ]

    # Quiet past an interval: the next reading is written at once again.
    end_interval(hass)
    await send_readings(hass, oven, [200.0])
    assert state_of(hass, TEMPERATURE) == "200.0"

    # Within an interval, the connection is written at once; so is the oven's going away.
    await send_readings(hass, oven, [201.0, 202.0])
    assert state_of(hass, TEMPERATURE) == "200.0"
    await oven.close()
    await until(lambda: state_of(hass, CONNECTIVITY) == "off")
    assert state_of(hass, TEMPERATURE) == "unavailable"
    end_interval(hass)  # and the interval's end changes nothing
    await hass.async_block_till_done()
    assert state_of(hass, TEMPERATURE) == "unavailable"
    assert (await recorded(hass, TEMPERATURE, start))[-2:] == ["200.0", "unavailable"]
    assert await recorded(hass, CONNECTIVITY, start) == ["off"]


async def test_an_interval_writes_only_what_changed_since_the_last_write(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """At an interval's end, the latest reading is written only if it differs from the state.

    (Each reading is waited for: a repeated value does not show when it arrived.)

    Readings that went and came back within the interval write nothing; the same value
    repeated writes nothing, at once or at the end; a change is written at the end as before.
    """
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, CONNECTIVITY) == "on")
    await hass.async_block_till_done()

    async def each(oven: object, values: list[float]) -> None:
        for value in values:
            await applied(hass, OVEN_ID, oven.send_str(str(value)))  # type: ignore[attr-defined]

    with counting_writes(hass) as writes:
        await each(oven, [100.0])  # at once, and an interval opens
        assert writes.written[TEMPERATURE] == 1
        await each(oven, [101.0, 102.0, 100.0])  # back where it was
        end_interval(hass)
        await hass.async_block_till_done()
        assert writes.written[TEMPERATURE] == 1
        assert state_of(hass, TEMPERATURE) == "100.0"

        await each(oven, [100.0, 100.0])  # the same, within the next interval
        end_interval(hass)
        await hass.async_block_till_done()
        assert writes.written[TEMPERATURE] == 1

        await each(oven, [100.0, 104.0, 105.0])  # a change: at the end
        assert writes.written[TEMPERATURE] == 1
        end_interval(hass)
        await hass.async_block_till_done()
        assert writes.written[TEMPERATURE] == 2
        assert state_of(hass, TEMPERATURE) == "105.0"

        end_interval(hass)  # a quiet interval; then the same value once: nothing written
        await hass.async_block_till_done()
        await each(oven, [105.0])
        assert writes.written[TEMPERATURE] == 2
        assert writes.written == writes.changed


@pytest.mark.parametrize(
    "subentries", [[every_reading(oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN))]]
)
async def test_a_budget_of_zero_records_every_reading(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
) -> None:
    """``record_interval`` 0: each distinct reading is a recorded state, no timer involved."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, CONNECTIVITY) == "on")
    start = dt_util.utcnow()
    values = [20.0 + i / 2 for i in range(30)]
    await send_readings(hass, oven, values)
    await until(lambda: state_of(hass, TEMPERATURE) == "34.5")
    assert await recorded(hass, TEMPERATURE, start) == [str(value) for value in values]


async def test_sessions_and_apps_get_every_reading_while_states_are_held(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
) -> None:
    """At the default budget the session keeps every reading and the app is told each one."""
    device = hub_of(hass).devices[OVEN_ID]
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: device.connected)
    app = await ws_connect(f"?token={hass_access_token}&device=oven")
    await until(lambda: len(device.clients) == 1)
    await app.send_json({"command": "START"})
    assert await oven.receive_str(timeout=5) == "START"
    session_id = (await app.receive_json(timeout=5))["session_id"]
    values = [50.0 + i for i in range(20)]
    await send_readings(hass, oven, values)
    assert state_of(hass, TEMPERATURE) == "50.0"  # one state; the rest wait for the interval
    notices = [await app.receive_json(timeout=5) for _ in values]
    assert [(n["session_id"], n["temperature"]) for n in notices] == [
        (session_id, value) for value in values
    ]
    session = device.active_session
    assert session is not None
    assert session.measure.summary()["readings"] == len(values)  # type: ignore[attr-defined]


@pytest.mark.parametrize("subentries", [[ENV]])
async def test_the_feed_gets_every_sensor_reading_while_states_are_held(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A sensor device at the default budget: the hub's feed (channels, streams) gets all."""
    readings: list[FeedEvent] = []

    @callback
    def heard(event: FeedEvent) -> None:
        if event.kind is FeedKind.READING:
            readings.append(event)

    init_integration.async_on_unload(
        async_dispatcher_connect(hass, signal_feed(init_integration.entry_id), heard)
    )
    env = await ws_connect(f"?token={ENV_TOKEN}")
    values = [20.0 + i / 10 for i in range(50)]
    for value in values:
        await env.send_str(json.dumps({"temperatura": value, "humedad": 40}))
    await until(lambda: len(readings) == len(values))
    assert [event.data["values"]["temperatura"] for event in readings] == values
    assert all(event.device_id == ENV_ID for event in readings)
    # The entity, created by the first reading, still shows it.
    assert state_of(hass, "sensor.environment_temperature") == "20.0"
    # Any other update is written at once, with the latest reading.
    hub_of(hass).devices[ENV_ID].notify(Update.SESSION)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.environment_temperature") == "24.9"
    # Still within the interval: the next reading waits for its end.
    await env.send_str(json.dumps({"temperatura": 30, "humedad": 40}))
    await until(lambda: len(readings) == len(values) + 1)
    assert state_of(hass, "sensor.environment_temperature") == "24.9"
    end_interval(hass)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.environment_temperature") == "30.0"


async def test_a_removed_device_leaves_no_interval_running(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """Removing the device within an interval cancels its timer: nothing is written after."""
    component: EntityComponent[IotHubEntity] = hass.data["entity_components"]["sensor"]
    entity = component.get_entity(TEMPERATURE)
    assert entity is not None
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await send_readings(hass, oven, [30.0, 31.0])
    assert entity._window is not None
    hass.config_entries.async_remove_subentry(init_integration, OVEN_ID)
    await hass.async_block_till_done()
    assert entity._window is None
    end_interval(hass)
    await hass.async_block_till_done()
    assert hass.states.get(TEMPERATURE) is None
