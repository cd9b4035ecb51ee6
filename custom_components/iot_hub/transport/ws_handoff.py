"""Text frames handed to their connection as aiohttp parses them, not awaited one by one.

Why: a connection that awaits ``ws.receive()`` between frames holds a fresh chain of objects
while it waits (two coroutines, aiohttp's reader coroutine, a Future, its iterator and callback,
the last message). They live as long as the gap between two frames, long enough for young
collections to promote them: with 1,000 ovens at 1 Hz that is ~4,000 objects a second pushed
into generation 2, which brings Home Assistant's full collections (each ~0.4 s on its heap)
about twice as often (``python -m benchmarks.ovens --gc-census``). A frame handed over leaves
nothing waiting behind it.

How: aiohttp's parser puts every message into a ``WebSocketDataQueue``. ``HandoffResponse``
builds its parser over a queue that gives a text message straight to the connection's handler
while nothing is queued. Everything else (ping, pong, binary, close, errors, and text queued
behind them) is queued as aiohttp does and read with ``receive()``: frames keep their order and
aiohttp's close handshake is its own.

This leans on aiohttp's insides (``WebSocketResponse._post_start`` and the queue it builds).
The hand-off is used only while ``_post_start`` touches exactly the names it did in the aiohttp
it was written against (3.14.5); otherwise the response is aiohttp's own and every frame is read
with ``receive()``: slower, never wrong. A test fails when the pinned aiohttp stops qualifying.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import WSMsgType, web
from aiohttp._websocket.reader import WebSocketDataQueue, WebSocketReader
from aiohttp.helpers import DEFAULT_CHUNK_SIZE

if TYPE_CHECKING:
    from aiohttp.http_websocket import WebSocketWriter
    from aiohttp.web_request import BaseRequest

# What aiohttp 3.14.5's ``_post_start`` reads and sets; ``HandoffResponse._post_start`` below
# does the same with another queue class.
_POST_START_NAMES: Final = (
    "_ws_protocol",
    "_writer",
    "_reset_heartbeat",
    "_loop",
    "WebSocketDataQueue",
    "_protocol",
    "DEFAULT_CHUNK_SIZE",
    "_reader",
    "WebSocketReader",
    "_max_msg_size",
    "bool",
    "_compress",
    "_decode_text",
    "_parser",
    "_heartbeat",
    "_on_data_received",
    "protocol",
    "set_parser",
    "keep_alive",
)
SUPPORTED: Final = web.WebSocketResponse._post_start.__code__.co_names == _POST_START_NAMES  # noqa: SLF001


class _HandoffQueue(WebSocketDataQueue):
    """aiohttp's message queue, which hands a text message over while nothing waits in it."""

    on_text: Callable[[str], bool] | None = None

    def feed_data(self, data: Any, size: int) -> None:
        """A parsed message: to ``on_text`` if it is text and first in line, else queued.

        A text frame ``on_text`` declines (False) is queued too: ``receive()`` returns it, so
        the reader wakes and can stop.
        """
        if (
            (on_text := self.on_text) is not None
            and data[0] is WSMsgType.TEXT
            and not self._buffer
            and on_text(data[1])
        ):
            return
        super().feed_data(data, size)


class HandoffResponse(web.WebSocketResponse):
    """A WebSocket response whose text frames can be handed to a callback as they are parsed."""

    def _post_start(
        self, request: BaseRequest, protocol: str | None, writer: WebSocketWriter
    ) -> None:
        if not SUPPORTED:
            super()._post_start(request, protocol, writer)
            return
        # aiohttp 3.14.5's _post_start, line for line, with _HandoffQueue for the queue.
        self._ws_protocol = protocol
        self._writer = writer
        self._reset_heartbeat()
        loop = self._loop
        assert loop is not None
        self._reader = _HandoffQueue(request._protocol, DEFAULT_CHUNK_SIZE, loop=loop)  # noqa: SLF001
        self._parser = WebSocketReader(
            self._reader,
            self._max_msg_size,
            compress=bool(self._compress),
            decode_text=self._decode_text,
        )
        cb = None if self._heartbeat is None else self._on_data_received
        request.protocol.set_parser(self._parser, data_received_cb=cb)
        request.protocol.keep_alive(False)


def hand_off(ws: web.WebSocketResponse, on_text: Callable[[str], bool] | None) -> None:
    """Give ``ws``'s text frames to ``on_text`` as they are parsed (None: stop).

    ``on_text`` returns False for a frame it declines: that frame, and what follows, queue.
    Any other response (aiohttp's own) keeps reading every frame with ``receive()``.
    """
    if isinstance(queue := ws._reader, _HandoffQueue):  # noqa: SLF001
        queue.on_text = on_text
