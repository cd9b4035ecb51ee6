"""What sensors add to Home Assistant once per run: seed 004's routes and stream command."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback

from . import stream_views, stream_ws_api


@callback
def async_register(hass: HomeAssistant) -> None:
    """Register the live streams' routes and their ``websocket_api`` subscription."""
    stream_views.async_register(hass)
    stream_ws_api.async_register(hass)
