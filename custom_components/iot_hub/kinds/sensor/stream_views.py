r"""Seed 004 over HTTP: the live streams' WebSocket route and the reading POST.

- ``GET /api/iot_hub/ws/{stream}/{consumer_id}/`` (also without the trailing slash): a
  WebSocket of one stream of one consumer. An HA access token as ``?token=`` (what the legacy
  frontend sends) or Bearer. The socket is accepted first, so a missing or invalid token is
  seen as close 4001 (the seed's code; Channels answered 403 before the handshake, A4-4), and
  a revoked one closes 4001 too. An unknown stream, or a consumer id no device can have
  (not ``\w{1,64}``), is 404 before the upgrade; a consumer no device has yet gets an empty
  snapshot and stays subscribed (the legacy filter gave ``[]``). Then: the snapshot at once,
  ``ping`` -> ``pong``, ``request_data`` -> the snapshot again, anything else ignored (a debug
  line). The device endpoint's limits hold (``transport/websocket.py``): frames over 16 KiB
  close 1009, a binary frame gets an error frame, floods close 1008 and are refused 4029 for
  a minute, a client that leaves frames unread or answers no ping closes 1013, and the hub's
  caps on connections per address and per HA user close 4031.
- ``POST /api/iot_hub/sensor_data/{consumer_id}/`` (also without the slash): the seed's
  ``create_sensor_reading`` (URL unstated, A4-10). The body is the model's fields
  (``{"accel_x": ..., "gyro_z": ...}``, any other named number too); the token is the device
  token of the sensor whose consumer this is. 201 with the reading as the streams show it;
  400 a body that is no reading, 401 no or a wrong token, 403 another device's token, 404 no
  sensor has this consumer, 413 a body over ``MAX_BODY_BYTES``, 503 iot_hub not loaded.
  Errors are ``{"detail": "..."}``, as Django REST framework words them.
"""

from __future__ import annotations

from http import HTTPStatus
import json
import logging
from typing import TYPE_CHECKING, Final

from aiohttp import web
from homeassistant.components.http.auth_util import async_user_not_allowed_do_auth
from homeassistant.components.http.ban import process_success_login
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, CloseCode
from ...kind import Source
from ...protocol import ProtocolError
from ...transport import limits
from ...transport.auth import LoginFailures
from ...transport.limits import Backoff, ConnectionCounts, FailureThrottle
from ...transport.websocket import MAX_FRAME_BYTES, pump_frames, token_from
from ...transport.ws_link import WsLink
from .codec import PONG, Ping, RequestData, decode_reading, decode_stream_frame, motion_reading
from .config_flow import CONSUMER_ID
from .handler import SensorHandler, wire_error
from .live import live_of
from .stream_codec import STREAMS, decode_posted_reading
from .streams import Frame, Streams

if TYPE_CHECKING:
    from homeassistant.auth.models import RefreshToken

    from ...hub import Hub

_LOGGER = logging.getLogger(__name__)

STREAM_PATH: Final = "/api/iot_hub/ws/{stream}/{consumer_id}/"
READINGS_PATH: Final = "/api/iot_hub/sensor_data/{consumer_id}/"
MAX_BODY_BYTES: Final = 16 * 1024  # a reading is well under 1 KiB
STREAM_CLOSE_CODE: Final = 4001  # seed 004: missing, invalid (and here revoked) token
_PONG: Final = json.dumps(PONG)  # ``{"type": "pong"}``, the seed's bytes
NOT_LOADED: Final = "iot_hub is not loaded"


class LinkSubscriber:
    """A WebSocket client of a stream: frames go to its link's bounded queue."""

    def __init__(self, link: WsLink) -> None:
        """Wrap an accepted client's link."""
        self._link = link

    def send(self, frame: Frame) -> None:
        """Queue the frame (``WsLink`` closes a client that stops reading, 1013)."""
        self._link.send_text(frame.text)

    def end(self, reason: str) -> None:
        """The hub unloads: going away (1001)."""
        self._link.close(CloseCode.UNLOADING, reason)


def _hub(hass: HomeAssistant) -> Hub | None:
    entries = hass.config_entries.async_loaded_entries(DOMAIN)
    return entries[0].runtime_data if entries else None  # a single hub entry


class StreamView(HomeAssistantView):
    """``GET /api/iot_hub/ws/{stream}/{consumer_id}/``: one live stream of one consumer."""

    url = STREAM_PATH
    extra_urls = [STREAM_PATH.rstrip("/")]  # noqa: RUF012  (HomeAssistantView's attribute)
    name = "api:iot_hub:ws:stream"
    requires_auth = False  # the legacy frontend sends ``?token=``

    def __init__(self, failures: LoginFailures) -> None:
        """State shared by every request: failed logins, flood back-offs, connection caps."""
        self._logins = failures
        self._backoff = Backoff()
        self._clients = ConnectionCounts()
        self._cap_reports = FailureThrottle()

    async def get(self, request: web.Request, stream: str, consumer_id: str) -> web.StreamResponse:
        """Check the path, accept, check the token, then stream until the client leaves."""
        if stream not in STREAMS or not CONSUMER_ID.fullmatch(consumer_id):
            return web.Response(status=HTTPStatus.NOT_FOUND, text="unknown stream")
        hass: HomeAssistant = request.app[KEY_HASS]
        if (live := live_of(hass)) is None:
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE, text=NOT_LOADED)
        ws = web.WebSocketResponse(autoping=False, max_msg_size=MAX_FRAME_BYTES + 1)
        await ws.prepare(request)
        if (token := token_from(request)) is None:
            await self._logins.refuse(request, ws, STREAM_CLOSE_CODE, "missing credentials")
            return ws
        refresh_token = hass.auth.async_validate_access_token(token)
        if refresh_token is None or async_user_not_allowed_do_auth(
            hass, refresh_token.user, request
        ):
            await self._logins.refuse(request, ws, STREAM_CLOSE_CODE, "invalid token")
            return ws
        process_success_login(request)
        peer = request.remote or "unknown"
        user = refresh_token.user
        if wait := self._backoff.remaining(user.id):
            _LOGGER.debug("Refused a stream of %s (%s): closed for flooding", user.name, peer)
            await ws.close(
                code=CloseCode.BACKING_OFF,
                message=f"closed for flooding; retry in {wait:.0f} s".encode(),
            )
            return ws
        if not self._clients.acquire_within(peer, user.id, live.hub.options):
            if self._cap_reports.should_report(peer):
                _LOGGER.warning(
                    "Refused a stream of %s (%s): too many connections", user.name, peer
                )
            await ws.close(code=CloseCode.TOO_MANY_CONNECTIONS, message=b"too many connections")
            return ws
        try:
            await self._serve(request, ws, live.streams, (stream, consumer_id), refresh_token)
        finally:
            self._clients.release(peer, user.id)
        return ws

    async def _serve(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        streams: Streams,
        group: tuple[str, str],
        refresh_token: RefreshToken,
    ) -> None:
        hass: HomeAssistant = request.app[KEY_HASS]
        stream, consumer = group
        await streams.async_prepare(stream, consumer)
        link = WsLink(ws, request.remote or "unknown", request.transport)
        # Snapshot and subscription in one turn of the loop: no push is lost or comes first.
        link.send_text(streams.snapshot(stream, consumer).text)
        leave = streams.subscribe(stream, consumer, LinkSubscriber(link))
        unrevoke = hass.auth.async_register_revoke_token_callback(
            refresh_token.id, lambda: link.close(STREAM_CLOSE_CODE, "token revoked")
        )

        def on_text(text: str) -> None:
            match decode_stream_frame(text):
                case Ping():
                    link.send_text(_PONG)
                case RequestData():
                    link.send_text(streams.snapshot(stream, consumer).text)
                case None:
                    _LOGGER.debug("Ignored a frame of a %s client: %.64s", stream, text)

        try:
            await pump_frames(
                ws,
                link,
                on_text,
                lambda key: wire_error(Source.CLIENT, key),
                on_flood=lambda: self._backoff.start(refresh_token.user.id, limits.FLOOD_BACKOFF),
            )
        finally:
            leave()
            unrevoke()
            await link.aclose()


def _detail(status: HTTPStatus, message: str) -> web.Response:
    return HomeAssistantView.json({"detail": message}, status)


class ReadingView(HomeAssistantView):
    """``POST /api/iot_hub/sensor_data/{consumer_id}/``: a reading, with the device's token."""

    url = READINGS_PATH
    extra_urls = [READINGS_PATH.rstrip("/")]  # noqa: RUF012  (HomeAssistantView's attribute)
    name = "api:iot_hub:sensor_data"
    requires_auth = False  # devices have no HA user: their own token is checked here

    def __init__(self, failures: LoginFailures) -> None:
        """``failures`` is shared with the stream route."""
        self._logins = failures

    async def post(self, request: web.Request, consumer_id: str) -> web.Response:
        """Authenticate the device, read the body, hand the reading to its handler."""
        hass: HomeAssistant = request.app[KEY_HASS]
        if (hub := _hub(hass)) is None or (live := live_of(hass)) is None:
            return _detail(HTTPStatus.SERVICE_UNAVAILABLE, NOT_LOADED)
        if (token := token_from(request)) is None:
            await self._logins.refuse_request(request, "missing credentials")
            return _detail(HTTPStatus.UNAUTHORIZED, "missing credentials")
        if (device := hub.device_for_token(token)) is None:
            await self._logins.refuse_request(request, "invalid token")
            return _detail(HTTPStatus.UNAUTHORIZED, "invalid token")
        process_success_login(request)
        handler = device.handler
        if not isinstance(handler, SensorHandler) or handler.consumer_id != consumer_id:
            if (
                not CONSUMER_ID.fullmatch(consumer_id)
                or live.streams.device_of(consumer_id) is None
            ):
                return _detail(HTTPStatus.NOT_FOUND, "unknown consumer")
            return _detail(HTTPStatus.FORBIDDEN, "the token is another device's")
        if not handler.may_post():
            return _detail(HTTPStatus.TOO_MANY_REQUESTS, "too many readings")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _too_large()
        body = bytearray()
        async for chunk in request.content.iter_any():  # a chunked body has no length
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _too_large()
        try:
            reading = decode_reading(decode_posted_reading(body.decode(), consumer_id))
        except (ProtocolError, UnicodeDecodeError) as err:
            return _detail(HTTPStatus.BAD_REQUEST, str(err))
        received = dt_util.utcnow()
        reading_id = handler.posted(reading, received)
        created = motion_reading(reading_id, reading.values, reading.taken_at or received)
        return self.json(created, HTTPStatus.CREATED)


def _too_large() -> web.Response:
    response = _detail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
    response.force_close()  # the rest of the body is left unread
    return response


@callback
def async_register(hass: HomeAssistant) -> None:
    """Register both routes (once per HA run: views cannot be removed)."""
    failures = LoginFailures()
    hass.http.register_view(StreamView(failures))
    hass.http.register_view(ReadingView(failures))
