"""Seed 001's WebSocket and HTTP routes under ``/api/iot_hub/v1`` (was ``/api/v1``).

- ``GET /ws?channel=&user_id=`` and ``/ws/secure?channel=&token=`` (the same: both need an HA
  access token, as ``?token=`` or Bearer): the ``connection`` frame, then the channel's frames.
  Missing token: close 4001; invalid or revoked: 4003 (failures count toward HA's IP ban);
  unknown channel: 4404; past ``max_event_clients``: 1013. Clients send nothing in the seed:
  text frames are ignored, but count against the device endpoint's rate (a flood closes
  1008), a binary frame gets an error frame, one over ``MAX_CLIENT_FRAME`` bytes closes 1009.
  A ping every 30 s; no answer within 15 s closes (1013), as does a client that stops reading.
- ``GET /ws/stats`` and ``/ws/stats/{channel}`` (any HA user): seed 001's stats objects.
- ``POST /ws/test-event?channel=&message=`` (admins): a ``system_event`` on the channel.

Every refusal over HTTP is ``{"error": "<message>"}`` with its status.
"""

from __future__ import annotations

from http import HTTPStatus
import logging
from typing import Final

from aiohttp import web
from homeassistant.auth.models import User
from homeassistant.components.http.auth_util import async_user_not_allowed_do_auth
from homeassistant.components.http.ban import process_success_login
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util import dt as dt_util

from ...const import CloseCode
from ...kind import Source
from ...protocol import ProtocolError
from ...transport.auth import LoginFailures
from ...transport.http import authenticate, error_response, unauthorized
from ...transport.websocket import pump_frames, token_from
from ...transport.ws_link import WsLink
from . import codec
from .channel_codec import user_id
from .channels import ChannelClient, Encoded
from .handler import wire_error
from .live import SensorLive, live_of

_LOGGER = logging.getLogger(__name__)

BASE: Final = "/api/iot_hub/v1"
UNKNOWN_CHANNEL: Final = 4404  # like HTTP 404: no such channel
MAX_CLIENT_FRAME: Final = 4096  # bytes; the seed's clients send nothing at all
MAX_MESSAGE_CHARS: Final = 1024  # a test event's message
NOT_LOADED: Final = "iot_hub no está cargado"


class ChannelSocketView(HomeAssistantView):
    """``GET /api/iot_hub/v1/ws`` and ``/ws/secure``: one channel's frames."""

    url = f"{BASE}/ws"
    extra_urls = [f"{BASE}/ws/secure"]  # noqa: RUF012  (HomeAssistantView's own attribute)
    name = "api:iot_hub:v1:ws"
    requires_auth = False  # ``?token=`` too: a browser's WebSocket cannot set a header

    def __init__(self, failures: LoginFailures) -> None:
        """``failures`` is shared by every seed-001 route."""
        self._logins = failures

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Authenticate, check the channel and the cap, then serve until the client leaves."""
        hass: HomeAssistant = request.app[KEY_HASS]
        if (live := live_of(hass)) is None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, NOT_LOADED)
        token = token_from(request)
        # Accepted before any check, so that a refusal is a close code the client can read.
        ws = web.WebSocketResponse(autoping=False, max_msg_size=MAX_CLIENT_FRAME + 1)
        await ws.prepare(request)
        if token is None:
            await self._logins.refuse(
                request, ws, CloseCode.MISSING_CREDENTIALS, "missing credentials"
            )
            return ws
        refresh_token = hass.auth.async_validate_access_token(token)
        if refresh_token is None or async_user_not_allowed_do_auth(
            hass, refresh_token.user, request
        ):
            await self._logins.refuse(request, ws, CloseCode.INVALID_TOKEN, "invalid token")
            return ws
        process_success_login(request)
        peer = request.remote or "unknown"
        try:
            channel = codec.channel(request.query.get("channel"))
        except ProtocolError as err:
            _LOGGER.info("Event channel client from %s refused: %s", peer, err)
            await ws.close(code=UNKNOWN_CHANNEL, message=str(err).encode())
            return ws
        link = WsLink(ws, peer, request.transport)
        client = ChannelClient(
            channel,
            user_id(request.query.get("user_id")) or refresh_token.user.id,
            dt_util.utcnow(),
            lambda encoded: link.send_text(encoded.text),
            link.close,
        )
        if not live.channels.add(client, peer):
            link.close(CloseCode.TRY_AGAIN_LATER, "try again later")
            await link.aclose()
            return ws
        # Queued before anything the channel sends next: the ``connection`` frame is first.
        link.send_text(Encoded(codec.connection_frame(channel, client.connected_at)).text)
        unrevoke = hass.auth.async_register_revoke_token_callback(
            refresh_token.id, lambda: link.close(CloseCode.INVALID_TOKEN, "token revoked")
        )
        _LOGGER.debug("Event channel client on %s from %s", channel, peer)
        try:
            await pump_frames(ws, link, _ignore, lambda key: wire_error(Source.CLIENT, key))
        finally:
            unrevoke()
            live.channels.remove(client)
            await link.aclose()
        return ws


def _ignore(_text: str) -> None:
    """Seed 001 documents no client frame (A1-12): text is read and dropped."""


class ChannelHttpView(HomeAssistantView):
    """A seed-001 HTTP route: an HA user (Bearer or ``?token=``), the loaded hub's channels."""

    requires_auth = False  # ``authenticate`` also takes ``?token=``

    def __init__(self, failures: LoginFailures) -> None:
        """``failures`` is shared by every seed-001 route."""
        self._failures = failures

    async def _open(self, request: web.Request) -> tuple[User, SensorLive] | web.Response:
        if (found := await authenticate(request, self._failures)) is None:
            return unauthorized()
        if (live := live_of(request.app[KEY_HASS])) is None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, NOT_LOADED)
        return found[0], live


class StatsView(ChannelHttpView):
    """``GET /api/iot_hub/v1/ws/stats``: every channel somebody listens to."""

    url = f"{BASE}/ws/stats"
    name = "api:iot_hub:v1:ws:stats"

    async def get(self, request: web.Request) -> web.Response:
        """``{"total_channels", "channels": {...}}``."""
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        return self.json(opened[1].channels.stats())


class ChannelStatsView(ChannelHttpView):
    """``GET /api/iot_hub/v1/ws/stats/{channel}``: one channel (404 for an unknown one)."""

    url = f"{BASE}/ws/stats/{{channel}}"
    name = "api:iot_hub:v1:ws:stats:channel"

    async def get(self, request: web.Request, channel: str) -> web.Response:
        """``{"connections", "users"}``."""
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        if channel not in codec.CHANNELS:
            return error_response(HTTPStatus.NOT_FOUND, "Canal desconocido")
        return self.json(opened[1].channels.channel_stats(channel))


class TestEventView(ChannelHttpView):
    """``POST /api/iot_hub/v1/ws/test-event?channel=&message=`` (admins only)."""

    url = f"{BASE}/ws/test-event"
    name = "api:iot_hub:v1:ws:test-event"

    async def post(self, request: web.Request) -> web.Response:
        """Send an ``info`` ``system_event`` with ``{"test": true}``; how many got it."""
        opened = await self._open(request)
        if isinstance(opened, web.Response):
            return opened
        user, live = opened
        if not user.is_admin:
            # 403, not 401: the token is good, and a 401 would count toward a ban.
            return error_response(HTTPStatus.FORBIDDEN, "Se requiere un administrador")
        try:
            channel = codec.channel(request.query.get("channel"))
        except ProtocolError:
            return error_response(HTTPStatus.BAD_REQUEST, "Canal desconocido")
        message = request.query.get("message", "")
        if not message or len(message) > MAX_MESSAGE_CHARS:
            return error_response(
                HTTPStatus.BAD_REQUEST, f"message: de 1 a {MAX_MESSAGE_CHARS} caracteres"
            )
        delivered = live.channel_events.system("info", message, {"test": True}, channel=channel)
        return self.json({"status": "sent", "channel": channel, "delivered": delivered})


def views(failures: LoginFailures) -> list[HomeAssistantView]:
    """The socket, the stats (the static path before ``{channel}``) and the test event."""
    return [
        ChannelSocketView(failures),
        StatsView(failures),
        ChannelStatsView(failures),
        TestEventView(failures),
    ]
