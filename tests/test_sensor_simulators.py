"""The sensor simulators (environment sensor, wearable) against the real integration.

They connect through HA's real HTTP server (device WebSocket) or the machine's Mosquitto
(MQTT) as devices on the network would. What they sent is compared with what the hub's feed
saw, reading by reading, and with the entities' states; the models are checked for plausible
values on their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
import math
import random
from types import MappingProxyType
from typing import Any
import uuid

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_state_change_event
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.const import SUBENTRY_DEVICE
from custom_components.iot_hub.feed import FeedEvent, FeedKind, signal_feed
from simulators.environment_sensor import (
    EnvironmentReadings,
    RoomModel,
    async_main as environment_main,
    environment_mqtt,
    environment_readings,
    environment_ws,
    utc_timestamp,
)
from simulators.mqtt_device import MqttConnection
from simulators.sensor_device import Pacer, ReadingLog, SensorRejectedError, encode
from simulators.wearable import (
    GRAVITY,
    WearableReadings,
    WearerModel,
    async_main as wearable_main,
    wearable_readings,
    wearable_ws,
)

from .appliance_tools import broker_options, load_broker_hub, unique_prefix
from .conftest import every_reading, hub_of, state_of, until
from .sensor_tools import ENV, ENV_TOKEN, WEARABLE, WEARABLE_TOKEN

# aiohttp re-arms the server socket's heartbeat timer when a closing socket still receives
# data (iot_hub's endpoint uses heartbeat=30), so that timer can outlive a test.
pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

type Readings = list[dict[str, float]]


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor (sensor_id 1) and a wearable (consumer 22)."""
    return [every_reading(ENV), every_reading(WEARABLE)]  # the entities show every reading


def feed_readings(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Readings]:
    """Every reading the hub's feed publishes, by device name, in order."""
    seen: dict[str, Readings] = {}

    @callback
    def on_event(event: FeedEvent) -> None:
        if event.kind is FeedKind.READING:
            seen.setdefault(event.device_name, []).append(dict(event.data["values"]))

    entry.async_on_unload(async_dispatcher_connect(hass, signal_feed(entry.entry_id), on_event))
    return seen


def states_seen(hass: HomeAssistant, *entity_ids: str) -> dict[str, list[str]]:
    """Every state the entities take from now on, in order."""
    seen: dict[str, list[str]] = {entity_id: [] for entity_id in entity_ids}

    @callback
    def on_change(event: Event[EventStateChangedData]) -> None:
        if (new := event.data["new_state"]) is not None:
            seen[event.data["entity_id"]].append(new.state)

    async_track_state_change_event(hass, entity_ids, on_change)
    return seen


def shown_last(states: list[str]) -> str:
    """The last value shown while the device was connected (it is unavailable after)."""
    assert states[-1] == "unavailable"
    return states[-2]


def values_of(sent: Any) -> Readings:
    """The named numbers of readings as sent (what the hub keeps of them)."""
    meta = {"sensor_id", "timestamp"}
    return [{k: float(v) for k, v in r.items() if k not in meta} for r in sent]


async def test_environment_sensor_readings_become_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_url: str
) -> None:
    """Every seed-001 reading arrives as sent; the last one is what the entities show."""
    seen = feed_readings(hass, init_integration)
    shown = states_seen(hass, "sensor.environment_temperature", "sensor.environment_humidity")
    sensor = environment_ws(
        ws_url,
        ENV_TOKEN,
        interval=0.02,
        readings=12,
        source=environment_readings(seed=3, spike_every=5, spike_value=99.5),
        heartbeat=None,
    )
    await sensor.run()  # returns after the 12th reading

    assert sensor.readings_sent == 12
    assert not sensor.log_of.errors
    sent = list(sensor.log_of.recent)
    assert all(r["sensor_id"] == 1 and r["timestamp"].endswith("Z") for r in sent)
    await until(lambda: len(seen.get("Environment", [])) == 12)
    assert seen["Environment"] == values_of(sent)
    # Readings 5 and 10 are the injected spikes; the others are a room's.
    temperatures = [r["temperatura"] for r in sent]
    assert [i + 1 for i, t in enumerate(temperatures) if t == 99.5] == [5, 10]
    assert all(15.0 < t < 30.0 for i, t in enumerate(temperatures) if i + 1 not in (5, 10))
    last = sent[-1]
    await until(lambda: shown["sensor.environment_humidity"][-1:] == ["unavailable"])
    assert shown_last(shown["sensor.environment_temperature"]) == str(last["temperatura"])
    assert shown_last(shown["sensor.environment_humidity"]) == str(last["humedad"])
    humidity = hass.states.get("sensor.environment_humidity")
    assert humidity is not None and humidity.attributes["unit_of_measurement"] == "%"


async def test_wearable_samples_heart_rate_and_desires(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_url: str
) -> None:
    """50 Hz samples (one frame each) all arrive; heart rate and desires ride on some."""
    seen = feed_readings(hass, init_integration)
    shown = states_seen(hass, "sensor.wearable_heart_rate", "sensor.wearable_acceleration_z")
    source = wearable_readings(desire_every=0.3, seed=5)
    wearable = wearable_ws(
        ws_url, WEARABLE_TOKEN, readings=60, source=source, bearer=True, heartbeat=None
    )
    await wearable.run()  # 60 samples at 50 Hz: 1.2 s

    assert wearable.readings_sent == 60
    assert not wearable.log_of.errors  # within the 50 frames/s a connection may send
    sent = list(wearable.log_of.recent)
    await until(lambda: len(seen.get("Wearable", [])) == 60)
    assert seen["Wearable"] == values_of(sent)
    motion = {"accel_x", "accel_y", "accel_z", "gyro_x", "gyro_y", "gyro_z"}
    assert all(motion <= r.keys() for r in sent)
    with_rate = [r for r in sent if "heart_rate" in r]
    assert "heart_rate" in sent[0] and 1 <= len(with_rate) <= 3
    assert source.desires == sum("desire" in r for r in sent) >= 2
    last_rate = with_rate[-1]["heart_rate"]
    await until(lambda: shown["sensor.wearable_acceleration_z"][-1:] == ["unavailable"])
    assert shown_last(shown["sensor.wearable_heart_rate"]) == f"{float(last_rate)}"
    assert shown_last(shown["sensor.wearable_acceleration_z"]) == str(sent[-1]["accel_z"])
    gyro = hass.states.get("sensor.wearable_angular_velocity_x")
    assert gyro is not None and gyro.attributes["unit_of_measurement"] == "°/s"


@pytest.mark.usefixtures("init_integration")
async def test_sensor_gives_up_on_a_bad_token(
    ws_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """4003 is final: no reconnect loop; the command line exits with 1 and says why."""
    sensor = environment_ws(ws_url, "not-the-token", interval=0.05, heartbeat=None)
    with pytest.raises(SensorRejectedError) as err:
        await sensor.run()
    assert err.value.code == 4003
    assert sensor.connections == 1
    assert await environment_main(["--url", ws_url, "--token", "", "-q"]) == 1
    assert await wearable_main(["--url", ws_url, "--token", "wrong", "-q"]) == 1
    assert "Check --token" in capsys.readouterr().err


async def test_command_lines_run_for_a_duration(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--rate`` and ``--duration`` bound a run; every reading is printed unless ``-q``."""
    seen = feed_readings(hass, init_integration)
    argv = ["--url", ws_url, "--token", ENV_TOKEN, "--rate", "20", "--duration", "0.2"]
    assert await environment_main([*argv, "--spike-every", "2", "--seed", "1"]) == 0
    assert capsys.readouterr().out.count('"temperatura":') == 4
    argv = ["--url", ws_url, "--token", WEARABLE_TOKEN, "--duration", "0.1", "--bearer", "-q"]
    assert await wearable_main([*argv, "--desire-every", "0.05"]) == 0
    assert '"accel_x"' not in capsys.readouterr().out
    await until(lambda: len(seen.get("Environment", [])) == 4)
    assert seen["Environment"][1]["temperatura"] == 120.0  # every 2nd: the default spike
    await until(lambda: len(seen.get("Wearable", [])) == 5)


@pytest.mark.parametrize(
    "argv",
    [
        [],  # neither a WebSocket nor MQTT
        ["--url", "ws://x/api/iot_hub/ws", "--token", "t", "--mqtt-id", "m"],
        ["--mqtt-id", "m", "--rate", "0"],
        ["--mqtt-id", "m", "--duration", "-1"],
        ["--mqtt-id", "m", "--spike-every", "0"],
        ["--mqtt-id", "a/b"],
    ],
)
async def test_environment_command_line_errors(argv: list[str]) -> None:
    """Arguments that cannot work are refused before connecting (exit status 2)."""
    with pytest.raises(SystemExit) as exited:
        await environment_main(argv)
    assert exited.value.code == 2


@pytest.mark.parametrize(
    "argv", [["--token", "t"], ["--url", "ws://x", "--token", "t", "--desire-every", "0"]]
)
async def test_wearable_command_line_errors(argv: list[str]) -> None:
    """A wearable needs a URL and a token, and a positive desire period."""
    with pytest.raises(SystemExit) as exited:
        await wearable_main(argv)
    assert exited.value.code == 2


@pytest.fixture
def mqtt_id() -> str:
    """An MQTT id of this test's own."""
    return f"env-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def mqtt_hub(
    hass: HomeAssistant, mqtt_id: str, socket_enabled: None
) -> AsyncIterator[tuple[MockConfigEntry, str]]:
    """An MQTT environment sensor on a dedicated connection to the local broker."""
    prefix = unique_prefix()
    subentry = ConfigSubentryData(
        data=MappingProxyType(
            {
                "kind": "sensor",
                "transport": "mqtt",
                "mqtt_id": mqtt_id,
                **{k: v for k, v in ENV["data"].items() if k != "token_hash"},
            }
        ),
        subentry_id="mqttenv",
        subentry_type=SUBENTRY_DEVICE,
        title="MQTT environment",
        unique_id=mqtt_id,
    )
    hub = await load_broker_hub(hass, [subentry], broker_options(prefix))
    yield hub.entry, prefix
    await hass.config_entries.async_unload(hub.entry_id)


async def test_environment_sensor_over_mqtt(
    hass: HomeAssistant, mqtt_hub: tuple[MockConfigEntry, str], mqtt_id: str
) -> None:
    """The same readings on ``<prefix>/<id>/state`` through Mosquitto; offline after."""
    entry, prefix = mqtt_hub
    seen = feed_readings(hass, entry)
    sensor = environment_mqtt(
        mqtt_id,
        interval=0.05,
        readings=8,
        source=environment_readings(seed=2, spike_every=4),
        prefix=prefix,
        connection=MqttConnection(clean_session=True),
    )
    await sensor.run()  # returns after the 8th reading, having published offline

    assert sensor.readings_sent == 8
    sent = list(sensor.log_of.recent)
    await until(lambda: len(seen.get("MQTT environment", [])) == 8)
    assert seen["MQTT environment"] == values_of(sent)
    assert [r["temperatura"] for r in sent][3::4] == [120.0, 120.0]
    assert (sensor.topics.state, encode(sent[0])) in sensor.published
    assert sensor.published[-1] == (f"{prefix}/{mqtt_id}/status", "offline")
    await until(lambda: state_of(hass, "sensor.mqtt_environment_temperature") == "unavailable")
    assert not hub_of(entry).devices["mqttenv"].connected


def test_room_model_drifts_plausibly() -> None:
    """A simulated day-cycle of 1 s readings stays in a room's range and moves."""
    room = RoomModel(rng=random.Random(7))
    readings = [room.advance(1.0) for _ in range(3600)]
    temperatures = [t for t, _ in readings]
    humidities = [h for _, h in readings]
    assert 18.0 < min(temperatures) < max(temperatures) < 26.0
    assert max(temperatures) - min(temperatures) > 2.0  # the cycle shows
    assert 40.0 < min(humidities) < max(humidities) < 70.0
    # One decimal, as a DHT22 gives.
    assert all(round(t, 1) == t and round(h, 1) == h for t, h in readings)
    # Warmer air, lower relative humidity.
    warm = [h for t, h in readings if t > 23.0]
    cool = [h for t, h in readings if t < 21.0]
    assert sum(warm) / len(warm) < sum(cool) / len(cool)


def test_wearer_model_is_plausible() -> None:
    """Gravity on z on average, motion that grows with activity, a pulse in range."""
    source = WearableReadings(WearerModel(rng=random.Random(3)), desire_every=1.0)
    samples = [source(0.02) for _ in range(50 * 300)]  # five minutes at 50 Hz
    mean_z = sum(s["accel_z"] for s in samples) / len(samples)
    assert abs(mean_z - GRAVITY) < 0.2
    assert max(abs(s["gyro_x"]) for s in samples) > 30.0  # it moved at some point
    rates = [s["heart_rate"] for s in samples if "heart_rate" in s]
    assert 290 <= len(rates) <= 301  # about one a second
    assert 50 <= min(rates) < max(rates) <= 180
    desires = [s["desire"] for s in samples if "desire" in s]
    assert 290 <= len(desires) <= 301
    assert all(1 <= d <= 10 for d in desires)


def test_models_refuse_bad_periods() -> None:
    """Periods and counts must be positive."""
    with pytest.raises(ValueError, match="spike_every"):
        EnvironmentReadings(spike_every=0)
    with pytest.raises(ValueError, match="desire_every"):
        WearableReadings(desire_every=0)
    with pytest.raises(ValueError, match="interval"):
        Pacer(0)
    with pytest.raises(ValueError, match="readings"):
        ReadingLog(0, print, log_readings=False)


def test_reading_log_keeps_errors_and_notes_the_unexpected() -> None:
    """Error frames are kept; anything else is only logged."""
    lines: list[str] = []
    log = ReadingLog(None, lines.append, log_readings=False)
    log.heard('{"type": "error", "error": "temperatura must be a number"}')
    log.heard("START")
    assert log.errors == ["temperatura must be a number"]
    assert lines[-1] == "Unexpected frame: 'START'"
    assert not log.done


def test_timestamps_are_seed_001s() -> None:
    """UTC, whole seconds, Z."""
    at = datetime(2026, 12, 7, 7, 30, 15, 999_000, tzinfo=timezone(timedelta(hours=2)))
    assert utc_timestamp(at) == "2026-12-07T05:30:15Z"
    assert math.isfinite(environment_readings(seed=1)(1.0)["temperatura"])
