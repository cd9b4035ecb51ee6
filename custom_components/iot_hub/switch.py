"""Switches of every kind (an appliance's power): the device's real state, not an optimistic one."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import Platform
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .actors import async_actor_from_context
from .descriptions import IotHubSwitchDescription
from .entity import IotHubEntity, async_setup_device_entities
from .errors import translate_errors
from .hub import IotHubConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches of every device."""
    async_setup_device_entities(entry, async_add_entities, Platform.SWITCH, IotHubSwitch)


class IotHubSwitch(IotHubEntity, SwitchEntity):
    """A switch of an iot_hub device: on once the device says it is on."""

    entity_description: IotHubSwitchDescription

    def _value(self) -> bool | None:
        return self.entity_description.is_on_fn(self.handler)

    @property
    def is_on(self) -> bool | None:
        """What the device last reported."""
        on: bool | None = self._showing()
        return on

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Ask the device to turn on."""
        await self._turn(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Ask the device to turn off."""
        await self._turn(False)

    @translate_errors
    async def _turn(self, on: bool) -> None:
        actor = await async_actor_from_context(self.hass, self._context or Context())
        await self.entity_description.turn_fn(self.handler, on, actor)
