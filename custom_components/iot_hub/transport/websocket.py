"""The device/app WebSocket endpoint ``/api/iot_hub/ws`` on Home Assistant's HTTP server.

Registered once (views cannot be unregistered) and dispatching to whichever hub entry is
loaded. Credentials are checked before any frame is read: a device token (``?token=`` or
``Authorization: Bearer``) makes a device connection; a Home Assistant access token makes an
app/dashboard client connection. The kinds, through the hub, say what a connection's query
means (a charger's ``role``/``estacionId``) and which device a client wants; this module knows
no kind. Limits (``limits.py``, ``ws_link.py``): frame size, an inbound token bucket with a
flood window and a back-off, caps on app connections, and what a peer leaves unread.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from typing import TYPE_CHECKING, Final

import aiohttp
from aiohttp import WSMsgType, web
from homeassistant.components.http.auth_util import async_user_not_allowed_do_auth
from homeassistant.components.http.ban import process_success_login
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from ..const import DOMAIN, WS_PATH, Actor, CloseCode
from ..errors import ErrorKey
from ..kind import Inbound, Source
from ..sessions import ActorRef
from . import limits, ws_handoff
from .auth import LoginFailures
from .limits import Backoff, ConnectionCounts, Drop, FailureThrottle, FloodMeter, TokenBucket
from .ws_handoff import HandoffResponse, hand_off
from .ws_link import WsLink

if TYPE_CHECKING:
    from homeassistant.auth.models import RefreshToken

    from ..device import DeviceRuntime
    from ..hub import Hub

_LOGGER = logging.getLogger(__name__)

_CHOICE_REFUSALS: Final = {
    CloseCode.UNKNOWN_DEVICE: "unknown device",
    CloseCode.DEVICE_NOT_CHOSEN: "several devices: choose one with ?device=NAME",
}
MAX_FRAME_BYTES: Final = 16 * 1024  # an oven reading is a few bytes; a JSON command < 100


def token_from(request: web.Request) -> str | None:
    """The token of a request: ``?token=`` (browsers cannot set headers) or a Bearer header."""
    if token := request.query.get("token"):
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class IotHubWebSocketView(HomeAssistantView):
    """``GET /api/iot_hub/ws``: devices and their apps."""

    url = WS_PATH
    name = "api:iot_hub:ws"
    requires_auth = False  # ESP32s have no HA user; tokens are checked here instead

    def __init__(self) -> None:
        """State shared by every request: failed logins, flood back-offs, app connections."""
        self._logins = LoginFailures()
        self._backoff = Backoff()
        self._clients = ConnectionCounts()
        self._cap_reports = FailureThrottle()

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Authenticate, then serve a device or an app/dashboard client until it goes away.

        A device token makes a device connection, an HA token an app connection. A kind may
        claim the query (seed 002's ``role=publisher|client&estacionId=N``): its rules then
        decide who may connect and which device a client gets, close codes included.
        """
        hass: HomeAssistant = request.app[KEY_HASS]
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
        if not entries:
            return web.Response(status=503, text="iot_hub is not loaded")
        hub: Hub = entries[0].runtime_data  # a single hub entry (single_config_entry)
        token = token_from(request)
        query = request.query
        # aiohttp refuses a frame of max_msg_size bytes; the limit is "over 16 KiB". No
        # heartbeat or autoping of aiohttp's: the link pings and closes silent peers itself.
        ws = HandoffResponse(autoping=False, max_msg_size=MAX_FRAME_BYTES + 1)
        await ws.prepare(request)
        peer = request.remote or "unknown"
        if token is None:
            await self._logins.refuse(
                request, ws, CloseCode.MISSING_CREDENTIALS, "missing credentials"
            )
            return ws
        route = hub.route(query)
        if route is not None and route.refusal is not None:
            return await _turn_away(ws, peer, *route.refusal)
        if hub.admits_devices(route, query) and (device := hub.device_for_token(token)):
            if route is not None and route.admits is not None and not route.admits(device):
                # A valid token, not a failed login: the firmware names the wrong device.
                return await _turn_away(ws, peer, CloseCode.UNKNOWN_DEVICE, route.mismatch)
            process_success_login(request)
            await self._serve_device(request, hub, device, ws)
            return ws
        refresh_token = hass.auth.async_validate_access_token(token)
        if (
            refresh_token is None
            or (route is not None and not route.clients)  # e.g. a charger's own token only
            or async_user_not_allowed_do_auth(hass, refresh_token.user, request)
        ):
            # A device token on an app's query lands here too: no app may use it.
            await self._logins.refuse(request, ws, CloseCode.INVALID_TOKEN, "invalid token")
            return ws
        process_success_login(request)
        chosen = hub.device_for_client(route, query)
        if isinstance(chosen, int):
            return await _turn_away(ws, peer, chosen, _CHOICE_REFUSALS[chosen])
        user = refresh_token.user
        if not self._clients.acquire_within(peer, user.id, hub.entry.options):
            if self._cap_reports.should_report(peer):
                _LOGGER.warning(
                    "Refused an app connection from %s (%s): too many connections", peer, user.name
                )
            await ws.close(code=CloseCode.TOO_MANY_CONNECTIONS, message=b"too many connections")
            return ws
        try:
            await self._serve_client(request, hub, chosen, ws, refresh_token)
        finally:
            self._clients.release(peer, user.id)
        return ws

    async def _serve_client(
        self,
        request: web.Request,
        hub: Hub,
        device: DeviceRuntime,
        ws: web.WebSocketResponse,
        refresh_token: RefreshToken,
    ) -> None:
        hass = hub.hass
        user = refresh_token.user
        peer = request.remote or "unknown"
        backoff_key = f"user:{user.id}"
        if await self._backing_off(ws, backoff_key, peer):
            return
        actor = ActorRef(Actor.APP, user.id, user.name)
        link = WsLink(ws, peer, request.transport)
        unsub_revoke = hass.auth.async_register_revoke_token_callback(
            refresh_token.id, lambda: link.close(CloseCode.INVALID_TOKEN, "token revoked")
        )
        hub.attach_client(device, link)
        _LOGGER.debug("Client of %s connected from %s (%s)", device.name, peer, user.name)
        try:
            await pump_frames(
                ws,
                link,
                lambda text: hub.receive(device, Inbound(Source.CLIENT, text, link, actor)),
                lambda key: hub.notice(device, Source.CLIENT, key),
                on_flood=lambda: self._backoff.start(backoff_key, limits.FLOOD_BACKOFF),
            )
        finally:
            unsub_revoke()
            hub.detach_client(device, link)
            await link.aclose()

    async def _serve_device(
        self, request: web.Request, hub: Hub, device: DeviceRuntime, ws: web.WebSocketResponse
    ) -> None:
        peer = request.remote or "unknown"
        backoff_key = f"device:{device.id}"
        if await self._backing_off(ws, backoff_key, peer):
            return
        link = WsLink(ws, peer, request.transport)
        hub.attach_device(device, link)
        try:
            await pump_frames(
                ws,
                link,
                lambda text: hub.receive(device, Inbound(Source.DEVICE, text, link)),
                lambda key: hub.notice(device, Source.DEVICE, key),
                device.kind.max_rate,
                on_flood=lambda: self._backoff.start(backoff_key, limits.FLOOD_BACKOFF),
            )
        finally:
            hub.detach_device(device, link)
            await link.aclose()

    async def _backing_off(self, ws: web.WebSocketResponse, who: str, peer: str) -> bool:
        """Refuse (4029) a peer closed for flooding less than ``FLOOD_BACKOFF`` s ago."""
        if not (wait := self._backoff.remaining(who)):
            return False
        # Debug only: the flood was logged when it was cut, and it may retry in a loop.
        _LOGGER.debug("Refused %s (%s): closed for flooding, %.0f s to wait", who, peer, wait)
        await ws.close(
            code=CloseCode.BACKING_OFF,
            message=f"closed for flooding; retry in {wait:.0f} s".encode(),
        )
        return True


async def _turn_away(
    ws: web.WebSocketResponse, peer: str, code: int, reason: str
) -> web.WebSocketResponse:
    """Close a connection that asked for something wrong (not a failed login)."""
    _LOGGER.info("Connection from %s refused (%s): %s", peer, code, reason)
    await ws.close(code=code, message=reason.encode())
    return ws


class _TextFrames:
    """What becomes of a connection's text frames: the inbound limits, then ``on_text``."""

    def __init__(
        self,
        link: WsLink,
        on_text: Callable[[str], None],
        notice: Callable[[ErrorKey], str],
        rate: float | None,
        on_flood: Callable[[], None] | None,
    ) -> None:
        self._link = link
        self._on_flood = on_flood
        self._on_text = on_text
        self._notice = notice
        self._bucket = TokenBucket.for_rate(rate)
        self._flood = FloodMeter(window=limits.FLOOD_WINDOW, limit=limits.FLOOD_CLOSE_AFTER)
        self._warned = False

    def take(self, text: str) -> bool:
        """One text frame: handled, dropped with a notice, or the flood that closes the link.

        False after a flood: reading stops, and the close handshake reads (and drops) what the
        peer still sends, so a flooder that keeps sending still gets its close code.
        """
        link = self._link
        if link.closing:
            return True  # closed (replaced, unloading): what still comes in is stale
        link.heard()
        if self._bucket.allow():
            try:
                self._on_text(text)
            except Exception:  # a bug on one frame must not cost the peer its connection
                _LOGGER.exception("Error handling a frame from %s", link.peer)
            return True
        drop = self._flood.drop()
        if drop is Drop.NOTICE:
            # One notice per window, one warning per connection: a device that always
            # sends a little too fast would otherwise write a line every second.
            (_LOGGER.debug if self._warned else _LOGGER.warning)(
                "%s sends too fast; dropping frames", link.peer
            )
            self._warned = True
            link.send_text(self._notice(ErrorKey.RATE_LIMITED))
        elif drop is Drop.CLOSE:
            _LOGGER.warning(
                "%s kept flooding (%d frames dropped within %g s); closing it",
                link.peer,
                self._flood.dropped,
                self._flood.window,
            )
            if self._on_flood is not None:
                self._on_flood()  # before the close reaches the peer, and a retry with it
            link.close(CloseCode.POLICY, "flood")
            return False
        return True


async def pump_frames(
    ws: web.WebSocketResponse,
    link: WsLink,
    on_text: Callable[[str], None],
    notice: Callable[[ErrorKey], str],
    rate: float | None = None,
    *,
    on_flood: Callable[[], None] | None = None,
) -> None:
    """Read frames until the peer leaves, applying the inbound limits.

    ``notice`` words this transport's own errors in the protocol of the peer's kind;
    ``rate`` is the frames per second the peer may sustain (None: the default);
    ``on_flood`` runs when a flood closes the connection. A ``HandoffResponse`` gives its
    text frames over as they are parsed (``ws_handoff``); what still arrives through
    ``receive()`` is handled here in the same order.
    """
    frames = _TextFrames(link, on_text, notice, rate, on_flood)
    hand_off(ws, frames.take)
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                if not frames.take(msg.data):
                    break
                continue
            link.heard()
            if msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type is WSMsgType.BINARY:
                link.send_text(notice(ErrorKey.BINARY_FRAME))
            elif msg.type is WSMsgType.ERROR:
                # aiohttp already closed the socket (1009 for a frame over MAX_FRAME_BYTES).
                _LOGGER.warning("%s sent a frame that broke the protocol: %s", link.peer, msg.data)
                break
    finally:
        hand_off(ws, None)


@callback
def async_register_view(hass: HomeAssistant) -> None:
    """Register the endpoint once per HA run (views cannot be removed)."""
    if not ws_handoff.SUPPORTED:
        _LOGGER.debug(
            "aiohttp %s is not the one frames are handed over from (ws_handoff): "
            "each frame is read with receive(), at a higher cost per frame",
            aiohttp.__version__,
        )
    hass.http.register_view(IotHubWebSocketView())
