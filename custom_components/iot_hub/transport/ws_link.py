"""One accepted WebSocket as a ``Link``: a bounded outbound queue drained by one writer task.

What a peer leaves unread is measured where it really piles up: frames and characters still
in the queue, plus the bytes aiohttp already handed to the transport (its write buffer). Past
either limit the peer is closed with 1013. So is a peer that answers no ping: the heartbeat
is this module's, not aiohttp's, which would drop the socket without a close frame. A peer
that reads nothing at all cannot take even the close frame: it is let go after a grace.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
import contextlib
import logging
from typing import Final

from aiohttp import web

from ..const import DOMAIN, CloseCode

_LOGGER = logging.getLogger(__name__)

HEARTBEAT: Final = 30.0  # seconds of silence before a ping; half of it to hear back
MAX_PENDING: Final = 512  # outbound frames queued for one peer before it is cut off
MAX_BUFFERED_BYTES: Final = 256 * 1024  # queued characters + transport bytes, the same
WRITER_GRACE: Final = 5.0  # seconds a closing peer gets to take its last frames


class WsLink:
    """An accepted WebSocket: a bounded outbound queue drained by a single writer task."""

    def __init__(
        self, ws: web.WebSocketResponse, peer: str, transport: asyncio.Transport | None = None
    ) -> None:
        """Wrap a prepared WebSocket (``transport``: the request's, to measure and abort)."""
        self._ws = ws
        self._peer = peer
        self._transport = transport
        self._queue: deque[str] = deque()
        self._queued_chars = 0
        self._wakeup = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._writer = self._loop.create_task(self._write_loop(), name=f"{DOMAIN} ws writer {peer}")
        self._closing = False
        self._close_code: int = 1000
        self._close_reason = ""
        self._heard = False
        self._ping: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(HEARTBEAT, self._beat)

    @property
    def peer(self) -> str:
        """Remote address, for log lines."""
        return self._peer

    @property
    def closing(self) -> bool:
        """Whether the link was closed: frames still arriving on it are stale."""
        return self._closing

    def buffered(self) -> int:
        """Characters queued plus bytes waiting in the transport: what the peer left unread."""
        in_transport = self._transport.get_write_buffer_size() if self._transport else 0
        return self._queued_chars + in_transport

    def send_text(self, text: str) -> None:
        """Queue a frame; a peer that lets frames or bytes pile up is closed with 1013."""
        if self._closing:
            return
        if len(self._queue) >= MAX_PENDING or self.buffered() + len(text) > MAX_BUFFERED_BYTES:
            _LOGGER.warning(
                "%s is not reading its frames (%d queued, %d bytes buffered); closing it",
                self._peer,
                len(self._queue),
                self.buffered(),
            )
            self.give_up("not reading its frames")
            return
        self._queue.append(text)
        self._queued_chars += len(text)
        self._wakeup.set()

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (so an error frame reaches the peer).

        A peer that has not taken them and the close within ``WRITER_GRACE`` is dropped.
        """
        if self._closing:
            return
        self._closing = True
        self._close_code = code
        self._close_reason = reason
        self._wakeup.set()
        self._set_timer(WRITER_GRACE, self._abort)  # instead of the heartbeat, from now on

    def give_up(self, reason: str) -> None:
        """The peer does not read: drop its backlog and close with 1013."""
        if self._closing:
            return
        self._queue.clear()
        self._queued_chars = 0
        self.close(CloseCode.TRY_AGAIN_LATER, reason)

    def heard(self) -> None:
        """Something came from the peer (a frame, a pong): it is alive."""
        self._heard = True

    def _set_timer(self, delay: float, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(delay, callback)

    def _beat(self) -> None:
        """``HEARTBEAT`` s on: a peer heard from is fine; a silent one is pinged."""
        if self._heard:
            self._heard = False
            self._set_timer(HEARTBEAT, self._beat)
            return
        self._ping = self._loop.create_task(self._send_ping(), name=f"{DOMAIN} ws ping")
        self._set_timer(HEARTBEAT / 2, self._check)

    def _check(self) -> None:
        if self._heard:
            self._heard = False
            self._set_timer(HEARTBEAT, self._beat)
            return
        _LOGGER.warning("%s did not answer a ping; closing it", self._peer)
        self.give_up("did not answer a ping")

    async def _send_ping(self) -> None:
        # Gone: the reader sees it; stuck: the missing answer closes it.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._ws.ping()

    def _abort(self) -> None:
        """The grace is over and the connection is still there: drop the socket."""
        self._timer = None
        if not self._writer.done():
            self._writer.cancel()
        if self._transport is not None:
            self._transport.abort()

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    text = self._queue.popleft()
                    self._queued_chars -= len(text)
                    await self._ws.send_str(text)
                if self._closing:
                    await self._ws.close(code=self._close_code, message=self._close_reason.encode())
                    return
        except ConnectionError, RuntimeError:
            # The peer vanished mid-write; the reader sees the close and cleans up.
            self._queue.clear()
            self._queued_chars = 0

    async def aclose(self) -> None:
        """The reader loop ended: let the writer send what is queued and close, then stop.

        Bytes still in the transport then belong to a peer that stopped reading: the socket is
        aborted rather than left to linger until the peer's window opens.
        """
        self._closing = True
        self._wakeup.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        # wait(), not a timeout around the writer: the grace may have cancelled it already.
        await asyncio.wait({self._writer}, timeout=WRITER_GRACE)
        self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)
        if self._ping is not None:
            self._ping.cancel()
        if self._transport is not None and self._transport.get_write_buffer_size():
            self._transport.abort()
