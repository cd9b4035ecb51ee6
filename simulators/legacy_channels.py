r"""Seed 001's legacy event channel clients, written from the seed alone, pointed at iot_hub.

* ``listen``: the seed's Python client. It opens ``<base>/ws?channel=C`` and, for every
  message, does ``data = json.loads(message)`` and ``data['type']`` (a frame without ``type``
  would raise ``KeyError``, as in the seed); on an ``entity_event`` it prints
  ``Entidad <entity_type> <event_type>: ID <entity_id>``.
* ``test-event``: ``websocket_tester.py``'s option 4, ``POST <base>/ws/test-event?channel=&message=``.
* ``stats``: its option 5, ``GET <base>/ws/stats`` (or ``/ws/stats/<channel>``).

The one change against iot_hub: the base is ``http://HA:8123/api/iot_hub/v1`` and a Home
Assistant access token goes along (``?token=`` on the socket, as a browser would;
``Authorization: Bearer`` on HTTP).

Command line::

    python -m simulators.legacy_channels --base http://127.0.0.1:8123/api/iot_hub/v1 \\
        --token TOKEN listen [--channel sensors] [--count N]
    python -m simulators.legacy_channels ... test-event [--channel general] [--message Prueba]
    python -m simulators.legacy_channels ... stats [--channel sensors]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
import json
from typing import Any

import aiohttp
from yarl import URL


def socket_url(base: str, channel: str, token: str, user_id: str | None = None) -> URL:
    """``ws(s)://.../ws?channel=C&token=T`` from an ``http(s)`` base."""
    url = URL(base)
    scheme = {"http": "ws", "https": "wss"}.get(url.scheme, url.scheme)
    query = {"channel": channel, "token": token}
    if user_id is not None:
        query["user_id"] = user_id
    return url.with_scheme(scheme).joinpath("ws").with_query(query)


async def listen(
    base: str,
    token: str,
    channel: str = "general",
    *,
    count: int | None = None,
    on_frame: Callable[[dict[str, Any]], None] = print,
    user_id: str | None = None,
) -> list[dict[str, Any]]:
    """The seed's listener; returns after ``count`` frames (None: until the server closes)."""
    frames: list[dict[str, Any]] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(socket_url(base, channel, token, user_id)) as websocket,
    ):
        async for message in websocket:  # ends at the server's close
            data = json.loads(message.data)
            on_frame(data)
            if data["type"] == "entity_event":  # the seed's own line
                on_frame(
                    {
                        "print": f"Entidad {data['entity_type']} {data['event_type']}: "
                        f"ID {data['entity_id']}"
                    }
                )
            frames.append(data)
            if count is not None and len(frames) >= count:
                break
    return frames


async def send_test_event(base: str, token: str, channel: str, message: str) -> dict[str, Any]:
    """``POST /ws/test-event?channel=&message=``; the server's answer."""
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.post(
            URL(base).joinpath("ws", "test-event").with_query(channel=channel, message=message)
        ) as response,
    ):
        response.raise_for_status()
        answer: dict[str, Any] = await response.json()
        return answer


async def get_stats(base: str, token: str, channel: str | None = None) -> dict[str, Any]:
    """``GET /ws/stats`` or ``/ws/stats/<channel>``."""
    path = ("ws", "stats", channel) if channel else ("ws", "stats")
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.get(URL(base).joinpath(*path)) as response,
    ):
        response.raise_for_status()
        answer: dict[str, Any] = await response.json()
        return answer


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False))


async def async_main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m simulators.legacy_channels")
    parser.add_argument("--base", required=True, help="http://HA:8123/api/iot_hub/v1")
    parser.add_argument("--token", required=True, help="a Home Assistant access token")
    commands = parser.add_subparsers(dest="command", required=True)
    listen_cmd = commands.add_parser("listen")
    listen_cmd.add_argument("--channel", default="general")
    listen_cmd.add_argument("--count", type=int)
    test_cmd = commands.add_parser("test-event")
    test_cmd.add_argument("--channel", default="general")
    test_cmd.add_argument("--message", default="Prueba")
    stats_cmd = commands.add_parser("stats")
    stats_cmd.add_argument("--channel")
    args = parser.parse_args(argv)
    if args.command == "listen":
        await listen(args.base, args.token, args.channel, count=args.count, on_frame=_print_json)
    elif args.command == "test-event":
        _print_json(await send_test_event(args.base, args.token, args.channel, args.message))
    else:
        _print_json(await get_stats(args.base, args.token, args.channel))
    return 0


def main() -> None:  # pragma: no cover - the command line
    """Entry point."""
    raise SystemExit(asyncio.run(async_main()))


if __name__ == "__main__":  # pragma: no cover
    main()
