"""The device/app WebSocket endpoint ``/api/iot_hub/ws`` on Home Assistant's HTTP server.

Registered once (views cannot be unregistered) and dispatching to whichever hub entry is
loaded. Credentials are checked before any frame is read: a device token (``?token=`` or
``Authorization: Bearer``) makes a device connection; a Home Assistant access token makes an
app/dashboard client connection. Limits follow HA's own websocket_api: maximum frame size,
heartbeat, an inbound token bucket and a bounded outbound queue drained by one writer task.
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
from ..models import DeviceRuntime
from ..protocol.charger import QUERY_ROLE, QUERY_STATION, ROLE_CLIENT, ROLE_PUBLISHER
from ..protocol.oven import encode_error
from ..session_model import ActorRef
from .limits import FLOOD_CLOSE_AFTER, INBOUND_BURST, INBOUND_RATE, FailureThrottle, TokenBucket

if TYPE_CHECKING:
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
        self.closing = False
        self._close_code: int = 1000
        self._close_reason = ""

    @property
    def peer(self) -> str:
        """Remote address, for log lines."""
        return self._peer

    def send_text(self, text: str) -> None:
        """Queue a frame; a peer that lets ``MAX_PENDING`` frames pile up is closed."""
        if self.closing:
            return
        if len(self._queue) >= MAX_PENDING:
            _LOGGER.warning("%s is not reading its frames; closing it", self._peer)
            self.close(CloseCode.TRY_AGAIN_LATER, "too many pending frames")
            return
        self._queue.append(text)
        self._wakeup.set()

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (so an error frame reaches the peer)."""
        if self.closing:
            return
        self.closing = True
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
                if self.closing:
                    await self._ws.close(code=self._close_code, message=self._close_reason.encode())
                    return
        except ConnectionError, RuntimeError:
            # The peer vanished mid-write; the reader sees the close and cleans up.
            self._queue.clear()

    async def aclose(self) -> None:
        """The reader loop ended: let the writer send what is queued and close, then stop."""
        self.closing = True
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

        Without ``role`` a device token makes a device connection and an HA token an app
        connection (oven, seed 000). With ``role=publisher|client&estacionId=N`` the charger
        rules of seed 002 apply, close codes included.
        """
        hass: HomeAssistant = request.app[KEY_HASS]
        entries = hass.config_entries.async_loaded_entries(DOMAIN)
        if not entries:
            return web.Response(status=503, text="iot_hub is not loaded")
        hub: Hub = entries[0].runtime_data  # a single hub entry (its unique id is the domain)
        token = _token_from(request)
        role = request.query.get(QUERY_ROLE)
        station = request.query.get(QUERY_STATION) or None
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_FRAME_BYTES)
        await ws.prepare(request)
        peer = request.remote or "unknown"
        if token is None:
            await self._refuse(request, ws, CloseCode.MISSING_CREDENTIALS, "missing credentials")
            return ws
        if role not in (None, ROLE_PUBLISHER, ROLE_CLIENT):
            return await _turn_away(ws, peer, CloseCode.POLICY, "unknown role")
        if role == ROLE_PUBLISHER and station is None:
            return await _turn_away(
                ws, peer, CloseCode.MISSING_STATION, "publisher without estacionId"
            )
        if role == ROLE_CLIENT and station is None:
            return await _turn_away(
                ws, peer, CloseCode.DEVICE_NOT_CHOSEN, "client without estacionId"
            )
        # A client (dashboard) always brings an HA token; anyone else may be a device.
        if role != ROLE_CLIENT and (device := hub.device_for_token(token)) is not None:
            if role == ROLE_PUBLISHER and device.station_id != station:
                # A valid token, not a failed login: the firmware names the wrong station.
                return await _turn_away(
                    ws, peer, CloseCode.UNKNOWN_DEVICE, "token belongs to another station"
                )
            process_success_login(request)
            await self._serve_device(hub, device, ws, peer)
            return ws
        refresh_token = hass.auth.async_validate_access_token(token)
        if (
            refresh_token is None
            or role == ROLE_PUBLISHER  # a charger authenticates with its own device token
            or async_user_not_allowed_do_auth(hass, refresh_token.user, request)
        ):
            await self._refuse(request, ws, CloseCode.INVALID_TOKEN, "invalid token")
            return ws
        process_success_login(request)
        chosen = (
            hub.device_for_station(station)
            if station is not None
            else hub.device_for_client(request.query.get("device"))
        )
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
            await _pump(ws, link, lambda text: hub.handle_client_text(chosen, link, actor, text))
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
            await _pump(ws, link, lambda text: hub.handle_device_text(device, link, text))
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


async def _pump(ws: web.WebSocketResponse, link: WsLink, on_text: Callable[[str], None]) -> None:
    """Read frames until the peer leaves, applying the inbound limits."""
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
                link.send_text(encode_error("rate limit exceeded"))
            elif bucket.dropped_in_a_row >= FLOOD_CLOSE_AFTER:
                _LOGGER.warning("%s kept flooding; closing it", link.peer)
                link.close(CloseCode.POLICY, "flood")
                break
        elif msg.type is WSMsgType.BINARY:
            link.send_text(encode_error("binary frames are not supported; send text"))
        elif msg.type is WSMsgType.ERROR:
            # aiohttp already closed the socket (1009 for a frame over MAX_FRAME_BYTES).
            _LOGGER.warning("%s sent a frame that broke the protocol: %s", link.peer, msg.data)
            break


@callback
def async_register_view(hass: HomeAssistant) -> None:
    """Register the endpoint once per HA run (views cannot be removed)."""
    hass.http.register_view(IotHubWebSocketView())
