"""Selects of every kind (an appliance's mode: manual or on a schedule)."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.const import Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .actors import async_actor_from_context
from .descriptions import IotHubSelectDescription
from .entity import IotHubEntity, async_setup_device_entities
from .errors import translate_errors
from .hub import IotHubConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the selects of every device."""
    async_setup_device_entities(entry, async_add_entities, Platform.SELECT, IotHubSelect)


class IotHubSelect(IotHubEntity, SelectEntity):
    """A select of an iot_hub device."""

    entity_description: IotHubSelectDescription

    def _value(self) -> str | None:
        return self.entity_description.current_fn(self.handler)

    @property
    def current_option(self) -> str | None:
        """The option in force."""
        option: str | None = self._showing()
        return option

    @translate_errors
    async def async_select_option(self, option: str) -> None:
        """Change how the device is run."""
        actor = await async_actor_from_context(self.hass, self._context or Context())
        await self.entity_description.select_fn(self.handler, option, actor)
