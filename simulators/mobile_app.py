"""The smart oven's mobile app (seed 000), for iot_hub: start, stop and watch a session.

The seed's app identified with ``{"type": "mobile_app"}`` and sent ``{"command": "START"}`` or
``{"command": "STOP"}``; it was told ``{"session_id": N}`` after every reading. iot_hub keeps
that and adds the reading (``temperature``, ``timestamp``), session notices
``{"session_id": N, "status": "active" | "stopped"}`` and ``{"error": "..."}`` frames. Against
iot_hub the app authenticates with a Home Assistant long-lived access token, and picks the
oven by name with ``device=`` when there are several.

Every frame received is printed to stdout exactly as it arrived, one per line (so the output
pipes into ``jq``); what the app itself has to say goes to stderr.

Command line::

    python -m simulators.mobile_app --url ws://127.0.0.1:8123/api/iot_hub/ws
        --token HA_TOKEN [--device NAME] {start,stop,watch}

Exit status: 0 when the command was sent and no error came back (``watch``: until Ctrl-C),
1 on an ``{"error": ...}`` frame, 3 when the connection failed or the server closed it.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
import json
import sys
from types import TracebackType
from typing import Any, Final, Literal, Self

import aiohttp
from yarl import URL

from .common import Printer, describe_close, redacted, timestamped, with_credentials

type AppCommand = Literal["START", "STOP"]

IDENTIFY_FRAME: Final = json.dumps({"type": "mobile_app"})
DEFAULT_WAIT: Final = 2.0
CONNECT_TIMEOUT: Final = 10.0

EXIT_OK: Final = 0
EXIT_ERROR_FRAME: Final = 1
EXIT_CONNECTION: Final = 3  # 2 is argparse's usage error

# What the session notice says once each command took effect.
EXPECTED_STATUS: Final[dict[AppCommand, str]] = {"START": "active", "STOP": "stopped"}


class ServerClosedError(Exception):
    """The server closed the app's connection."""

    def __init__(self, code: int | None, reason: str) -> None:
        """Remember the close code and the server's reason."""
        super().__init__(describe_close(code, reason))
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Frame:
    """A text frame from the server: as sent, and decoded when it is a JSON object."""

    raw: str
    data: dict[str, Any] | None

    @property
    def error(self) -> str | None:
        """The text of an ``{"error": ...}`` frame, else None."""
        if self.data is None or "error" not in self.data:
            return None
        return str(self.data["error"])

    @property
    def status(self) -> str | None:
        """The ``status`` of a session notice, else None."""
        if self.data is None or "status" not in self.data:
            return None
        return str(self.data["status"])


def parse_frame(raw: str) -> Frame:
    """Decode one text frame; anything but a JSON object keeps ``data`` None.

    Args:
        raw: The frame's text.

    Returns:
        The frame.
    """
    try:
        data = json.loads(raw)
    except ValueError:
        return Frame(raw, None)
    return Frame(raw, data if isinstance(data, dict) else None)


class MobileAppClient:
    """One app connection: identify, send commands, receive frames.

    Use as an async context manager::

        async with MobileAppClient(url, ha_token, device="Oven") as app:
            await app.send_command("START")
            async with asyncio.timeout(5):
                frame = await app.receive()
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        device: str | None = None,
        bearer: bool = False,
        identify: bool = True,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Configure the connection; nothing connects before ``connect()``.

        Args:
            url: The WebSocket endpoint, e.g. ``ws://127.0.0.1:8123/api/iot_hub/ws``.
            token: A Home Assistant (long-lived) access token.
            device: Which oven (its name) when the hub has several.
            bearer: Send the token as ``Authorization: Bearer`` instead of ``?token=``.
            identify: Send ``{"type": "mobile_app"}`` first, as the seed's app did.
            session: An aiohttp session to use (and leave open); one is made otherwise.
        """
        self._url, self._headers = with_credentials(url, token, bearer=bearer, device=device)
        self._identify = identify
        self._session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    @property
    def url(self) -> URL:
        """The URL connected to (with the token when it travels in the query)."""
        return self._url

    async def connect(self) -> None:
        """Open the WebSocket and identify as the mobile app.

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
            if self._identify:
                await self._ws.send_str(IDENTIFY_FRAME)
        except BaseException:
            await self.close()
            raise

    async def send_command(self, command: AppCommand) -> None:
        """Send ``{"command": "START"}`` or ``{"command": "STOP"}``.

        Raises:
            ServerClosedError: The connection is already closed.
        """
        ws = self._require_ws()
        try:
            await ws.send_str(json.dumps({"command": command}))
        except (ConnectionError, RuntimeError) as err:
            raise ServerClosedError(ws.close_code, "") from err

    async def receive(self) -> Frame:
        """The next text frame from the server (wrap in ``asyncio.timeout`` to bound it).

        Raises:
            ServerClosedError: The server closed the connection (or it broke).
        """
        ws = self._require_ws()
        while True:
            msg = await ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                return parse_frame(msg.data)
            if msg.type is aiohttp.WSMsgType.BINARY:
                continue  # the protocol has none; not worth stopping for
            if msg.type is aiohttp.WSMsgType.CLOSE:
                raise ServerClosedError(msg.data, str(msg.extra or ""))
            raise ServerClosedError(ws.close_code, "")

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
        """Connect and identify."""
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


async def run_command(
    app: MobileAppClient,
    command: AppCommand,
    *,
    wait: float = DEFAULT_WAIT,
    out: Printer = print,
    err: Printer = print,
) -> int:
    """Send a command, then print replies until the session notice or ``wait`` seconds.

    Args:
        app: A connected client.
        command: ``START`` or ``STOP``.
        wait: How long to print replies when no session notice comes.
        out: Receives every frame, as sent by the server.
        err: Receives what the app has to say about it.

    Returns:
        ``EXIT_OK``, ``EXIT_ERROR_FRAME`` or ``EXIT_CONNECTION``.
    """
    try:
        await app.send_command(command)
        async with asyncio.timeout(wait):
            while True:
                frame = await app.receive()
                out(frame.raw)
                if (error := frame.error) is not None:
                    err(f"Error from the server: {error}")
                    return EXIT_ERROR_FRAME
                if frame.status == EXPECTED_STATUS[command]:
                    err(f"Session {frame.data and frame.data.get('session_id')} is {frame.status}")
                    return EXIT_OK
    except ServerClosedError as closed:
        err(f"Connection closed: {closed}")
        return EXIT_CONNECTION
    except TimeoutError:
        # The seed's server never confirmed a command; no news is not an error.
        err(f"{command} sent; no session notice within {wait:g} s")
        return EXIT_OK


async def watch(
    app: MobileAppClient,
    *,
    out: Printer = print,
    err: Printer = print,
    stop: asyncio.Event | None = None,
) -> int:
    """Print every frame until the server closes, ``stop`` is set, or the task is cancelled.

    Error frames are printed and watching goes on: a passive watcher cannot have caused
    them.

    Args:
        app: A connected client.
        out: Receives every frame, as sent by the server.
        err: Receives what the app has to say about it.
        stop: Set it to end the watch (tests); Ctrl-C does it on the command line.

    Returns:
        ``EXIT_OK`` when stopped, ``EXIT_CONNECTION`` when the server closed.
    """
    stop = stop or asyncio.Event()
    stopper = asyncio.create_task(stop.wait())
    receiver: asyncio.Task[Frame] | None = None
    try:
        while True:
            receiver = asyncio.create_task(app.receive())
            done, _ = await asyncio.wait({receiver, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if receiver not in done:
                return EXIT_OK
            try:
                frame = receiver.result()
            except ServerClosedError as closed:
                err(f"Connection closed: {closed}")
                return EXIT_CONNECTION
            out(frame.raw)
            if (error := frame.error) is not None:
                err(f"Error from the server: {error}")
    finally:
        # Also on Ctrl-C (cancellation): a receiver left behind would outlive the socket.
        pending = [task for task in (stopper, receiver) if task is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.mobile_app``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.mobile_app",
        description="Act as the smart oven's mobile app against iot_hub.",
        epilog="Frames go to stdout as received, one per line. Exit status: 0 done, "
        '1 the server sent {"error": ...}, 3 connection failed or closed by the server.',
    )
    parser.add_argument(
        "--url", required=True, help="WebSocket endpoint, e.g. ws://HOST:8123/api/iot_hub/ws"
    )
    parser.add_argument("--token", required=True, help="a Home Assistant long-lived access token")
    parser.add_argument("--device", help="the oven's name, when iot_hub has several")
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        help="start/stop: seconds to print replies when no session notice comes "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--bearer",
        action="store_true",
        help="send the token as 'Authorization: Bearer' instead of ?token=",
    )
    parser.add_argument(
        "action",
        choices=("start", "stop", "watch"),
        help="start or stop a session, or print frames until Ctrl-C",
    )
    return parser


async def async_main(
    argv: Sequence[str] | None = None,
    *,
    session: aiohttp.ClientSession | None = None,
    out: Printer = print,
    err: Printer | None = None,
) -> int:
    """Run the app from command-line arguments.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.
        session: An aiohttp session to use (tests); one is made otherwise.
        out: Receives every frame (stdout by default).
        err: Receives the app's own messages (timestamped on stderr by default).

    Returns:
        The exit status (see the module docstring).
    """
    args = build_parser().parse_args(argv)
    err = err or timestamped("stderr")
    app = MobileAppClient(
        args.url, args.token, device=args.device, bearer=args.bearer, session=session
    )
    try:
        await app.connect()
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        err(f"Cannot connect to {redacted(app.url)}: {error or type(error).__name__}")
        return EXIT_CONNECTION
    err(f"Connected to {redacted(app.url)}")
    try:
        if args.action == "watch":
            return await watch(app, out=out, err=err)
        command: AppCommand = "START" if args.action == "start" else "STOP"
        return await run_command(app, command, wait=args.wait, out=out, err=err)
    finally:
        await app.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.mobile_app``; Ctrl-C ends a watch with 0."""
    try:
        return asyncio.run(async_main(argv, out=lambda line: print(line, flush=True)))
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
