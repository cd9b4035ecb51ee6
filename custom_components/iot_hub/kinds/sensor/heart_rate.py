"""Today's heart rates of a consumer as Home Assistant recorded them (the recorder's history).

The consumer's heart rate is the sensor entity of its device's heart-rate value (unique id
``<subentry id>_value_<name>``, a name of ``stream_codec.HEART_RATE_KEYS``). Its states since
local midnight are read in the recorder's executor, as HA's own history does. What the recorder
holds is what it was given: with a recorder budget on the device (at most one state per N
seconds), readings in between are not in it; neither is a state equal to the one before
(HA writes no change), nor the last seconds the recorder has not committed yet. No recorder
(not set up): no history, only what arrives from now on.
"""

from __future__ import annotations

from datetime import datetime
import math

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from ...capacity import unique_id
from ...const import DOMAIN
from .entities import VALUE_PREFIX
from .stream_codec import HEART_RATE_KEYS


def heart_rate_entity(hass: HomeAssistant, device_id: str) -> str | None:
    """The entity id of a sensor device's heart rate, if it has reported one."""
    registry = er.async_get(hass)
    for key in HEART_RATE_KEYS:
        uid = unique_id(device_id, f"{VALUE_PREFIX}{key}")
        if entity_id := registry.async_get_entity_id(Platform.SENSOR, DOMAIN, uid):
            return entity_id
    return None


async def recorded_heart_rates(
    hass: HomeAssistant, device_id: str | None, start: datetime
) -> list[tuple[datetime, float]]:
    """The device's recorded heart rates since ``start``, oldest first (numbers only)."""
    if device_id is None or "recorder" not in hass.config.components:
        return []
    if (entity_id := heart_rate_entity(hass, device_id)) is None:
        return []
    # Imported here: the recorder is optional (an after-dependency) and heavy to import.
    from homeassistant.components.recorder import get_instance, history

    states = await get_instance(hass).async_add_executor_job(
        lambda: history.state_changes_during_period(
            hass, start, entity_id=entity_id, include_start_time_state=False
        )
    )
    readings: list[tuple[datetime, float]] = []
    for state in states.get(entity_id, ()):
        try:
            value = float(state.state)
        except ValueError:
            continue  # unavailable, unknown
        if math.isfinite(value):
            readings.append((state.last_updated, value))
    return readings
