"""The seed's SSE stream: ``GET /api/iot_hub/stream/dispositivos?serial=&reclamado=``.

Byte for byte as the seed frames it (``codec``): ``event: hello`` first, one ``data:`` line
per device change that matches the filters, ``event: ping`` after ``SSE_PING_INTERVAL``
seconds without one. ``/api/iot_hub/stream`` is the same stream, and ``claimed`` the English
name of ``reclamado``. The HA token comes as ``?token=`` (what a legacy client can add to its
URL), as Bearer, or as a signed path.

Each client has its own queue ("cola por cliente"), bounded by ``QUEUE_SIZE``: a client that
stops reading fills it and is dropped alone, with a log line, while the directory's other
subscribers are never held up (a change only appends to queues). At most ``MAX_CLIENTS``
streams are open at once. Every stream ends when the hub entry unloads or HA stops
(``streams.close_streams``), and when the caller's token is revoked.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
import logging
from typing import Final

from aiohttp import web
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from ...transport.auth import LoginFailures
from ...transport.http import error_response, unauthorized
from ...transport.limits import FailureThrottle
from . import access, codec
from .access import Filters
from .codec import DeviceInfo
from .http import NOT_LOADED
from .streams import open_streams

_LOGGER = logging.getLogger(__name__)

STREAM_PATH: Final = "/api/iot_hub/stream/dispositivos"
STREAM_ALIAS: Final = "/api/iot_hub/stream"
SSE_PING_INTERVAL: Final = 15.0  # seconds without an event before a ping (the seed's: unstated)
QUEUE_SIZE: Final = 256  # events waiting for one client before it is dropped
MAX_CLIENTS: Final = 100

_HELLO: Final = codec.SSE_HELLO.encode()
_PING: Final = codec.SSE_PING.encode()
_last_encoded: tuple[DeviceInfo | None, bytes] = (None, b"")


def _encoded(device: DeviceInfo) -> bytes:
    """The update frame; every client hears the same change, so it is encoded once."""
    global _last_encoded  # noqa: PLW0603  (a one-entry memo, by identity)
    if _last_encoded[0] is not device:
        _last_encoded = (device, codec.encode_sse_update(device).encode())
    return _last_encoded[1]


class SseClient:
    """One open stream: its filters and its queue of frames."""

    def __init__(self, filters: Filters, peer: str, transport: asyncio.Transport | None) -> None:
        """A client that has not been sent anything yet."""
        self.filters = filters
        self.peer = peer
        self._transport = transport
        # Unbounded for the end marker only: frames are bounded by ``QUEUE_SIZE`` by hand.
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._limit = QUEUE_SIZE
        self.dropped = False

    @callback
    def on_change(self, device: DeviceInfo) -> None:
        """A device changed: queue its frame if the client wants it."""
        if self.dropped or not self.filters.matches(device):
            return
        if self._queue.qsize() >= self._limit:
            self._drop()
            return
        self._queue.put_nowait(_encoded(device))

    @callback
    def end(self) -> None:
        """End the stream once what is queued has been written."""
        self._queue.put_nowait(None)

    def _drop(self) -> None:
        self.dropped = True
        _LOGGER.warning(
            "SSE client %s stopped reading (%d events waiting); dropping it",
            self.peer,
            self._queue.qsize(),
        )
        # Its writes may be waiting on a full socket: only an abort frees them.
        if self._transport is not None:
            self._transport.abort()

    async def next(self) -> bytes | None:
        """The next frame to write (a ping after a quiet interval); None: the stream ends."""
        if self.dropped:
            return None
        try:
            async with asyncio.timeout(SSE_PING_INTERVAL):
                return await self._queue.get()
        except TimeoutError:
            return _PING


class SseView(HomeAssistantView):
    """``GET /api/iot_hub/stream/dispositivos`` (and ``/api/iot_hub/stream``)."""

    url = STREAM_PATH
    extra_urls = [STREAM_ALIAS]  # noqa: RUF012  (HomeAssistantView's own attribute)
    name = "api:iot_hub:stream:dispositivos"
    requires_auth = False  # ``access.authenticate`` also accepts ``?token=``

    def __init__(self, failures: LoginFailures) -> None:
        """``failures`` is shared with the REST routes."""
        self._failures = failures
        self._clients: set[SseClient] = set()
        self._cap_reports = FailureThrottle()

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Authenticate, then stream until the client leaves or the stream is ended."""
        caller = await access.authenticate(request, self._failures)
        if caller is None:
            return unauthorized()
        try:
            filters = Filters.from_query(request.query)
        except ValueError as err:
            return error_response(HTTPStatus.BAD_REQUEST, str(err))
        hass: HomeAssistant = request.app[KEY_HASS]
        if (directory := access.directory_of(hass)) is None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, NOT_LOADED)
        peer = request.remote or "unknown"
        if len(self._clients) >= MAX_CLIENTS:
            if self._cap_reports.should_report(peer):
                _LOGGER.warning("Refused an SSE client from %s: %d open", peer, MAX_CLIENTS)
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, "Demasiados clientes SSE")
        client = SseClient(filters, peer, request.transport)
        response = web.StreamResponse(
            status=HTTPStatus.OK,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        response.content_type = "text/event-stream"
        response.charset = "utf-8"
        self._clients.add(client)
        # Subscribed before ``hello`` is written: no change between the two is lost.
        unsubscribe = directory.subscribe(client.on_change)
        forget = open_streams(hass).add(client.end)
        unrevoke = (
            hass.auth.async_register_revoke_token_callback(caller.refresh_token_id, client.end)
            if caller.refresh_token_id is not None
            else None
        )
        _LOGGER.debug("SSE client %s connected (%s)", peer, caller.user.name)
        try:
            await response.prepare(request)
            await response.write(_HELLO)
            while (frame := await client.next()) is not None:
                await response.write(frame)
            if not client.dropped:
                await response.write_eof()
        except ConnectionResetError:
            _LOGGER.debug("SSE client %s went away", peer)
        finally:
            unsubscribe()
            forget()
            if unrevoke is not None:
                unrevoke()
            self._clients.discard(client)
        return response
