"""Seed 004's frontend ``wsService``, written from the seed alone, pointed at iot_hub.

The frontend opens one WebSocket per stream of a consumer, ``<base>/ws/<stream>/<id>/?token=``
(``sensor_data``, ``heart_rate_today``, ``heart_rate_stats`` at least), pings now and then,
may send ``{"type": "request_data"}``, and switches on ``sensor_update`` (``data`` a list on
connect and on ``request_data``, one object on a push), ``heart_rate_update``,
``heart_rate_stats_update`` and ``pong``. Its ``getStats()`` lists each stream as the channel
``<stream>_<id>`` with its state. The base changes from ``wss://BACKEND`` to
``ws://HA:8123/api/iot_hub`` (``http``/``https`` are accepted and mean ``ws``/``wss``); the
token is a Home Assistant access token instead of the seed's JWT.

Every frame received is printed to stdout as it arrived, one per line, prefixed with its
stream (``sensor_data {"type": ...}``).

Command line::

    python -m simulators.legacy_streams --url ws://127.0.0.1:8123/api/iot_hub --consumer 22
        --token HA_TOKEN [--streams sensor_data heart_rate_today ...] [--ping 20]
        [--duration S]

Exit status: 0 after ``--duration`` (or Ctrl-C), 3 when a stream could not connect or was
closed by the server (4001: the token was refused).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import contextlib
from dataclasses import dataclass, field
import json
import sys
from typing import Any, Final

import aiohttp

DEFAULT_STREAMS: Final = ("sensor_data", "heart_rate_today", "heart_rate_stats")
SNAPSHOT_SIZE: Final = 10  # the frontend shows the last 10 readings
EXIT_OK: Final = 0
EXIT_CONNECTION: Final = 3


def ws_base(url: str) -> str:
    """``http(s)://`` as ``ws(s)://``; no trailing slash."""
    for plain, secure in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(plain):
            url = secure + url[len(plain) :]
    return url.rstrip("/")


@dataclass
class StreamState:
    """What the frontend keeps of one stream."""

    name: str
    readings: list[dict[str, Any]] = field(default_factory=list)  # sensor_data, newest first
    latest: dict[str, Any] | None = None  # the other streams' last ``data``
    pongs: int = 0
    open: bool = False
    close_code: int | None = None

    def take(self, frame: dict[str, Any]) -> None:
        """Apply a frame as the frontend does (list: replace; object: prepend)."""
        kind, data = frame.get("type"), frame.get("data")
        if kind == "pong":
            self.pongs += 1
        elif kind == "sensor_update" and isinstance(data, list):
            self.readings = data[:SNAPSHOT_SIZE]
        elif kind == "sensor_update" and isinstance(data, dict):
            self.readings = [data, *self.readings][:SNAPSHOT_SIZE]
        elif isinstance(data, dict):
            self.latest = data


class LegacyStreams:
    """The frontend's sockets for one consumer."""

    def __init__(
        self,
        base: str,
        consumer: str,
        token: str,
        streams: Sequence[str] = DEFAULT_STREAMS,
        session: aiohttp.ClientSession | None = None,
        *,
        echo: bool = False,
    ) -> None:
        """Nothing is opened until ``connect``."""
        self.base = ws_base(base)
        self.consumer = consumer
        self.token = token
        self.state = {name: StreamState(name) for name in streams}
        self._session = session
        self._own_session = session is None
        self._sockets: dict[str, aiohttp.ClientWebSocketResponse] = {}
        self._readers: list[asyncio.Task[None]] = []
        self._changed = asyncio.Condition()
        self._echo = echo

    def url(self, stream: str) -> str:
        """The seed's path under the new base, with the token in the query."""
        return f"{self.base}/ws/{stream}/{self.consumer}/?token={self.token}"

    async def connect(self) -> None:
        """Open every stream (the server sends each snapshot at once)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        for name in self.state:
            ws = await self._session.ws_connect(self.url(name))
            self._sockets[name] = ws
            self.state[name].open = True
            self._readers.append(asyncio.create_task(self._read(name, ws)))

    async def _read(self, name: str, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                if self._echo:
                    print(name, msg.data, flush=True)
                with contextlib.suppress(ValueError):
                    frame = json.loads(msg.data)
                    if isinstance(frame, dict):
                        self.state[name].take(frame)
            async with self._changed:
                self._changed.notify_all()
        self.state[name].open = False
        self.state[name].close_code = ws.close_code
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Any, seconds: float = 10.0) -> None:
        """Wait until ``predicate(self)`` holds (checked after each frame)."""
        async with asyncio.timeout(seconds), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def ping(self) -> None:
        """``{"type": "ping"}`` on every stream."""
        for ws in self._sockets.values():
            await ws.send_str(json.dumps({"type": "ping"}))

    async def request_data(self, stream: str) -> None:
        """Ask a stream for its snapshot again."""
        await self._sockets[stream].send_str(json.dumps({"type": "request_data"}))

    def stats(self) -> dict[str, Any]:
        """``wsService.getStats()`` as the seed shows it."""
        channels = [
            {
                "channel": f"{name}_{self.consumer}",
                "state": "OPEN" if state.open else "CLOSED",
                "isActive": state.open,
            }
            for name, state in self.state.items()
        ]
        return {
            "totalConnections": len(channels),
            "activeConnections": sum(c["isActive"] for c in channels),
            "channels": channels,
        }

    async def close(self) -> None:
        """Close every socket (and the session if it is ours)."""
        for ws in self._sockets.values():
            await ws.close()
        await asyncio.gather(*self._readers, return_exceptions=True)
        if self._own_session and self._session is not None:
            await self._session.close()


async def run(args: argparse.Namespace) -> int:
    """Connect, ping every ``--ping`` seconds, print frames, stop after ``--duration``."""
    client = LegacyStreams(args.url, args.consumer, args.token, args.streams, echo=True)
    try:
        await client.connect()
    except aiohttp.ClientError as err:
        print(f"could not connect: {err}", file=sys.stderr)
        await client.close()
        return EXIT_CONNECTION
    loop = asyncio.get_running_loop()
    end = None if args.duration is None else loop.time() + args.duration
    try:
        while end is None or loop.time() < end:
            await asyncio.sleep(min(args.ping, max(0.0, (end or 1e18) - loop.time())))
            if any(not s.open for s in client.state.values()):
                break
            await client.ping()
    finally:
        await client.close()
    closed = [s for s in client.state.values() if s.close_code not in (None, 1000)]
    for state in closed:
        print(f"{state.name} closed by the server: {state.close_code}", file=sys.stderr)
    print(json.dumps(client.stats()), file=sys.stderr)
    return EXIT_CONNECTION if closed else EXIT_OK


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True, help="base, e.g. ws://HA:8123/api/iot_hub")
    parser.add_argument("--consumer", required=True, help="the consumidor_id, e.g. 22")
    parser.add_argument("--token", required=True, help="a Home Assistant access token")
    parser.add_argument("--streams", nargs="+", default=list(DEFAULT_STREAMS))
    parser.add_argument("--ping", type=float, default=20.0, help="seconds between pings")
    parser.add_argument("--duration", type=float, default=None, help="seconds, then exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - the CLI entry
    """Run until ``--duration`` or Ctrl-C."""
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(parse_args(argv)))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
