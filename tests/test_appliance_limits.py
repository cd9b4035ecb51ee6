"""What the README promises about appliances and MQTT devices: every limit, shown here.

Refused payloads (size, rate, shape) with their log lines; the silence timeout; the broker
going away; the cap on unclaimed serials; ids that survive a lost file; a deleted device that
becomes unclaimed; the bounded log.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from custom_components.iot_hub.const import DEFAULT_MQTT_SILENCE
from custom_components.iot_hub.kinds.appliance.const import DEFAULT_LOG_SIZE, MAX_UNCLAIMED
from custom_components.iot_hub.kinds.appliance.directory import FORGET_AFTER
from custom_components.iot_hub.transport.limits import INBOUND_BURST, INBOUND_RATE
from custom_components.iot_hub.transport.mqtt import devices as mqtt_devices

from .appliance_tools import (
    SERIAL,
    broker_options,
    device_client,
    load_broker_hub,
    state,
    unique_prefix,
)
from .conftest import hub_entry, hub_of, state_of, until, until_recorded
from .mosquitto import Mosquitto, mosquitto_fixture  # noqa: F401  (the fixture)
from .test_appliance import claim_in_ui, directory, next_message, publish_until
from .test_mqtt_devices import OVEN, mqtt_oven

pytestmark = pytest.mark.usefixtures("socket_enabled")


def test_the_readmes_figures_are_the_codes() -> None:
    """16 KiB, 50 per second after a burst of 100, 10 minutes, 256 unclaimed, 10,000 rows."""
    assert mqtt_devices.MAX_PAYLOAD_BYTES == 16 * 1024
    assert (INBOUND_RATE, INBOUND_BURST) == (50.0, 100.0)
    assert DEFAULT_MQTT_SILENCE == 600
    assert MAX_UNCLAIMED == 256
    assert DEFAULT_LOG_SIZE == 10_000
    assert timedelta(days=30) == FORGET_AFTER
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for figure in (
        "16 KiB",
        "50 per second per id, after a burst of 100",
        "10 minutes",
        "At most 256 unclaimed",
        "not heard for 30 days",
        "at most 10,000 rows",
    ):
        assert figure in readme, figure


async def _hub(hass: HomeAssistant, prefix: str, **options: object) -> object:
    return await load_broker_hub(hass, [mqtt_oven()], {**broker_options(prefix), **options})


async def test_oversize_and_flood_are_refused_with_their_reason(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Over 16 KiB: refused with its size; over the rate: refused; each logged once a minute."""
    caplog.set_level(logging.WARNING)
    prefix = unique_prefix()
    hub = await _hub(hass, prefix)
    async with device_client(prefix, OVEN) as oven:
        await oven.publish(f"{prefix}/{OVEN}/state", b"1" * (16 * 1024 + 1), qos=1)
        await until(lambda: "over 16384" in caplog.text)
        await oven.publish(f"{prefix}/{OVEN}/state", b"1" * (16 * 1024 + 1), qos=1)
        for _ in range(int(INBOUND_BURST) + 50):
            await oven.publish(f"{prefix}/{OVEN}/state", b"30", qos=0)
        await asyncio.sleep(0.2)
    assert caplog.text.count("over 16384") == 1  # the second oversize message: same minute
    await hass.config_entries.async_unload(hub.entry.entry_id)  # type: ignore[attr-defined]


async def test_silence_timeout_and_the_broker_going_away(
    hass: HomeAssistant, mosquitto: Mosquitto
) -> None:
    """Silent past the timeout: offline; the broker gone: every MQTT device unavailable."""
    prefix = unique_prefix()
    hub = await load_broker_hub(
        hass, [mqtt_oven()], {**broker_options(prefix), "mqtt_port": mosquitto.port}
    )
    device = hub.devices["mqttoven"]
    import aiomqtt

    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as oven:
        async with asyncio.timeout(5):
            while not device.connected:
                await oven.publish(f"{prefix}/{OVEN}/state", b"21", qos=1)
                await asyncio.sleep(0.02)
    assert hub.mqtt.devices is not None
    now = mqtt_devices.time.monotonic()
    with patch.object(mqtt_devices.time, "monotonic", return_value=now + DEFAULT_MQTT_SILENCE - 5):
        hub.mqtt._check_silence(None)
    assert device.connected  # not yet
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as oven:
        await oven.publish(f"{prefix}/{OVEN}/state", b"22", qos=1)
    await until_recorded(hass, lambda: state_of(hass, "sensor.mqtt_oven_temperature") == "22.0")
    with patch.object(mqtt_devices.time, "monotonic", return_value=now + DEFAULT_MQTT_SILENCE + 60):
        hub.mqtt._check_silence(None)
    assert not device.connected

    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as oven:
        async with asyncio.timeout(5):
            while not device.connected:
                await oven.publish(f"{prefix}/{OVEN}/state", b"23", qos=1)
                await asyncio.sleep(0.02)
    await mosquitto.stop()
    await until(lambda: not device.connected)
    assert state_of(hass, "sensor.mqtt_oven_temperature") == "unavailable"
    await hass.config_entries.async_unload(hub.entry_id)


async def test_unclaimed_serials_are_capped(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """A flood of random serials stops at 256 unclaimed ones, with a log line."""
    caplog.set_level(logging.WARNING)
    prefix = unique_prefix()
    hub = await _hub(hass, prefix)
    appliances = directory(hub)  # type: ignore[arg-type]
    with patch("custom_components.iot_hub.kinds.appliance.directory.discovery_flow"):
        for number in range(MAX_UNCLAIMED + 10):
            appliances.unknown_mqtt_device(None, state(f"S{number}"))
    assert len(appliances.devices(reclamado=False)) == MAX_UNCLAIMED
    assert "unclaimed devices already" in caplog.text
    await hass.config_entries.async_unload(hub.entry.entry_id)  # type: ignore[attr-defined]


async def test_ids_survive_a_lost_file_and_a_deleted_device_is_unclaimed_again(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """The claimed device keeps its id without the directory's file; deleting it unclaims it."""
    prefix = unique_prefix()
    hub = await _hub(hass, prefix)
    async with device_client(prefix) as device:
        for serial in ("FIRST", SERIAL):
            await publish_until(
                device,
                f"{prefix}/{serial}/state",
                state(serial),
                lambda serial=serial: serial in directory(hub).seen,  # type: ignore[arg-type]
            )
    await claim_in_ui(hass)  # the first offered: FIRST has id 1
    claimed = directory(hub).devices(reclamado=True)[0]  # type: ignore[arg-type]
    entry = hub.entry  # type: ignore[attr-defined]
    await hass.config_entries.async_unload(entry.entry_id)
    del hass_storage[f"iot_hub.appliances.{entry.entry_id}"]  # the file is lost
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    again = directory(hub_of(entry))
    assert again.device(claimed.id) is not None
    assert again.device(claimed.id).serial_number == claimed.serial_number  # type: ignore[union-attr]
    assert again.next_id > claimed.id  # a new serial never gets its id

    [device_id] = [d.id for d in hub_of(entry).devices.values() if d.kind.key == "appliance"]
    hass.config_entries.async_remove_subentry(entry, device_id)
    await hass.async_block_till_done()
    [unclaimed] = again.devices(reclamado=False)
    assert (unclaimed.serial_number, unclaimed.id) == (claimed.serial_number, claimed.id)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_the_log_keeps_the_newest_rows_of_its_size(hass: HomeAssistant) -> None:
    """The option bounds each device's log; the oldest rows go first."""
    prefix = unique_prefix()
    hub = await _hub(hass, prefix, appliance_log_size=10)
    appliances = directory(hub)  # type: ignore[arg-type]
    with patch("custom_components.iot_hub.kinds.appliance.directory.discovery_flow"):
        for value in range(25):
            appliances.unknown_mqtt_device(None, state(temp=value))
    page = appliances.logs(1, 1, 50)
    assert page.total == 10
    assert [row["parametros"]["temp"] for row in page.items] == list(range(24, 14, -1))
    await hass.config_entries.async_unload(hub.entry.entry_id)  # type: ignore[attr-defined]


async def test_unclaimed_serials_silent_for_30_days_are_forgotten(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    """At start, an unclaimed serial not heard for 30 days goes, with its log; others stay."""
    prefix = unique_prefix()
    entry = hub_entry([], broker_options(prefix))
    old = (dt_util.utcnow() - timedelta(days=31)).isoformat()
    recent = (dt_util.utcnow() - timedelta(days=29)).isoformat()
    hass_storage[f"iot_hub.appliances.{entry.entry_id}"] = {
        "version": 1,
        "key": f"iot_hub.appliances.{entry.entry_id}",
        "data": {
            "next_id": 3,
            "devices": {
                "OLD": {"id": 1, "estado": "activo", "parametros": {}, "last_seen": old},
                "RECENT": {"id": 2, "estado": "activo", "parametros": {}, "last_seen": recent},
            },
        },
    }
    hass_storage[f"iot_hub.appliance_log.{entry.entry_id}.1"] = {
        "version": 1,
        "key": f"iot_hub.appliance_log.{entry.entry_id}.1",
        "data": {"rows": []},
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    appliances = directory(hub_of(entry))
    assert [d.serial_number for d in appliances.devices()] == ["RECENT"]
    assert appliances.next_id == 3  # the forgotten id is not handed out again
    assert f"iot_hub.appliance_log.{entry.entry_id}.1" not in hass_storage
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_removed_device_leaves_no_retained_configuration(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting the device clears its retained config; a cleared status is no warning."""
    caplog.set_level(logging.WARNING)
    prefix = unique_prefix()
    hub = await _hub(hass, prefix)
    async with device_client(prefix) as device:
        await device.subscribe(f"{prefix}/{SERIAL}/config", qos=1)
        await publish_until(
            device,
            f"{prefix}/{SERIAL}/state",
            state(),
            lambda: directory(hub).devices(),  # type: ignore[arg-type]
        )
        await claim_in_ui(hass)
        assert (await next_message(device)).payload  # the configuration
        await device.publish(f"{prefix}/{SERIAL}/status", b"", qos=1, retain=True)
        [device_id] = [d.id for d in hub.devices.values() if d.kind.key == "appliance"]  # type: ignore[attr-defined]
        hass.config_entries.async_remove_subentry(hub.entry, device_id)  # type: ignore[attr-defined]
        cleared = await next_message(device)
        assert (cleared.topic.value, cleared.payload) == (f"{prefix}/{SERIAL}/config", b"")
    assert "status must be" not in caplog.text
    await hass.config_entries.async_unload(hub.entry.entry_id)  # type: ignore[attr-defined]


async def test_a_damaged_directory_file_costs_only_its_bad_records(
    hass: HomeAssistant, hass_storage: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Bad records, a bad serial, a duplicated id, junk parameters and log rows: set aside."""
    prefix = unique_prefix()
    entry = hub_entry([], broker_options(prefix))
    key = f"iot_hub.appliances.{entry.entry_id}"
    hass_storage[key] = {
        "version": 1,
        "key": key,
        "data": {
            "next_id": "many",
            "devices": {
                "GOOD": {"id": 1, "estado": "activo", "parametros": {"temp": 20}},
                "JUNK": {"id": 2, "parametros": {"temp": {"nested": [1, 2]}}},
                "TWIN": {"id": 1, "estado": "activo"},
                "a/b": {"id": 3},
                "NOID": {"estado": "activo"},
                "NEG": {"id": -4},
            },
        },
    }
    log_key = f"iot_hub.appliance_log.{entry.entry_id}.1"
    row = {"id": 7, "dispositivo_id": 1, "estado": "activo", "parametros": {}, "timestamp": "t"}
    hass_storage[log_key] = {"version": 1, "key": log_key, "data": {"rows": [row, {"id": "x"}, 5]}}
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    appliances = directory(hub_of(entry))
    assert [(d.serial_number, d.id, dict(d.parametros)) for d in appliances.devices()] == [
        ("GOOD", 1, {"temp": 20}),
        ("JUNK", 2, {}),
    ]
    assert appliances.next_id == 3
    assert appliances.logs(1, 1, 50).total == 1
    assert "set aside" in caplog.text
    # The next change of GOOD continues its log's numbering.
    appliances.reported("GOOD", "inactivo", {"temp": 21})
    assert appliances.logs(1, 1, 50).items[0]["id"] == 8
    await hass.config_entries.async_unload(entry.entry_id)
