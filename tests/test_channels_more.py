"""Seed 001's channels beyond the socket: websocket_api, the readings POST's refusals, unload,
the options flow, diagnostics, and the legacy client simulator end to end."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import area_registry as ar
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.kinds.sensor import surfaces
from custom_components.iot_hub.transport.limits import TokenBucket
from simulators import legacy_channels

from .channel_tools import (
    BASE,
    ChannelConnect,
    channel_connect_fixture,  # noqa: F401  (the fixture)
    connection,
    exact,
    system,
)
from .conftest import OVEN_TOKEN, WsConnect, frame, hub_of, until
from .sensor_tools import ENV, ENV_TOKEN, WEARABLE, WEARABLE_TOKEN, sensor_live


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor and a wearable."""
    return [ENV, WEARABLE]


@pytest.mark.usefixtures("init_integration")
async def test_websocket_api_subscription(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, hass_access_token: str
) -> None:
    """A result, the ``connection`` frame, then the channel's frames; gone when it closes."""
    ws = await hass_ws_client(hass)
    await ws.send_json({"id": 1, "type": "iot_hub/channel/subscribe", "channel": "sensors"})
    assert (await ws.receive_json())["success"] is True
    first = await ws.receive_json()
    assert first["id"] == 1 and first["type"] == "event"
    assert exact(first["event"]) == connection("sensors")
    live = sensor_live(hass)
    assert live.channel_events.system("info", "hola", {}, channel="sensors") == 1
    assert exact((await ws.receive_json())["event"]) == system("info", "hola", {})
    await ws.send_json({"id": 2, "type": "iot_hub/channel_stats"})
    stats = (await ws.receive_json())["result"]
    user = hass.auth.async_validate_access_token(hass_access_token)
    assert user is not None
    assert stats["total_channels"] == 1
    assert stats["channels"]["sensors"]["users"][0]["user_id"] == user.user.id
    await ws.send_json({"id": 3, "type": "iot_hub/channel_stats", "channel": "readings"})
    assert (await ws.receive_json())["result"] == {"connections": 0, "users": []}
    await ws.send_json({"id": 4, "type": "iot_hub/channel/subscribe", "channel": "bogus"})
    assert (await ws.receive_json())["error"]["code"] == "invalid_format"
    await ws.send_json({"id": 5, "type": "unsubscribe_events", "subscription": 1})
    assert (await ws.receive_json())["success"] is True
    assert live.channels.count == 0
    await ws.send_json({"id": 6, "type": "iot_hub/channel/subscribe"})  # general by default
    await ws.receive_json()
    assert (await ws.receive_json())["event"]["channel"] == "general"
    await ws.close()
    await until(lambda: live.channels.count == 0)
    surfaces.async_register(hass)  # once per HA run: a second call adds nothing


@pytest.mark.usefixtures("init_integration")
async def test_unload_closes_everything_and_routes_say_not_loaded(
    hass: HomeAssistant,
    channel_connect: ChannelConnect,
    hass_access_token: str,
    hass_ws_client: WebSocketGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Sockets close 1001, subscriptions end ``not_loaded``; then 503s and a translated error."""
    socket = await channel_connect(f"?token={hass_access_token}")
    assert exact(await frame(socket)) == connection("general")
    ws = await hass_ws_client(hass)
    await ws.send_json({"id": 1, "type": "iot_hub/channel/subscribe"})
    await ws.receive_json()
    await ws.receive_json()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert await hass.config_entries.async_unload(entry.entry_id)
    msg = await socket.receive(timeout=5)
    assert msg.type is WSMsgType.CLOSE and socket.close_code == 1001
    ended = await ws.receive_json()
    assert ended["id"] == 1 and ended["error"]["code"] == "not_loaded"

    client = await hass_client_no_auth()
    admin = {"Authorization": f"Bearer {hass_access_token}"}
    for method, path in (
        ("get", "/ws/stats"),
        ("get", "/ws/stats/general"),
        ("post", "/ws/test-event?message=x"),
        ("get", "/ws"),
        ("post", "/readings"),
    ):
        response = await getattr(client, method)(f"{BASE}{path}", headers=admin)
        assert response.status == 503, path
        assert await response.json() == {"error": "iot_hub no está cargado"}
    for msg_id, command in (
        (9, {"type": "iot_hub/channel/subscribe"}),
        (10, {"type": "iot_hub/channel_stats"}),
    ):
        await ws.send_json({"id": msg_id, **command})
        assert (await ws.receive_json())["error"]["code"] == "not_loaded"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "send_test_event", {"message": "x"}, blocking=True)
    assert err.value.translation_key == "channels_not_loaded"


async def test_ha_stopping_closes_channel_sockets(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    channel_connect: ChannelConnect,
    hass_access_token: str,
) -> None:
    """HA does not unload entries when it stops: the sockets are closed 1001 anyway."""
    socket = await channel_connect(f"?token={hass_access_token}")
    await frame(socket)
    hass.bus.async_fire("homeassistant_stop")
    msg = await socket.receive(timeout=5)
    assert msg.type is WSMsgType.CLOSE and socket.close_code == 1001
    assert await hass.config_entries.async_unload(init_integration.entry_id)


@pytest.mark.usefixtures("init_integration")
async def test_reading_post_refusals(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """401 without or with a wrong token, 403 for another sensor's number, 400, 413, 429."""
    client = await hass_client_no_auth()
    url = f"{BASE}/readings"
    env = {"Authorization": f"Bearer {ENV_TOKEN}"}
    for headers, query in (({}, ""), ({"Authorization": "Bearer nope"}, ""), ({}, "?token=x")):
        response = await client.post(f"{url}{query}", json={"humedad": 1}, headers=headers)
        assert response.status == 401
        assert await response.json() == {"error": "No autorizado"}
    response = await client.post(
        url, json={"humedad": 1}, headers={"Authorization": f"Bearer {OVEN_TOKEN}"}
    )
    assert response.status == 401  # a token, but no sensor's
    response = await client.post(url, json={"sensor_id": 2, "humedad": 1}, headers=env)
    assert response.status == 403
    assert await response.json() == {"error": "sensor_id no es el de este token"}
    for body, error in (
        ('{"sensor_id": "1", "humedad": 1}', "sensor_id must be an integer"),
        ('{"humedad": "x"}', "humedad must be a number"),
        ("not json", "invalid JSON"),
        (b"\xff\xfe", "El cuerpo no es UTF-8"),
    ):
        response = await client.post(url, data=body, headers=env)
        assert response.status == 400
        assert await response.json() == {"error": error}
    response = await client.post(url, data="x" * (16 * 1024 + 1), headers=env)
    assert response.status == 413

    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 1024

    response = await client.post(url, data=chunks(), headers=env)  # no length up front
    assert response.status == 413
    assert await response.json() == {"error": "Cuerpo demasiado grande"}

    # The sensor's rate (200/s, bursts of 400) slowed down to one reading, then none.
    wearable = next(d for d in hub_of(hass).devices.values() if d.name == "Wearable")
    wearable.handler._post_bucket = TokenBucket(rate=0.001, burst=1.0, tokens=1.0)
    wear = {"Authorization": f"Bearer {WEARABLE_TOKEN}"}
    statuses = [
        (await client.post(url, json={"heart_rate": 70}, headers=wear)).status for _ in range(3)
    ]
    assert statuses == [201, 429, 429]
    assert caplog.text.count("Wearable posts readings too fast") == 1


async def test_options_flow_sets_the_cap(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """``max_event_clients`` is a hub option, saved as an integer, used at once."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    schema = result["data_schema"].schema
    defaults = {
        str(key): key.default() for key in schema if callable(getattr(key, "default", None))
    }
    assert defaults["max_event_clients"] == 100
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"max_event_clients": 7.0}
    )
    await hass.async_block_till_done()
    assert init_integration.options["max_event_clients"] == 7
    assert sensor_live(hass).channels.cap == 7


async def test_diagnostics_show_the_stats(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    channel_connect: ChannelConnect,
    hass_access_token: str,
) -> None:
    """The stats object, as ``GET /ws/stats`` answers it, user ids redacted."""
    from custom_components.iot_hub.diagnostics import async_get_config_entry_diagnostics

    await frame(await channel_connect(f"?channel=readings&token={hass_access_token}&user_id=u"))
    diagnostics = await async_get_config_entry_diagnostics(hass, init_integration)
    channels = diagnostics["kinds"]["sensor"]["channels"]
    assert channels["total_channels"] == 1
    assert channels["channels"]["readings"]["connections"] == 1
    assert channels["channels"]["readings"]["users"][0]["user_id"] == "**REDACTED**"


@pytest.mark.usefixtures("init_integration", "socket_enabled")
async def test_the_legacy_client_end_to_end(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    hass_access_token: str,
    ws_connect: WsConnect,
) -> None:
    """The seed's listener, tester and stats calls, written from the seed, against iot_hub."""
    client = await hass_client_no_auth()
    base = str(client.make_url(BASE))
    printed: list[dict[str, Any]] = []
    listener = asyncio.create_task(
        legacy_channels.listen(
            base, hass_access_token, "readings", count=3, on_frame=printed.append, user_id="cli"
        )
    )
    live = sensor_live(hass)
    await until(lambda: live.channels.count == 1)
    stats = await legacy_channels.get_stats(base, hass_access_token)
    assert stats["channels"]["readings"]["users"][0]["user_id"] == "cli"
    assert (
        await legacy_channels.get_stats(base, hass_access_token, "readings")
        == stats["channels"]["readings"]
    )
    answer = await legacy_channels.send_test_event(base, hass_access_token, "readings", "Prueba")
    assert answer == {"status": "sent", "channel": "readings", "delivered": 1}
    device = await ws_connect(f"?token={ENV_TOKEN}")
    await device.send_str(json.dumps({"temperatura": 23.5, "humedad": 65.2}))
    frames = await asyncio.wait_for(listener, 10)
    assert [f["type"] for f in frames] == ["connection", "system_event", "entity_event"]
    assert {"print": "Entidad reading created: ID 1"} in printed
    assert legacy_channels.socket_url("https://ha/api/iot_hub/v1", "general", "T").scheme == "wss"
    ar.async_get(hass)  # the area registry is there for locations (nothing else to check)


@pytest.mark.usefixtures("socket_enabled")
async def test_simulator_command_line(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    hass_access_token: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``stats`` and ``test-event`` print the server's JSON; ``listen --count`` stops."""
    client = await hass_client_no_auth()
    base = str(client.make_url(BASE))
    common = ["--base", base, "--token", hass_access_token]
    assert await legacy_channels.async_main([*common, "stats"]) == 0
    assert json.loads(capsys.readouterr().out) == {"total_channels": 0, "channels": {}}
    assert await legacy_channels.async_main([*common, "test-event", "--message", "x"]) == 0
    assert json.loads(capsys.readouterr().out)["delivered"] == 0
    assert await legacy_channels.async_main([*common, "stats", "--channel", "general"]) == 0
    assert json.loads(capsys.readouterr().out) == {"connections": 0, "users": []}
    assert await legacy_channels.async_main([*common, "listen", "--count", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["type"] == "connection"

    # Without --count it listens until the server closes (here: the hub unloads).
    listener = asyncio.create_task(
        legacy_channels.listen(base, hass_access_token, on_frame=lambda _frame: None)
    )
    live = sensor_live(hass)
    await until(lambda: live.channels.count == 1)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert [f["type"] for f in await asyncio.wait_for(listener, 10)] == ["connection"]


@pytest.mark.usefixtures("init_integration")
async def test_heartbeat_pings_and_closes_a_silent_client_1013(
    hass: HomeAssistant,
    channel_connect: ChannelConnect,
    hass_access_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ping after a quiet ``HEARTBEAT``; unanswered within half of it: 1013. Answered: kept."""
    from custom_components.iot_hub.transport import ws_link

    monkeypatch.setattr(ws_link, "HEARTBEAT", 0.2)
    silent = await channel_connect(f"?token={hass_access_token}", autoping=False)
    answering = await channel_connect(f"?token={hass_access_token}")  # aiohttp answers pings
    assert exact(await frame(silent)) == connection("general")
    assert exact(await frame(answering)) == connection("general")
    reading = asyncio.create_task(frame(answering))  # aiohttp answers pings while it reads
    assert (await silent.receive(timeout=5)).type is WSMsgType.PING
    msg = await silent.receive(timeout=5)
    assert msg.type is WSMsgType.CLOSE and silent.close_code == 1013
    assert msg.extra == "did not answer a ping"
    live = sensor_live(hass)
    await until(lambda: live.channels.count == 1)
    await asyncio.sleep(0.5)  # a few more heartbeats
    live.channel_events.system("info", "sigue", {})
    assert (await reading)["message"] == "sigue"
