"""Heart rate today and its statistics from what the real recorder holds (seed 004, A4-1)."""

from __future__ import annotations

import json
from unittest.mock import patch

from homeassistant.components.recorder import Recorder
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager

from custom_components.iot_hub.kinds.sensor.heart_rate import heart_rate_entity

from .conftest import WsConnect, every_reading, frame, state_of, until
from .sensor_tools import (
    WEARABLE,
    WEARABLE_ID,
    WEARABLE_TOKEN,
    Subscribe,
    stream_fixture,  # noqa: F401  (the fixture)
    subscribe_fixture,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The real recorder: requested before ``hass`` (see ha-api-notes §10, pitfall 4)."""


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """The wearable of consumer 22."""
    return [every_reading(WEARABLE)]  # every heart rate recorded: the stats are exact


async def _record(hass: HomeAssistant, ws_connect: WsConnect, rates: list[float]) -> None:
    device = await ws_connect(f"?token={WEARABLE_TOKEN}")
    for bpm in rates:
        await device.send_str(json.dumps({"heart_rate": bpm}))
        await until(lambda b=bpm: state_of(hass, "sensor.wearable_heart_rate") == str(float(b)))
    await device.close()
    await async_wait_recording_done(hass)


async def test_today_and_stats_come_from_the_recorder_after_a_restart(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    subscribe: Subscribe,
) -> None:
    """Recorded states (not ``unavailable``) make the day; live readings are added after."""
    await _record(hass, ws_connect, [72, 80, 65])
    assert heart_rate_entity(hass, WEARABLE_ID) == "sensor.wearable_heart_rate"
    # A restart: nothing of today is left in memory, the recorder has it.
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)

    today = await subscribe("heart_rate_today")
    stats = await subscribe("heart_rate_stats")
    snapshot = await frame(today)
    assert snapshot["type"] == "heart_rate_update"
    assert snapshot["data"]["current"] == 65
    assert [r["bpm"] for r in snapshot["data"]["readings"]] == [72, 80, 65]
    assert snapshot["data"]["readings"][0]["timestamp"].endswith("+00:00")
    summary = await frame(stats)
    assert summary == {
        "type": "heart_rate_stats_update",
        "data": {
            "period": "today",
            "date": snapshot["data"]["date"],
            "count": 3,
            "min": 65,
            "max": 80,
            "avg": 72.3,
        },
    }

    device = await ws_connect(f"?token={WEARABLE_TOKEN}")
    await device.send_str('{"heart_rate": 91}')
    pushed = await frame(today)
    assert pushed["data"]["current"] == 91
    assert [r["bpm"] for r in pushed["data"]["readings"]] == [72, 80, 65, 91]
    assert (await frame(stats))["data"]["max"] == 91
    await today.close()
    await stats.close()


async def test_first_reading_of_the_run_counts_once(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    subscribe: Subscribe,
) -> None:
    """A reading that starts the day's read is in it once, recorded or not yet."""
    await _record(hass, ws_connect, [70, 75])
    stats = await subscribe("heart_rate_stats")
    assert (await frame(stats))["data"]["count"] == 2
    await stats.close()


async def test_a_broken_database_leaves_an_empty_day(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    subscribe: Subscribe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The history cannot be read: one log line, the stream still answers."""
    await _record(hass, ws_connect, [70])
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    with patch(
        "homeassistant.components.recorder.history.state_changes_during_period",
        side_effect=RuntimeError("disk gone"),
    ):
        today = await subscribe("heart_rate_today")
        assert (await frame(today))["data"]["readings"] == []
    assert caplog.text.count("Could not read today's heart rates of consumer 22") == 1
    await today.close()


async def test_any_heart_rate_name_and_only_finite_numbers(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    subscribe: Subscribe,
) -> None:
    """``pulso`` is a heart rate too; a recorded ``inf`` is no reading; no sensor yet: empty."""
    first = await subscribe("heart_rate_today")
    assert (await frame(first))["data"]["readings"] == []  # no heart-rate sensor yet
    await first.close()
    device = await ws_connect(f"?token={WEARABLE_TOKEN}")
    await device.send_str('{"pulso": 60}')
    await until(lambda: state_of(hass, "sensor.wearable_heart_rate") == "60.0")
    hass.states.async_set("sensor.wearable_heart_rate", "inf")
    await device.close()
    await async_wait_recording_done(hass)
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    today = await subscribe("heart_rate_today")
    assert [r["bpm"] for r in (await frame(today))["data"]["readings"]] == [60]
    await today.close()
