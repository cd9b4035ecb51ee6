"""What the simulators share: credentials, close codes, console output, connection plumbing.

The plumbing is the apps' WebSocket client (``WsClient``) and the devices' connection with
reconnect-and-backoff (``DeviceSimulator``); the command lines share their ``--url`` and
``--bearer`` options, how a device's refusal is reported and how Ctrl-C ends them.

Nothing here is imported from ``custom_components``: the simulators are independent clients
written from the protocol documents, so a change in the integration cannot silently change
what they send.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
import json
import random
import sys
import time
from types import TracebackType
from typing import Any, ClassVar, Final, Protocol, Self, TypedDict

import aiohttp
from yarl import URL

type Printer = Callable[[str], None]

# Close codes iot_hub uses (docs/protocols.md); the seeds' own codes where they had one.
CLOSE_MISSING_CREDENTIALS: Final = 4001
CLOSE_INVALID_TOKEN: Final = 4003
CLOSE_MISSING_STATION: Final = 4004
CLOSE_UNKNOWN_DEVICE: Final = 4005
CLOSE_DEVICE_NOT_CHOSEN: Final = 4006
CLOSE_REPLACED: Final = 4008
CLOSE_DEVICE_REMOVED: Final = 4010

CONNECT_TIMEOUT: Final = 10.0
# A device's connection that stayed up this long was a real one: the backoff starts over.
STABLE_AFTER: Final = 10.0
# Client-side pings: a server that vanished without closing (power cut, Wi-Fi gone) is
# noticed within about this long, as the ESP32 websocket libraries' heartbeat does.
CLIENT_HEARTBEAT: Final = 20.0

CLOSE_MEANINGS: Final[dict[int, str]] = {
    1000: "normal closure",
    1001: "server going away (Home Assistant restarting or iot_hub unloading)",
    1006: "connection lost without a close frame",
    1008: "policy violation (flooding)",
    1009: "frame too big",
    1011: "server error",
    1013: "try again later (frames were not read fast enough)",
    CLOSE_MISSING_CREDENTIALS: "missing token",
    CLOSE_INVALID_TOKEN: "invalid token (wrong, rotated or revoked)",
    CLOSE_MISSING_STATION: "missing estacionId (--station)",
    CLOSE_UNKNOWN_DEVICE: "unknown device",
    CLOSE_DEVICE_NOT_CHOSEN: "several devices: choose one with --device NAME",
    CLOSE_REPLACED: "replaced by a newer connection with the same token",
    CLOSE_DEVICE_REMOVED: "device removed from iot_hub",
}

# Retrying these is pointless for a device: the same token gets the same answer, or (4008)
# another connection is using the device's token and the two would take turns kicking each
# other off.
FATAL_CLOSE_CODES: Final = frozenset(
    {CLOSE_MISSING_CREDENTIALS, CLOSE_INVALID_TOKEN, CLOSE_DEVICE_REMOVED, CLOSE_REPLACED}
)

# The EV-charger protocol (seed 002, ``role``/``estacionId``) gives some codes its own meaning.
STATION_CLOSE_MEANINGS: Final[dict[int, str]] = {
    CLOSE_UNKNOWN_DEVICE: "unknown station (no charger with this estacionId for this token)",
    CLOSE_DEVICE_NOT_CHOSEN: "missing estacionId (--station)",
}


def describe_close(
    code: int | None, reason: str = "", *, meanings: Mapping[int, str] | None = None
) -> str:
    """A human sentence for a WebSocket close.

    Args:
        code: The close code, or None when the socket ended without one.
        reason: The reason text the server sent, if any.
        meanings: Meanings that replace ``CLOSE_MEANINGS``' for some codes (e.g.
            ``STATION_CLOSE_MEANINGS``).

    Returns:
        For example ``4003 invalid token (wrong, rotated or revoked): "invalid token"``.
    """
    if code is None:
        return "connection closed without a close code"
    meaning = (meanings or {}).get(code) or CLOSE_MEANINGS.get(code, "unknown close code")
    return f"{code} {meaning}" + (f': "{reason}"' if reason else "")


def with_credentials(
    url: str, token: str, *, bearer: bool = False, **query: str | None
) -> tuple[URL, dict[str, str]]:
    """The URL and headers that carry ``token`` the way the device or app is configured.

    Args:
        url: The endpoint, e.g. ``ws://homeassistant.local:8123/api/iot_hub/ws``.
        token: A device token or a Home Assistant access token.
        bearer: Send the token as ``Authorization: Bearer`` instead of ``?token=``.
        **query: Extra query parameters; ``None`` values are left out.

    Returns:
        The URL to connect to and the headers to send.
    """
    target = URL(url)
    extra = {key: value for key, value in query.items() if value is not None}
    if bearer:
        return target.update_query(extra), {"Authorization": f"Bearer {token}"}
    return target.update_query(token=token, **extra), {}


def redacted(url: URL) -> str:
    """The URL without its token, for console output."""
    return str(url.without_query_params("token"))


def timestamped(stream_name: str = "stdout") -> Printer:
    """A printer that prefixes each line with the local time, as the seed's console did.

    Args:
        stream_name: ``"stdout"`` or ``"stderr"``; looked up at each call so that pytest's
            and the shell's redirections are honoured.

    Returns:
        A function printing one line.
    """

    def out(line: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        print(f"{stamp} {line}", file=getattr(sys, stream_name), flush=True)

    return out


def silent(_line: str) -> None:
    """A printer that prints nothing (library use)."""


class CloseError(Exception):
    """A WebSocket close by the server, described for a person (see ``describe_close``)."""

    # Meanings that replace ``CLOSE_MEANINGS``' for some codes, e.g. ``STATION_CLOSE_MEANINGS``.
    meanings: ClassVar[Mapping[int, str] | None] = None

    def __init__(self, code: int | None, reason: str) -> None:
        """Remember the close code and the server's reason."""
        super().__init__(describe_close(code, reason, meanings=self.meanings))
        self.code = code
        self.reason = reason


class WsClient[FrameT]:
    """An app's WebSocket connection: connect, send text, receive parsed frames, close.

    Subclasses parse frames (``_parse``), may send something first (``_greet``) and name
    the error a close raises (``closed_error``). Use as an async context manager.
    """

    closed_error: ClassVar[type[CloseError]] = CloseError

    def __init__(
        self, url: URL, headers: dict[str, str], session: aiohttp.ClientSession | None
    ) -> None:
        """Configure the connection; nothing connects before ``connect()``.

        Args:
            url: The URL to connect to, credentials included (see ``with_credentials``).
            headers: The headers to send (see ``with_credentials``).
            session: An aiohttp session to use (and leave open); one is made otherwise.
        """
        self._url, self._headers = url, headers
        self._session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    @property
    def url(self) -> URL:
        """The URL connected to (with the token when it travels in the query)."""
        return self._url

    async def connect(self) -> None:
        """Open the WebSocket (and send what ``_greet`` sends).

        Raises:
            aiohttp.ClientError: The server could not be reached or refused the upgrade.
            TimeoutError: The server did not answer in time.
        """
        session = self._session
        if session is None:
            session = self._own_session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                self._ws = await session.ws_connect(self._url, headers=self._headers)
            await self._greet(self._ws)
        except BaseException:
            await self.close()
            raise

    async def _greet(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Send what the protocol sends first on a new connection (nothing by default)."""

    def _parse(self, raw: str) -> FrameT:
        """Decode one text frame."""
        raise NotImplementedError

    async def _send_str(self, text: str) -> None:
        """Send one text frame.

        Raises:
            CloseError: (``closed_error``) The connection is already closed.
        """
        ws = self._require_ws()
        try:
            await ws.send_str(text)
        except (ConnectionError, RuntimeError) as err:
            raise self.closed_error(ws.close_code, "") from err

    async def receive(self) -> FrameT:
        """The next text frame from the server (wrap in ``asyncio.timeout`` to bound it).

        Raises:
            CloseError: (``closed_error``) The server closed the connection (or it broke).
        """
        ws = self._require_ws()
        while True:
            msg = await ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                return self._parse(msg.data)
            if msg.type is aiohttp.WSMsgType.BINARY:
                continue  # the protocols have none; not worth stopping for
            if msg.type is aiohttp.WSMsgType.CLOSE:
                raise self.closed_error(msg.data, str(msg.extra or ""))
            raise self.closed_error(ws.close_code, "")

    async def close(self) -> None:
        """Close the WebSocket (and the session made for it)."""
        if self._ws is not None:
            await self._ws.close()
        if self._own_session is not None:
            await self._own_session.close()
            self._own_session = None

    def _require_ws(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is None:
            raise RuntimeError("connect() first")
        return self._ws

    async def __aenter__(self) -> Self:
        """Connect (and identify, where the protocol does)."""
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close."""
        await self.close()


class RawFrame(Protocol):
    """A received frame that keeps its text as sent."""

    @property
    def raw(self) -> str:
        """The frame's text."""
        ...


async def watch_frames[FrameT: RawFrame](
    client: WsClient[FrameT],
    note: Callable[[FrameT], str | None],
    *,
    out: Printer,
    err: Printer,
    stop: asyncio.Event | None,
) -> int:
    """Print every frame until the server closes, ``stop`` is set, or the task is cancelled.

    Args:
        client: A connected client.
        note: What to tell a person about a frame (to ``err``), if anything.
        out: Receives every frame, as sent by the server.
        err: Receives what the client has to say about it.
        stop: Set it to end the watch; None: only cancellation or a close ends it.

    Returns:
        0 when stopped, 3 when the server closed (the apps' ``EXIT_OK``, ``EXIT_CONNECTION``).
    """
    stop = stop or asyncio.Event()
    stopper = asyncio.create_task(stop.wait())
    receiver: asyncio.Task[FrameT] | None = None
    try:
        while True:
            receiver = asyncio.create_task(client.receive())
            done, _ = await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if receiver not in done:
                return 0
            try:
                frame = receiver.result()
            except CloseError as closed:
                err(f"Connection closed: {closed}")
                return 3
            out(frame.raw)
            if (said := note(frame)) is not None:
                err(said)
    finally:
        # Also on Ctrl-C (cancellation): a receiver left behind would outlive the socket.
        pending = [task for task in (stopper, receiver) if task is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


class DeviceOptions(TypedDict, total=False):
    """How a device connects and logs: ``DeviceSimulator``'s keyword arguments (see there).

    A subclass takes them as ``**device`` and passes them on, so each has one meaning and
    one default for every device.
    """

    session: aiohttp.ClientSession | None
    reconnect: bool
    initial_backoff: float
    max_backoff: float
    heartbeat: float | None
    log: Printer


class DeviceSimulator:
    """A simulated ESP32: connect, serve, and reconnect with backoff as firmware does.

    Subclasses supply the connection's single writer (``_work``), what to do with each text
    frame (``_on_text``) and, optionally, with each new connection (``_on_connect``); the
    closes in ``_fatal_close_codes`` end ``run()`` with ``_rejected_error``.

    Attributes:
        connections: How many times the device connected.
        connected: Set while a connection is up.
        last_close: The close code of the last connection that ended, if any.
    """

    _kind: ClassVar[str] = "device"  # in task names: "oven simulator reader"
    _worker_name: ClassVar[str] = "worker"
    _fatal_close_codes: ClassVar[frozenset[int]] = frozenset()
    _rejected_error: ClassVar[type[CloseError]] = CloseError

    def __init__(
        self,
        url: URL,
        headers: dict[str, str],
        *,
        session: aiohttp.ClientSession | None = None,
        reconnect: bool = True,
        initial_backoff: float = 1.0,
        max_backoff: float = 30.0,
        heartbeat: float | None = CLIENT_HEARTBEAT,
        log: Printer = silent,
    ) -> None:
        """Configure the connection; nothing connects before ``run()``.

        Args:
            url: The URL to connect to, credentials included (see ``with_credentials``).
            headers: The headers to send (see ``with_credentials``).
            session: An aiohttp session to use (and leave open); one is made otherwise.
            reconnect: Reconnect after a drop; ``False`` makes ``run()`` return instead.
            initial_backoff: First wait before reconnecting (seconds); it doubles.
            max_backoff: Longest wait between two attempts (seconds).
            heartbeat: Seconds between the device's own pings (None: only answer the
                server's).
            log: Where the device says what it does, one line at a time.
        """
        self._url, self._headers = url, headers
        self._session = session
        self._reconnect = reconnect
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._heartbeat = heartbeat
        self._log = log
        self._close_reason = ""
        self._stopping = asyncio.Event()
        self.connections = 0
        self.connected = asyncio.Event()
        self.last_close: int | None = None

    @property
    def url(self) -> URL:
        """The URL connected to (with the token when it travels in the query)."""
        return self._url

    def stop(self) -> None:
        """Ask ``run()`` to close the connection and return."""
        self._stopping.set()

    async def run(self) -> None:
        """Connect and serve until ``stop()``; reconnect with backoff after drops.

        Raises:
            CloseError: (``_rejected_error``) The server refused the device for good (a
                close code in ``_fatal_close_codes``).
        """
        session = self._session or aiohttp.ClientSession()
        try:
            await self._run(session)
        finally:
            if self._session is None:
                await session.close()

    async def _run(self, session: aiohttp.ClientSession) -> None:
        backoff = self._initial_backoff
        while not self._stopping.is_set():
            up_since = time.monotonic()
            try:
                await self._connect_and_serve(session)
            except (aiohttp.WSServerHandshakeError, aiohttp.ClientResponseError) as err:
                # 404 while HA starts (view not registered yet), 503 while iot_hub is not
                # loaded, 403 when HA banned this address: all can change, so keep trying.
                self._log(f"Server refused the WebSocket: HTTP {err.status} {err.message}")
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                self._log(f"Cannot reach {redacted(self._url)}: {err or type(err).__name__}")
            if self._stopping.is_set() or not self._reconnect:
                return
            if time.monotonic() - up_since >= STABLE_AFTER:
                backoff = self._initial_backoff
            # Jitter, so a fleet of devices does not reconnect in lockstep after a restart.
            delay = backoff * random.uniform(0.8, 1.2)
            self._log(f"Reconnecting in {delay:.1f} s")
            try:
                async with asyncio.timeout(delay):
                    await self._stopping.wait()
            except TimeoutError:
                pass
            backoff = min(backoff * 2, self._max_backoff)

    async def _connect_and_serve(self, session: aiohttp.ClientSession) -> None:
        self._log(f"Connecting to {redacted(self._url)}")
        # The session's own timeout is 5 minutes; a device should retry much sooner.
        async with asyncio.timeout(CONNECT_TIMEOUT):
            ws = await session.ws_connect(
                self._url,
                headers=self._headers,
                heartbeat=self._heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
            )
        async with ws:
            self.connections += 1
            self._on_connect()
            self.connected.set()
            try:
                await self._serve(ws)
            finally:
                self.connected.clear()
        self.last_close = ws.close_code
        reason = self._close_reason
        if self._stopping.is_set():
            self._log("Disconnected")
            return
        self._log(
            "Connection closed: "
            + describe_close(ws.close_code, reason, meanings=self._rejected_error.meanings)
        )
        if ws.close_code in self._fatal_close_codes:
            raise self._rejected_error(ws.close_code or 0, reason)

    def _on_connect(self) -> None:
        """A connection is up (called before ``connected`` is set); nothing by default."""

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        name = f"{self._kind} simulator"
        worker = asyncio.create_task(self._work(ws), name=f"{name} {self._worker_name}")
        stop_waiter = asyncio.create_task(self._stopping.wait(), name=f"{name} stop")
        reader = asyncio.create_task(self._read_frames(ws), name=f"{name} reader")
        try:
            await asyncio.wait({reader, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            worker.cancel()
            stop_waiter.cancel()
            if not reader.done():
                await ws.close()
            await asyncio.gather(worker, stop_waiter, reader, return_exceptions=True)

    async def _work(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The connection's single writer, cancelled when the connection ends."""
        raise NotImplementedError

    async def _read_frames(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._close_reason = ""
        while True:
            # receive() rather than ``async for``: the CLOSE message carries the reason.
            msg = await ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                self._on_text(msg.data)
            elif msg.type is aiohttp.WSMsgType.BINARY:
                self._log(f"Ignoring a binary frame of {len(msg.data)} bytes")
            elif msg.type is aiohttp.WSMsgType.CLOSE:
                self._close_reason = str(msg.extra or "")
                return
            elif msg.type is aiohttp.WSMsgType.ERROR:
                self._log(f"WebSocket error: {ws.exception()}")
                return
            else:  # CLOSING, CLOSED: the socket is done
                return

    def _on_text(self, text: str) -> None:
        """Handle one text frame from the server."""
        raise NotImplementedError


def note_error_frame(text: str, errors: list[str], log: Printer) -> None:
    """A device's answer to a frame that is not a command: keep and log the server's error.

    Args:
        text: The frame; ``{"error": ...}`` is the server's complaint about what was sent.
        errors: Receives the ``error`` text of such a frame.
        log: Told about the error, or that the frame was unexpected.
    """
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "error" in data:
        errors.append(str(data["error"]))
        log(f"Server reported an error: {data['error']}")
    else:
        log(f"Unexpected frame: {text[:200]!r}")


def add_url_argument(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--url``: iot_hub's WebSocket endpoint."""
    parser.add_argument(
        "--url", required=required, help="WebSocket endpoint, e.g. ws://HOST:8123/api/iot_hub/ws"
    )


def add_bearer_argument(parser: argparse.ArgumentParser) -> None:
    """``--bearer``: send the token in a header instead of the query."""
    parser.add_argument(
        "--bearer",
        action="store_true",
        help="send the token as 'Authorization: Bearer' instead of ?token=",
    )


def token_advice(code: int | None, what: str) -> str | None:
    """What to check after a device's refusal for its token (4001, 4003), else None."""
    if code in (CLOSE_MISSING_CREDENTIALS, CLOSE_INVALID_TOKEN):
        return (
            f"Check --token: it is the device token shown when the {what} was added "
            "(Settings > Devices & services > IoT Hub)."
        )
    return None


async def run_device(
    device: DeviceSimulator,
    what: str,
    advice: Callable[[int | None], str | None] | None = None,
) -> int:
    """Run a device's command line until it stops.

    Args:
        device: The device, not yet running.
        what: What it is, for a person ("oven", "sensor").
        advice: What to check after a refusal, from its close code (None: nothing to say);
            by default ``token_advice``.

    Returns:
        0 after a clean stop; 1 when the server refused the device for good (said on stderr).
    """
    try:
        await device.run()
    except CloseError as err:
        print(f"Giving up: the server refused this {what}: {err}", file=sys.stderr)
        said = token_advice(err.code, what) if advice is None else advice(err.code)
        if said is not None:
            print(said, file=sys.stderr)
        return 1
    return 0


def run_cli(main: Coroutine[Any, Any, int]) -> int:
    """Run a command line's coroutine to its exit status; Ctrl-C is a clean stop (0)."""
    try:
        return asyncio.run(main)
    except KeyboardInterrupt:
        return 0
