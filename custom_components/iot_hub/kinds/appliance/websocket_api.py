"""The appliances over HA's own WebSocket API (``websocket_api``), for cards and HA clients.

- ``iot_hub/appliances`` {reclamado?}: the device objects (the seed's ten keys), by id.
- ``iot_hub/unclaimed_devices``: those not claimed yet.
- ``iot_hub/device_logs`` {dispositivo_id, page?, per_page?}: one page of a device's log, as
  the REST route pages it (``dispositivo_id`` is the seed's integer id; ``id`` is the
  message's own).
- ``iot_hub/devices/subscribe`` {serial?, reclamado?}: an event with the device object for
  each change that matches, as the SSE stream filters them; no snapshot (list first). When
  the hub entry unloads, the subscription ends with a ``not_loaded`` error.

``claimed`` is accepted wherever ``reclamado`` is.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components import websocket_api
from homeassistant.core import HomeAssistant, callback
import probatio as vol

from ...errors import IotHubError
from . import access, codec
from .access import Filters
from .codec import DeviceInfo
from .directory import DEFAULT_PER_PAGE, MAX_PER_PAGE, ApplianceDirectory
from .streams import open_streams

ERR_NOT_LOADED: Final = "not_loaded"
_MAX_NUMBER: Final = 10**18  # as the REST routes: no id or page is larger


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise vol.Invalid("expected true or false")
    return value


def _positive(value: Any) -> int:
    """A JSON integer >= 1 (no bool, no float, no string)."""
    if type(value) is not int or not 1 <= value < _MAX_NUMBER:
        raise vol.Invalid("expected a positive integer")
    return value


def _natural(value: Any) -> int:
    """A JSON integer >= 0: an id (an unknown one is not found, not invalid)."""
    if type(value) is not int or not 0 <= value < _MAX_NUMBER:
        raise vol.Invalid("expected an id")
    return value


_FILTER_KEYS: Final[dict[str | vol.Marker, Any]] = {
    vol.Optional("reclamado"): _flag,
    vol.Optional("claimed"): _flag,
}


def _directory(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> ApplianceDirectory | None:
    if (directory := access.directory_of(hass)) is None:
        connection.send_error(msg["id"], ERR_NOT_LOADED, "iot_hub is not loaded")
    return directory


def _filters(connection: websocket_api.ActiveConnection, msg: dict[str, Any]) -> Filters | None:
    try:
        return Filters.of(msg.get("serial"), msg.get("reclamado"), msg.get("claimed"))
    except ValueError as err:
        connection.send_error(msg["id"], websocket_api.ERR_INVALID_FORMAT, str(err))
        return None


def _objects(devices: list[DeviceInfo]) -> list[dict[str, Any]]:
    return [codec.device_object(device) for device in devices]


@websocket_api.websocket_command({vol.Required("type"): "iot_hub/appliances", **_FILTER_KEYS})
@callback
def ws_appliances(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Every device object, or only the claimed (``reclamado: true``) or unclaimed ones."""
    if (directory := _directory(hass, connection, msg)) is None:
        return
    if (filters := _filters(connection, msg)) is None:
        return
    connection.send_result(msg["id"], _objects(directory.devices(filters.reclamado)))


@websocket_api.websocket_command({vol.Required("type"): "iot_hub/unclaimed_devices"})
@callback
def ws_unclaimed_devices(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """The devices seen and not claimed yet."""
    if (directory := _directory(hass, connection, msg)) is not None:
        connection.send_result(msg["id"], _objects(directory.devices(reclamado=False)))


@websocket_api.websocket_command(
    {
        vol.Required("type"): "iot_hub/device_logs",
        vol.Required("dispositivo_id"): _natural,
        vol.Optional("page", default=1): _positive,
        vol.Optional("per_page", default=DEFAULT_PER_PAGE): _positive,
    }
)
@callback
def ws_device_logs(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """A page of a device's log, newest first (``per_page`` capped at ``MAX_PER_PAGE``)."""
    if (directory := _directory(hass, connection, msg)) is None:
        return
    try:
        page = directory.logs(
            msg["dispositivo_id"], msg["page"], min(msg["per_page"], MAX_PER_PAGE)
        )
    except IotHubError:
        connection.send_error(msg["id"], websocket_api.ERR_NOT_FOUND, "unknown device")
        return
    except ValueError:
        connection.send_error(msg["id"], websocket_api.ERR_NOT_FOUND, "page out of range")
        return
    connection.send_result(msg["id"], page.as_dict())


@websocket_api.websocket_command(
    {
        vol.Required("type"): "iot_hub/devices/subscribe",
        vol.Optional("serial"): str,
        **_FILTER_KEYS,
    }
)
@callback
def ws_subscribe_devices(
    hass: HomeAssistant, connection: websocket_api.ActiveConnection, msg: dict[str, Any]
) -> None:
    """Events carrying the device object of each change that matches the filters."""
    if (directory := _directory(hass, connection, msg)) is None:
        return
    if (filters := _filters(connection, msg)) is None:
        return
    msg_id: int = msg["id"]

    @callback
    def forward(device: DeviceInfo) -> None:
        if filters.matches(device):
            connection.send_message(
                websocket_api.event_message(msg_id, codec.device_object(device))
            )

    unsubscribe_directory = directory.subscribe(forward)

    @callback
    def unsubscribe() -> None:
        unsubscribe_directory()
        forget()

    @callback
    def unloaded() -> None:
        unsubscribe_directory()
        if connection.subscriptions.pop(msg_id, None) is not None:
            connection.send_error(msg_id, ERR_NOT_LOADED, "iot_hub was unloaded")

    forget = open_streams(hass).add(unloaded)
    connection.subscriptions[msg_id] = unsubscribe
    connection.send_result(msg_id)


@callback
def async_register_commands(hass: HomeAssistant) -> None:
    """Register the commands (once per HA run: they cannot be removed)."""
    for command in (ws_appliances, ws_unclaimed_devices, ws_device_logs, ws_subscribe_devices):
        websocket_api.async_register_command(hass, command)
