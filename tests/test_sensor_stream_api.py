"""Seed 004's reading POST (with the device's token) and ``iot_hub/stream/subscribe``."""

from __future__ import annotations

from http import HTTPStatus
import json
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.kinds.sensor.stream_views import MAX_BODY_BYTES
from custom_components.iot_hub.transport.limits import TokenBucket

from .conftest import WsConnect, frame, hub_of
from .sensor_tools import (
    CONSUMER,
    ENV,
    ENV_ID,
    ENV_TOKEN,
    MOTION,
    WEARABLE,
    WEARABLE_ID,
    WEARABLE_TOKEN,
    Subscribe,
    sensor_live,
    sensor_subentry,
    stream_fixture,  # noqa: F401  (the fixture)
    subscribe_fixture,  # noqa: F401  (the fixture)
)

URL = f"/api/iot_hub/sensor_data/{CONSUMER}/"
OTHER_TOKEN = "other-token-0123456789abcdef0123456"


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor, the wearable of consumer 22, another wearable (consumer 33)."""
    return [
        ENV,
        WEARABLE,
        sensor_subentry("sensor_other", "Other", OTHER_TOKEN, 3, consumer_id="33"),
    ]


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.usefixtures("init_integration")
async def test_post_creates_a_reading_and_pushes_it(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, subscribe: Subscribe
) -> None:
    """201 with the reading as the streams show it; the stream client gets it as a push."""
    client = await hass_client_no_auth()
    ws = await subscribe("sensor_data")
    assert (await frame(ws))["data"] == []
    body = {**MOTION, "consumidor_id": 22, "created_at": "2025-07-20T10:30:00Z"}
    response = await client.post(URL, json=body, headers=bearer(WEARABLE_TOKEN))
    assert response.status == HTTPStatus.CREATED
    created = await response.json()
    assert created == {
        "id": created["id"],
        **{k: float(v) for k, v in MOTION.items()},
        "created_at": "2025-07-20T10:30:00+00:00",
    }
    push = await frame(ws)
    assert push == {"type": "sensor_update", "data": created}
    # The device's values took it (its entities show it while the device is connected).
    assert hub_of(hass).devices[WEARABLE_ID].handler.values["accel_y"] == -9.8  # type: ignore[attr-defined]
    # ?token= and no trailing slash work too; ids increase.
    response = await client.post(
        f"/api/iot_hub/sensor_data/{CONSUMER}?token={WEARABLE_TOKEN}", json={"heart_rate": 70}
    )
    assert response.status == HTTPStatus.CREATED
    second = await response.json()
    assert second["id"] > created["id"] and second["accel_x"] == 0.0
    await ws.close()


@pytest.mark.usefixtures("init_integration")
async def test_post_refusals(hass_client_no_auth: ClientSessionGenerator) -> None:
    """400, 401, 403, 404, 413: each with a ``detail``, nothing created."""
    client = await hass_client_no_auth()
    cases: list[tuple[str, dict[str, Any], HTTPStatus]] = [
        (URL, {"json": MOTION}, HTTPStatus.UNAUTHORIZED),
        (URL, {"json": MOTION, "headers": bearer("nope")}, HTTPStatus.UNAUTHORIZED),
        (URL, {"json": MOTION, "headers": bearer(ENV_TOKEN)}, HTTPStatus.FORBIDDEN),
        (URL, {"json": MOTION, "headers": bearer(OTHER_TOKEN)}, HTTPStatus.FORBIDDEN),
        (
            "/api/iot_hub/sensor_data/99/",
            {"json": MOTION, "headers": bearer(WEARABLE_TOKEN)},
            HTTPStatus.NOT_FOUND,
        ),
        (
            "/api/iot_hub/sensor_data/a-b/",
            {"json": MOTION, "headers": bearer(WEARABLE_TOKEN)},
            HTTPStatus.NOT_FOUND,
        ),
        (URL, {"data": "not json", "headers": bearer(WEARABLE_TOKEN)}, HTTPStatus.BAD_REQUEST),
        (
            URL,
            {"json": {"accel_x": "x"}, "headers": bearer(WEARABLE_TOKEN)},
            HTTPStatus.BAD_REQUEST,
        ),
        (URL, {"json": {}, "headers": bearer(WEARABLE_TOKEN)}, HTTPStatus.BAD_REQUEST),
        (
            URL,
            {"json": {**MOTION, "consumidor_id": 33}, "headers": bearer(WEARABLE_TOKEN)},
            HTTPStatus.BAD_REQUEST,
        ),
        (URL, {"data": b"\xff\xfe", "headers": bearer(WEARABLE_TOKEN)}, HTTPStatus.BAD_REQUEST),
        (
            URL,
            {"data": "x" * (MAX_BODY_BYTES + 1), "headers": bearer(WEARABLE_TOKEN)},
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        ),
    ]
    for url, kwargs, status in cases:
        response = await client.post(url, **kwargs)
        assert response.status == status, (url, kwargs, await response.text())
        assert (await response.json())["detail"]


@pytest.mark.usefixtures("init_integration")
async def test_post_chunked_body_over_the_limit_is_413(
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """A body without a length is counted as it comes."""
    client = await hass_client_no_auth()

    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 1024

    response = await client.post(URL, data=chunks(), headers=bearer(WEARABLE_TOKEN))
    assert response.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


async def test_post_without_hub_is_503(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Views outlive the entry."""
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    client = await hass_client_no_auth()
    response = await client.post(URL, json=MOTION, headers=bearer(WEARABLE_TOKEN))
    assert response.status == HTTPStatus.SERVICE_UNAVAILABLE


@pytest.mark.usefixtures("init_integration")
async def test_subscribe_by_consumer_and_by_device(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, ws_connect: WsConnect
) -> None:
    """Result, the snapshot as the first event, then each push; by consumer or HA device."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "iot_hub/stream/subscribe", "stream": "sensor_data", "consumer_id": CONSUMER}
    )
    result = await client.receive_json()
    assert result["success"] is True
    first = await client.receive_json()
    assert first["type"] == "event"
    assert first["event"] == {"type": "sensor_update", "data": []}

    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, WEARABLE_ID), hass.config_entries.async_entries(DOMAIN)[0].entry_id
    )
    assert device is not None
    await client.send_json_auto_id(
        {"type": "iot_hub/stream/subscribe", "stream": "heart_rate_stats", "device_id": device.id}
    )
    assert (await client.receive_json())["success"] is True
    stats = await client.receive_json()
    assert stats["event"]["type"] == "heart_rate_stats_update"
    assert stats["event"]["data"]["count"] == 0

    wearable = await ws_connect(f"?token={WEARABLE_TOKEN}")
    await wearable.send_str(json.dumps({**MOTION, "heart_rate": 64}))
    events = {}
    for _ in range(2):
        msg = await client.receive_json()
        events[msg["id"]] = msg["event"]
    assert events[first["id"]]["type"] == "sensor_update"
    assert isinstance(events[first["id"]]["data"], dict)
    assert events[stats["id"]]["data"]["count"] == 1
    assert events[stats["id"]]["data"]["max"] == 64


@pytest.mark.usefixtures("init_integration")
async def test_subscribe_refusals(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> None:
    """An unknown stream or bad consumer is invalid; a device without consumer not found."""
    client = await hass_ws_client(hass)
    env = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, ENV_ID), hass.config_entries.async_entries(DOMAIN)[0].entry_id
    )
    assert env is not None
    cases = [
        ({"stream": "temperature", "consumer_id": "22"}, "invalid_format"),
        ({"stream": "sensor_data", "consumer_id": "a-b"}, "invalid_format"),
        ({"stream": "sensor_data", "consumer_id": "22", "device_id": env.id}, "invalid_format"),
        ({"stream": "sensor_data", "device_id": env.id}, "not_found"),
        ({"stream": "sensor_data", "device_id": "nope"}, "not_found"),
        ({"stream": "sensor_data"}, "not_found"),
    ]
    for extra, code in cases:
        await client.send_json_auto_id({"type": "iot_hub/stream/subscribe", **extra})
        reply = await client.receive_json()
        assert reply["success"] is False
        assert reply["error"]["code"] == code, extra


async def test_subscription_ends_when_the_hub_unloads(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """``not_loaded`` when the entry unloads, and when subscribing without a hub."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "iot_hub/stream/subscribe", "stream": "desires_stats", "consumer_id": "99"}
    )
    assert (await client.receive_json())["success"] is True
    await client.receive_json()  # the snapshot
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    ended = await client.receive_json()
    assert ended["success"] is False and ended["error"]["code"] == "not_loaded"
    await client.send_json_auto_id(
        {"type": "iot_hub/stream/subscribe", "stream": "desires_stats", "consumer_id": "99"}
    )
    reply = await client.receive_json()
    assert reply["success"] is False and reply["error"]["code"] == "not_loaded"


@pytest.mark.usefixtures("init_integration")
async def test_unsubscribe_leaves_the_group(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """``unsubscribe_events`` takes the subscription out of its group."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "iot_hub/stream/subscribe", "stream": "sensor_data", "consumer_id": CONSUMER}
    )
    sub_id = (await client.receive_json())["id"]
    await client.receive_json()
    live = sensor_live(hass)
    assert live.streams.diagnostics()["subscribers"] == {"sensor_data_22": 1}
    await client.send_json_auto_id({"type": "unsubscribe_events", "subscription": sub_id})
    assert (await client.receive_json())["success"] is True
    assert live.streams.diagnostics()["subscribers"] == {}


async def test_posting_faster_than_a_sensor_may_is_429(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the sensor's rate (here slowed to one reading) a POST is 429, logged once."""
    handler = hub_of(hass).devices[WEARABLE_ID].handler
    assert handler.may_post()  # 200/s, bursts of 400: what a connection may send
    handler._post_bucket = TokenBucket(rate=0.001, burst=1.0, tokens=1.0)
    client = await hass_client_no_auth()
    statuses = [
        (await client.post(URL, json=MOTION, headers=bearer(WEARABLE_TOKEN))).status
        for _ in range(3)
    ]
    assert statuses == [201, 429, 429]
    assert caplog.text.count("Wearable posts readings too fast") == 1
