"""The seed's SSE stream (003) through HA's real HTTP server, read as raw bytes.

Byte-exact framing, the filters, heartbeats, auth, the per-client queue (a client that stops
reading is dropped alone) and the end of every stream when HA stops or the entry unloads.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import replace
import logging
from typing import Any
from unittest.mock import patch

from aiohttp import ClientError, ClientResponse
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.kinds.appliance import sse
from custom_components.iot_hub.kinds.appliance.access import Filters
from custom_components.iot_hub.kinds.appliance.codec import DeviceInfo, encode_sse_update

from .appliance_fake import (
    HEATER,
    PLUG,
    SENSOR,
    FakeDirectory,
    directory_fixture,  # noqa: F401  (the fixture)
    serving,
)
from .conftest import until

STREAM = "/api/iot_hub/stream/dispositivos"
HELLO = b"event: hello\ndata: {}\n\n"
PING = b"event: ping\ndata: {}\n\n"
SEED_UPDATE = (
    'data: {"id":1,"serial_number":"TMP0603IF1WD","nombre":"Sensor Temp","tipo":"sensor",'
    '"modelo":"T-01","descripcion":"Termómetro","estado":"activo","parametros":{"temp":23.4},'
    '"configuracion":{"modo":"manual","encendido":true},"reclamado":true,'
    '"event":"device_update"}\n\n'
).encode()

type Client = Any  # aiohttp's TestClient


@pytest.fixture
async def client(hass_client_no_auth: ClientSessionGenerator) -> Client:
    """A client that brings its token itself."""
    return await hass_client_no_auth()


async def event(response: ClientResponse) -> bytes:
    """The next event, up to and with the blank line that ends it."""
    async with asyncio.timeout(5):
        return await response.content.readuntil(b"\n\n")


def update(device: DeviceInfo) -> bytes:
    """The frame of a device's change."""
    return encode_sse_update(device).encode()


async def ended(response: ClientResponse) -> None:
    """The server ended the response cleanly (the final chunk, nothing after)."""
    async with asyncio.timeout(5):
        assert await response.content.read() == b""
    assert response.content.at_eof()


async def test_hello_then_updates_byte_for_byte(
    directory: FakeDirectory, client: Client, hass_access_token: str
) -> None:
    """200, the headers, ``hello`` first, then the seed's exact line for a change."""
    response = await client.get(f"{STREAM}?token={hass_access_token}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert await event(response) == HELLO
    directory.emit(SENSOR)
    assert await event(response) == SEED_UPDATE
    renamed = replace(SENSOR, nombre="Señal", parametros={"temp": -1.5, "ok": True})
    directory.emit(renamed)
    assert await event(response) == (
        SEED_UPDATE.replace(b"Sensor Temp", "Señal".encode()).replace(
            b'{"temp":23.4}', b'{"temp":-1.5,"ok":true}'
        )
    )
    response.close()


CLAIMED_PLUG = replace(PLUG, nombre="Enchufe", reclamado=True)


@pytest.mark.parametrize("path", [STREAM, "/api/iot_hub/stream"])
@pytest.mark.parametrize(
    ("query", "emitted", "expected"),
    [
        ("serial=TMP0603IF1WD", [PLUG, HEATER, SENSOR], SENSOR),
        ("reclamado=false", [SENSOR, HEATER, PLUG], PLUG),
        ("reclamado=true", [PLUG, HEATER], HEATER),
        ("claimed=FALSE", [SENSOR, PLUG], PLUG),
        ("claimed=1", [PLUG, SENSOR], SENSOR),
        ("reclamado=true&claimed=true", [PLUG, SENSOR], SENSOR),
        ("serial=PLG0001&reclamado=true", [PLUG, SENSOR, CLAIMED_PLUG], CLAIMED_PLUG),
        ("serial=PLG000", [PLUG, CLAIMED_PLUG, SENSOR], DeviceInfo(id=9, serial_number="PLG000")),
        ("serial=&reclamado=", [PLUG], PLUG),
    ],
)
async def test_filters(
    *,
    directory: FakeDirectory,
    client: Client,
    hass_access_token: str,
    path: str,
    query: str,
    emitted: list[DeviceInfo],
    expected: DeviceInfo,
) -> None:
    """Serial exact, ``reclamado`` as the device is after the change; both: both match."""
    response = await client.get(f"{path}?{query}&token={hass_access_token}")
    assert await event(response) == HELLO
    for device in emitted:
        directory.emit(device)
    if expected not in emitted:
        directory.emit(expected)
    assert await event(response) == update(expected)
    response.close()


async def test_pings_when_quiet(
    directory: FakeDirectory, client: Client, hass_access_token: str
) -> None:
    """``event: ping`` after the interval without an event; updates still come between."""
    with patch.object(sse, "SSE_PING_INTERVAL", 0.01):
        response = await client.get(
            STREAM, headers={"Authorization": f"Bearer {hass_access_token}"}
        )
        assert await event(response) == HELLO
        assert await event(response) == PING
        assert await event(response) == PING
        directory.emit(SENSOR)
        while (frame := await event(response)) == PING:
            pass
        assert frame == SEED_UPDATE
    response.close()


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {}),
        ("?token=nope", {}),
        ("?token=", {}),
        ("", {"Authorization": "Bearer nope"}),
        ("?serial=X", {"Authorization": "Token x"}),
    ],
)
async def test_bad_or_missing_token(
    directory: FakeDirectory,
    client: Client,
    query: str,
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """401 in JSON, counted as a failed login, and no stream."""
    caplog.set_level(logging.WARNING)
    response = await client.get(f"{STREAM}{query}", headers=headers)
    assert response.status == 401
    assert await response.json() == {"error": "No autorizado"}
    assert "invalid authentication" in caplog.text
    assert directory.subscribers == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("reclamado=yes", "reclamado debe ser true o false"),
        ("claimed=2", "claimed debe ser true o false"),
        ("reclamado=true&claimed=false", "reclamado y claimed se contradicen"),
    ],
)
async def test_bad_filters(
    directory: FakeDirectory, client: Client, hass_access_token: str, query: str, message: str
) -> None:
    """A ``reclamado`` that is not true or false: 400."""
    response = await client.get(f"{STREAM}?{query}&token={hass_access_token}")
    assert response.status == 400
    assert await response.json() == {"error": message}


async def test_no_hub_no_stream(
    init_integration: MockConfigEntry, client: Client, hass_access_token: str
) -> None:
    """Without a directory: 503."""
    with serving(None):
        response = await client.get(f"{STREAM}?token={hass_access_token}")
    assert response.status == 503
    assert await response.json() == {"error": "iot_hub no está cargado"}


async def test_client_cap(
    directory: FakeDirectory,
    client: Client,
    hass_access_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past ``MAX_CLIENTS`` open streams: 503; a closed one frees its place."""
    url = f"{STREAM}?token={hass_access_token}"
    with patch.object(sse, "MAX_CLIENTS", 2):
        first = await client.get(url)
        second = await client.get(url)
        assert await event(first) == await event(second) == HELLO
        for _ in range(2):
            refused = await client.get(url)
            assert refused.status == 503
            assert await refused.json() == {"error": "Demasiados clientes SSE"}
        assert caplog.text.count("Refused an SSE client") == 1  # once a minute per address
        first.close()
        await until(lambda: len(directory.subscribers) == 1)
        third = await client.get(url)
        assert await event(third) == HELLO
        directory.emit(SENSOR)
        assert await event(second) == await event(third) == SEED_UPDATE
    second.close()
    third.close()


async def test_a_client_that_stops_reading_is_dropped_alone(
    directory: FakeDirectory,
    client: Client,
    hass_access_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its queue fills (its socket is full), it is cut with a log line; the other reads on."""
    url = f"{STREAM}?token={hass_access_token}"
    with patch.object(sse, "QUEUE_SIZE", 4):
        slow = await client.get(url)
        fast = await client.get(url)
    assert await event(slow) == await event(fast) == HELLO
    blob = "x" * 256 * 1024  # a few dozen of these fill the socket buffers of a loopback
    for n in range(400):
        changed = replace(SENSOR, parametros={"blob": blob, "n": n})
        directory.emit(changed)
        frame = update(changed)
        async with asyncio.timeout(5):
            assert await fast.content.readexactly(len(frame)) == frame
        if "stopped reading" in caplog.text:
            break
    else:
        pytest.fail("the slow client was never dropped")
    assert "stopped reading (4 events waiting); dropping it" in caplog.text
    await until(lambda: len(directory.subscribers) == 1)
    directory.emit(SENSOR)
    assert await event(fast) == SEED_UPDATE
    # The slow one gets what was already in its socket, then the cut.
    with suppress(ClientError):
        async with asyncio.timeout(5):
            while await slow.content.read(1 << 20):
                pass
    fast.close()


async def test_streams_end_when_home_assistant_stops(
    hass: HomeAssistant, directory: FakeDirectory, client: Client, hass_access_token: str
) -> None:
    """An open stream would hold up the HTTP server's shutdown: it is ended cleanly."""
    responses = [await client.get(f"{STREAM}?token={hass_access_token}") for _ in range(2)]
    for response in responses:
        assert await event(response) == HELLO
    directory.emit(SENSOR)  # queued frames are written before the end
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    for response in responses:
        assert await event(response) == SEED_UPDATE
        await ended(response)
    assert directory.subscribers == []


async def test_streams_end_when_the_entry_unloads(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    directory: FakeDirectory,
    client: Client,
    hass_access_token: str,
) -> None:
    """The directory goes away with the entry: its streams end; new ones get 503."""
    response = await client.get(f"{STREAM}?token={hass_access_token}")
    assert await event(response) == HELLO
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await ended(response)
    assert directory.subscribers == []


async def test_a_revoked_token_ends_the_stream(
    hass: HomeAssistant, directory: FakeDirectory, client: Client, hass_access_token: str
) -> None:
    """As HA's own WebSocket does: the token's refresh token is removed, the stream ends."""
    response = await client.get(f"{STREAM}?token={hass_access_token}")
    assert await event(response) == HELLO
    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None
    hass.auth.async_remove_refresh_token(refresh_token)
    await ended(response)


async def test_a_client_that_leaves_is_forgotten(
    directory: FakeDirectory, client: Client, hass_access_token: str
) -> None:
    """Its subscription goes, and changes afterwards harm nothing."""
    response = await client.get(f"{STREAM}?token={hass_access_token}")
    assert await event(response) == HELLO
    response.close()
    directory.emit(SENSOR)  # the write may find the socket closed
    await until(lambda: directory.subscribers == [])
    directory.emit(SENSOR)


async def test_a_dropped_client_gets_nothing_more(caplog: pytest.LogCaptureFixture) -> None:
    """Past its queue's bound a client is dropped: the rest is not queued, its stream ends."""
    with patch.object(sse, "QUEUE_SIZE", 2):
        client = sse.SseClient(Filters(), "192.0.2.1", None)  # its socket already gone
    for device in (SENSOR, PLUG, HEATER, SENSOR):
        client.on_change(device)
    assert client.dropped
    assert caplog.text.count("stopped reading (2 events waiting)") == 1
    assert await client.next() is None
