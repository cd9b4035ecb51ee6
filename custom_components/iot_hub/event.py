"""Event entities: every card scanned at a charger, authorised or rejected, repeats included."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DeviceKind
from .entity import IotHubEntity, IotHubEntityDescription, async_setup_device_entities
from .hub import IotHubConfigEntry, signal_card_scanned
from .models import Update

PARALLEL_UPDATES = 0

EVENT_AUTHORISED = "authorised"
EVENT_REJECTED = "rejected"


@dataclass(frozen=True, kw_only=True)
class IotHubEventDescription(IotHubEntityDescription, EventEntityDescription):
    """An event entity of an iot_hub device."""


EVENTS: tuple[IotHubEventDescription, ...] = (
    IotHubEventDescription(
        key="card_scan",
        translation_key="card_scan",
        kinds=frozenset({DeviceKind.CHARGER}),
        event_types=[EVENT_AUTHORISED, EVENT_REJECTED],
        # Scans arrive on their own signal, with their data; this is for availability.
        updates_on=frozenset({Update.CONNECTION}),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entities of every device."""
    async_setup_device_entities(entry, async_add_entities, EVENTS, IotHubCardScanEvent)


class IotHubCardScanEvent(IotHubEntity, EventEntity):
    """Fires on each scan, so automations see a repeated card too (a state would not change)."""

    entity_description: IotHubEventDescription

    async def async_added_to_hass(self) -> None:
        """Follow the charger's scans."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signal_card_scanned(self.device.id), self._async_scanned
            )
        )

    @callback
    def _async_scanned(self, uid: str, user: str | None) -> None:
        self._trigger_event(
            EVENT_AUTHORISED if user is not None else EVENT_REJECTED,
            {"uid": uid, "user_name": user},
        )
        self.async_write_ha_state()
