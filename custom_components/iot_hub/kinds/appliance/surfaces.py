"""What appliances add to Home Assistant once per run: their actions and legacy routes."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback

from . import views
from .actions import async_register_actions


@callback
def async_register(hass: HomeAssistant) -> None:
    """Register the actions, the legacy REST routes, the SSE stream, the websocket commands."""
    async_register_actions(hass)
    views.async_register(hass)
