"""The seed-003 app simulator (simulators.legacy_app) against a tiny aiohttp server.

iot_hub's side of these routes lives elsewhere; here the client is checked on its own: the
requests it makes (paths, token, bodies, query) and, above all, that it reads the SSE stream
exactly as the seed's ``sse_client.py`` did, fed the seed's byte-exact example in one piece,
byte by byte, with CRLF line ends, and without a charset.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import json
import socket
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from simulators.legacy_app import (
    EXIT_CONNECTION,
    EXIT_HTTP_ERROR,
    EXIT_OK,
    ApiError,
    LegacyAppClient,
    LineSplitter,
    SseEvent,
    SseParser,
    StreamError,
    async_main,
    build_stream_url,
    charset_of,
    consume_sse,
    pretty,
    watch_stream,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")

TOKEN = "ha-long-lived-token"
DEVICE = {
    "id": 1,
    "serial_number": "TMP0603IF1WD",
    "nombre": "Sensor Temp",
    "tipo": "sensor",
    "modelo": "T-01",
    "descripcion": "Termómetro",
    "estado": "activo",
    "parametros": {"temp": 23.4},
    "configuracion": {"modo": "manual", "encendido": True},
    "reclamado": True,
}
# The seed's example (DOC L125-139), byte for byte.
SEED_STREAM = (
    "event: hello\n"
    "data: {}\n"
    "\n"
    'data: {"id":1,"serial_number":"TMP0603IF1WD","nombre":"Sensor Temp","tipo":"sensor",'
    '"modelo":"T-01","descripcion":"Termómetro","estado":"activo","parametros":{"temp":23.4},'
    '"configuracion":{"modo":"manual","encendido":true},"reclamado":true,'
    '"event":"device_update"}\n'
    "\n"
    "event: ping\n"
    "data: {}\n"
    "\n"
).encode()
SEED_EVENTS = [
    SseEvent("{}", "hello"),
    SseEvent(
        json.dumps({**DEVICE, "event": "device_update"}, separators=(",", ":"), ensure_ascii=False),
        None,
    ),
    SseEvent("{}", "ping"),
]


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[web.Application], Awaitable[str]]]:
    """Start aiohttp apps on 127.0.0.1; yields a function returning the base URL."""
    servers: list[TestServer] = []

    async def start(app: web.Application) -> str:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


def sse_app(
    body: bytes,
    *,
    content_type: str = "text/event-stream; charset=utf-8",
    chunk: int | None = None,
    status: int = 200,
    seen: list[web.Request] | None = None,
) -> web.Application:
    """An app whose stream route sends ``body`` (in ``chunk``-byte writes) and ends."""

    async def stream(request: web.Request) -> web.StreamResponse:
        if seen is not None:
            seen.append(request)
        if status != 200:
            return web.Response(status=status, text="no")
        response = web.StreamResponse(headers={"Content-Type": content_type})
        await response.prepare(request)
        size = chunk or len(body)
        for start in range(0, len(body), size):
            await response.write(body[start : start + size])
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/api/iot_hub/stream/dispositivos", stream)
    return app


async def no_wait(_seconds: float) -> None:
    """Backoff that does not wait (the delays are recorded by the tests that care)."""


# -- the SSE reading, exactly as sse_client.py ---------------------------------------------


@pytest.mark.parametrize("chunk", [None, 1, 7], ids=["whole", "byte-by-byte", "7-bytes"])
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
async def test_the_seeds_example_stream(serve: Any, chunk: int | None, crlf: bool) -> None:
    body = SEED_STREAM.replace(b"\n", b"\r\n") if crlf else SEED_STREAM
    seen: list[web.Request] = []
    base = await serve(sse_app(body, chunk=chunk, seen=seen))
    events: list[SseEvent] = []
    lines: list[str] = []
    code = await watch_stream(
        build_stream_url(base, "TMP0603IF1WD", "true"),
        {"Authorization": f"Bearer {TOKEN}"},
        events.append,
        max_retries=1,
        on_line=lines.append,
        sleep=no_wait,
    )
    assert code == EXIT_OK
    assert events == SEED_EVENTS
    assert json.loads(events[1].data)["descripcion"] == "Termómetro"
    assert lines == SEED_STREAM.decode().split("\n")[:-1]
    (request,) = seen
    assert request.query == {"serial": "TMP0603IF1WD", "reclamado": "true"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "text/event-stream"
    assert request.headers["Cache-Control"] == "no-cache"


async def test_without_a_charset_text_is_latin_1_as_requests_decodes_it(serve: Any) -> None:
    """What the seed's client would show if a server left the charset out: mojibake."""
    base = await serve(sse_app(SEED_STREAM, content_type="text/event-stream"))
    events: list[SseEvent] = []
    await watch_stream(build_stream_url(base), {}, events.append, max_retries=1, sleep=no_wait)
    assert "TermÃ³metro" in events[1].data


def test_event_assembly_rules() -> None:
    parser = SseParser()
    lines = [
        ": a comment",  # kept in the buffer, never data
        "event: update",
        "data:first",  # no space after the colon
        "data:   second  ",  # stripped
        "id: 7",
        "",
        "",  # a blank line with nothing buffered: no event
        "event: empty",
        "",  # an event without data: nothing reported
        "data: {}",
        "\n",  # strip("\n") makes it blank
        "data: never ended",
    ]
    events = [event for line in lines if (event := parser.feed(line)) is not None]
    assert events == [SseEvent("first\nsecond", "update"), SseEvent("{}", None)]


def test_lines_are_split_as_str_splitlines() -> None:
    splitter = LineSplitter()
    assert splitter.feed("a\r") == []  # maybe half of \r\n
    assert splitter.feed("\nb") == ["a"]
    assert splitter.feed("\u2028c\r\r") == ["b", "c"]  # the last "\r" waits for a "\n"
    assert splitter.feed("") == []
    assert splitter.flush() == [""]
    assert splitter.feed("tail") == []
    assert splitter.flush() == ["tail"]
    assert splitter.flush() == []


def test_charset_rules() -> None:
    assert charset_of("text/event-stream; charset=utf-8") == "utf-8"
    assert charset_of('text/event-stream; Charset="UTF-8"') == "UTF-8"
    assert charset_of("text/event-stream") == "ISO-8859-1"
    assert charset_of("application/octet-stream") == "utf-8"
    assert charset_of(None) == "utf-8"


def test_stream_url_as_the_seed_builds_it() -> None:
    base = "http://ha.local:8123/"
    assert build_stream_url(base) == "http://ha.local:8123/api/iot_hub/stream/dispositivos"
    assert build_stream_url(base, reclamado="false", token="t k") == (
        "http://ha.local:8123/api/iot_hub/stream/dispositivos?reclamado=false&token=t+k"
    )


async def test_errors_and_the_seeds_backoff(serve: Any) -> None:
    """Non-200 is an error, a closed port too; waits of 2 s doubling to 30 s, never reset."""
    seen: list[web.Request] = []
    base = await serve(sse_app(b"", status=401, seen=seen))
    delays: list[float] = []
    notes: list[str] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    code = await watch_stream(
        build_stream_url(base), {}, print, max_retries=6, sleep=record, log=notes.append
    )
    assert code == EXIT_OK
    assert len(seen) == 6
    assert delays == [2, 4, 8, 16, 30, 30]
    assert "Stream error: HTTP 401 Unauthorized" in notes

    # A stream that ends normally is reconnected too, with the same growing waits.
    base = await serve(sse_app(SEED_STREAM))
    delays.clear()
    events: list[SseEvent] = []
    await watch_stream(build_stream_url(base), {}, events.append, max_retries=3, sleep=record)
    assert events == SEED_EVENTS * 3
    assert delays == [2, 4, 8]

    # One connection, as the seed's consume_sse: the status is the error.
    base = await serve(sse_app(b"", status=401))
    async with aiohttp.ClientSession() as session:
        with pytest.raises(StreamError, match=r"^HTTP 401 Unauthorized$"):
            await consume_sse(session, build_stream_url(base), {}, print)

    # Nobody listening: an error, retried the same way.
    notes.clear()
    url = f"http://127.0.0.1:{free_port()}"
    await watch_stream(
        build_stream_url(url), {}, print, max_retries=1, sleep=no_wait, log=notes.append
    )
    assert notes[1].startswith("Stream error: Cannot connect")


async def test_watch_command_line(serve: Any) -> None:
    seen: list[web.Request] = []
    base = await serve(sse_app(SEED_STREAM, seen=seen))
    out: list[str] = []
    err: list[str] = []
    argv = ["--url", base, "--token", TOKEN, "watch", "--serial", "S1", "--max-retries", "1"]
    code = await async_main(
        [*argv, "--token-in-query", "--show-raw", "--pretty"],
        out=out.append,
        err=err.append,
        sleep=no_wait,
    )
    assert code == EXIT_OK
    assert seen[0].query == {"serial": "S1", "token": TOKEN}
    assert "Authorization" not in seen[0].headers
    assert out[0] == "\n📥 Evento dispositivo:\n{}"
    assert '"descripcion": "Termómetro"' in out[1]
    assert "» event: hello" in err
    out.clear()
    assert await async_main(argv, out=out.append, err=err.append, sleep=no_wait) == EXIT_OK
    assert out == [event.data for event in SEED_EVENTS]
    assert seen[1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert pretty("not json") == "not json"


# -- the REST calls ----------------------------------------------------------------------


def rest_app(calls: list[tuple[str, str, dict[str, str], Any]]) -> web.Application:
    """The legacy routes as the seed documents them (just enough to answer the client)."""
    logs = [{"id": n, "dispositivo_id": 1, "estado": "activo"} for n in range(5, 0, -1)]

    async def record(request: web.Request) -> None:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        body = await request.json() if request.can_read_body else None
        calls.append((request.method, request.path, dict(request.query), body))

    async def devices(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response([DEVICE])

    async def unclaimed(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response([])

    async def device(request: web.Request) -> web.Response:
        await record(request)
        if request.match_info["id"] != "1":
            return web.json_response({"error": "Dispositivo no encontrado"}, status=404)
        if request.method == "PUT":
            return web.json_response({**DEVICE, **(await request.json())})
        return web.json_response(DEVICE)

    async def claim(request: web.Request) -> web.Response:
        await record(request)
        return web.json_response({**DEVICE, **(await request.json())})

    async def device_logs(request: web.Request) -> web.Response:
        await record(request)
        page, per_page = int(request.query["page"]), int(request.query["per_page"])
        items = logs[(page - 1) * per_page : page * per_page]
        if request.match_info["id"] == "2":  # a server answering bare lists
            return web.json_response(items)
        pages = -(-len(logs) // per_page)
        return web.json_response(
            {"items": items, "page": page, "per_page": per_page, "total": len(logs), "pages": pages}
        )

    async def broken(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=500, text="boom")

    app = web.Application()
    app.router.add_get("/api/iot_hub/dispositivos", devices)
    app.router.add_get("/api/iot_hub/dispositivos/no-reclamados", unclaimed)
    app.router.add_post("/api/iot_hub/dispositivos/reclamar", claim)
    app.router.add_get("/api/iot_hub/dispositivos/9/logs", broken)
    app.router.add_get("/api/iot_hub/dispositivos/{id}/logs", device_logs)
    app.router.add_route("*", "/api/iot_hub/dispositivos/{id}", device)
    return app


async def test_rest_client(serve: Any) -> None:
    calls: list[tuple[str, str, dict[str, str], Any]] = []
    base = await serve(rest_app(calls))
    async with LegacyAppClient(base + "/", TOKEN) as client:
        assert await client.devices() == [DEVICE]
        assert await client.unclaimed() == []
        assert await client.device(1) == DEVICE
        claimed = await client.claim(
            "TMP0603IF1WD",
            nombre="Sensor Temp",
            tipo="sensor",
            descripcion="Termómetro",
            configuracion={"modo": "manual", "encendido": True},
        )
        assert claimed["nombre"] == "Sensor Temp"
        updated = await client.update(1, {"configuracion": {"modo": "horario"}})
        assert updated["configuracion"] == {"modo": "horario"}
        page = await client.logs(1, page=2, per_page=2)
        assert [row["id"] for row in page["items"]] == [3, 2]
        assert [row["id"] async for row in client.all_logs(1, per_page=2)] == [5, 4, 3, 2, 1]
        assert [row["id"] async for row in client.all_logs(2, per_page=5)] == [5, 4, 3, 2, 1]
        assert [row["id"] async for row in client.all_logs(2, per_page=3)] == [5, 4, 3, 2, 1]
        with pytest.raises(ApiError) as missing:
            await client.device(7)
        assert missing.value.status == 404
        assert missing.value.body == {"error": "Dispositivo no encontrado"}
        with pytest.raises(ApiError) as broken:
            await client.logs(9)
        assert broken.value.body == "boom"
        with pytest.raises(ValueError, match="path segment"):
            await client.device("1/logs")
    # The claim carries the QR code's keys and nothing else.
    claim = next(body for method, path, _, body in calls if method == "POST")
    assert claim == {
        "serial_number": "TMP0603IF1WD",
        "nombre": "Sensor Temp",
        "tipo": "sensor",
        "descripcion": "Termómetro",
        "configuracion": {"modo": "manual", "encendido": True},
    }
    assert (
        "GET",
        "/api/iot_hub/dispositivos/1/logs",
        {"page": "2", "per_page": "2"},
        None,
    ) in calls


async def test_rest_command_line(serve: Any) -> None:
    calls: list[tuple[str, str, dict[str, str], Any]] = []
    base = await serve(rest_app(calls))
    out: list[str] = []
    err: list[str] = []

    async def run(*argv: str) -> int:
        out.clear()
        return await async_main(
            ["--url", base, "--token", TOKEN, *argv], out=out.append, err=err.append
        )

    assert await run("list") == EXIT_OK
    assert json.loads(out[0]) == [DEVICE]
    assert await run("unclaimed") == EXIT_OK
    assert await run("get", "1") == EXIT_OK
    assert await run("logs", "1", "--page", "1", "--per-page", "2") == EXIT_OK
    assert await run("logs", "1", "--all", "--per-page", "2") == EXIT_OK
    assert len(out) == 5
    assert json.loads(out[0]) == {"id": 5, "dispositivo_id": 1, "estado": "activo"}
    assert await run("claim", "--serial", "S9", "--nombre", "Plug", "--modo", "horario") == EXIT_OK
    assert calls[-1][3] == {
        "serial_number": "S9",
        "nombre": "Plug",
        "configuracion": {"modo": "horario"},
    }
    assert await run("update", "1", "--nombre", "N", "--no-encendido") == EXIT_OK
    assert calls[-1][3] == {"nombre": "N", "configuracion": {"encendido": False}}
    assert await run("update", "1", "--tipo", "enchufe") == EXIT_OK
    assert calls[-1][3] == {"tipo": "enchufe"}
    assert await run("get", "7") == EXIT_HTTP_ERROR
    assert json.loads(out[0]) == {"error": "Dispositivo no encontrado"}
    assert "HTTP 404 Not Found" in err


async def test_rest_command_line_without_a_server() -> None:
    port = free_port()
    err: list[str] = []
    code = await async_main(
        ["--url", f"http://127.0.0.1:{port}", "--token", TOKEN, "list"], out=print, err=err.append
    )
    assert code == EXIT_CONNECTION
    assert err[0].startswith("Cannot reach")
