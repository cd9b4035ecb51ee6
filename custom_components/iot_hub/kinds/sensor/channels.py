"""Seed 001's event channels: who listens to which channel, and the frames handed to them.

A client is a legacy WebSocket (``channel_views``) or a ``websocket_api`` subscription
(``channel_ws_api``), on one channel each. A frame for channel C reaches C's clients and
``general``'s (``general`` carries every event, A1-1); a client is on one channel, so it gets
each frame once. A frame is encoded to JSON once, for every socket that takes it. Each socket
has its own bounded queue (``WsLink``): a client that stops reading is closed (1013) alone.

At most ``max_event_clients`` (hub option, default 100) clients at once, over every channel
(A1-10); past it a new one is refused, logged once a minute per address.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
import logging
from typing import Any, Final

from homeassistant.helpers.json import json_dumps

from ...transport.limits import FailureThrottle
from .codec import CHANNELS, DEFAULT_CHANNEL, channel_stats, stats

_LOGGER = logging.getLogger(__name__)

CONF_MAX_EVENT_CLIENTS: Final = "max_event_clients"
DEFAULT_MAX_EVENT_CLIENTS: Final = 100  # seed 001's WEBSOCKET_MAX_CONNECTIONS


class Encoded:
    """A frame, and its JSON text made at most once (for sockets; subscriptions take dicts)."""

    __slots__ = ("_text", "frame")

    def __init__(self, frame: dict[str, Any]) -> None:
        """Not encoded until a socket asks."""
        self.frame = frame
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The frame as JSON text."""
        if self._text is None:
            self._text = json_dumps(self.frame)
        return self._text


@dataclass(eq=False, slots=True)
class ChannelClient:
    """One listener: its channel, who it says it is, since when, how it is sent and closed."""

    channel: str
    user_id: str | None
    connected_at: datetime
    send: Callable[[Encoded], None]
    close: Callable[[int, str], None]


class EventChannels:
    """The registry of channel clients of one hub."""

    def __init__(self, options: Callable[[], Mapping[str, Any]]) -> None:
        """``options``: the hub's (read at each connection)."""
        self._options = options
        # Called when the first client comes (``ChannelEvents`` learns what it will need).
        self.on_first: Callable[[], None] = _nothing
        self._clients: dict[str, list[ChannelClient]] = {name: [] for name in CHANNELS}
        self._count = 0
        self._cap_reports = FailureThrottle()

    @property
    def cap(self) -> int:
        """How many clients may listen at once."""
        return int(self._options().get(CONF_MAX_EVENT_CLIENTS, DEFAULT_MAX_EVENT_CLIENTS))

    @property
    def count(self) -> int:
        """Clients listening now."""
        return self._count

    def add(self, client: ChannelClient, peer: str) -> bool:
        """Register a client; False (and a log line a minute per address) past the cap."""
        if self._count >= self.cap:
            if self._cap_reports.should_report(peer):
                _LOGGER.warning(
                    "Refused an event channel client from %s: %d clients already listen",
                    peer,
                    self._count,
                )
            return False
        if self._count == 0:
            self.on_first()
        self._clients[client.channel].append(client)
        self._count += 1
        return True

    def remove(self, client: ChannelClient) -> None:
        """A client left (removing one twice is harmless)."""
        clients = self._clients[client.channel]
        if client in clients:
            clients.remove(client)
            self._count -= 1

    def send(self, channel: str, frame: dict[str, Any]) -> int:
        """Hand ``frame`` to ``channel``'s clients and ``general``'s; how many got it."""
        listeners = self._clients[channel]
        if channel != DEFAULT_CHANNEL:
            listeners = listeners + self._clients[DEFAULT_CHANNEL]
        if not listeners:
            return 0
        encoded = Encoded(frame)
        for client in listeners:
            client.send(encoded)
        return len(listeners)

    def stats(self) -> dict[str, Any]:
        """Seed 001's stats: the channels somebody listens to, with their users."""
        return stats(
            {
                name: [(client.user_id, client.connected_at) for client in clients]
                for name, clients in self._clients.items()
                if clients
            }
        )

    def channel_stats(self, channel: str) -> dict[str, Any]:
        """One channel's ``{"connections", "users"}`` (none: zero and an empty list)."""
        return channel_stats(
            [(client.user_id, client.connected_at) for client in self._clients[channel]]
        )

    def close_all(self, code: int, reason: str) -> None:
        """Close every client (the hub unloads, HA stops); each removes itself as it goes."""
        for clients in self._clients.values():
            for client in list(clients):
                client.close(code, reason)


def _nothing() -> None:
    """No one to tell."""
