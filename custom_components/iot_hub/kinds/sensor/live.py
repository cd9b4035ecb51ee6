"""The sensor kind's part that lives once per hub: what serves readings live.

It subscribes to the hub's feed (``feed.py``) and hands each event to its outputs (seed 001's
event channels, seed 004's live streams); the HTTP views and websocket commands find it with
``live_of(hass)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.storage import Store

from ...const import DOMAIN
from ...feed import FeedEvent, signal_feed
from ...kind import HubContext, KindHub, loaded_kind_hub
from .channel_events import ChannelEvents
from .channels import EventChannels
from .const import KIND
from .streams import Streams

# Reading ids are handed out from blocks written ahead: after a crash the next id starts past
# the last block, so no id is ever given twice (legacy clients key readings by id).
ID_BLOCK: Final = 10_000


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
        self._ids: Store[dict[str, int]] = Store(
            hub.hass, 1, f"{DOMAIN}.sensor_reading_ids.{hub.entry_id}"
        )
        self._next_id = 1
        self._reserved = 0  # ids below this are on disk as handed out
        self.streams = Streams(hub)  # seed 004's live streams
        self.outputs.append(self.streams.on_feed)
        # Seed 001's event channels.
        self.channels = EventChannels(lambda: hub.options)
        self.channel_events = ChannelEvents(hub, self.channels, self.reading_id)
        self.outputs.append(self.channel_events.feed)

    async def async_setup(self) -> None:
        """Read where reading ids go on; follow the hub's feed."""
        stored = await self._ids.async_load()
        reserved = stored.get("reserved") if isinstance(stored, dict) else None
        if isinstance(reserved, int) and reserved > 0:
            self._next_id = self._reserved = reserved
        await self.streams.async_load()
        self._unsubscribe = async_dispatcher_connect(
            self.hass, signal_feed(self.hub.entry_id), self._feed
        )
        await self.channel_events.async_setup()

    async def async_shutdown(self) -> None:
        """Stop following the feed; keep where ids go on."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.streams.async_shutdown()
        self.channel_events.shutdown()
        await self._ids.async_save({"reserved": self._next_id})

    @callback
    def reading_id(self) -> int:
        """The id of a new reading: increasing, never reused, even across a crash."""
        if self._next_id >= self._reserved:
            self._reserved = self._next_id + ID_BLOCK
            self.hass.async_create_task(
                self._ids.async_save({"reserved": self._reserved}), "iot_hub reading ids"
            )
        reading_id = self._next_id
        self._next_id += 1
        return reading_id

    @callback
    def _feed(self, event: FeedEvent) -> None:
        for output in self.outputs:
            output(event)

    def diagnostics(self) -> dict[str, Any]:
        """What the outputs serve (filled by each output)."""
        return {"streams": self.streams.diagnostics(), "channels": self.channels.stats()}
