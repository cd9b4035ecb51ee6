"""Buttons of every kind: start and stop a session (no toggle to flip back), and the kinds' own."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.const import Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .actors import async_actor_from_context
from .descriptions import IotHubButtonDescription
from .entity import IotHubEntity, async_setup_device_entities
from .errors import translate_errors
from .hub import IotHubConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons of every device."""
    async_setup_device_entities(entry, async_add_entities, Platform.BUTTON, IotHubButton)


class IotHubButton(IotHubEntity, ButtonEntity):
    """A control of an iot_hub device."""

    entity_description: IotHubButtonDescription

    @translate_errors
    async def async_press(self) -> None:
        """Act; refusals become translated errors in the UI."""
        # The press's service call set the context: it tells a person from an automation.
        actor = await async_actor_from_context(self.hass, self._context or Context())
        self.entity_description.press_fn(self.handler, actor)
