"""The EV charger's dashboard (seed 002, the backoffice "client"), for iot_hub.

The seed's dashboard subscribed with ``/ws?role=client&estacionId=N`` and was told
``{"type": "subscribed"}`` and ``{"type": "init", "charger": {...}}``, then ``metrics``
(with ``kwh``, ``cost`` and ``time``), ``session_started``, ``session_ended``, ``emergency``
and ``error`` frames; it could stop a session with ``{"type": "stop"}``. iot_hub keeps that
and adds ``{"type": "start"}``, optionally with ``"user_name"`` or ``"nfc_uid"`` (start on
behalf of a person or a card). Against iot_hub the dashboard authenticates with a Home
Assistant long-lived access token.

Every frame received is printed to stdout exactly as it arrived, one per line (so the output
pipes into ``jq``); what the dashboard itself has to say goes to stderr.

Command line::

    python -m simulators.dashboard --url ws://127.0.0.1:8123/api/iot_hub/ws --station 1
        --token HA_TOKEN [--bearer] [--wait S] {watch,stop,start} [--user NAME | --card UID]

Exit status: 0 when the command took effect (``session_started`` / ``session_ended`` came)
or no answer came within ``--wait`` (``watch``: until Ctrl-C), 1 on an ``error`` frame,
3 when the connection failed or the server closed it.
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
    STATION_CLOSE_MEANINGS,
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

type DashboardCommand = Literal["start", "stop"]

DEFAULT_WAIT: Final = 5.0

EXIT_OK: Final = 0
EXIT_ERROR_FRAME: Final = 1
EXIT_CONNECTION: Final = 3  # 2 is argparse's usage error

# The notice each command waits for.
EXPECTED_NOTICE: Final[dict[DashboardCommand, str]] = {
    "start": "session_started",
    "stop": "session_ended",
}


class ServerClosedError(CloseError):
    """The server closed the dashboard's connection."""

    meanings = STATION_CLOSE_MEANINGS


@dataclass(frozen=True, slots=True)
class Frame:
    """A text frame from the server: as sent, and decoded when it is a JSON object."""

    raw: str
    data: dict[str, Any] | None

    @property
    def type(self) -> str | None:
        """The frame's ``type``, else None."""
        if self.data is None or not isinstance(kind := self.data.get("type"), str):
            return None
        return kind

    @property
    def error(self) -> str | None:
        """The ``message`` of an ``error`` frame, else None."""
        if self.type != "error":
            return None
        assert self.data is not None
        return str(self.data.get("message", ""))


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


def describe(frame: Frame) -> str | None:
    """A sentence about a frame worth telling a person, else None (metrics and the like).

    Args:
        frame: A frame from the server.

    Returns:
        For example ``Session 3 started for Juan Pérez``.
    """
    data = frame.data or {}
    match frame.type:
        case "init":
            charger = data.get("charger") or {}
            session = charger.get("session")
            running = f", session {session.get('session_id')}" if session else ", no session"
            return f"Charger {charger.get('id')}: {charger.get('status')}{running}"
        case "session_started":
            return f"Session {data.get('session_id')} started for {data.get('user_name')}"
        case "session_ended":
            return (
                f"Session {data.get('session_id')} ended: {data.get('kwh')} kWh, "
                f"cost {data.get('cost')}, {data.get('duration')} s"
            )
        case "emergency":
            return (
                f"EMERGENCY STOP on charger {data.get('charger_id')} "
                f"(session {data.get('session_id')})"
            )
        case "error":
            return f"Error from the server: {frame.error}"
    return None


class DashboardClient(WsClient[Frame]):
    """One dashboard connection: subscribe to a station, send commands, receive frames.

    Connecting subscribes: the server answers with ``subscribed`` and ``init``.

    Use as an async context manager::

        async with DashboardClient(url, ha_token, "1") as dashboard:
            await dashboard.send_stop()
            async with asyncio.timeout(5):
                frame = await dashboard.receive()
    """

    closed_error = ServerClosedError

    def __init__(
        self,
        url: str,
        token: str,
        station: str,
        *,
        bearer: bool = False,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        """Configure the connection; nothing connects before ``connect()``.

        Args:
            url: The WebSocket endpoint, e.g. ``ws://127.0.0.1:8123/api/iot_hub/ws``.
            token: A Home Assistant (long-lived) access token.
            station: The charger's ``estacionId``.
            bearer: Send the token as ``Authorization: Bearer`` instead of ``?token=``.
            session: An aiohttp session to use (and leave open); one is made otherwise.
        """
        super().__init__(
            *with_credentials(url, token, bearer=bearer, role="client", estacionId=station),
            session=session,
        )

    def _parse(self, raw: str) -> Frame:
        return parse_frame(raw)

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one JSON frame.

        Raises:
            ServerClosedError: The connection is already closed.
        """
        await self._send_str(json.dumps(frame, ensure_ascii=False))

    async def send_stop(self) -> None:
        """``{"type": "stop"}``: stop the station's session (the seed's dashboard STOP)."""
        await self.send({"type": "stop"})

    async def send_start(self, *, user_name: str | None = None, nfc_uid: str | None = None) -> None:
        """``{"type": "start"}`` for a person or on behalf of a card (an iot_hub addition).

        Args:
            user_name: Who charges (the server uses the HA user's name without it).
            nfc_uid: A card to start for instead; the server checks it like a scan.
        """
        if user_name is not None and nfc_uid is not None:
            raise ValueError("start takes user_name or nfc_uid, not both")
        frame: dict[str, Any] = {"type": "start"}
        if user_name is not None:
            frame["user_name"] = user_name
        if nfc_uid is not None:
            frame["nfc_uid"] = nfc_uid
        await self.send(frame)


async def run_command(
    dashboard: DashboardClient,
    command: DashboardCommand,
    *,
    user_name: str | None = None,
    nfc_uid: str | None = None,
    wait: float = DEFAULT_WAIT,
    out: Printer = print,
    err: Printer = print,
) -> int:
    """Send ``start`` or ``stop``, then print frames until its notice or ``wait`` seconds.

    Args:
        dashboard: A connected client.
        command: ``start`` or ``stop``.
        user_name: ``start`` for this person.
        nfc_uid: ``start`` on behalf of this card.
        wait: How long to print frames when no notice comes.
        out: Receives every frame, as sent by the server.
        err: Receives what the dashboard has to say about it.

    Returns:
        ``EXIT_OK``, ``EXIT_ERROR_FRAME`` or ``EXIT_CONNECTION``.
    """
    expected = EXPECTED_NOTICE[command]
    try:
        if command == "start":
            await dashboard.send_start(user_name=user_name, nfc_uid=nfc_uid)
        else:
            await dashboard.send_stop()
        async with asyncio.timeout(wait):
            while True:
                frame = await dashboard.receive()
                out(frame.raw)
                if (note := describe(frame)) is not None:
                    err(note)
                if frame.error is not None:
                    return EXIT_ERROR_FRAME
                if frame.type == expected:
                    return EXIT_OK
    except ServerClosedError as closed:
        err(f"Connection closed: {closed}")
        return EXIT_CONNECTION
    except TimeoutError:
        # The seed's server confirmed nothing to the sender; no news is not an error.
        err(f"{command} sent; no {expected} within {wait:g} s")
        return EXIT_OK


async def watch(
    dashboard: DashboardClient,
    *,
    out: Printer = print,
    err: Printer = print,
    stop: asyncio.Event | None = None,
) -> int:
    """Print every frame until the server closes, ``stop`` is set, or the task is cancelled.

    Error frames are printed and watching goes on: a passive watcher cannot have caused
    them.

    Args:
        dashboard: A connected client.
        out: Receives every frame, as sent by the server.
        err: Receives what the dashboard has to say about it.
        stop: Set it to end the watch (tests); Ctrl-C does it on the command line.

    Returns:
        ``EXIT_OK`` when stopped, ``EXIT_CONNECTION`` when the server closed.
    """
    return await watch_frames(dashboard, describe, out=out, err=err, stop=stop)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m simulators.dashboard``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.dashboard",
        description="Act as an EV charger's dashboard (legacy charger protocol) against iot_hub.",
        epilog="Frames go to stdout as received, one per line. Exit status: 0 done, "
        "1 the server sent an error frame, 3 connection failed or closed by the server.",
    )
    add_url_argument(parser)
    parser.add_argument("--station", required=True, help="the charger's estacionId, e.g. 1")
    parser.add_argument("--token", required=True, help="a Home Assistant long-lived access token")
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        help="start/stop: seconds to print frames when no session notice comes "
        "(default %(default)s)",
    )
    add_bearer_argument(parser)
    parser.add_argument(
        "action",
        choices=("watch", "stop", "start"),
        help="print frames until Ctrl-C, or stop or start the station's session",
    )
    who = parser.add_mutually_exclusive_group()
    who.add_argument("--user", help="start: the person charging (default: your HA user)")
    who.add_argument("--card", help="start: on behalf of this NFC card (checked like a scan)")
    return parser


async def async_main(
    argv: Sequence[str] | None = None,
    *,
    session: aiohttp.ClientSession | None = None,
    out: Printer = print,
    err: Printer | None = None,
) -> int:
    """Run the dashboard from command-line arguments.

    Args:
        argv: The arguments without the program name; ``sys.argv[1:]`` when None.
        session: An aiohttp session to use (tests); one is made otherwise.
        out: Receives every frame (stdout by default).
        err: Receives the dashboard's own messages (timestamped on stderr by default).

    Returns:
        The exit status (see the module docstring).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.action != "start" and (args.user is not None or args.card is not None):
        parser.error("--user and --card go with start only")
    err = err or timestamped("stderr")
    dashboard = DashboardClient(
        args.url, args.token, args.station, bearer=args.bearer, session=session
    )
    try:
        await dashboard.connect()
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        err(f"Cannot connect to {redacted(dashboard.url)}: {error or type(error).__name__}")
        return EXIT_CONNECTION
    err(f"Connected to {redacted(dashboard.url)}")
    try:
        if args.action == "watch":
            return await watch(dashboard, out=out, err=err)
        command: DashboardCommand = "start" if args.action == "start" else "stop"
        return await run_command(
            dashboard,
            command,
            user_name=args.user,
            nfc_uid=args.card,
            wait=args.wait,
            out=out,
            err=err,
        )
    finally:
        await dashboard.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.dashboard``; Ctrl-C ends a watch with 0."""
    return run_cli(async_main(argv, out=lambda line: print(line, flush=True)))


if __name__ == "__main__":
    sys.exit(main())
