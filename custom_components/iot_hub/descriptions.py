"""Entity descriptions: what a kind declares of each entity, and the platforms build.

Every value function takes the device's kind handler (``kinds/<kind>/handler.py``), which holds
the device's live state and reaches its sessions through ``handler.device``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntityDescription,
)
from homeassistant.components.button import ButtonEntityDescription
from homeassistant.components.event import EventEntityDescription
from homeassistant.components.select import SelectEntityDescription
from homeassistant.components.sensor import SensorEntityDescription
from homeassistant.components.switch import SwitchEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .sessions import ActorRef
from .signals import Update

ON_CHANGE: Final = frozenset({Update.SESSION, Update.CONNECTION})
ON_READING: Final = frozenset({Update.READING, Update.SESSION, Update.CONNECTION})


@dataclass(frozen=True, kw_only=True)
class IotHubEntityDescription(EntityDescription):
    """What every iot_hub entity description adds."""

    # Updates this entity shows; readings are frequent, so most entities skip them.
    updates_on: frozenset[Update] = ON_CHANGE
    # Whether the entity is useful while the device is offline (connectivity is).
    available_offline: bool = False


@dataclass(frozen=True, kw_only=True)
class IotHubSensorDescription(IotHubEntityDescription, SensorEntityDescription):
    """A sensor computed from a device's live state."""

    value_fn: Callable[[Any], StateType]
    attributes_fn: Callable[[Any], dict[str, Any]] | None = None
    monetary: bool = False  # the unit is Home Assistant's currency
    # Given the value HA showed before a restart, so the kind can keep a total from going
    # down (a lifetime energy); None: nothing is restored.
    restore_fn: Callable[[Any, float], None] | None = None


@dataclass(frozen=True, kw_only=True)
class IotHubBinarySensorDescription(IotHubEntityDescription, BinarySensorEntityDescription):
    """A binary sensor computed from a device's live state."""

    is_on_fn: Callable[[Any], bool]
    attributes_fn: Callable[[Any], dict[str, Any]] | None = None
    # Given what HA showed before a restart (a latch to take back); None: nothing restored.
    restore_fn: Callable[[Any, bool], None] | None = None


@dataclass(frozen=True, kw_only=True)
class IotHubButtonDescription(IotHubEntityDescription, ButtonEntityDescription):
    """A button that acts on a device; refusals raise ``IotHubError``."""

    press_fn: Callable[[Any, ActorRef], object]


@dataclass(frozen=True, kw_only=True)
class IotHubEventDescription(IotHubEntityDescription, EventEntityDescription):
    """An event entity, triggered by its kind through ``KindContext.fire_entity_event``."""

    # Its events arrive on their own signal, with their data; this is for availability.
    updates_on: frozenset[Update] = frozenset({Update.CONNECTION})


@dataclass(frozen=True, kw_only=True)
class IotHubSwitchDescription(IotHubEntityDescription, SwitchEntityDescription):
    """A switch whose state is the device's real one; turning it asks the device.

    ``turn_fn(handler, on, actor)``; refusals raise ``IotHubError``.
    """

    is_on_fn: Callable[[Any], bool | None]
    turn_fn: Callable[[Any, bool, ActorRef], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class IotHubSelectDescription(IotHubEntityDescription, SelectEntityDescription):
    """A choice of how the device is run; ``select_fn(handler, option, actor)``."""

    current_fn: Callable[[Any], str | None]
    select_fn: Callable[[Any, str, ActorRef], Awaitable[None]]


def last_session(key: str) -> Callable[[Any], StateType]:
    """A value function: ``key`` of the device's last finished session's summary."""

    def value(handler: Any) -> StateType:
        if (session := handler.device.last_session) is None:
            return None
        summary_value: StateType = session.summary(dt_util.utcnow())[key]
        return summary_value

    return value


# Start and stop buttons: the same for every kind that runs sessions.
SESSION_BUTTONS: Final = (
    IotHubButtonDescription(
        key="start_session",
        translation_key="start_session",
        press_fn=lambda handler, actor: handler.device.start_session(actor),
    ),
    IotHubButtonDescription(
        key="stop_session",
        translation_key="stop_session",
        press_fn=lambda handler, actor: handler.device.stop_session(actor),
    ),
)

# Whether the device is connected: every kind has it.
CONNECTIVITY: Final = IotHubBinarySensorDescription(
    key="connectivity",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    available_offline=True,
    updates_on=frozenset({Update.CONNECTION}),
    is_on_fn=lambda handler: handler.device.connected,
)
