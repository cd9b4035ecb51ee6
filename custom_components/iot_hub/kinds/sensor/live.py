"""The sensor kind's part that lives once per hub: what serves readings live.

It subscribes to the hub's feed (``feed.py``) and hands each event to its outputs (seed 001's
event channels, seed 004's live streams); the HTTP views and websocket commands find it with
``live_of(hass)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from ...feed import FeedEvent, signal_feed
from ...kind import HubContext, KindHub, loaded_kind_hub
from .const import KIND


def live_of(hass: HomeAssistant) -> SensorLive | None:
    """The sensors' live part of the loaded hub, if any."""
    return loaded_kind_hub(hass, KIND, SensorLive)


class SensorLive(KindHub):
    """Feeds the hub's events to the outputs that serve them live."""

    def __init__(self, hub: HubContext) -> None:
        """No output listens until ``async_setup``."""
        super().__init__(hub)
        self.hass = hub.hass
        self.outputs: list[Callable[[FeedEvent], None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    async def async_setup(self) -> None:
        """Follow the hub's feed."""
        self._unsubscribe = async_dispatcher_connect(
            self.hass, signal_feed(self.hub.entry_id), self._feed
        )

    async def async_shutdown(self) -> None:
        """Stop following the feed."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    @callback
    def _feed(self, event: FeedEvent) -> None:
        for output in self.outputs:
            output(event)

    def diagnostics(self) -> dict[str, Any]:
        """What the outputs serve (filled by each output)."""
        return {}
