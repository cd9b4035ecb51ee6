"""Seed 004's streams over HA's own WebSocket API, for Lovelace cards (no second connection).

``iot_hub/stream/subscribe`` {stream, consumer_id} or {stream, device_id} (an HA device id of
a sensor with a consumer): a result, then an event carrying the snapshot frame (the one the
legacy route sends on connect), then an event per push, each the legacy frame as it is
(``{"type": "sensor_update", "data": {...}}``). Unsubscribed with ``unsubscribe_events`` or
when the connection closes; when the hub entry unloads the subscription ends with a
``not_loaded`` error. HA's auth applies (any user, as the legacy route).
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
import probatio as vol

from ...const import DOMAIN
from .config_flow import CONSUMER_ID
from .live import live_of
from .stream_codec import STREAMS
from .streams import Frame

ERR_NOT_LOADED: Final = "not_loaded"


def _consumer_id(value: Any) -> str:
    if not isinstance(value, str) or not CONSUMER_ID.fullmatch(value):
        raise vol.Invalid("expected a consumer id (letters, digits, _; 1-64)")
    return value


class ConnectionSubscriber:
    """A subscription: each frame an event of its message id."""

    def __init__(self, connection: websocket_api.ActiveConnection, msg_id: int) -> None:
        """Bound to one subscription message."""
        self._connection = connection
        self._msg_id = msg_id

    def send(self, frame: Frame) -> None:
        """An event with the frame (HA's connection queue bounds a slow client)."""
        self._connection.send_message(websocket_api.event_message(self._msg_id, frame.obj))

    def end(self, reason: str) -> None:
        """The hub unloads: the subscription ends with an error saying so."""
        if self._connection.subscriptions.pop(self._msg_id, None) is not None:
            self._connection.send_error(self._msg_id, ERR_NOT_LOADED, reason)


@websocket_api.websocket_command(
    {
        vol.Required("type"): "iot_hub/stream/subscribe",
        vol.Required("stream"): vol.In(STREAMS),
        vol.Exclusive("consumer_id", "who"): _consumer_id,
        vol.Exclusive("device_id", "who"): str,
    }
)
@websocket_api.async_response
async def ws_subscribe_stream(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """The snapshot as the first event, then every push of the stream."""
    msg_id: int = msg["id"]
    if (live := live_of(hass)) is None:
        connection.send_error(msg_id, ERR_NOT_LOADED, "iot_hub is not loaded")
        return
    consumer: str | None = msg.get("consumer_id")
    if consumer is None:
        device = dr.async_get(hass).async_get(msg.get("device_id") or "")
        subentry = (
            next((i[1] for i in device.identifiers if i[0] == DOMAIN), None) if device else None
        )
        if subentry is None or (consumer := live.streams.consumer_of(subentry)) is None:
            connection.send_error(
                msg_id, websocket_api.ERR_NOT_FOUND, "no sensor with a consumer id"
            )
            return
    stream: str = msg["stream"]
    streams = live.streams
    await streams.async_prepare(stream, consumer)
    # Result, snapshot and subscription in one turn of the loop: no push is lost or first.
    connection.send_result(msg_id)
    connection.send_message(
        websocket_api.event_message(msg_id, streams.snapshot(stream, consumer).obj)
    )
    connection.subscriptions[msg_id] = streams.subscribe(
        stream, consumer, ConnectionSubscriber(connection, msg_id)
    )


@callback
def async_register(hass: HomeAssistant) -> None:
    """Register the command (once per HA run)."""
    websocket_api.async_register_command(hass, ws_subscribe_stream)
