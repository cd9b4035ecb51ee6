"""The legacy IoT back end's app (seed 003): its REST calls and its SSE watcher, for iot_hub.

The seed's Android app listed devices over REST, claimed them by QR code, changed their
configuration with PUT and kept its view live over Server-Sent Events; its test script
``sse_client.py`` watched the stream. Against iot_hub the same calls go to ``/api/iot_hub/``
with a Home Assistant access token (``Authorization: Bearer``):

* ``GET /dispositivos``, ``GET /dispositivos/<id>``, ``GET /dispositivos/no-reclamados``;
* ``POST /dispositivos/reclamar`` with the QR's keys (``serial_number``, ``nombre``, ``tipo``,
  ``modelo``, ``descripcion``, ``configuracion``);
* ``PUT /dispositivos/<id>`` with the fields to change;
* ``GET /dispositivos/<id>/logs?page=&per_page=``;
* ``GET /stream/dispositivos?serial=&reclamado=``, the SSE stream.

The SSE watcher reads the stream exactly as ``sse_client.py`` did, so it shows what the
legacy clients will see: the body is decoded with the charset of ``Content-Type`` (the
``requests`` library's rule: ISO-8859-1 for a ``text/*`` type without one), split into
lines as ``str.splitlines`` splits them, ``data:`` lines are kept (``line[5:].strip()``,
several joined by a newline), ``event:`` and other lines are ignored, and a blank line ends
an event. Every event is reported, ``hello`` and ``ping`` too. A status other than 200 is an
error; after an error or the end of the stream it reconnects after 2 s, doubling up to 30 s
(never reset, as in the seed), and ``--max-retries N`` stops after N connections (0:
never).

Command line::

    python -m simulators.legacy_app --url http://127.0.0.1:8123 --token TOKEN ACTION ...
      list | unclaimed | get ID | logs ID [--page 1] [--per-page 50] [--all]
      claim --serial S --nombre N [--tipo T] [--modelo M] [--descripcion D]
            [--modo manual|horario] [--encendido | --no-encendido]
      update ID [--nombre N] [--tipo T] [--modelo M] [--descripcion D]
            [--modo manual|horario] [--encendido | --no-encendido]
      watch [--serial S] [--reclamado true|false] [--show-raw] [--pretty]
            [--max-retries N] [--token-in-query]

REST answers go to stdout as JSON; an HTTP error prints the server's body and exits 1, a
connection failure exits 3.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
import json
import sys
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import urlencode

import aiohttp

from .common import Printer, run_cli, silent, timestamped

API_ROOT: Final = "/api/iot_hub"
STREAM_PATH: Final = f"{API_ROOT}/stream/dispositivos"
SSE_HEADERS: Final = {
    "Accept": "text/event-stream",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
}
INITIAL_BACKOFF: Final = 2.0
MAX_BACKOFF: Final = 30.0
REST_TIMEOUT: Final = 30.0
EXIT_OK: Final = 0
EXIT_HTTP_ERROR: Final = 1
EXIT_CONNECTION: Final = 3  # 2 is argparse's usage error

type Sleeper = Callable[[float], Awaitable[None]]


class ApiError(Exception):
    """The server answered a REST call with an error status."""

    def __init__(self, status: int, reason: str, body: Any) -> None:
        """Remember the status and the server's body (parsed JSON, or the text)."""
        super().__init__(f"HTTP {status} {reason}: {body}")
        self.status = status
        self.reason = reason
        self.body = body


class StreamError(Exception):
    """The SSE stream could not be opened (a status other than 200)."""


def _path_id(device_id: int | str) -> str:
    text = str(device_id)
    if not text or "/" in text or "?" in text or "#" in text:
        raise ValueError("a device id is one path segment")
    return text


class LegacyAppClient:
    """The app's REST calls against iot_hub's legacy routes. Use as an async context manager."""

    def __init__(
        self, base_url: str, token: str, *, session: aiohttp.ClientSession | None = None
    ) -> None:
        """Configure the client.

        Args:
            base_url: Home Assistant's URL, e.g. ``http://homeassistant.local:8123``.
            token: A Home Assistant access token (sent as ``Authorization: Bearer``).
            session: An aiohttp session to use (and leave open); one is made otherwise.
        """
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session = session
        self._own_session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is not None:
            return self._session
        if self._own_session is None:
            self._own_session = aiohttp.ClientSession()
        return self._own_session

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Any = None,
    ) -> Any:
        """One call to ``/api/iot_hub<path>``.

        Returns:
            The parsed JSON answer (or its text when it is not JSON).

        Raises:
            ApiError: The server answered with a status of 300 or more.
            aiohttp.ClientError: The server could not be reached.
            TimeoutError: The server did not answer in time.
        """
        async with (
            asyncio.timeout(REST_TIMEOUT),
            self._http().request(
                method,
                f"{self._base}{API_ROOT}{path}",
                params=params,
                json=body,
                headers=self._headers,
            ) as response,
        ):
            text = await response.text()
            try:
                data = json.loads(text)
            except ValueError:
                data = text
            if response.status >= 300:
                raise ApiError(response.status, response.reason or "", data)
            return data

    async def devices(self) -> Any:
        """``GET /dispositivos``: every device object."""
        return await self.request("GET", "/dispositivos")

    async def device(self, device_id: int | str) -> Any:
        """``GET /dispositivos/<id>``: one device object."""
        return await self.request("GET", f"/dispositivos/{_path_id(device_id)}")

    async def unclaimed(self) -> Any:
        """``GET /dispositivos/no-reclamados``: the devices seen on MQTT but not claimed."""
        return await self.request("GET", "/dispositivos/no-reclamados")

    async def claim(
        self,
        serial_number: str,
        *,
        nombre: str,
        tipo: str | None = None,
        modelo: str | None = None,
        descripcion: str | None = None,
        configuracion: Mapping[str, Any] | None = None,
    ) -> Any:
        """``POST /dispositivos/reclamar`` with the keys of the seed's QR code."""
        optional = {"tipo": tipo, "modelo": modelo, "descripcion": descripcion}
        body: dict[str, Any] = {
            "serial_number": serial_number,
            "nombre": nombre,
            **{key: value for key, value in optional.items() if value is not None},
        }
        if configuracion is not None:
            body["configuracion"] = dict(configuracion)
        return await self.request("POST", "/dispositivos/reclamar", body=body)

    async def update(self, device_id: int | str, changes: Mapping[str, Any]) -> Any:
        """``PUT /dispositivos/<id>`` with only the fields to change."""
        return await self.request("PUT", f"/dispositivos/{_path_id(device_id)}", body=changes)

    async def logs(self, device_id: int | str, *, page: int = 1, per_page: int = 50) -> Any:
        """``GET /dispositivos/<id>/logs?page=&per_page=``: one page, as the server sends it."""
        return await self.request(
            "GET",
            f"/dispositivos/{_path_id(device_id)}/logs",
            params={"page": page, "per_page": per_page},
        )

    async def all_logs(self, device_id: int | str, *, per_page: int = 50) -> AsyncIterator[Any]:
        """Every log row, page after page.

        The seed never gave the page's shape: both an envelope with ``items`` (and ``pages``)
        and a bare list are read; an empty or short page is the last.
        """
        page = 1
        while True:
            answer = await self.logs(device_id, page=page, per_page=per_page)
            items = answer.get("items", []) if isinstance(answer, dict) else answer
            if not isinstance(items, list):
                raise ApiError(200, "OK", answer)
            for item in items:
                yield item
            pages = answer.get("pages") if isinstance(answer, dict) else None
            if not items or len(items) < per_page or (isinstance(pages, int) and page >= pages):
                return
            page += 1

    async def close(self) -> None:
        """Close the session made for this client, if any."""
        if self._own_session is not None:
            await self._own_session.close()
            self._own_session = None

    async def __aenter__(self) -> Self:
        """Nothing to open: each call opens its request."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close."""
        await self.close()


# -- the SSE stream, read as sse_client.py read it -----------------------------------------


def build_stream_url(
    base: str,
    serial: str | None = None,
    reclamado: str | None = None,
    *,
    token: str | None = None,
) -> str:
    """The stream's URL as ``sse_client.py`` built it, under ``/api/iot_hub``.

    Args:
        base: Home Assistant's URL (a trailing ``/`` is dropped).
        serial: Only this device (the seed's ``serial`` filter).
        reclamado: ``"true"`` or ``"false"``: only claimed or unclaimed devices.
        token: Put the access token in the query (``?token=``) instead of a header.
    """
    query = {}
    if serial:
        query["serial"] = serial
    if reclamado:
        query["reclamado"] = reclamado
    if token:
        query["token"] = token
    return f"{base.rstrip('/')}{STREAM_PATH}" + (f"?{urlencode(query)}" if query else "")


def charset_of(content_type: str | None) -> str:
    """The charset a ``requests`` client decodes a body with (``get_encoding_from_headers``).

    The one named in ``Content-Type``; otherwise ISO-8859-1 for ``text/*`` (HTTP/1.1's old
    default, which ``requests`` still applies) and UTF-8 for anything else.
    """
    if not content_type:
        return "utf-8"
    media, *params = (part.strip() for part in content_type.split(";"))
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip(" '\""):
            return value.strip(" '\"")
    return "ISO-8859-1" if media.lower().startswith("text/") else "utf-8"


# What ``str.splitlines`` takes for a line break (``requests.iter_lines`` splits with it).
LINE_BREAKS: Final = (
    "\r\n",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x85",
    "\u2028",
    "\u2029",
)


class LineSplitter:
    """Text arriving in pieces, cut into lines as ``str.splitlines`` cuts them.

    As with ``requests``, a U+2028 inside a JSON string would cut the line there: the
    legacy client would see a broken event, and so does this one.
    """

    def __init__(self) -> None:
        """Start with nothing pending."""
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        """The lines completed by ``text``, without their line breaks."""
        pieces = (self._pending + text).splitlines(keepends=True)
        self._pending = ""
        # A last piece without its break is not a line yet; a lone "\r" may be half of "\r\n".
        if pieces and (not pieces[-1].endswith(LINE_BREAKS) or pieces[-1].endswith("\r")):
            self._pending = pieces.pop()
        return [piece[:-2] if piece.endswith("\r\n") else piece[:-1] for piece in pieces]

    def flush(self) -> list[str]:
        """The last line, when the text ended without a line break."""
        pending, self._pending = self._pending, ""
        return pending.splitlines() if pending else []


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One event as ``sse_client.py`` reports it: its ``data`` (and, for us, its name).

    Attributes:
        data: The ``data:`` lines, each ``line[5:].strip()``, joined by newlines.
        event: The last ``event:`` line's value (the seed's client ignored it), or None.
    """

    data: str
    event: str | None


class SseParser:
    """The seed client's event assembly, one line at a time."""

    def __init__(self) -> None:
        """Start between events."""
        self._lines: list[str] = []

    def feed(self, raw_line: str) -> SseEvent | None:
        """Take one line (without its break); return the event a blank line completes."""
        line = raw_line.strip("\n")
        if line != "":
            self._lines.append(line)
            return None
        lines, self._lines = self._lines, []
        data_lines = [text[5:].strip() for text in lines if text.startswith("data:")]
        if not data_lines:
            return None
        names = [text[6:].strip() for text in lines if text.startswith("event:")]
        return SseEvent("\n".join(data_lines), names[-1] if names else None)


async def consume_sse(
    session: aiohttp.ClientSession,
    url: str,
    headers: Mapping[str, str],
    on_event: Callable[[SseEvent], None],
    *,
    on_line: Callable[[str], None] | None = None,
) -> None:
    """Read one connection to the stream until the server ends it.

    Args:
        session: The session to use.
        url: The stream's URL (see ``build_stream_url``).
        headers: Extra headers (the ``Authorization`` one); the seed's own are added.
        on_event: Called with every event.
        on_line: Called with every line as read (the seed's ``--show-raw``).

    Raises:
        StreamError: The status was not 200 (``HTTP <status> <reason>``, as the seed said).
        aiohttp.ClientError: The connection failed or broke.
    """
    # No read timeout, as the seed's client: only TCP and the server's heartbeats keep it.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0)
    async with session.get(url, headers={**SSE_HEADERS, **headers}, timeout=timeout) as resp:
        if resp.status != 200:
            raise StreamError(f"HTTP {resp.status} {resp.reason}")
        decoder = codecs.getincrementaldecoder(charset_of(resp.headers.get("Content-Type")))(
            errors="replace"
        )
        splitter, parser = LineSplitter(), SseParser()

        def take(lines: list[str]) -> None:
            for line in lines:
                if on_line is not None:
                    on_line(line)
                if (event := parser.feed(line)) is not None:
                    on_event(event)

        async for chunk in resp.content.iter_any():
            take(splitter.feed(decoder.decode(chunk)))
        take(splitter.feed(decoder.decode(b"", final=True)))
        take(splitter.flush())


async def watch_stream(
    url: str,
    headers: Mapping[str, str],
    on_event: Callable[[SseEvent], None],
    *,
    max_retries: int = 0,
    on_line: Callable[[str], None] | None = None,
    session: aiohttp.ClientSession | None = None,
    sleep: Sleeper = asyncio.sleep,
    log: Printer = silent,
) -> int:
    """Watch the stream as ``sse_client.py`` did: reconnect after 2 s, doubling up to 30 s.

    Args:
        url: The stream's URL (see ``build_stream_url``).
        headers: Extra headers (the ``Authorization`` one).
        on_event: Called with every event.
        max_retries: Stop after this many connections; 0: never (until cancelled).
        on_line: Called with every line as read.
        session: An aiohttp session to use (and leave open); one is made otherwise.
        sleep: Waits between connections (tests pass one that does not wait).
        log: Where the watcher says what happens.

    Returns:
        ``EXIT_OK`` once ``max_retries`` connections were made (the seed exited 0 too).
    """
    own = session is None
    http = session or aiohttp.ClientSession()
    attempt, backoff = 0, INITIAL_BACKOFF
    try:
        while True:
            if max_retries > 0 and attempt >= max_retries:
                log(f"Maximum number of connections reached ({max_retries}); stopping")
                return EXIT_OK
            attempt += 1
            try:
                log(f"Connecting to {url.split('?', maxsplit=1)[0]}")
                await consume_sse(http, url, headers, on_event, on_line=on_line)
                log("Stream closed by the server; reconnecting")
            except (StreamError, aiohttp.ClientError, OSError, TimeoutError) as err:
                log(f"Stream error: {err or type(err).__name__}")
            await sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
    finally:
        if own:
            await http.close()


def pretty(data: str) -> str:
    """The event's data as the seed printed it: indented JSON, or the text as is."""
    try:
        return json.dumps(json.loads(data), ensure_ascii=False, indent=2)
    except ValueError:
        return data


# -- command line ------------------------------------------------------------------------


def _configuracion(args: argparse.Namespace) -> dict[str, Any] | None:
    config: dict[str, Any] = {}
    if args.modo is not None:
        config["modo"] = args.modo
    if args.encendido is not None:
        config["encendido"] = args.encendido
    return config or None


def _add_device_fields(parser: argparse.ArgumentParser, *, nombre_required: bool) -> None:
    parser.add_argument("--nombre", required=nombre_required, help="the device's name")
    parser.add_argument("--tipo", help="its type, free text (e.g. sensor, enchufe)")
    parser.add_argument("--modelo", help="its model")
    parser.add_argument("--descripcion", help="its description")
    parser.add_argument("--modo", choices=("manual", "horario"), help="configuracion.modo")
    parser.add_argument(
        "--encendido",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="configuracion.encendido",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.legacy_app``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.legacy_app",
        description="Act as the seed-003 app (REST and SSE) against iot_hub.",
        epilog="Exit status: 0 done, 1 the server answered with an error, 3 connection failed.",
    )
    parser.add_argument("--url", required=True, help="Home Assistant's URL, e.g. http://HOST:8123")
    parser.add_argument("--token", required=True, help="a Home Assistant long-lived access token")
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="GET /dispositivos")
    actions.add_parser("unclaimed", help="GET /dispositivos/no-reclamados")
    get = actions.add_parser("get", help="GET /dispositivos/<id>")
    get.add_argument("id")
    logs = actions.add_parser("logs", help="GET /dispositivos/<id>/logs")
    logs.add_argument("id")
    logs.add_argument("--page", type=int, default=1)
    logs.add_argument("--per-page", type=int, default=50)
    logs.add_argument("--all", action="store_true", help="every page, one row per line")
    claim = actions.add_parser("claim", help="POST /dispositivos/reclamar (the QR code's keys)")
    claim.add_argument("--serial", required=True, help="serial_number")
    _add_device_fields(claim, nombre_required=True)
    update = actions.add_parser("update", help="PUT /dispositivos/<id>")
    update.add_argument("id")
    _add_device_fields(update, nombre_required=False)
    watch = actions.add_parser("watch", help="the SSE stream, until Ctrl-C")
    watch.add_argument("--serial", help="only this serial_number")
    watch.add_argument("--reclamado", choices=("true", "false"), help="only (un)claimed ones")
    watch.add_argument("--show-raw", action="store_true", help="print every line as read")
    watch.add_argument("--pretty", action="store_true", help="indent each event as the seed did")
    watch.add_argument("--max-retries", type=int, default=0, help="connections; 0: no limit")
    watch.add_argument(
        "--token-in-query", action="store_true", help="send the token as ?token= (not Bearer)"
    )
    return parser


async def _rest(client: LegacyAppClient, args: argparse.Namespace, out: Printer) -> None:
    def show(data: Any) -> None:
        out(json.dumps(data, ensure_ascii=False, indent=2))

    match args.action:
        case "list":
            show(await client.devices())
        case "unclaimed":
            show(await client.unclaimed())
        case "get":
            show(await client.device(args.id))
        case "logs" if args.all:
            async for row in client.all_logs(args.id, per_page=args.per_page):
                out(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        case "logs":
            show(await client.logs(args.id, page=args.page, per_page=args.per_page))
        case "claim":
            show(
                await client.claim(
                    args.serial,
                    nombre=args.nombre,
                    tipo=args.tipo,
                    modelo=args.modelo,
                    descripcion=args.descripcion,
                    configuracion=_configuracion(args),
                )
            )
        case _:  # update
            changes: dict[str, Any] = {
                key: value
                for key in ("nombre", "tipo", "modelo", "descripcion")
                if (value := getattr(args, key)) is not None
            }
            if (config := _configuracion(args)) is not None:
                changes["configuracion"] = config
            show(await client.update(args.id, changes))


async def async_main(
    argv: Sequence[str] | None = None,
    *,
    session: aiohttp.ClientSession | None = None,
    out: Printer = print,
    err: Printer | None = None,
    sleep: Sleeper = asyncio.sleep,
) -> int:
    """Run the app from command-line arguments.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.
        session: An aiohttp session to use (tests); one is made otherwise.
        out: Receives the answers and events (stdout by default).
        err: Receives the app's own messages (timestamped on stderr by default).
        sleep: Waits between stream connections (tests pass one that does not wait).

    Returns:
        The exit status (see the module docstring).
    """
    args = build_parser().parse_args(argv)
    err = err or timestamped("stderr")
    if args.action == "watch":
        url = build_stream_url(
            args.url, args.serial, args.reclamado, token=args.token if args.token_in_query else None
        )
        headers = {} if args.token_in_query else {"Authorization": f"Bearer {args.token}"}

        def on_event(event: SseEvent) -> None:
            if args.pretty:
                out(f"\n📥 Evento dispositivo:\n{pretty(event.data)}")
            else:
                out(event.data)

        return await watch_stream(
            url,
            headers,
            on_event,
            max_retries=args.max_retries,
            on_line=(lambda line: err(f"» {line}")) if args.show_raw else None,
            session=session,
            sleep=sleep,
            log=err,
        )
    async with LegacyAppClient(args.url, args.token, session=session) as client:
        try:
            await _rest(client, args, out)
        except ApiError as error:
            err(f"HTTP {error.status} {error.reason}")
            out(json.dumps(error.body, ensure_ascii=False))
            return EXIT_HTTP_ERROR
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
            err(f"Cannot reach {args.url}: {error or type(error).__name__}")
            return EXIT_CONNECTION
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.legacy_app``; Ctrl-C ends a watch with 0."""
    return run_cli(async_main(argv, out=lambda line: print(line, flush=True)))


if __name__ == "__main__":
    sys.exit(main())
