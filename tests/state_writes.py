"""Counting the state writes of iot_hub entities, and what HA's state machine made of them.

Writes are counted by wrapping ``IotHubEntity._async_write_ha_state`` (the one path every
write of an iot_hub entity takes), state changes by HA's own ``state_changed`` events, and
writes HA found identical by its ``state_reported`` events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest.mock import patch

from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback

from custom_components.iot_hub.entity import IotHubEntity

from .conftest import hub_of, until


@dataclass
class Writes:
    """State writes of iot_hub entities, and what HA's state machine made of them."""

    written: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)
    reported: Counter[str] = field(default_factory=Counter)  # written, but identical

    def clear(self) -> None:
        """Count from now on."""
        for counter in (self.written, self.changed, self.reported):
            counter.clear()


@contextmanager
def counting_writes(hass: HomeAssistant) -> Iterator[Writes]:
    """Count every state write of an iot_hub entity, and HA's state events, while open."""
    counted = Writes()
    write = IotHubEntity._async_write_ha_state

    def counting(entity: IotHubEntity) -> None:
        counted.written[entity.entity_id] += 1
        write(entity)

    @callback
    def changed(event: Event[Any]) -> None:
        counted.changed[event.data["entity_id"]] += 1

    @callback
    def reported(event: Event[Any]) -> None:
        counted.reported[event.data["entity_id"]] += 1

    @callback
    def every(_data: Any) -> bool:
        return True

    unsubs = (
        hass.bus.async_listen(EVENT_STATE_CHANGED, changed),
        hass.bus.async_listen(EVENT_STATE_REPORTED, reported, event_filter=every),
    )
    try:
        with patch.object(IotHubEntity, "_async_write_ha_state", counting):
            yield counted
    finally:
        for unsub in unsubs:
            unsub()


async def applied(hass: HomeAssistant, device_id: str, send: Awaitable[object]) -> None:
    """Send one frame and wait until the hub has applied it as a reading."""
    device = hub_of(hass).devices[device_id]
    before: datetime | None = device.last_reading_at
    await send
    # Each reading stamps the device with a datetime of its own: a new object, even if equal.
    await until(lambda: device.last_reading_at is not before)
    await hass.async_block_till_done()
