"""Registers the appliances' legacy HTTP routes, SSE stream and ``websocket_api`` commands.

``async_register`` runs once per HA run (from the integration's ``async_setup``): views and
commands cannot be removed, so they look up the loaded hub's directory on each request
(``access.directory_of``) and answer 503 while there is none. ``close_streams`` ends every
open stream; it runs when HA stops and when the hub entry unloads.
"""

from __future__ import annotations

from typing import Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from ...const import DOMAIN
from ...transport.auth import LoginFailures
from . import http
from .access import directory_of
from .sse import SseView
from .streams import close_streams
from .websocket_api import async_register_commands

DATA_REGISTERED: Final[HassKey[bool]] = HassKey(f"{DOMAIN}_appliance_views")


@callback
def async_register(hass: HomeAssistant) -> None:
    """Register every route and command, once per HA run."""
    if hass.data.get(DATA_REGISTERED):
        return
    hass.data[DATA_REGISTERED] = True
    failures = LoginFailures()  # one count of failed logins per address for every route
    for view in http.views(failures):
        hass.http.register_view(view)
    hass.http.register_view(SseView(failures))
    async_register_commands(hass)

    @callback
    def _close_on_stop(_event: Event) -> None:
        # Open streams would hold up the HTTP server's shutdown.
        close_streams(hass)

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_on_stop)


__all__ = ["async_register", "close_streams", "directory_of"]
