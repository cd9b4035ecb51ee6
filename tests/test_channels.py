"""Seed 001's event channels over real sockets: the frames exactly, general, stats, the test event."""

from __future__ import annotations

from datetime import UTC, datetime
import json
from types import MappingProxyType
from typing import Any

from aiohttp import WSMsgType
from homeassistant.config_entries import ConfigSubentry, ConfigSubentryData
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
from homeassistant.helpers import area_registry as ar
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.iot_hub.const import CONF_KIND, CONF_TOKEN_HASH, DOMAIN, SUBENTRY_DEVICE
from custom_components.iot_hub.feed import FeedEvent, FeedKind
from custom_components.iot_hub.kinds.sensor.channel_codec import location_id
from custom_components.iot_hub.tokens import hash_token

from .channel_tools import (
    BASE,
    ChannelConnect,
    Listen,
    channel_connect_fixture,  # noqa: F401  (the fixture)
    connection,
    entity,
    exact,
    listen_fixture,  # noqa: F401  (the fixture)
    system,
)
from .conftest import (
    OVEN_TOKEN,
    WsConnect,
    closed_with,
    every_reading,
    frame,
    hub_of,
    oven_subentry,
    until,
)
from .sensor_tools import ENV, ENV_ID, ENV_TOKEN, WEARABLE, sensor_live

OVEN_ID_HERE = "oven_sub_channels"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor, a wearable and an oven (a device of another kind)."""
    # Record interval 0: the entities show each reading at once (the budget has its own tests).
    return [every_reading(ENV), WEARABLE, oven_subentry(OVEN_ID_HERE, "Oven", OVEN_TOKEN)]


async def test_sensor_lifecycle_is_entity_events_on_sensors_and_general(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    listen: Listen,
) -> None:
    """Adding, reconfiguring and removing a sensor subentry: created, updated, deleted."""
    sensors = await listen("sensors")
    general = await listen("general")
    readings = await listen("readings")
    subentry = ConfigSubentry(
        data=MappingProxyType(
            {
                CONF_KIND: "sensor",
                CONF_TOKEN_HASH: hash_token("new-sensor-token-0123456789abcdef"),
                "sensor_id": 7,
                "tipo": "temperatura",
                "modelo": "DHT22",
                "consumer_id": None,
            }
        ),
        subentry_type=SUBENTRY_DEVICE,
        title="Greenhouse",
        unique_id=None,
    )
    hass.config_entries.async_add_subentry(init_integration, subentry)
    created = await frame(sensors)
    record = {"id": 7, "tipo": "temperatura", "modelo": "DHT22", "created_at": "TS"}
    assert exact(created) == entity("sensor", "created", 7, record, "create_sensor")
    assert await frame(general) == created  # general: a copy of every entity event

    hass.config_entries.async_update_subentry(
        init_integration, subentry, data={**subentry.data, "modelo": "DHT11"}
    )
    updated = await frame(sensors)
    record["modelo"] = "DHT11"
    assert exact(updated) == entity("sensor", "updated", 7, record, "update_sensor")
    assert updated["data"]["created_at"] == created["data"]["created_at"]
    assert await frame(general) == updated

    hass.config_entries.async_remove_subentry(init_integration, subentry.subentry_id)
    deleted = await frame(sensors)
    assert exact(deleted) == entity("sensor", "deleted", 7, record, "delete_sensor")
    assert await frame(general) == deleted
    # Nothing of it on another entity channel: the next frame there is this one.
    live = sensor_live(hass)
    live.channel_events.system("info", "fin", {}, channel="readings")
    assert exact(await frame(readings)) == system("info", "fin", {})


@pytest.mark.usefixtures("init_integration")
async def test_readings_over_the_device_socket_and_the_legacy_post(
    hass: HomeAssistant,
    listen: Listen,
    ws_connect: WsConnect,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Each reading is one ``reading`` ``created`` event; the POST answers 201 with it."""
    readings = await listen("readings")
    general = await listen("general")
    device = await ws_connect(f"?token={ENV_TOKEN}")
    connected = await frame(general)
    assert exact(connected) == system(
        "info", "Dispositivo conectado", {"device": "Environment", "kind": "sensor"}
    )
    await device.send_str(json.dumps({"temperatura": 23.5, "humedad": 65.2}))
    reading = await frame(readings)
    data = {"id": 1, "sensor_id": 1, "temperatura": 23.5, "humedad": 65.2, "timestamp": "TS"}
    assert exact(reading) == entity("reading", "created", 1, data, "create_reading")
    assert await frame(general) == reading

    client = await hass_client_no_auth()
    body = {
        "sensor_id": 1,
        "temperatura": 21.0,
        "humedad": 40.5,
        "timestamp": "2025-07-20T10:30:00Z",
    }
    response = await client.post(
        f"{BASE}/readings", json=body, headers={"Authorization": f"Bearer {ENV_TOKEN}"}
    )
    assert response.status == 201
    created = {
        "id": 2,
        "sensor_id": 1,
        "temperatura": 21.0,
        "humedad": 40.5,
        "timestamp": "2025-07-20T10:30:00Z",
    }
    assert await response.text() == json.dumps(created, separators=(",", ":"))
    posted = await frame(readings)
    assert posted["data"] == created
    assert exact(posted) == entity("reading", "created", 2, created, "create_reading")
    # ?token= works too, and sensor_id may be left out.
    response = await client.post(f"{BASE}/readings?token={ENV_TOKEN}", json={"humedad": 41})
    assert response.status == 201
    assert (await response.json())["sensor_id"] == 1
    assert hass.states.get("sensor.environment_humidity").state == "41.0"  # type: ignore[union-attr]

    await device.close()
    while (lost := await frame(general))["type"] != "system_event":
        assert lost["entity_type"] == "reading"
    assert exact(lost) == system(
        "warning", "Dispositivo desconectado", {"device": "Environment", "kind": "sensor"}
    )


@pytest.mark.usefixtures("init_integration")
async def test_any_device_connecting_is_a_system_event_and_errors_are_errors(
    hass: HomeAssistant,
    listen: Listen,
    ws_connect: WsConnect,
) -> None:
    """An oven connecting is told on general (not on entity channels); errors are level error."""
    general = await listen("general")
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    assert exact(await frame(general)) == system(
        "info", "Dispositivo conectado", {"device": "Oven", "kind": "oven"}
    )
    events = async_capture_events(hass, "iot_hub_system_event")
    device = hub_of(hass).devices[OVEN_ID_HERE]
    device.publish(FeedKind.ERROR, {"message": "Termopar roto", "code": 3})
    error = await frame(general)
    assert exact(error) == system(
        "error",
        "Termopar roto",
        {"device": "Oven", "kind": "oven", "message": "Termopar roto", "code": 3},
    )
    device.publish(FeedKind.ERROR, {})
    assert (await frame(general))["message"] == "Error en un dispositivo"
    # Also on HA's bus, for automations: the frame and its channel.
    assert events[0].data == {**error, "channel": "general"}
    # Readings of a device that is not a sensor are no seed-001 reading.
    device.publish(FeedKind.READING, {"id": 1, "values": {"t": 1.0}, "taken_at": None})
    await oven.close()
    assert (await frame(general))["message"] == "Dispositivo desconectado"


async def test_the_hub_says_it_started(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    listen: Listen,
) -> None:
    """Seed 001's startup event, with the integration's version, on HA's bus."""
    hall = ar.async_get(hass).async_create("Recibidor")  # known to the hub from its start
    events = async_capture_events(hass, "iot_hub_system_event")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    (started,) = events
    manifest = json.loads(
        (
            __import__("pathlib").Path(__file__).parent.parent
            / "custom_components/iot_hub/manifest.json"
        ).read_text()
    )
    assert exact(started.data) == exact(
        {
            "type": "system_event",
            "level": "info",
            "message": "Sistema iniciado correctamente",
            "data": {"module": "websocket", "version": manifest["version"]},
            "timestamp": "TS",
            "channel": "general",
        }
    )
    locations = await listen("locations")
    ar.async_get(hass).async_delete(hall.id)
    await hass.async_block_till_done()
    gone = await frame(locations)
    assert gone["event_type"] == "deleted"
    assert gone["data"]["nombre"] == "Recibidor"


@pytest.mark.usefixtures("init_integration")
async def test_areas_are_locations(
    hass: HomeAssistant,
    listen: Listen,
) -> None:
    """HA areas created, renamed and removed: ``location`` events with a stable integer id."""
    areas = ar.async_get(hass)
    kitchen = areas.async_create("Cocina")
    locations = await listen("locations")
    general = await listen("general")
    garden = areas.async_create("Jardín")
    await hass.async_block_till_done()
    number = location_id(garden.id)
    record = {"id": number, "nombre": "Jardín", "area_id": garden.id, "created_at": "TS"}
    created = await frame(locations)
    assert exact(created) == entity("location", "created", number, record, "create_location")
    assert await frame(general) == created
    areas.async_update(garden.id, name="Huerto")
    await hass.async_block_till_done()
    record["nombre"] = "Huerto"
    assert exact(await frame(locations)) == entity(
        "location", "updated", number, record, "update_location"
    )
    areas.async_delete(garden.id)
    areas.async_delete(kitchen.id)  # known from before anybody listened
    await hass.async_block_till_done()
    assert exact(await frame(locations)) == entity(
        "location", "deleted", number, record, "delete_location"
    )
    gone = await frame(locations)
    assert gone["entity_id"] == location_id(kitchen.id)
    assert gone["data"]["nombre"] == "Cocina"


@pytest.mark.usefixtures("init_integration")
async def test_anomalies_and_predictions_are_translated_as_published(
    hass: HomeAssistant,
    listen: Listen,
) -> None:
    """Whatever the analysis publishes goes out as data, with an id (its own, or a new one)."""
    anomalies = await listen("anomalies")
    predictions = await listen("predictions")
    device = hub_of(hass).devices[ENV_ID]
    at = datetime(2025, 7, 20, 10, 30, tzinfo=UTC)
    device.publish(FeedKind.ANOMALY, {"id": 41, "quantity": "temperatura", "value": 99.0, "at": at})
    data = {"id": 41, "quantity": "temperatura", "value": 99.0, "at": "2025-07-20T10:30:00Z"}
    assert exact(await frame(anomalies)) == entity(
        "anomaly", "anomaly_detected", 41, data, "detect_anomaly"
    )
    device.publish(FeedKind.ANOMALY_RESOLVED, {"id": 41, "quantity": "temperatura"})
    assert exact(await frame(anomalies)) == entity(
        "anomaly", "updated", 41, {"id": 41, "quantity": "temperatura"}, "resolve_anomaly"
    )
    device.publish(FeedKind.PREDICTION, {"id": "x", "values": {"temperatura": 24.0}})
    predicted = await frame(predictions)
    assert isinstance(predicted["entity_id"], int)
    assert exact(predicted) == entity(
        "prediction",
        "prediction_completed",
        predicted["entity_id"],
        {"id": predicted["entity_id"], "values": {"temperatura": 24.0}},
        "complete_prediction",
    )


async def test_nothing_is_built_while_nobody_listens(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """Readings, analysis, sensor and area events with no client: no frame, no error."""
    live = sensor_live(hass)
    device = hub_of(hass).devices[ENV_ID]
    device.publish(FeedKind.ANOMALY, {"quantity": "t"})
    subentry = init_integration.subentries[ENV_ID]
    hass.config_entries.async_update_subentry(
        init_integration, subentry, data={**subentry.data, "modelo": "X"}
    )
    await hass.async_block_till_done()
    env = await ws_connect(f"?token={ENV_TOKEN}")
    await env.send_str('{"temperatura": 20}')
    await until(lambda: hass.states.get("sensor.environment_temperature") is not None)
    ar.async_get(hass).async_create("Sótano")
    await hass.async_block_till_done()
    assert live.channels.count == 0


# -- stats, test event, action ------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_stats_in_the_seed_shape(
    hass: HomeAssistant,
    listen: Listen,
    hass_access_token: str,
    hass_read_only_access_token: str,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Only channels somebody listens to; every connection listed with its user."""
    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None
    await listen("general", user="user1")
    await listen("general")
    await listen("sensors", user="panel")
    client = await hass_client_no_auth()
    read_only = {"Authorization": f"Bearer {hass_read_only_access_token}"}  # any HA user
    response = await client.get(f"{BASE}/ws/stats", headers=read_only)
    assert response.status == 200
    stats = await response.json()
    assert exact(stats) == exact(
        {
            "total_channels": 2,
            "channels": {
                "general": {
                    "connections": 2,
                    "users": [
                        {"user_id": "user1", "connected_at": "TS"},
                        {"user_id": refresh_token.user.id, "connected_at": "TS"},
                    ],
                },
                "sensors": {
                    "connections": 1,
                    "users": [{"user_id": "panel", "connected_at": "TS"}],
                },
            },
        }
    )
    response = await client.get(f"{BASE}/ws/stats/sensors?token={hass_read_only_access_token}")
    assert await response.json() == stats["channels"]["sensors"]
    response = await client.get(f"{BASE}/ws/stats/readings", headers=read_only)
    assert await response.json() == {"connections": 0, "users": []}
    response = await client.get(f"{BASE}/ws/stats/bogus", headers=read_only)
    assert response.status == 404
    assert await response.json() == {"error": "Canal desconocido"}
    for bad in ({}, {"Authorization": "Bearer nope"}):
        response = await client.get(f"{BASE}/ws/stats", headers=bad)
        assert response.status == 401
        assert await response.json() == {"error": "No autorizado"}
    response = await client.get(f"{BASE}/ws/stats?token=nope")
    assert response.status == 401


@pytest.mark.usefixtures("init_integration")
async def test_test_event_reaches_the_channel_and_general(
    hass: HomeAssistant,
    listen: Listen,
    hass_access_token: str,
    hass_read_only_access_token: str,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Admins only; ``{"status":"sent","channel","delivered"}``; a system_event with test."""
    sensors = await listen("sensors")
    general = await listen("general")
    readings = await listen("readings")
    client = await hass_client_no_auth()
    admin = {"Authorization": f"Bearer {hass_access_token}"}
    response = await client.post(
        f"{BASE}/ws/test-event?channel=sensors&message=Prueba", headers=admin
    )
    assert response.status == 200
    assert await response.text() == '{"status":"sent","channel":"sensors","delivered":2}'
    expected = system("info", "Prueba", {"test": True})
    assert exact(await frame(sensors)) == expected
    assert exact(await frame(general)) == expected
    response = await client.post(f"{BASE}/ws/test-event?message=Hola", headers=admin)
    assert await response.json() == {"status": "sent", "channel": "general", "delivered": 1}
    assert (await frame(general))["message"] == "Hola"

    read_only = {"Authorization": f"Bearer {hass_read_only_access_token}"}
    response = await client.post(f"{BASE}/ws/test-event?message=x", headers=read_only)
    assert response.status == 403
    assert await response.json() == {"error": "Se requiere un administrador"}
    response = await client.post(f"{BASE}/ws/test-event?message=x")
    assert response.status == 401
    for query, error in (
        ("channel=bogus&message=x", "Canal desconocido"),
        ("channel=general", "message: de 1 a 1024 caracteres"),
        (f"message={'x' * 1025}", "message: de 1 a 1024 caracteres"),
    ):
        response = await client.post(f"{BASE}/ws/test-event?{query}", headers=admin)
        assert response.status == 400
        assert await response.json() == {"error": error}
    # None of it reached the readings channel: its next frame is this one.
    response = await client.post(
        f"{BASE}/ws/test-event?channel=readings&message=fin", headers=admin
    )
    assert (await frame(readings))["message"] == "fin"


@pytest.mark.usefixtures("init_integration")
async def test_send_test_event_action(
    hass: HomeAssistant,
    listen: Listen,
    hass_read_only_user: Any,
) -> None:
    """The action sends at the level asked, answers how many got it; admins only."""
    general = await listen("general")
    answer = await hass.services.async_call(
        DOMAIN,
        "send_test_event",
        {"channel": "predictions", "message": "Hola", "level": "warning"},
        blocking=True,
        return_response=True,
    )
    assert answer == {"delivered": 1}
    assert exact(await frame(general)) == system("warning", "Hola", {"test": True})
    await hass.services.async_call(DOMAIN, "send_test_event", {"message": "x"}, blocking=True)
    assert (await frame(general))["level"] == "info"
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "send_test_event",
            {"message": "x"},
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )


# -- refusals and limits --------------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_tokens_missing_invalid_revoked_and_bearer(
    hass: HomeAssistant,
    channel_connect: ChannelConnect,
    hass_access_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """4001 without a token, 4003 for a bad or device token and on revocation; Bearer works."""
    missing = await channel_connect("?channel=general")
    assert await closed_with(missing, 4001) == "missing credentials"
    for token in ("nope", ENV_TOKEN):
        ws = await channel_connect(f"?token={token}", path=f"{BASE}/ws/secure")
        assert await closed_with(ws, 4003) == "invalid token"
    assert "Refused a connection from 127.0.0.1: missing credentials" in caplog.text
    bearer = await channel_connect(
        "?channel=sensors", headers={"Authorization": f"Bearer {hass_access_token}"}
    )
    assert exact(await frame(bearer)) == connection("sensors")
    secure = await channel_connect(f"?token={hass_access_token}", path=f"{BASE}/ws/secure")
    assert exact(await frame(secure)) == connection("general")  # the default channel
    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None
    hass.auth.async_remove_refresh_token(refresh_token)
    assert await closed_with(bearer, 4003) == "token revoked"
    assert await closed_with(secure, 4003) == "token revoked"
    live = sensor_live(hass)
    await until(lambda: live.channels.count == 0)


@pytest.mark.usefixtures("init_integration")
async def test_unknown_channel_is_closed_4404(
    hass: HomeAssistant,
    channel_connect: ChannelConnect,
    hass_access_token: str,
) -> None:
    """A typo in ``channel`` is told, not a silent socket."""
    ws = await channel_connect(f"?channel=sensor&token={hass_access_token}")
    assert await closed_with(ws, 4404) == "unknown channel 'sensor'"


@pytest.mark.usefixtures("init_integration")
async def test_the_cap_closes_1013_and_harms_no_neighbour(
    hass: HomeAssistant,
    *,
    channel_connect: ChannelConnect,
    hass_access_token: str,
    listen: Listen,
    hass_ws_client: WebSocketGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past ``max_event_clients`` (all channels together): 1013, one log line per address."""
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    hass.config_entries.async_update_entry(entry, options={**entry.options, "max_event_clients": 2})
    await hass.async_block_till_done()
    first = await listen("general")
    second = await listen("sensors")
    for _ in range(2):
        refused = await channel_connect(f"?channel=readings&token={hass_access_token}")
        assert await closed_with(refused, 1013) == "try again later"
    assert caplog.text.count("Refused an event channel client from 127.0.0.1") == 1
    ws_api = await hass_ws_client(hass)
    await ws_api.send_json({"id": 1, "type": "iot_hub/channel/subscribe", "channel": "general"})
    reply = await ws_api.receive_json()
    assert reply["success"] is False
    assert reply["error"]["code"] == "too_many_clients"
    live = sensor_live(hass)
    assert live.channel_events.system("info", "hola", {}, channel="sensors") == 2
    assert (await frame(first))["message"] == "hola"
    assert (await frame(second))["message"] == "hola"


@pytest.mark.usefixtures("init_integration")
async def test_client_frames_ignored_binary_told_oversize_and_floods_closed(
    hass: HomeAssistant,
    listen: Listen,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Text: dropped. Binary: an error frame. Over 4 KiB: 1009. A flood: 1008. Others unharmed."""
    from custom_components.iot_hub.transport import limits

    neighbour = await listen("general")
    talker = await listen("general")
    await talker.send_str('{"type": "subscribe", "channel": "sensors"}')
    await talker.send_str("not json")
    await talker.send_bytes(b"\x00\x01")
    assert await frame(talker) == {"type": "error", "error": "binary frame"}
    await talker.send_str("x" * 4096)  # the limit itself is fine
    live = sensor_live(hass)
    live.channel_events.system("info", "sigue", {})
    assert (await frame(talker))["message"] == "sigue"
    await talker.send_str("x" * 4097)
    await closed_with(talker, 1009)

    monkeypatch.setattr(limits, "INBOUND_RATE", 0.001)
    monkeypatch.setattr(limits, "INBOUND_BURST", 1.0)
    monkeypatch.setattr(limits, "FLOOD_CLOSE_AFTER", 10)
    flooder = await listen("general")
    for _ in range(20):
        await flooder.send_str("{}")
    assert await frame(flooder) == {"type": "error", "error": "rate limited"}
    assert await closed_with(flooder, 1008) == "flood"
    assert "kept flooding" in caplog.text
    assert (await frame(neighbour))["message"] == "sigue"
    live.channel_events.system("info", "bien", {})
    assert (await frame(neighbour))["message"] == "bien"


@pytest.mark.usefixtures("init_integration")
async def test_a_client_that_stops_reading_is_dropped_alone(
    hass: HomeAssistant,
    listen: Listen,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its queue fills, it is closed 1013 with a log line; the reader goes on."""
    slow = await listen("general")
    fast = await listen("general")
    live = sensor_live(hass)
    blob = "x" * 64 * 1024
    for n in range(2_000):
        live.channel_events.system("info", str(n), {"blob": blob})
        assert (await frame(fast))["message"] == str(n)
        if "is not reading its frames" in caplog.text:
            break
    else:
        pytest.fail("the slow client was never dropped")
    # When it reads at last (within the 5 s grace), the close frame says why.
    while (msg := await slow.receive(timeout=10)).type is WSMsgType.TEXT:
        pass
    assert msg.type is WSMsgType.CLOSE, msg
    assert slow.close_code == 1013
    await until(lambda: live.channels.count == 1)
    live.channel_events.system("info", "sigue", {})
    assert (await frame(fast))["message"] == "sigue"


async def test_stale_and_foreign_events_are_skipped(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    listen: Listen,
) -> None:
    """A change of a device already gone, an area reorder or one gone: nothing is sent."""
    sensors = await listen("sensors")
    locations = await listen("locations")
    live = sensor_live(hass)
    at = datetime(2025, 7, 20, tzinfo=UTC)
    for kind in (FeedKind.DEVICE_UPDATED, FeedKind.READING):
        live.channel_events.feed(FeedEvent(kind, "gone", "Gone", "sensor", at, {"id": 1}))
    hass.bus.async_fire(ar.EVENT_AREA_REGISTRY_UPDATED, {"action": "reorder", "area_id": None})
    hass.bus.async_fire(ar.EVENT_AREA_REGISTRY_UPDATED, {"action": "update", "area_id": "ghost"})
    await hass.async_block_till_done()
    live.channel_events.system("info", "fin", {}, channel="sensors")
    live.channel_events.system("info", "fin", {}, channel="locations")
    assert (await frame(sensors))["message"] == "fin"
    assert (await frame(locations))["message"] == "fin"


@pytest.mark.usefixtures("init_integration")
async def test_a_reading_that_cannot_be_read_is_a_system_error(
    hass: HomeAssistant,
    listen: Listen,
    ws_connect: WsConnect,
) -> None:
    """The device's refused reading is seed 001's system_event error, once a minute like its
    log line; the device and its neighbours go on."""
    general = await listen("general")
    env = await ws_connect(f"?token={ENV_TOKEN}")
    assert (await frame(general))["message"] == "Dispositivo conectado"
    await env.send_str('{"temperatura": "hot"}')
    error = await frame(general)
    assert exact(error) == system(
        "error",
        "Lectura rechazada: temperatura must be a number",
        {
            "device": "Environment",
            "kind": "sensor",
            "message": "Lectura rechazada: temperatura must be a number",
        },
    )
    await env.send_str("not json")  # within the minute: logged and told once only
    await env.send_str('{"temperatura": 21}')
    nxt = await frame(general)
    assert nxt["type"] == "entity_event" and nxt["data"]["temperatura"] == 21
