"""Seed 004's live streams over real sockets: frames, tokens, limits, what survives a restart.

Every frame is checked as the legacy frontend reads it: the snapshot's ``data`` a list of at
most 10 readings newest first, a push one object, ``{"type": "pong"}`` byte for byte.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientWebSocketResponse, WSMsgType, WSServerHandshakeError
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.const import CloseCode
from custom_components.iot_hub.kinds.sensor import stream_views
from custom_components.iot_hub.kinds.sensor.codec import MOTION_KEYS
from custom_components.iot_hub.kinds.sensor.streams import Streams
from custom_components.iot_hub.transport import limits, ws_link

from .conftest import WsConnect, closed_with, frame, hub_of, until
from .sensor_tools import (
    CONSUMER,
    ENV,
    MOTION,
    WEARABLE,
    WEARABLE_TOKEN,
    Subscribe,
    sensor_live,
    stream_fixture,  # noqa: F401  (the fixture)
    subscribe_fixture,  # noqa: F401  (the fixture)
)

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

READING_KEYS = ["id", *MOTION_KEYS, "created_at"]


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor (no consumer) and a wearable (consumer 22)."""
    return [ENV, WEARABLE]


def streams_of(hass: HomeAssistant) -> Streams:
    """The loaded hub's streams."""
    return sensor_live(hass).streams


async def wearable(ws_connect: WsConnect) -> ClientWebSocketResponse:
    """The wearable's device connection."""
    return await ws_connect(f"?token={WEARABLE_TOKEN}")


@pytest.mark.usefixtures("init_integration")
async def test_snapshot_push_pong_request_data_exactly(
    hass: HomeAssistant,
    *,
    ws_connect: WsConnect,
    stream: Any,
    subscribe: Subscribe,
    hass_access_token: str,
) -> None:
    """Snapshot list on connect (≤10, newest first), pushes as one object, pong, request_data."""
    client = await subscribe("sensor_data")
    assert await frame(client) == {"type": "sensor_update", "data": []}
    device = await wearable(ws_connect)
    await device.send_str(json.dumps(MOTION))
    push = await frame(client)
    assert push["type"] == "sensor_update"
    assert isinstance(push["data"], dict)
    assert list(push["data"]) == READING_KEYS
    assert push["data"]["accel_y"] == -9.8 and push["data"]["gyro_x"] == 1.0
    assert push["data"]["created_at"].endswith("+00:00")
    first_id = push["data"]["id"]
    for n in range(11):
        await device.send_str(json.dumps({**MOTION, "accel_x": float(n)}))
    ids = [(await frame(client))["data"]["id"] for _ in range(11)]
    assert ids == list(range(first_id + 1, first_id + 12))

    await client.send_str('{"type": "ping"}')
    pong = await client.receive(timeout=5)
    assert pong.data == '{"type": "pong"}'  # the seed's json.dumps bytes
    await client.send_str('{"type": "request_data"}')
    again = await frame(client)
    assert again["type"] == "sensor_update" and isinstance(again["data"], list)
    assert [r["id"] for r in again["data"]] == list(range(first_id + 11, first_id + 1, -1))
    assert [r["accel_x"] for r in again["data"][:2]] == [10.0, 9.0]

    # A new client gets the same snapshot at once, before it sends anything.
    other = await stream(f"sensor_data/{CONSUMER}?token={hass_access_token}")  # no slash: alias
    assert await frame(other) == again


@pytest.mark.usefixtures("init_integration")
async def test_readings_without_motion_or_consumer_push_nothing(
    hass: HomeAssistant, ws_connect: WsConnect, subscribe: Subscribe
) -> None:
    """A temperature of the wearable, or any reading of a sensor without consumer: no push."""
    client = await subscribe("sensor_data")
    await frame(client)
    device = await wearable(ws_connect)
    await device.send_str('{"temperatura": 36.5}')
    await client.send_str('{"type": "ping"}')
    assert await frame(client) == {"type": "pong"}  # nothing came before it
    assert streams_of(hass).diagnostics()["sensor_data_buffered"] == {}


@pytest.mark.usefixtures("init_integration")
async def test_tokens_missing_invalid_revoked_close_4001_and_bearer_works(
    hass: HomeAssistant, stream: Any, hass_access_token: str
) -> None:
    """The seed's 4001 for a missing and a bad token; a revoked one too; Bearer is accepted."""
    await closed_with(await stream(f"sensor_data/{CONSUMER}/"), 4001)
    await closed_with(await stream(f"heart_rate_today/{CONSUMER}/?token=nope"), 4001)
    await closed_with(await stream(f"desires_stats/{CONSUMER}/?token={WEARABLE_TOKEN}"), 4001)
    bearer = await stream(
        f"sensor_data/{CONSUMER}/", headers={"Authorization": f"Bearer {hass_access_token}"}
    )
    assert (await frame(bearer))["type"] == "sensor_update"
    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None
    hass.auth.async_remove_refresh_token(refresh_token)
    await closed_with(bearer, 4001)


@pytest.mark.usefixtures("init_integration")
async def test_unknown_stream_or_bad_consumer_is_404_before_the_upgrade(
    stream: Any, hass_access_token: str
) -> None:
    """404 for a stream the seed does not have, and for a consumer id no device can have."""
    for path in ("temperature/22/", "sensor_data/a-b/", f"sensor_data/{'x' * 65}/"):
        with pytest.raises(WSServerHandshakeError) as err:
            await stream(f"{path}?token={hass_access_token}")
        assert err.value.status == 404


async def test_no_hub_is_503(
    hass: HomeAssistant, init_integration: MockConfigEntry, subscribe: Subscribe
) -> None:
    """Views outlive the entry: unloaded, the route answers 503."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(WSServerHandshakeError) as err:
        await subscribe("sensor_data")
    assert err.value.status == 503


@pytest.mark.usefixtures("init_integration")
async def test_unknown_consumer_gets_empty_snapshots_and_stays_open(subscribe: Subscribe) -> None:
    """Legacy tolerance: no device has consumer 99, every stream still answers."""
    expected = {
        "sensor_data": [],
        "heart_rate_today": {"current": None, "readings": []},
        "heart_rate_stats": {"period": "today", "count": 0, "min": None, "max": None, "avg": None},
        "desires_tracking": {"count": 0, "desires": []},
        "desires_stats": {"period": "today", "count": 0, "min": None, "max": None, "avg": None},
    }
    for name, data in expected.items():
        client = await subscribe(name, "99")
        snapshot = await frame(client)
        if isinstance(data, dict):
            assert {k: snapshot["data"][k] for k in data} == data
            assert len(snapshot["data"]["date"]) == 10
        else:
            assert snapshot["data"] == data
        await client.send_str('{"type": "ping"}')
        assert await frame(client) == {"type": "pong"}


@pytest.mark.usefixtures("init_integration")
async def test_other_frames_are_ignored_binary_gets_an_error_oversize_closes_1009(
    subscribe: Subscribe, caplog: pytest.LogCaptureFixture
) -> None:
    """Unknown types, no type, invalid JSON: nothing sent back, the socket stays up."""
    client = await subscribe("sensor_data")
    await frame(client)
    caplog.set_level("DEBUG", logger="custom_components.iot_hub.kinds.sensor.stream_views")
    for junk in ('{"type": "subscribe"}', "{}", "not json", "[1, 2]", '{"type": 5}'):
        await client.send_str(junk)
    await client.send_str('{"type": "ping"}')
    assert await frame(client) == {"type": "pong"}
    assert caplog.text.count("Ignored a frame of a sensor_data client") == 5
    await client.send_bytes(b"\x00\x01")
    assert await frame(client) == {"type": "error", "error": "binary frame"}
    await client.send_str("x" * (16 * 1024 + 1))
    await closed_with(client, CloseCode.TOO_BIG)


@pytest.mark.usefixtures("init_integration")
async def test_flood_closes_1008_then_backs_off_4029(
    subscribe: Subscribe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The device endpoint's inbound limits, by HA user."""
    monkeypatch.setattr(limits, "INBOUND_RATE", 0.001)
    monkeypatch.setattr(limits, "INBOUND_BURST", 1.0)
    monkeypatch.setattr(limits, "FLOOD_CLOSE_AFTER", 10)
    client = await subscribe("sensor_data")
    await frame(client)
    for _ in range(12):
        await client.send_str('{"type": "ping"}')
    frames = []
    while (msg := await client.receive(timeout=5)).type is WSMsgType.TEXT:
        frames.append(json.loads(msg.data))
    assert frames[0] == {"type": "pong"}
    assert frames[1]["type"] == "error"  # rate limited, told once
    assert client.close_code == CloseCode.POLICY
    again = await subscribe("heart_rate_stats")
    await closed_with(again, CloseCode.BACKING_OFF)


async def test_connection_cap_per_user_closes_4031(
    hass: HomeAssistant, subscribe: Subscribe
) -> None:
    """The hub's cap on one user's connections holds for streams too."""
    from .conftest import hub_entry

    entry = hub_entry([ENV, WEARABLE], {"max_connections_per_user": 2})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    first = await subscribe("sensor_data")
    second = await subscribe("heart_rate_today")
    await frame(first)
    await frame(second)
    await closed_with(
        await subscribe("desires_stats"),
        CloseCode.TOO_MANY_CONNECTIONS,
    )
    await first.close()
    await until(lambda: not streams_of(hass).diagnostics()["subscribers"].get("sensor_data_22"))
    third = await subscribe("desires_stats")
    assert (await frame(third))["type"] == "desires_stats_update"


@pytest.mark.usefixtures("init_integration")
async def test_several_clients_per_consumer_and_a_slow_one_is_dropped_alone(
    hass: HomeAssistant,
    *,
    ws_connect: WsConnect,
    subscribe: Subscribe,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two readers and one that stops reading: it is closed 1013, the two get every push."""
    monkeypatch.setattr(ws_link, "MAX_PENDING", 100_000)  # the bytes trip first
    monkeypatch.setattr(ws_link, "WRITER_GRACE", 60.0)  # time to read up to its close frame
    readers = [await subscribe("sensor_data"), await subscribe("sensor_data")]
    slow = await subscribe("sensor_data")
    for ws in (*readers, slow):
        await frame(ws)
    streams = streams_of(hass)
    group = streams._groups[("sensor_data", CONSUMER)]
    assert len(group) == 3
    slow_link = list(group.values())[2]._link
    assert streams.diagnostics()["subscribers"] == {"sensor_data_22": 3}

    got = [0, 0]

    async def read(index: int) -> None:
        while (msg := await readers[index].receive()).type is WSMsgType.TEXT:
            if json.loads(msg.data)["type"] == "sensor_update":
                got[index] += 1

    tasks = [asyncio.create_task(read(i)) for i in range(2)]
    big = {"type": "sensor_update", "data": {"pad": "x" * 16_000}}
    sent = 0
    while not slow_link.closing and sent < 4000:  # 64 MB at most: past any socket buffer
        streams._push("sensor_data", CONSUMER, lambda: big)
        sent += 1
        await asyncio.sleep(0)
    assert slow_link.closing
    assert "is not reading its frames" in caplog.text
    await until(lambda: got == [sent, sent], timeout=30)
    device = await wearable(ws_connect)
    await device.send_str(json.dumps(MOTION))
    await until(lambda: got == [sent + 1, sent + 1], timeout=10)
    for task in tasks:
        task.cancel()
    while (await slow.receive(timeout=10)).type is WSMsgType.TEXT:
        pass
    assert slow.close_code == CloseCode.TRY_AGAIN_LATER
    await until(lambda: len(group) == 2, timeout=10)  # it left its group; the readers did not


async def test_ring_survives_a_restart_and_bad_records_are_dropped_alone(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    subscribe: Subscribe,
) -> None:
    """What the legacy database kept: the snapshot after a restart; a bad record costs itself."""
    key = f"iot_hub.sensor_streams.{mock_config_entry.entry_id}"
    good = {"id": 7, **dict.fromkeys(MOTION_KEYS, 1.5), "created_at": "2025-07-20T10:30:00+00:00"}
    older = {**good, "id": 6}
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {
            "sensor_data": {
                CONSUMER: [good, {**good, "accel_x": "x"}, {"id": "8"}, 5, older],
                "33": "not a list",
            },
            "desires": {CONSUMER: {"date": "1999-01-01", "entries": [], "count": 1}},
        },
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    client = await subscribe("sensor_data")
    assert await frame(client) == {"type": "sensor_update", "data": [good, older]}

    # Written back on unload, read again on the next start.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    assert hass_storage[key]["data"]["sensor_data"] == {CONSUMER: [good, older]}
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    client = await subscribe("sensor_data")
    assert (await frame(client))["data"] == [good, older]


async def test_unreadable_file_starts_empty(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    subscribe: Subscribe,
) -> None:
    """A file whose data is no object at all costs its content, nothing else."""
    key = f"iot_hub.sensor_streams.{mock_config_entry.entry_id}"
    hass_storage[key] = {"version": 1, "minor_version": 1, "key": key, "data": ["garbage"]}
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    client = await subscribe("sensor_data")
    assert (await frame(client))["data"] == []


@pytest.mark.usefixtures("init_integration")
async def test_unload_closes_streams_1001(hass: HomeAssistant, subscribe: Subscribe) -> None:
    """The hub entry unloads: every stream client is told going away."""
    client = await subscribe("desires_tracking")
    await frame(client)
    entry = hass.config_entries.async_entries("iot_hub")[0]
    assert await hass.config_entries.async_unload(entry.entry_id)
    await closed_with(client, CloseCode.UNLOADING)


@pytest.mark.usefixtures("init_integration")
async def test_desires_are_logged_pushed_and_kept(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    subscribe: Subscribe,
    hass_storage: dict[str, Any],
) -> None:
    """``desire``/``deseo`` log one desire each: both desire streams push; kept on disk."""
    tracking = await subscribe("desires_tracking")
    stats = await subscribe("desires_stats")
    first = await frame(tracking)
    assert first["type"] == "desires_update"
    assert first["data"]["count"] == 0
    assert (await frame(stats))["data"]["count"] == 0
    device = await wearable(ws_connect)
    await device.send_str('{"desire": 3}')
    await device.send_str('{"Deseo": 7.5}')
    await frame(tracking)
    update = await frame(tracking)
    assert update["type"] == "desires_update"
    assert update["data"]["count"] == 2
    assert [d["intensity"] for d in update["data"]["desires"]] == [3, 7.5]
    assert update["data"]["desires"][0]["timestamp"].endswith("+00:00")
    await frame(stats)
    summary = await frame(stats)
    assert summary == {
        "type": "desires_stats_update",
        "data": {
            "period": "today",
            "date": update["data"]["date"],
            "count": 2,
            "min": 3,
            "max": 7.5,
            "avg": 5.2,
        },
    }
    entry = hass.config_entries.async_entries("iot_hub")[0]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    again = await subscribe("desires_stats")
    assert await frame(again) == summary


@pytest.mark.usefixtures("init_integration")
async def test_heart_rate_without_recorder_is_live_only(
    hass: HomeAssistant, ws_connect: WsConnect, subscribe: Subscribe
) -> None:
    """No recorder set up: the day is what arrived since the start, pushed on each reading."""
    today = await subscribe("heart_rate_today")
    stats = await subscribe("heart_rate_stats")
    assert (await frame(today))["data"]["readings"] == []
    await frame(stats)
    device = await wearable(ws_connect)
    await device.send_str('{"heart_rate": 72, "accel_x": 1}')
    await device.send_str('{"heart_rate": 80.5}')
    await frame(today)
    update = await frame(today)
    assert update["type"] == "heart_rate_update"
    assert update["data"]["current"] == 80.5
    assert [r["bpm"] for r in update["data"]["readings"]] == [72, 80.5]
    await frame(stats)
    summary = (await frame(stats))["data"]
    assert (summary["count"], summary["min"], summary["max"], summary["avg"]) == (2, 72, 80.5, 76.2)
    diagnostics = streams_of(hass).diagnostics()
    assert diagnostics["heart_rates_today"] == {CONSUMER: 2}
    assert CONSUMER in diagnostics["last_reading_at"]
    assert hub_of(hass) is not None


def test_heart_rate_names_are_the_quantities() -> None:
    """The codec's heart-rate names are those ``quantities.py`` shows in bpm."""
    from custom_components.iot_hub.kinds.sensor.stream_codec import HEART_RATE_KEYS
    from custom_components.iot_hub.quantities import HEART_RATE_UNIT, KNOWN

    assert set(HEART_RATE_KEYS) == {k for k, q in KNOWN.items() if q.unit == HEART_RATE_UNIT}


def test_views_are_registered_once_per_kind_surface() -> None:
    """The routes the README names."""
    assert stream_views.STREAM_PATH == "/api/iot_hub/ws/{stream}/{consumer_id}/"
    assert stream_views.READINGS_PATH == "/api/iot_hub/sensor_data/{consumer_id}/"


async def test_diagnostics_show_groups_rings_and_last_readings(
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    subscribe: Subscribe,
    hass_client: ClientSessionGenerator,
) -> None:
    """Subscribers per group, ring sizes and the last reading per consumer, in diagnostics."""
    from pytest_homeassistant_custom_component.components.diagnostics import (
        get_diagnostics_for_config_entry,
    )

    client = await subscribe("sensor_data")
    await frame(client)
    device = await wearable(ws_connect)
    await device.send_str(json.dumps(MOTION))
    await frame(client)
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    streams = result["kinds"]["sensor"]["streams"]
    assert streams["subscribers"] == {"sensor_data_22": 1}
    assert streams["sensor_data_buffered"] == {CONSUMER: 1}
    assert list(streams["last_reading_at"]) == [CONSUMER]


@pytest.mark.usefixtures("init_integration")
async def test_silent_client_is_closed_1013_by_the_heartbeat(
    subscribe: Subscribe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that answers no ping is closed (the device endpoint's heartbeat)."""
    monkeypatch.setattr(ws_link, "HEARTBEAT", 0.2)
    client = await subscribe("sensor_data", autoping=False)
    await frame(client)
    while (msg := await client.receive(timeout=5)).type is WSMsgType.PING:
        pass  # not answered
    assert msg.type is WSMsgType.CLOSE, msg
    assert client.close_code == CloseCode.TRY_AGAIN_LATER


@pytest.mark.usefixtures("init_integration")
async def test_bad_token_storm_is_one_log_line(
    stream: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Every refusal is 4001; the log says it once a minute per address."""
    for _ in range(5):
        await closed_with(await stream(f"sensor_data/{CONSUMER}/?token=bad"), 4001)
    assert caplog.text.count("Refused a connection from 127.0.0.1: invalid token") == 1


async def test_ring_is_written_within_the_save_delay(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_storage: dict[str, Any],
) -> None:
    """A crash loses at most ``SAVE_DELAY`` seconds of the ring, even while readings go on."""
    from datetime import timedelta

    from homeassistant.util import dt as dt_util
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    from custom_components.iot_hub.kinds.sensor.streams import SAVE_DELAY

    key = f"iot_hub.sensor_streams.{init_integration.entry_id}"
    device = await wearable(ws_connect)
    await device.send_str(json.dumps(MOTION))
    await until(lambda: streams_of(hass).diagnostics()["sensor_data_buffered"])
    start = dt_util.utcnow()
    async_fire_time_changed(hass, start + timedelta(seconds=SAVE_DELAY - 1))
    await hass.async_block_till_done()
    assert key not in hass_storage
    pending = streams_of(hass)._store._delay_handle
    assert pending is not None
    await device.send_str(json.dumps(MOTION))  # a stream that goes on does not put it off
    await until(lambda: streams_of(hass).diagnostics()["sensor_data_buffered"][CONSUMER] == 2)
    assert streams_of(hass)._store._delay_handle is pending
    async_fire_time_changed(hass, start + timedelta(seconds=SAVE_DELAY + 0.1))
    await hass.async_block_till_done()
    assert len(hass_storage[key]["data"]["sensor_data"][CONSUMER]) == 2
