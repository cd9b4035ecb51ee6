"""Diagnostics: the entry, each device's live state and its recent sessions (secrets redacted).

Kinds add their own secrets to redact: a charger's card uids, for one (diagnostics end up in
public bug reports, and a uid is enough to clone a card onto a blank one).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import kinds
from .const import CONF_TOKEN_HASH
from .hub import IotHubConfigEntry
from .transport.mqtt.settings import CONF_MQTT_PASSWORD, CONF_MQTT_USERNAME

# unique_id: a subentry's may be a secret of its kind (a card's is its uid).
TO_REDACT = {
    CONF_TOKEN_HASH,
    "token",
    "user_id",
    "unique_id",
    CONF_MQTT_USERNAME,
    CONF_MQTT_PASSWORD,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IotHubConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for the hub entry."""
    hub = entry.runtime_data
    to_redact = TO_REDACT.union(*(kind.redact for kind in kinds.registered()))
    return async_redact_data(
        {
            "entry": entry.as_dict(),
            "devices": {
                device.id: {
                    "name": device.name,
                    "kind": device.kind.key,
                    "connected": device.connected,
                    "peer": device.link.peer if device.link else None,
                    "clients": len(device.clients),
                    "last_reading_at": device.last_reading_at,
                    **device.handler.diagnostics(),
                    "active_session": (
                        hub.sessions.public(s) if (s := device.active_session) else None
                    ),
                    "recent_sessions": [
                        hub.sessions.public(s) for s in hub.sessions.query([device.id], limit=5)
                    ],
                }
                for device in hub.devices.values()
            },
            "mqtt": hub.mqtt.diagnostics(),
            "kinds": {key: part.diagnostics() for key, part in hub.kind_parts.items()},
        },
        to_redact,
    )
