"""What sensors add to Home Assistant once per run: seed 001's and seed 004's routes, commands.

Seed 001: the channel socket, stats, test event, readings POST, ``iot_hub/channel/*`` commands
and the ``send_test_event`` action. Seed 004: the live streams' routes, the readings POST and
``iot_hub/stream/subscribe``.
"""

from __future__ import annotations

from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from ...const import DOMAIN
from ...transport.auth import LoginFailures
from . import stream_views, stream_ws_api
from .channel_actions import async_register_actions
from .channel_views import views
from .channel_ws_api import async_register_commands
from .reading_view import ReadingsView

DATA_CHANNELS: Final[HassKey[bool]] = HassKey(f"{DOMAIN}_sensor_channels")


@callback
def async_register(hass: HomeAssistant) -> None:
    """Register what lives once per HA run."""
    register_channels(hass)
    stream_views.async_register(hass)
    stream_ws_api.async_register(hass)


@callback
def register_channels(hass: HomeAssistant) -> None:
    """Seed 001: the channel socket, stats, test event, readings POST, commands, action."""
    if hass.data.get(DATA_CHANNELS):
        return
    hass.data[DATA_CHANNELS] = True
    failures = LoginFailures()  # one count of failed logins per address for every route
    for view in (*views(failures), ReadingsView(failures)):
        hass.http.register_view(view)
    async_register_commands(hass)
    async_register_actions(hass)
