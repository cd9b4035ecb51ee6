"""Anomalies and predictions of sensor devices, end to end over the device WebSocket.

A reading breaks a rule: the problem sensor turns on (saying which quantity), the anomaly
event entity fires, ``iot_hub_anomaly`` is fired on HA's bus and the hub's feed carries it; the
first reading that breaks no rule resolves it everywhere. Predictions come from the readings'
trend, at most once per 30 s, on the predicted sensors and on the feed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import json
from types import MappingProxyType
from typing import Any
from unittest.mock import patch

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.iot_hub.const import EVENT_ANOMALY
from custom_components.iot_hub.feed import FeedEvent, FeedKind, signal_feed
from custom_components.iot_hub.kinds.sensor.const import (
    CONF_ANOMALY_RULES,
    CONF_PREDICTION_HORIZON,
    CONF_TREND_WINDOW,
)

from .conftest import WsConnect, every_reading, hub_of, state_of, until
from .sensor_tools import ENV, ENV_ID, ENV_TOKEN, WEARABLE

RULES = {"temperatura": {"min": 0, "max": 40, "jump": 5}, "humedad": {"max": 90}}
START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _with(subentry: ConfigSubentryData, **data: Any) -> ConfigSubentryData:
    return ConfigSubentryData(  # type: ignore[typeddict-item]
        {**subentry, "data": MappingProxyType({**subentry["data"], **data})}
    )


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor with rules (5-minute horizon, 10-minute window); a wearable."""
    return [
        _with(
            every_reading(ENV),
            **{CONF_ANOMALY_RULES: RULES, CONF_PREDICTION_HORIZON: 5, CONF_TREND_WINDOW: 10},
        ),
        every_reading(WEARABLE),
    ]


@pytest.fixture
def feed(hass: HomeAssistant, init_integration: MockConfigEntry) -> Iterator[list[FeedEvent]]:
    """What the hub's feed carries of anomalies and predictions."""
    events: list[FeedEvent] = []

    @callback
    def heard(event: FeedEvent) -> None:
        if event.kind in (FeedKind.ANOMALY, FeedKind.ANOMALY_RESOLVED, FeedKind.PREDICTION):
            events.append(event)

    unsubscribe = async_dispatcher_connect(hass, signal_feed(init_integration.entry_id), heard)
    yield events
    unsubscribe()


async def _send(
    hass: HomeAssistant, ws: ClientWebSocketResponse, reading: dict[str, float]
) -> None:
    """Send a reading and wait until the hub applied it."""
    await ws.send_str(json.dumps(reading))
    handler = hub_of(hass).devices[ENV_ID].handler
    await until(lambda: all(handler.values.get(k) == v for k, v in reading.items()))


async def test_out_of_range_then_back(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    feed: list[FeedEvent],
    entity_registry: er.EntityRegistry,
) -> None:
    """Above max: problem on, event fired, bus event and feed event; back in range: resolved.
    Predicted sensors are registered disabled (one click away)."""
    bus = async_capture_events(hass, EVENT_ANOMALY)
    env = await ws_connect(f"?token={ENV_TOKEN}")
    await _send(hass, env, {"temperatura": 22.0, "humedad": 50.0})
    await hass.async_block_till_done()
    predicted = entity_registry.async_get("sensor.environment_predicted_temperatura")
    assert predicted is not None
    assert predicted.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert state_of(hass, "binary_sensor.environment_problem") == "off"
    assert state_of(hass, "event.environment_anomaly") == "unknown"

    await _send(hass, env, {"temperatura": 24.0, "humedad": 95.0})
    problem = hass.states.get("binary_sensor.environment_problem")
    assert problem is not None and problem.state == "on"
    detected = {"quantity": "humedad", "value": 95.0, "rule": "max", "limit": 90.0}
    assert problem.attributes["anomalies"] == [detected]
    event = hass.states.get("event.environment_anomaly")
    assert event is not None
    assert event.attributes["event_type"] == "anomaly_detected"
    assert {k: event.attributes[k] for k in detected} == detected
    (fired,) = bus
    ha_device_id = hub_of(hass).devices[ENV_ID].ha_device_id()
    assert fired.data == {
        "device_id": ha_device_id,
        "device_name": "Environment",
        "event_type": "anomaly_detected",
        **detected,
    }
    assert [(e.kind, e.device_id, dict(e.data)) for e in feed] == [
        (FeedKind.ANOMALY, ENV_ID, detected)
    ]

    await _send(hass, env, {"humedad": 96.0})  # the same anomaly: told once
    assert len(bus) == 1 and len(feed) == 1

    await _send(hass, env, {"humedad": 80.0})
    resolved = {"quantity": "humedad", "value": 80.0, "rule": "max", "limit": 90.0}
    assert state_of(hass, "binary_sensor.environment_problem") == "off"
    event = hass.states.get("event.environment_anomaly")
    assert event is not None and event.attributes["event_type"] == "anomaly_resolved"
    assert bus[-1].data["event_type"] == "anomaly_resolved"
    assert (feed[-1].kind, dict(feed[-1].data)) == (FeedKind.ANOMALY_RESOLVED, resolved)


async def test_a_jump_is_an_anomaly_until_a_steady_reading(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    feed: list[FeedEvent],
) -> None:
    """22 → 30 °C jumps more than 5: anomalous; 30.5 is steady again: resolved."""
    env = await ws_connect(f"?token={ENV_TOKEN}")
    await _send(hass, env, {"temperatura": 22.0})
    await _send(hass, env, {"temperatura": 30.0})
    problem = hass.states.get("binary_sensor.environment_problem")
    assert problem is not None and problem.state == "on"
    jump = {"quantity": "temperatura", "value": 30.0, "rule": "jump", "limit": 5.0}
    assert problem.attributes["anomalies"] == [jump]
    await _send(hass, env, {"temperatura": 30.5})
    assert state_of(hass, "binary_sensor.environment_problem") == "off"
    assert [e.kind for e in feed] == [FeedKind.ANOMALY, FeedKind.ANOMALY_RESOLVED]


async def test_a_device_without_rules_has_no_anomaly_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The wearable has no rules: no problem sensor, no anomaly event entity."""
    assert hass.states.get("binary_sensor.wearable_problem") is None
    assert hass.states.get("event.wearable_anomaly") is None
    assert state_of(hass, "binary_sensor.wearable_connectivity") == "off"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_predictions_from_the_trend(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    feed: list[FeedEvent],
) -> None:
    """A reading every 10 s rising 0.1 °C: after 150 s (a quarter of the 10-minute window) the
    5-minute prediction is the line's value 300 s ahead; rounds come at most every 30 s."""
    env = await ws_connect(f"?token={ENV_TOKEN}")
    # HA's clock stopped and moved by hand (the freezer fixture would stop the loop's clock,
    # and with it every socket wait).
    clock = [START]
    with patch("homeassistant.util.dt.utcnow", lambda: clock[0]):
        for i in range(16):  # 0 .. 150 s
            clock[0] = START + timedelta(seconds=10 * i)
            await _send(hass, env, {"temperatura": 20.0 + 0.1 * i})
        predictions = [e for e in feed if e.kind is FeedKind.PREDICTION]
        # Rounds at 0, 30, ... 150 s; the first with a line is at 150 s.
        (prediction,) = predictions
        data = dict(prediction.data)
        assert data.pop("value") == pytest.approx(21.5 + 0.1 * 30)
        assert data == {
            "quantity": "temperatura",
            "horizon_s": 300.0,
            "predicted_for": START + timedelta(seconds=450),
            "method": "linear_trend",
            "window_s": 600.0,
            "points": 16,
        }
        await until(lambda: state_of(hass, "sensor.environment_predicted_temperatura") != "unknown")
        state = hass.states.get("sensor.environment_predicted_temperatura")
        assert state is not None
        assert float(state.state) == pytest.approx(24.5)
        assert state.attributes["unit_of_measurement"] == "°C"
        assert state.attributes["predicted_for"] == "2026-01-15T12:07:30+00:00"
        # Within 30 s of the last round: no new one.
        clock[0] = START + timedelta(seconds=160)
        await _send(hass, env, {"temperatura": 21.6})
        assert len([e for e in feed if e.kind is FeedKind.PREDICTION]) == 1
        clock[0] = START + timedelta(seconds=180)
        await _send(hass, env, {"temperatura": 21.8})
        assert len([e for e in feed if e.kind is FeedKind.PREDICTION]) == 2


async def test_new_rules_end_the_old_anomalies(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    feed: list[FeedEvent],
) -> None:
    """A rename changes nothing; new rules resolve what the old ones found; a new window
    starts the trends afresh."""
    env = await ws_connect(f"?token={ENV_TOKEN}")
    await _send(hass, env, {"temperatura": 45.0})
    assert state_of(hass, "binary_sensor.environment_problem") == "on"
    subentry = init_integration.subentries[ENV_ID]
    analysis = hub_of(hass).devices[ENV_ID].handler.analysis
    hass.config_entries.async_update_subentry(init_integration, subentry, title="Greenhouse")
    await hass.async_block_till_done()
    assert state_of(hass, "binary_sensor.environment_problem") == "on"
    assert analysis.trends  # kept

    hass.config_entries.async_update_subentry(
        init_integration,
        subentry,
        data={
            **subentry.data,
            CONF_ANOMALY_RULES: {"temperatura": {"max": 50}},
            CONF_TREND_WINDOW: 5,
        },
    )
    await hass.async_block_till_done()
    assert state_of(hass, "binary_sensor.environment_problem") == "off"
    ended = {"quantity": "temperatura", "value": 45.0, "rule": "max", "limit": 40.0}
    assert [(e.kind, dict(e.data)) for e in feed][-1] == (FeedKind.ANOMALY_RESOLVED, ended)
    assert analysis.trends == {}
    assert analysis.diagnostics() == {
        "rules": {"temperatura": {"max": 50.0}},
        "anomalies": [],
        "predictions": {},
        "trend_points": {},
    }


async def test_trends_are_bounded_per_device(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """At most 64 quantities get a trend, however many names a device invents."""
    env = await ws_connect(f"?token={ENV_TOKEN}")
    await _send(hass, env, {f"q{i}": float(i) for i in range(64)})
    await env.send_str('{"one_too_many": 1.0}')
    await _send(hass, env, {"q0": 5.0})  # after the other: it was handled by then
    analysis = hub_of(hass).devices[ENV_ID].handler.analysis
    assert len(analysis.trends) == 64
    assert "one_too_many" not in analysis.trends


@pytest.fixture(params=[Platform.SENSOR, Platform.BINARY_SENSOR, Platform.EVENT])
def only_platform(request: pytest.FixtureRequest) -> Iterator[None]:
    """Load a single platform, as ``snapshot_platform`` requires."""
    with patch("custom_components.iot_hub.PLATFORMS", [request.param]):
        yield


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "only_platform")
async def test_entities(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Names, classes, units and attributes: 150 s of readings, the last one too humid."""
    clock = [START]
    with patch("homeassistant.util.dt.utcnow", lambda: clock[0]):
        mock_config_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        env = await ws_connect(f"?token={ENV_TOKEN}")
        for i in range(16):
            clock[0] = START + timedelta(seconds=10 * i)
            humidity = 95.0 if i == 15 else 50.0
            await _send(hass, env, {"temperatura": 20.0 + 0.1 * i, "humedad": humidity})
        await hass.async_block_till_done()
        await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)
