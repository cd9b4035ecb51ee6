"""The appliances' ``websocket_api`` commands, through HA's real WebSocket API."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.iot_hub.kinds.appliance.codec import device_object

from .appliance_fake import (
    HEATER,
    PLUG,
    SENSOR,
    FakeDirectory,
    directory_fixture,  # noqa: F401  (the fixture)
    serving,
)

type WsClient = Any  # PHACC's MockHAClientWebSocket


@pytest.fixture
async def ws(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> WsClient:
    """An admin's connection to HA's WebSocket API."""
    return await hass_ws_client(hass)


async def result(ws: WsClient, **command: Any) -> Any:
    """Send a command; its successful result."""
    await ws.send_json_auto_id(command)
    reply = await ws.receive_json()
    assert reply["success"], reply
    return reply["result"]


async def error(ws: WsClient, **command: Any) -> str:
    """Send a command; the code of its error."""
    await ws.send_json_auto_id(command)
    reply = await ws.receive_json()
    assert reply["type"] == "result"
    assert not reply["success"], reply
    return str(reply["error"]["code"])


async def test_list_devices(directory: FakeDirectory, ws: WsClient) -> None:
    """Every device object in the seed's key order; or the claimed/unclaimed only."""
    devices = await result(ws, type="iot_hub/appliances")
    assert devices == [device_object(d) for d in (SENSOR, PLUG, HEATER)]
    assert list(devices[0]) == list(device_object(SENSOR))
    claimed = [device_object(SENSOR), device_object(HEATER)]
    assert await result(ws, type="iot_hub/appliances", reclamado=True) == claimed
    assert await result(ws, type="iot_hub/appliances", claimed=True) == claimed
    assert await result(ws, type="iot_hub/appliances", claimed=False) == [device_object(PLUG)]
    assert await result(ws, type="iot_hub/unclaimed_devices") == [device_object(PLUG)]


@pytest.mark.parametrize(
    "command",
    [
        {"type": "iot_hub/appliances", "reclamado": "true"},
        {"type": "iot_hub/appliances", "reclamado": 1},
        {"type": "iot_hub/appliances", "reclamado": True, "claimed": False},
        {"type": "iot_hub/device_logs"},
        {"type": "iot_hub/device_logs", "dispositivo_id": True},
        {"type": "iot_hub/device_logs", "dispositivo_id": "1"},
        {"type": "iot_hub/device_logs", "dispositivo_id": 1.0},
        {"type": "iot_hub/device_logs", "dispositivo_id": -1},
        {"type": "iot_hub/device_logs", "dispositivo_id": 10**30},
        {"type": "iot_hub/device_logs", "dispositivo_id": 1, "page": 0},
        {"type": "iot_hub/device_logs", "dispositivo_id": 1, "per_page": False},
        {"type": "iot_hub/device_logs", "dispositivo_id": 1, "per_page": 2**70},
        {"type": "iot_hub/devices/subscribe", "serial": 5},
        {"type": "iot_hub/devices/subscribe", "claimed": None},
        {"type": "iot_hub/devices/subscribe", "reclamado": False, "claimed": True},
    ],
)
async def test_wrong_types_are_invalid(
    directory: FakeDirectory, ws: WsClient, command: dict[str, Any]
) -> None:
    """Wrong types and out-of-range numbers: ``invalid_format``; the connection goes on."""
    assert await error(ws, **command) == "invalid_format"
    assert directory.subscribers == []
    assert len(await result(ws, type="iot_hub/appliances")) == 3


async def test_device_logs(directory: FakeDirectory, ws: WsClient) -> None:
    """The REST route's envelope; default page 1 of 50, capped ``per_page``, past the end."""
    directory.add_log(1, 60)
    page = await result(ws, type="iot_hub/device_logs", dispositivo_id=1)
    assert list(page) == ["items", "page", "per_page", "total", "pages"]
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (1, 50, 60, 2)
    assert [row["id"] for row in page["items"]] == list(range(60, 10, -1))
    page = await result(ws, type="iot_hub/device_logs", dispositivo_id=1, page=2, per_page=25)
    assert [row["id"] for row in page["items"]] == list(range(35, 10, -1))
    page = await result(ws, type="iot_hub/device_logs", dispositivo_id=1, per_page=10**6)
    assert (page["per_page"], len(page["items"])) == (500, 60)
    assert await error(ws, type="iot_hub/device_logs", dispositivo_id=1, page=3) == "not_found"
    assert await error(ws, type="iot_hub/device_logs", dispositivo_id=7) == "not_found"


async def test_subscribe_with_filters(directory: FakeDirectory, ws: WsClient) -> None:
    """Events carry the device object of each matching change, until unsubscribed."""
    await ws.send_json_auto_id(
        {"type": "iot_hub/devices/subscribe", "serial": "PLG0001", "reclamado": True}
    )
    reply = await ws.receive_json()
    subscription = reply["id"]
    assert reply == {"id": subscription, "type": "result", "success": True, "result": None}
    claimed = replace(PLUG, nombre="Enchufe", reclamado=True)
    for device in (PLUG, SENSOR, HEATER, claimed):
        directory.emit(device)
    assert await ws.receive_json() == {
        "id": subscription,
        "type": "event",
        "event": device_object(claimed),
    }
    await ws.send_json_auto_id({"type": "unsubscribe_events", "subscription": subscription})
    assert (await ws.receive_json())["success"]
    assert directory.subscribers == []
    directory.emit(claimed)  # nothing more is sent
    assert len(await result(ws, type="iot_hub/appliances")) == 3


async def test_subscribe_to_everything(directory: FakeDirectory, ws: WsClient) -> None:
    """No filter: every change, in order."""
    assert await result(ws, type="iot_hub/devices/subscribe") is None
    for device in (PLUG, SENSOR):
        directory.emit(device)
    assert (await ws.receive_json())["event"] == device_object(PLUG)
    assert (await ws.receive_json())["event"] == device_object(SENSOR)


async def test_subscriptions_end_when_the_entry_unloads(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    directory: FakeDirectory,
    ws: WsClient,
) -> None:
    """The directory goes away: the subscription ends with ``not_loaded``."""
    await ws.send_json_auto_id({"type": "iot_hub/devices/subscribe"})
    reply = await ws.receive_json()
    assert reply["success"]
    subscription = reply["id"]
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    reply = await ws.receive_json()
    assert reply["id"] == subscription
    assert reply["error"]["code"] == "not_loaded"
    assert directory.subscribers == []
    # Unsubscribing afterwards finds nothing to end, and harms nothing.
    await ws.send_json_auto_id({"type": "unsubscribe_events", "subscription": subscription})
    assert (await ws.receive_json())["error"]["code"] == "not_found"


async def test_a_closed_connection_unsubscribes(
    hass: HomeAssistant, directory: FakeDirectory, ws: WsClient
) -> None:
    """HA runs the subscription's unsubscribe when the connection closes."""
    assert await result(ws, type="iot_hub/devices/subscribe") is None
    await ws.close()
    await hass.async_block_till_done()
    assert directory.subscribers == []


@pytest.mark.parametrize(
    "command",
    [
        {"type": "iot_hub/appliances"},
        {"type": "iot_hub/unclaimed_devices"},
        {"type": "iot_hub/device_logs", "dispositivo_id": 1},
        {"type": "iot_hub/devices/subscribe"},
    ],
)
async def test_not_loaded(
    init_integration: MockConfigEntry, ws: WsClient, command: dict[str, Any]
) -> None:
    """Without a directory: ``not_loaded``."""
    with serving(None):
        assert await error(ws, **command) == "not_loaded"
