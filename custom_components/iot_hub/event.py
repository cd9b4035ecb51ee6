"""Event entities of every kind (a charger's card scans, ...): fired by the kind, with data.

An event, not a state: automations see a repeat (the same card twice) too.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .descriptions import IotHubEventDescription
from .entity import IotHubEntity, async_setup_device_entities
from .hub import IotHubConfigEntry
from .signals import signal_entity_event

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entities of every device."""
    async_setup_device_entities(entry, async_add_entities, Platform.EVENT, IotHubEvent)


class IotHubEvent(IotHubEntity, EventEntity):
    """Fires whenever the device's kind fires this entity's event."""

    entity_description: IotHubEventDescription

    async def async_added_to_hass(self) -> None:
        """Follow the kind's events for this entity."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_entity_event(self.device.id, self.entity_description.key),
                self._async_fired,
            )
        )

    @callback
    def _async_fired(self, event_type: str, data: dict[str, Any]) -> None:
        self._trigger_event(event_type, data)
        self.async_write_ha_state()
