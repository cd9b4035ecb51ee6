"""Entities of an appliance: snapshots per platform (device classes, units, translations)."""

from __future__ import annotations

from collections.abc import Iterator
from types import MappingProxyType
from unittest.mock import patch

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.iot_hub.const import SUBENTRY_DEVICE

from .appliance_tools import SERIAL, broker_options, device_client, state, unique_prefix
from .conftest import hub_entry, hub_of
from .test_appliance import publish_until

pytestmark = pytest.mark.usefixtures("socket_enabled")

APPLIANCE = ConfigSubentryData(
    data=MappingProxyType(
        {
            "kind": "appliance",
            "transport": "mqtt",
            "mqtt_id": SERIAL,
            "serial_number": SERIAL,
            "tipo": "sensor",
            "modelo": "T-01",
            "descripcion": "Termómetro",
            "configuracion": {"modo": "manual", "encendido": True},
            "schedule_entity": None,
        }
    ),
    subentry_id="appliance1",
    subentry_type=SUBENTRY_DEVICE,
    title="Sensor Temp",
    unique_id=SERIAL,
)


@pytest.fixture
def only_platform(platform: Platform) -> Iterator[None]:
    """Load a single platform, as ``snapshot_platform`` requires."""
    with patch("custom_components.iot_hub.PLATFORMS", [platform]):
        yield


@pytest.mark.parametrize(
    "platform", [Platform.BINARY_SENSOR, Platform.SELECT, Platform.SENSOR, Platform.SWITCH]
)
@pytest.mark.usefixtures("only_platform", "entity_registry_enabled_by_default")
async def test_appliance_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    """A claimed appliance that reported a temperature, power, humidity, a count and a text."""
    prefix = unique_prefix()
    entry = hub_entry([APPLIANCE], broker_options(prefix))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub = hub_of(entry)
    device = hub.devices["appliance1"]
    report = state(temp=23.4, watts=1500, humedad=41, ciclos=7, fase="secado", puerta=False)
    async with device_client(prefix) as client:
        await publish_until(
            client, f"{prefix}/{SERIAL}/state", report, lambda: device.handler.parametros
        )
    await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    await hass.config_entries.async_unload(entry.entry_id)
