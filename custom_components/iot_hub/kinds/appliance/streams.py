"""The open streams of the appliances' surfaces (SSE clients, ``websocket_api`` subscriptions).

One registry per HA run, so that every stream ends when the hub entry unloads or HA stops
(``close_streams``): an SSE client gets the end of its response, a subscription an error
saying why, and both may reconnect or resubscribe to the directory that comes next.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from ...const import DOMAIN

DATA_STREAMS: Final[HassKey[OpenStreams]] = HassKey(f"{DOMAIN}_appliance_streams")


class OpenStreams:
    """How to end each open stream."""

    def __init__(self) -> None:
        """No stream yet."""
        self._enders: dict[int, Callable[[], None]] = {}
        self._ids = count()

    def add(self, end: Callable[[], None]) -> Callable[[], None]:
        """Remember how to end a stream; the callable returned forgets it (it has ended)."""
        key = next(self._ids)
        self._enders[key] = end

        def forget() -> None:
            self._enders.pop(key, None)

        return forget

    def close_all(self) -> None:
        """End every stream."""
        enders, self._enders = self._enders, {}
        for end in enders.values():
            end()


@callback
def open_streams(hass: HomeAssistant) -> OpenStreams:
    """The registry of this HA run."""
    if (streams := hass.data.get(DATA_STREAMS)) is None:
        streams = hass.data[DATA_STREAMS] = OpenStreams()
    return streams


@callback
def close_streams(hass: HomeAssistant) -> None:
    """End every SSE stream and subscription (the hub entry unloads, or HA stops)."""
    if (streams := hass.data.get(DATA_STREAMS)) is not None:
        streams.close_all()
