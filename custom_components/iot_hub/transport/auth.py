"""Failed logins on iot_hub's endpoints: every one counts toward HA's IP ban, few are told.

Used by the device WebSocket endpoint and by the HTTP views that check tokens themselves
(the appliances' legacy REST and SSE routes, which also take ``?token=``).

A misconfigured ESP32 retries a bad token forever, and a hostile one sends hundreds a second.
HA's ``process_wrong_login`` logs a warning and re-creates the *Login attempt failed*
notification on every call, so iot_hub calls it only for the first failure of an address in
a minute and for the one that reaches the ban threshold (so the ban is logged and notified
by HA itself). The others are added to HA's own counter of failed attempts directly, which is
all HA would have done with them besides the log line and the notification.
"""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address, IPv6Address, ip_address
import logging

from aiohttp import web
from homeassistant.components.http.ban import (
    KEY_BAN_MANAGER,
    KEY_FAILED_LOGIN_ATTEMPTS,
    KEY_LOGIN_THRESHOLD,
    process_wrong_login,
)
from homeassistant.helpers.http import KEY_HASS

from ..const import DOMAIN
from .limits import FailureThrottle

_LOGGER = logging.getLogger(__name__)


class LoginFailures:
    """Refuses failed logins: a close code, one log line per address a minute, the ban count."""

    def __init__(self) -> None:
        """One per endpoint, shared by every request."""
        self._throttle = FailureThrottle()
        # Addresses whose failure is in HA's path right now: it looks the address up (reverse
        # DNS) before counting, and failures meanwhile must not all cross the threshold too.
        self._in_hass: set[IPv4Address | IPv6Address] = set()

    async def refuse(
        self, request: web.Request, ws: web.WebSocketResponse, code: int, reason: str
    ) -> None:
        """Close with ``code``, count the failure, log it if it is the first in a minute."""
        counting = self._report(request, reason)
        await ws.close(code=code, message=reason.encode())
        if counting is not None:
            await asyncio.shield(counting)

    async def refuse_request(self, request: web.Request, reason: str) -> None:
        """Count and log a refused HTTP request, as ``refuse``; the caller answers 401."""
        if (counting := self._report(request, reason)) is not None:
            await asyncio.shield(counting)

    def _report(self, request: web.Request, reason: str) -> asyncio.Task[None] | None:
        """Log (throttled) and count a failure; the task of HA's own path when it must run."""
        peer = request.remote or "unknown"
        loudly = self._throttle.should_report(peer)
        if loudly:
            suppressed = self._throttle.take_suppressed(peer)
            _LOGGER.warning(
                "Refused a connection from %s: %s%s",
                peer,
                reason,
                f" ({suppressed} more refused since the last report)" if suppressed else "",
            )
        if (address := self._count(request, loudly=loudly)) is None:
            return None
        # HA cancels a handler as soon as its client hangs up, which a refused client does
        # at once; HA's path runs in a task of its own so that it always completes.
        return request.app[KEY_HASS].async_create_task(
            self._through_hass(request, address), f"{DOMAIN} count failed login"
        )

    def _count(self, request: web.Request, *, loudly: bool) -> IPv4Address | IPv6Address | None:
        """Count quietly, or return the address when HA's own path must see this failure."""
        if not request.remote:
            return None
        address = ip_address(request.remote)
        app = request.app
        if KEY_BAN_MANAGER not in app or app[KEY_LOGIN_THRESHOLD] < 1:
            return address if loudly else None  # no ban: only HA's log line and notification
        attempts = app[KEY_FAILED_LOGIN_ATTEMPTS]
        threshold = app[KEY_LOGIN_THRESHOLD]
        if address in self._in_hass or attempts[address] >= threshold:
            attempts[address] += 1  # HA is counting this address already, or banned it
            return None
        if loudly or attempts[address] + 1 >= threshold:
            self._in_hass.add(address)
            return address
        attempts[address] += 1
        return None

    async def _through_hass(self, request: web.Request, address: IPv4Address | IPv6Address) -> None:
        try:
            # The URL HA logs must not carry the token.
            await process_wrong_login(
                request.clone(rel_url=request.rel_url.without_query_params("token"))
            )
        finally:
            self._in_hass.discard(address)
