"""Entities of sensor devices: snapshots per platform, diagnostics, and what is refused."""

from __future__ import annotations

from collections.abc import Iterator
import json
from unittest.mock import patch

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.iot_hub.kind import Inbound, Source
from custom_components.iot_hub.sessions import ActorRef

from .conftest import WsConnect, hub_of, until
from .sensor_tools import ENV, ENV_ID, ENV_TOKEN, WEARABLE, WEARABLE_ID, WEARABLE_TOKEN

ENV_READING = {"sensor_id": 1, "temperatura": 23.5, "humedad": 65.2, "co2": 612, "ruido": 41.5}
WEARABLE_READING = {
    "accel_x": 0.12,
    "accel_y": -0.03,
    "accel_z": 9.81,
    "gyro_x": 1.5,
    "gyro_y": -0.4,
    "gyro_z": 0.0,
    "heart_rate": 72,
}


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An environment sensor and a wearable."""
    return [ENV, WEARABLE]


@pytest.fixture
def only_platform(platform: Platform) -> Iterator[None]:
    """Load a single platform, as ``snapshot_platform`` requires."""
    with patch("custom_components.iot_hub.PLATFORMS", [platform]):
        yield


async def _report(hass: HomeAssistant, ws_connect: WsConnect) -> None:
    """Both devices send one reading each; the hub has applied them."""
    hub = hub_of(hass)
    for token, reading, device_id in (
        (ENV_TOKEN, ENV_READING, ENV_ID),
        (WEARABLE_TOKEN, WEARABLE_READING, WEARABLE_ID),
    ):
        ws = await ws_connect(f"?token={token}")
        await ws.send_str(json.dumps(reading))
        handler = hub.devices[device_id].handler
        await until(lambda handler=handler: handler.reading_at is not None)  # type: ignore[misc]
    await hass.async_block_till_done()


@pytest.mark.parametrize("platform", [Platform.BINARY_SENSOR, Platform.SENSOR])
@pytest.mark.usefixtures("only_platform", "entity_registry_enabled_by_default")
async def test_sensor_entities(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    ws_connect: WsConnect,
) -> None:
    """Seed 001's environment values and seed 004's wearable values, as HA shows them."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    await _report(hass, ws_connect)
    await snapshot_platform(hass, entity_registry, snapshot, mock_config_entry.entry_id)


async def test_sensor_diagnostics(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    ws_connect: WsConnect,
) -> None:
    """A sensor's live values, names, number and consumer are in the diagnostics."""
    await _report(hass, ws_connect)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    wearable = diagnostics["devices"][WEARABLE_ID]
    assert wearable["kind"] == "sensor"
    assert wearable["values"]["heart_rate"] == 72
    assert (wearable["sensor_id"], wearable["consumer_id"]) == (2, "22")
    assert diagnostics["devices"][ENV_ID]["names"] == [
        key for key in ENV_READING if key != "sensor_id"
    ]


class _Collect:
    """A link that keeps what it is sent."""

    peer = "test"
    closing = False

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_text(self, text: str) -> None:
        self.sent.append(text)


async def test_sensors_take_no_commands(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A frame from anything but the device itself is answered with an error, and ignored."""
    handler = hub_of(hass).devices[ENV_ID].handler
    link = _Collect()
    handler.receive(
        Inbound(Source.CLIENT, '{"temperatura": 1}', link, ActorRef("user", "u", None))  # type: ignore[arg-type]
    )
    assert json.loads(link.sent[0]) == {"type": "error", "error": "sensors take no commands"}
    assert handler.values == {}
