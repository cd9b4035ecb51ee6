"""The device/app WebSocket endpoint ``/api/iot_hub/ws`` on Home Assistant's HTTP server.

Registered once (views cannot be unregistered) and dispatching to whichever hub entry is
loaded. Credentials are checked before any frame is read: a device token (``?token=`` or
``Authorization: Bearer``) makes a device connection; a Home Assistant access token makes an
app/dashboard client connection. The kinds, through the hub, say what a connection's query
means (a charger's ``role``/``estacionId``) and which device a client wants; this module knows
no kind. Limits follow HA's own websocket_api: maximum frame size, heartbeat, an inbound token
bucket and a bounded outbound queue drained by one writer task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from ipaddress import ip_address
import logging
from typing import TYPE_CHECKING, Final

from aiohttp import WSMsgType, web
from homeassistant.components.http.auth_util import async_user_not_allowed_do_auth
from homeassistant.components.http.ban import (
    KEY_FAILED_LOGIN_ATTEMPTS,
    KEY_LOGIN_THRESHOLD,
    process_success_login,
    process_wrong_login,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from ..const import DOMAIN, WS_PATH, Actor, CloseCode
from ..errors import ErrorKey
from ..kind import Inbound, Source
from ..sessions import ActorRef
from .limits import FLOOD_CLOSE_AFTER, INBOUND_BURST, INBOUND_RATE, FailureThrottle, TokenBucket

if TYPE_CHECKING:
    from ..device import DeviceRuntime
    from ..hub import Hub

_LOGGER = logging.getLogger(__name__)

_CHOICE_REFUSALS: Final = {
    CloseCode.UNKNOWN_DEVICE: "unknown device",
    CloseCode.DEVICE_NOT_CHOSEN: "several devices: choose one with ?device=NAME",
}
MAX_FRAME_BYTES: Final = 16 * 1024  # an oven reading is a few bytes; a JSON command < 100
HEARTBEAT: Final = 30.0  # seconds between pings; a peer silent for 15 s after one is dropped
MAX_PENDING: Final = 512  # outbound frames queued for one peer before it is cut off
WRITER_GRACE: Final = 5.0  # seconds a closing peer gets to take its last frames


class WsLink:
    """An accepted WebSocket: a bounded outbound queue drained by a single writer task."""

    def __init__(self, ws: web.WebSocketResponse, peer: str) -> None:
        """Wrap a prepared WebSocket."""
        self._ws = ws
        self._peer = peer
        self._queue: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._writer = asyncio.get_running_loop().create_task(
            self._write_loop(), name=f"{DOMAIN} ws writer {peer}"
        )
        self._closing = False
        self._close_code: int = 1000
        self._close_reason = ""

    @property
    def peer(self) -> str:
        """Remote address, for log lines."""
        return self._peer

    @property
    def closing(self) -> bool:
        """Whether the link was closed: frames still arriving on it are stale."""
        return self._closing

    def send_text(self, text: str) -> None:
        """Queue a frame; a peer that lets ``MAX_PENDING`` frames pile up is closed."""
        if self._closing:
            return
        if len(self._queue) >= MAX_PENDING:
            _LOGGER.warning("%s is not reading its frames; closing it", self._peer)
            self.close(CloseCode.TRY_AGAIN_LATER, "too many pending frames")
            return
        self._queue.append(text)
        self._wakeup.set()

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (so an error frame reaches the peer)."""
        if self._closing:
            return
        self._closing = True
        self._close_code = code
        self._close_reason = reason
        self._wakeup.set()

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    await self._ws.send_str(self._queue.popleft())
                if self._closing:
                    await self._ws.close(code=self._close_code, message=self._close_reason.encode())
                    return
        except ConnectionError, RuntimeError:
            # The peer vanished mid-write; the reader sees the close and cleans up.
            self._queue.clear()

    async def aclose(self) -> None:
        """The reader loop ended: let the writer send what is queued and close, then stop."""
        self._closing = True
        self._wakeup.set()
        try:
            async with asyncio.timeout(WRITER_GRACE):
                await asyncio.shield(self._writer)
        except TimeoutError:
            self._writer.cancel()
        await asyncio.gather(self._writer, return_exceptions=True)


def _token_from(request: web.Request) -> str | None:
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
        """One throttle for failed logins, shared by every request."""
        self._failures = FailureThrottle()

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
        token = _token_from(request)
        query = request.query
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        peer = request.remote or "unknown"
        if token is None:
            await self._refuse(request, ws, CloseCode.MISSING_CREDENTIALS, "missing credentials")
            return ws
        route = hub.route(query)
        if route is not None and route.refusal is not None:
            return await _turn_away(ws, peer, *route.refusal)
        if (route is None or route.devices) and (device := hub.device_for_token(token)):
            if route is not None and route.admits is not None and not route.admits(device):
                # A valid token, not a failed login: the firmware names the wrong device.
                return await _turn_away(ws, peer, CloseCode.UNKNOWN_DEVICE, route.mismatch)
            process_success_login(request)
            await self._serve_device(hub, device, ws, peer)
            return ws
        refresh_token = hass.auth.async_validate_access_token(token)
        if (
            refresh_token is None
            or (route is not None and not route.clients)  # e.g. a charger's own token only
            or async_user_not_allowed_do_auth(hass, refresh_token.user, request)
        ):
            await self._refuse(request, ws, CloseCode.INVALID_TOKEN, "invalid token")
            return ws
        process_success_login(request)
        chosen = hub.device_for_client(route, query)
        if isinstance(chosen, int):
            return await _turn_away(ws, peer, chosen, _CHOICE_REFUSALS[chosen])
        user = refresh_token.user
        actor = ActorRef(Actor.APP, user.id, user.name)
        link = WsLink(ws, peer)
        unsub_revoke = hass.auth.async_register_revoke_token_callback(
            refresh_token.id, lambda: link.close(CloseCode.INVALID_TOKEN, "token revoked")
        )
        hub.attach_client(chosen, link)
        _LOGGER.debug("Client of %s connected from %s (%s)", chosen.name, peer, user.name)
        try:
            await _pump(
                ws,
                link,
                lambda text: hub.receive(chosen, Inbound(Source.CLIENT, text, link, actor)),
                lambda key: hub.notice(chosen, Source.CLIENT, key),
            )
        finally:
            unsub_revoke()
            hub.detach_client(chosen, link)
            await link.aclose()
        return ws

    async def _serve_device(
        self, hub: Hub, device: DeviceRuntime, ws: web.WebSocketResponse, peer: str
    ) -> None:
        link = WsLink(ws, peer)
        hub.attach_device(device, link)
        try:
            await _pump(
                ws,
                link,
                lambda text: hub.receive(device, Inbound(Source.DEVICE, text, link)),
                lambda key: hub.notice(device, Source.DEVICE, key),
            )
        finally:
            hub.detach_device(device, link)
            await link.aclose()

    async def _refuse(
        self, request: web.Request, ws: web.WebSocketResponse, code: int, reason: str
    ) -> None:
        peer = request.remote or "unknown"
        loudly = self._failures.should_report(peer)
        if loudly:
            suppressed = self._failures.take_suppressed(peer)
            _LOGGER.warning(
                "Refused a connection from %s: %s%s",
                peer,
                reason,
                f" ({suppressed} more refused since the last report)" if suppressed else "",
            )
        # HA cancels a handler as soon as its client hangs up, which a refused client does at
        # once; counting in a task of its own means no failure escapes the ban counter.
        counting = request.app[KEY_HASS].async_create_task(
            _count_failed_login(request, loudly=loudly), f"{DOMAIN} count failed login"
        )
        await ws.close(code=code, message=reason.encode())
        await asyncio.shield(counting)


async def _turn_away(
    ws: web.WebSocketResponse, peer: str, code: int, reason: str
) -> web.WebSocketResponse:
    """Close a connection that asked for something wrong (not a failed login)."""
    _LOGGER.info("Connection from %s refused (%s): %s", peer, code, reason)
    await ws.close(code=code, message=reason.encode())
    return ws


async def _count_failed_login(request: web.Request, *, loudly: bool) -> None:
    """Count a failure toward HA's IP ban; only ``loudly`` ones are logged and notified.

    A misconfigured ESP32 retries forever: HA's ``process_wrong_login`` would log and notify
    every retry. Every failure still counts, and the one that reaches the ban threshold goes
    through HA's own path, so the ban itself is logged and notified as HA does.
    """
    app = request.app
    attempts = app.get(KEY_FAILED_LOGIN_ATTEMPTS)
    threshold = app.get(KEY_LOGIN_THRESHOLD, 0)
    address = ip_address(request.remote) if request.remote else None
    if not loudly and attempts is not None and address is not None and threshold >= 1:
        if attempts[address] + 1 < threshold:
            attempts[address] += 1
            return
    # The URL HA logs must not carry the token.
    await process_wrong_login(request.clone(rel_url=request.rel_url.without_query_params("token")))


async def _pump(
    ws: web.WebSocketResponse,
    link: WsLink,
    on_text: Callable[[str], None],
    notice: Callable[[ErrorKey], str],
) -> None:
    """Read frames until the peer leaves, applying the inbound limits.

    ``notice`` words this transport's own errors in the protocol of the peer's kind.
    """
    bucket = TokenBucket(rate=INBOUND_RATE, burst=INBOUND_BURST, tokens=INBOUND_BURST)
    warned = False
    async for msg in ws:
        if msg.type is WSMsgType.TEXT:
            if bucket.allow():
                on_text(msg.data)
            elif bucket.dropped_in_a_row == 1:
                # One warning per connection: a device that always sends a little too fast
                # would otherwise write a line every second.
                (_LOGGER.debug if warned else _LOGGER.warning)(
                    "%s sends too fast; dropping frames", link.peer
                )
                warned = True
                link.send_text(notice(ErrorKey.RATE_LIMITED))
            elif bucket.dropped_in_a_row >= FLOOD_CLOSE_AFTER:
                _LOGGER.warning("%s kept flooding; closing it", link.peer)
                link.close(CloseCode.POLICY, "flood")
                break
        elif msg.type is WSMsgType.BINARY:
            link.send_text(notice(ErrorKey.BINARY_FRAME))
        elif msg.type is WSMsgType.ERROR:
            # aiohttp already closed the socket (1009 for a frame over MAX_FRAME_BYTES).
            _LOGGER.warning("%s sent a frame that broke the protocol: %s", link.peer, msg.data)
            break


@callback
def async_register_view(hass: HomeAssistant) -> None:
    """Register the endpoint once per HA run (views cannot be removed)."""
    hass.http.register_view(IotHubWebSocketView())
