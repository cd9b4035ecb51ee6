"""The lifetime energy in HA's real recorder: statistics that never go down.

A device counter that resets (reboot) and an HA restart mid-charge are what make other
integrations' energy totals drop to zero and spike the Energy dashboard.
"""

from __future__ import annotations

from datetime import timedelta
import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)
from pytest_homeassistant_custom_component.typing import RecorderInstanceContextManager

from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kind import Inbound, Source
from custom_components.iot_hub.kinds.charger.const import CONF_PRICE

from .conftest import every_reading, hub_entry
from .fakes import FakeLink
from .test_charger import CARD, CHARGER_ID, CHARGER_TOKEN, card_subentry, charger_subentry

ENTITY = "sensor.charger_1_lifetime_energy"
PERIOD = timedelta(minutes=5)


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The real recorder: requested before ``hass`` (see ha-api-notes §10, pitfall 4)."""


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A charger and Juan's card."""
    return hub_entry(
        [
            # Each reading a state: the statistics are compiled from every meter value.
            every_reading(charger_subentry(CHARGER_ID, "Charger 1", CHARGER_TOKEN, "1")),
            card_subentry(CARD, "Juan Pérez"),
        ],
        {CONF_PRICE: 0.25},
    )


async def test_lifetime_energy_statistics_are_monotonic(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Counter 100.0 -> 100.5, reset to 0.2, HA restart, 0.4: the total reads 0.5, 0.7, 0.9."""
    start = dt_util.utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    freezer.move_to(start + timedelta(seconds=10))
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    link = FakeLink()  # the hub driven without sockets, so the clock can be moved

    def hub() -> Hub:
        runtime: Hub = mock_config_entry.runtime_data
        return runtime

    def send(frame: dict[str, object]) -> None:
        charger = hub().devices[CHARGER_ID]
        hub().receive(charger, Inbound(Source.DEVICE, json.dumps(frame), link))
        # A frozen clock would stamp every state alike; HA then cannot tell their order.
        freezer.tick(1)

    async def next_period(period: int) -> None:
        """Move into ``period`` and compile the one before it, as HA does every 5 minutes."""
        # The total shows what is on disk; the frozen clock holds the save timer: write now.
        await hub().sessions.async_flush()
        freezer.move_to(start + period * PERIOD + timedelta(seconds=10))
        do_adhoc_statistics(hass, start=start + (period - 1) * PERIOD)
        await async_wait_recording_done(hass)

    hub().attach_device(hub().devices[CHARGER_ID], link)
    send({"type": "nfc_scan", "nfc_uid": CARD})
    send({"type": "metrics", "w": 6000, "kwh": 100.0, "ts": 1700000000})  # baseline
    freezer.tick(279)  # HA's clock moves with the device's: its meter credits no more
    send({"type": "metrics", "w": 6000, "kwh": 100.5, "ts": 1700000280})
    await next_period(1)
    send({"type": "metrics", "w": 6000, "kwh": 0.2, "ts": 1700000420})  # the device rebooted
    await next_period(2)
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)  # a restart
    await hass.async_block_till_done()
    link = FakeLink()
    hub().attach_device(hub().devices[CHARGER_ID], link)
    send({"type": "metrics", "w": 6000, "kwh": 0.4, "ts": 1700000700})
    await next_period(3)

    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, None, {ENTITY}, "5minute", None, {"state", "sum"}
    )
    rows = stats[ENTITY]
    states = [row["state"] for row in rows]
    sums = [row["sum"] for row in rows]
    assert states == pytest.approx([0.5, 0.7, 0.9])
    assert sums == sorted(sums)  # never a drop the Energy dashboard would show as a spike
    assert sums[-1] - sums[0] == pytest.approx(0.4)
    assert hub().devices[CHARGER_ID].handler.lifetime_cost == pytest.approx(0.9 * 0.25)
