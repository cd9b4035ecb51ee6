"""Diagnostics: the entry, each device's live state and its recent sessions (tokens redacted).

Card uids are redacted too: diagnostics end up in public bug reports, and a uid is enough to
clone a card onto a blank one.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import CONF_CARD_UID, CONF_TOKEN_HASH
from .hub import IotHubConfigEntry

# unique_id: a card subentry's is its (normalised) uid.
TO_REDACT = {CONF_TOKEN_HASH, CONF_CARD_UID, "token", "user_id", "card", "unique_id"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IotHubConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for the hub entry."""
    hub = entry.runtime_data
    now = dt_util.utcnow()
    return async_redact_data(
        {
            "entry": entry.as_dict(),
            "devices": {
                device.id: {
                    "name": device.name,
                    "kind": device.kind,
                    "connected": device.connected,
                    "peer": device.link.peer if device.link else None,
                    "clients": len(device.clients),
                    "station_id": device.station_id,
                    "temperature": device.temperature,
                    "voltage": device.voltage,
                    "current": device.current,
                    "power": device.power,
                    "emergency": device.emergency,
                    "lifetime_kwh": device.lifetime_kwh,
                    "lifetime_cost": device.lifetime_cost,
                    "last_reading_at": device.last_reading_at,
                    "active_session": (
                        s.as_public_dict(now) if (s := device.active_session) else None
                    ),
                    "recent_sessions": [
                        s.as_public_dict(now) for s in hub.sessions.query([device.id], limit=5)
                    ],
                }
                for device in hub.devices.values()
            },
        },
        TO_REDACT,
    )
