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
from typing import Any, Final, Literal

import aiohttp

from .common import (
    CloseError,
    Printer,
    WsClient,
    add_bearer_argument,
    add_url_argument,
    redacted,
    run_cli,
    timestamped,
    watch_frames,
    with_credentials,
)

type AppCommand = Literal["START", "STOP"]

IDENTIFY_FRAME: Final = json.dumps({"type": "mobile_app"})
DEFAULT_WAIT: Final = 2.0

EXIT_OK: Final = 0
EXIT_ERROR_FRAME: Final = 1
EXIT_CONNECTION: Final = 3  # 2 is argparse's usage error

# What the session notice says once each command took effect.
EXPECTED_STATUS: Final[dict[AppCommand, str]] = {"START": "active", "STOP": "stopped"}


class ServerClosedError(CloseError):
    """The server closed the app's connection."""


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


class MobileAppClient(WsClient[Frame]):
    """One app connection: identify, send commands, receive frames (``receive()``).

    Use as an async context manager::

        async with MobileAppClient(url, ha_token, device="Oven") as app:
            await app.send_command("START")
            async with asyncio.timeout(5):
                frame = await app.receive()
    """

    closed_error = ServerClosedError

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
        super().__init__(
            *with_credentials(url, token, bearer=bearer, device=device), session=session
        )
        self._identify = identify

    async def _greet(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Identify as the mobile app (``connect()`` and ``async with`` do this)."""
        if self._identify:
            await ws.send_str(IDENTIFY_FRAME)

    def _parse(self, raw: str) -> Frame:
        return parse_frame(raw)

    async def send_command(self, command: AppCommand) -> None:
        """Send ``{"command": "START"}`` or ``{"command": "STOP"}``.

        Raises:
            ServerClosedError: The connection is already closed.
        """
        await self._send_str(json.dumps({"command": command}))


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


def _error_note(frame: Frame) -> str | None:
    return None if frame.error is None else f"Error from the server: {frame.error}"


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
    return await watch_frames(app, _error_note, out=out, err=err, stop=stop)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.mobile_app``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.mobile_app",
        description="Act as the smart oven's mobile app against iot_hub.",
        epilog="Frames go to stdout as received, one per line. Exit status: 0 done, "
        '1 the server sent {"error": ...}, 3 connection failed or closed by the server.',
    )
    add_url_argument(parser)
    parser.add_argument("--token", required=True, help="a Home Assistant long-lived access token")
    parser.add_argument("--device", help="the oven's name, when iot_hub has several")
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        help="start/stop: seconds to print replies when no session notice comes "
        "(default %(default)s)",
    )
    add_bearer_argument(parser)
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
    return run_cli(async_main(argv, out=lambda line: print(line, flush=True)))


if __name__ == "__main__":
    sys.exit(main())
