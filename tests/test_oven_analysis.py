"""An oven's target temperature and its Time to target sensor, from the form to the feed.

The time is the least-squares trend of the last 2 minutes of temperatures, extrapolated to the
target, at most once per 30 s; published on the hub's feed as a prediction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from unittest.mock import patch

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import SOURCE_USER, ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

from custom_components.iot_hub.const import CONF_KIND, CONF_TOKEN_HASH, SUBENTRY_DEVICE
from custom_components.iot_hub.device_flow import CONF_ROTATE_TOKEN
from custom_components.iot_hub.feed import FeedEvent, FeedKind, signal_feed
from custom_components.iot_hub.kinds.oven.config_flow import CONF_TARGET_TEMPERATURE

from .conftest import (
    OVEN2_ID,
    OVEN2_TOKEN,
    OVEN_ID,
    OVEN_TOKEN,
    WsConnect,
    hub_of,
    oven_subentry,
    until,
)
from .test_config_flow import _suggested

START = datetime(2026, 1, 15, 18, 0, tzinfo=UTC)
TIME_TO_TARGET = "sensor.oven_time_to_target"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An oven heating towards 200 °C, and one with no target."""
    oven = oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN)
    return [
        ConfigSubentryData(  # type: ignore[typeddict-item]
            {**oven, "data": MappingProxyType({**oven["data"], CONF_TARGET_TEMPERATURE: 200.0})}
        ),
        oven_subentry(OVEN2_ID, "Oven 2", OVEN2_TOKEN),
    ]


@pytest.fixture
def predictions(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> Iterator[list[FeedEvent]]:
    """The predictions on the hub's feed."""
    events: list[FeedEvent] = []

    @callback
    def heard(event: FeedEvent) -> None:
        if event.kind is FeedKind.PREDICTION:
            events.append(event)

    unsubscribe = async_dispatcher_connect(hass, signal_feed(init_integration.entry_id), heard)
    yield events
    unsubscribe()


async def _heat(
    hass: HomeAssistant,
    oven: ClientWebSocketResponse,
    clock: list[datetime],
    temperatures: list[float],
) -> None:
    """One reading every 2 s (HA's clock moved by hand), each applied before the next."""
    handler = hub_of(hass).devices[OVEN_ID].handler
    for temperature in temperatures:
        await oven.send_str(str(temperature))
        await until(lambda t=temperature: handler.temperature == t)
        clock[0] += timedelta(seconds=2)


@pytest.mark.usefixtures("init_integration")
async def test_time_to_target_while_heating(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    predictions: list[FeedEvent],
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """0.5 °C/s from 100 °C: after 30 s (a quarter of the window) at 115 °C, 170 s to 200 °C;
    cooling: no time (unknown), and nothing published."""
    assert hass.states.get("sensor.oven_2_time_to_target") is None  # no target, no sensor
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    clock = [START]
    with patch("homeassistant.util.dt.utcnow", lambda: clock[0]):
        await _heat(hass, oven, clock, [100.0 + i for i in range(16)])  # 0 .. 30 s
        await hass.async_block_till_done()
        (prediction,) = predictions
        assert dict(prediction.data) == {
            "quantity": "temperature",
            "target": 200.0,
            "time_to_target_s": pytest.approx(170.0),
            "reached_at": START + timedelta(seconds=200),
            "method": "linear_trend",
            "window_s": 120.0,
            "points": 16,
        }
        state = hass.states.get(TIME_TO_TARGET)
        assert state is not None
        assert float(state.state) == pytest.approx(170 / 60)  # shown in minutes
        assert state == snapshot(name="state")
        assert entity_registry.async_get(TIME_TO_TARGET) == snapshot(name="entry")

        # It cools: the line heads away from the target.
        await _heat(hass, oven, clock, [114.0 - 2 * i for i in range(60)])
        await hass.async_block_till_done()
        state = hass.states.get(TIME_TO_TARGET)
        assert state is not None and state.state == "unknown"
        assert len(predictions) == 1


async def test_target_in_the_form(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Added with a target; the saved one shown; set on another oven, its sensor appears;
    cleared, it is stored as none."""
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Kiln", CONF_KIND: "oven"}
    )
    assert result["step_id"] == "details"
    assert _suggested(result) == {}
    for beyond in (-1, 1001):  # 0 to 1000 °C
        with pytest.raises(InvalidData):
            await hass.config_entries.subentries.async_configure(
                result["flow_id"], {CONF_TARGET_TEMPERATURE: beyond}
            )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_TARGET_TEMPERATURE: 900}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = dict(result["data"])
    assert data.pop(CONF_TOKEN_HASH)
    assert data == {CONF_KIND: "oven", CONF_TARGET_TEMPERATURE: 900.0, "record_interval": 10}

    result = await init_integration.start_subentry_reconfigure_flow(hass, OVEN2_ID)
    assert _suggested(result) == {}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Oven 2", CONF_TARGET_TEMPERATURE: 180, CONF_ROTATE_TOKEN: False},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.subentries[OVEN2_ID].data[CONF_TARGET_TEMPERATURE] == 180.0
    assert hass.states.get("sensor.oven_2_time_to_target") is not None

    result = await init_integration.start_subentry_reconfigure_flow(hass, OVEN2_ID)
    assert _suggested(result)[CONF_TARGET_TEMPERATURE] == 180.0
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Oven 2", CONF_ROTATE_TOKEN: False}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.subentries[OVEN2_ID].data[CONF_TARGET_TEMPERATURE] is None
    assert hub_of(hass).devices[OVEN2_ID].handler.target is None
