"""Seed 001's channels over HA's own WebSocket API, for Lovelace cards and HA clients.

- ``iot_hub/channel/subscribe`` {channel}: a result, then the ``connection`` frame and every
  frame of the channel as events (the same frames as the legacy socket); it counts toward
  ``max_event_clients`` (past it: error ``too_many_clients``) and shows in the stats under
  the HA user's id. When the hub unloads, it ends with the error ``not_loaded``.
- ``iot_hub/channel_stats`` {channel?}: the stats object, or one channel's.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util
import probatio as vol

from .channels import ChannelClient, Encoded
from .codec import CHANNELS, DEFAULT_CHANNEL, connection_frame
from .live import SensorLive, live_of

ERR_NOT_LOADED: Final = "not_loaded"
ERR_TOO_MANY: Final = "too_many_clients"


def _live(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg_id: int
) -> SensorLive | None:
    if (live := live_of(hass)) is None:
        connection.send_error(msg_id, ERR_NOT_LOADED, "iot_hub is not loaded")
    return live


@websocket_api.websocket_command(
    {
        vol.Required("type"): "iot_hub/channel/subscribe",
        vol.Optional("channel", default=DEFAULT_CHANNEL): vol.In(CHANNELS),
    }
)
@callback
def ws_subscribe_channel(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """The channel's frames as events, the ``connection`` frame first."""
    msg_id: int = msg["id"]
    if (live := _live(hass, connection, msg_id)) is None:
        return
    channel: str = msg["channel"]

    @callback
    def send(encoded: Encoded) -> None:
        connection.send_message(websocket_api.event_message(msg_id, encoded.frame))

    @callback
    def close(_code: int, reason: str) -> None:
        live.channels.remove(client)
        if connection.subscriptions.pop(msg_id, None) is not None:
            connection.send_error(msg_id, ERR_NOT_LOADED, reason)

    client = ChannelClient(channel, connection.user.id, dt_util.utcnow(), send, close)
    if not live.channels.add(client, f"user {connection.user.id}"):
        connection.send_error(msg_id, ERR_TOO_MANY, "too many event channel clients")
        return
    connection.subscriptions[msg_id] = callback(lambda: live.channels.remove(client))
    connection.send_result(msg_id)
    send(Encoded(connection_frame(channel, client.connected_at)))


@websocket_api.websocket_command(
    {vol.Required("type"): "iot_hub/channel_stats", vol.Optional("channel"): vol.In(CHANNELS)}
)
@callback
def ws_channel_stats(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Seed 001's stats, or one channel's."""
    if (live := _live(hass, connection, msg["id"])) is None:
        return
    if (channel := msg.get("channel")) is not None:
        connection.send_result(msg["id"], live.channels.channel_stats(channel))
    else:
        connection.send_result(msg["id"], live.channels.stats())


@callback
def async_register_commands(hass: HomeAssistant) -> None:
    """Register the commands (once per HA run: they cannot be removed)."""
    for command in (ws_subscribe_channel, ws_channel_stats):
        websocket_api.async_register_command(hass, command)
