"""Buttons: start and stop a session (no toggle to flip back); clear a charger's emergency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .actors import async_actor_from_context, translated
from .const import DeviceKind
from .entity import IotHubEntity, IotHubEntityDescription, async_setup_device_entities
from .hub import Hub, IotHubConfigEntry
from .models import DeviceRuntime
from .session_model import ActorRef
from .sessions import SessionError

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class IotHubButtonDescription(IotHubEntityDescription, ButtonEntityDescription):
    """A button that acts on a device through the hub."""

    press_fn: Callable[[Hub, DeviceRuntime, ActorRef], object]


SESSION_KINDS = frozenset({DeviceKind.OVEN, DeviceKind.CHARGER})

BUTTONS: tuple[IotHubButtonDescription, ...] = (
    IotHubButtonDescription(
        key="start_session",
        translation_key="start_session",
        kinds=SESSION_KINDS,
        press_fn=lambda hub, device, actor: hub.start_session(device, actor),
    ),
    IotHubButtonDescription(
        key="stop_session",
        translation_key="stop_session",
        kinds=SESSION_KINDS,
        press_fn=lambda hub, device, actor: hub.stop_session(device, actor),
    ),
    IotHubButtonDescription(
        key="clear_emergency",
        translation_key="clear_emergency",
        kinds=frozenset({DeviceKind.CHARGER}),
        available_offline=True,  # the user clears it after checking the charger, online or not
        press_fn=lambda hub, device, actor: hub.clear_emergency(device),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons of every device."""
    hub = entry.runtime_data
    async_setup_device_entities(
        entry,
        async_add_entities,
        BUTTONS,
        lambda device, description: IotHubButton(hub, device, description),
    )


class IotHubButton(IotHubEntity, ButtonEntity):
    """A session control of an iot_hub device."""

    entity_description: IotHubButtonDescription

    def __init__(
        self, hub: Hub, device: DeviceRuntime, description: IotHubButtonDescription
    ) -> None:
        """Bind to the hub that runs sessions."""
        super().__init__(device, description)
        self._hub = hub

    async def async_press(self) -> None:
        """Start or stop; refusals become translated errors in the UI."""
        # The press's service call set the context: it tells a person from an automation.
        actor = await async_actor_from_context(self.hass, self._context or Context())
        try:
            self.entity_description.press_fn(self._hub, self.device, actor)
        except SessionError as err:
            raise translated(err) from err
