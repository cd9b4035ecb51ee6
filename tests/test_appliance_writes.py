"""An appliance's report writes the states it changes: its values, and estado only on a change.

The switch and the ``estado`` binary sensor follow the reported ``estado``; a report that
leaves it as it was must not write them again (HA would record an unchanged state at every
message, which doubled the state writes of the appliance path in ``benchmarks.appliances``).
"""

from __future__ import annotations

from collections import Counter

from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import (
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    callback,
)
import pytest

from .appliance_tools import SERIAL, broker_options, device_client, state, unique_prefix
from .conftest import every_reading, hub_entry, hub_of, state_of, until
from .test_appliance import publish_until
from .test_appliance_entities import APPLIANCE

pytestmark = pytest.mark.usefixtures("socket_enabled")

SWITCH = "switch.sensor_temp_power"
ESTADO = "binary_sensor.sensor_temp_state"
TEMP = "sensor.sensor_temp_temp"


async def test_a_report_writes_only_what_it_changes(hass: HomeAssistant) -> None:
    """Three reports of new temperatures write the temperature only; a new estado, the switch."""
    prefix = unique_prefix()
    # Every report's writes are counted: none held back by the record budget.
    entry = hub_entry([every_reading(APPLIANCE)], broker_options(prefix))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    handler = hub_of(entry).devices["appliance1"].handler
    topic = f"{prefix}/{SERIAL}/state"
    writes: Counter[str] = Counter()

    @callback
    def changed(event: Event[EventStateChangedData]) -> None:
        writes[event.data["entity_id"]] += 1

    @callback
    def reported(data: EventStateReportedData) -> bool:
        writes[data["entity_id"]] += 1
        return False  # counted; nothing to run

    @callback
    def never(event: Event[EventStateReportedData]) -> None:
        raise AssertionError("filtered out")

    async with device_client(prefix) as client:
        await publish_until(
            client, topic, state(temp=20.0), lambda: handler.parameter("temp") == 20.0
        )
        await hass.async_block_till_done()
        assert state_of(hass, SWITCH) == "on"
        unsubscribes = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, changed),
            hass.bus.async_listen(EVENT_STATE_REPORTED, never, event_filter=reported),
        ]
        for value in (21.0, 22.0, 23.0):
            await client.publish(topic, state(temp=value), qos=1)
            await until(lambda value=value: handler.parameter("temp") == value)
        await hass.async_block_till_done()
        assert writes == {TEMP: 3}

        writes.clear()
        await client.publish(topic, state(estado="inactivo", temp=23.0), qos=1)
        await until(lambda: not handler.relay_on)
        await hass.async_block_till_done()
        assert writes[SWITCH] == writes[ESTADO] == 1
        assert state_of(hass, SWITCH) == "off"  # the relay, as the device says
        assert state_of(hass, ESTADO) == "on"  # manual: estado follows encendido (the seed)
    for unsubscribe in unsubscribes:
        unsubscribe()
    await hass.config_entries.async_unload(entry.entry_id)
