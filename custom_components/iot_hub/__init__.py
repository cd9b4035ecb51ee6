"""iot_hub: ESP32 devices (ovens, EV chargers, ...) connected straight to Home Assistant.

``async_setup`` registers what lives once per HA run (the WebSocket view, the actions, and
what kinds add: the appliances' legacy routes);
``async_setup_entry`` builds the hub of the single config entry and its platforms.
"""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from . import kinds
from .const import CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE, DOMAIN
from .hub import Hub, IotHubConfigEntry
from .services import async_register_services
from .transport.websocket import async_register_view

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the endpoint and the actions, once."""
    async_register_view(hass)
    async_register_services(hass)
    for kind in kinds.registered():
        if kind.register is not None:
            kind.register(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: IotHubConfigEntry) -> bool:
    """Load sessions, then set up the platforms."""
    hub = Hub(hass, entry, kinds.registered())
    await hub.async_setup()
    entry.runtime_data = hub
    entry.async_on_unload(entry.add_update_listener(_async_entry_updated))

    @callback
    def _close_on_stop(_event: Event) -> None:
        # HA does not unload entries when it stops; an open device socket would hold up the
        # HTTP server's shutdown (20 s) and the device would see 1006 instead of 1001.
        hub.close_connections("Home Assistant is stopping")

    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_on_stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_entry_updated(hass: HomeAssistant, entry: IotHubConfigEntry) -> None:
    """Devices added/removed/renamed or options changed: apply them without a reload.

    A reload would drop every connected device to add one; the hub applies the diff instead.
    """
    hub = entry.runtime_data
    hub.sessions.set_history_size(entry.options.get(CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE))
    hub.async_sync_subentries()
    for part in hub.kind_parts.values():
        part.options_changed()
    await hub.mqtt.async_apply_options()


async def async_unload_entry(hass: HomeAssistant, entry: IotHubConfigEntry) -> bool:
    """Close every connection and write sessions."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_shutdown()
    return unloaded


__all__ = ["Hub"]
