"""MQTT appliances (seed 003) end to end, on the real broker: discovery, claim, entities, modes.

A device here is a real MQTT client publishing the seed's JSON; the hub holds a dedicated
connection to the same Mosquitto (HA's own MQTT integration is covered in test_mqtt_ha.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import logging
from typing import Any

import aiomqtt
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.feed import FeedKind
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kinds.appliance.directory import ApplianceDirectory

from .appliance_tools import (
    SERIAL,
    broker_options,
    device_client,
    load_broker_hub,
    state,
    unique_prefix,
)
from .conftest import SetupMqtt, hub_entry, hub_of, state_of, until
from .sensor_tools import follow_feed

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
def prefix() -> str:
    """This test's topic prefix."""
    return unique_prefix()


@pytest.fixture
async def hub(hass: HomeAssistant, prefix: str) -> AsyncIterator[Hub]:
    """A hub with no device, on a dedicated connection to the local broker."""
    loaded = await load_broker_hub(
        hass, [], broker_options(prefix, legacy_filter=f"{prefix}-legacy/#")
    )
    yield loaded
    await hass.config_entries.async_unload(loaded.entry_id)


def directory(hub: Hub) -> ApplianceDirectory:
    part = hub.kind_parts["appliance"]
    assert isinstance(part, ApplianceDirectory)
    return part


async def publish_until(
    client: aiomqtt.Client, topic: str, payload: str, predicate: Any, timeout: float = 5.0
) -> None:
    """Publish until the hub shows it heard (its subscription may still be on its way)."""
    async with asyncio.timeout(timeout):
        while True:
            await client.publish(topic, payload, qos=1)
            for _ in range(20):
                if predicate():
                    return
                await asyncio.sleep(0.01)


async def next_message(client: aiomqtt.Client, timeout: float = 5.0) -> aiomqtt.Message:
    async with asyncio.timeout(timeout):
        return await anext(aiter(client.messages))


def ha_device_of(hub: Hub) -> dr.DeviceEntry | None:
    """The registry entry of the hub's one device."""
    return dr.async_get(hub.hass).async_get_device_by_identifier(
        (DOMAIN, next(iter(hub.devices))), hub.entry.entry_id
    )


def discovery_flows(hass: HomeAssistant) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]


async def claim_in_ui(hass: HomeAssistant, **fields: Any) -> None:
    """Confirm the one discovered appliance in the UI."""
    await until(lambda: discovery_flows(hass))
    flow = discovery_flows(hass)[0]
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"name": "Sensor Temp", "modo": "manual", **fields}
    )
    assert result["type"] == "abort", result
    assert result["reason"] == "device_added"
    await hass.async_block_till_done()


async def test_unknown_serial_is_discovered_then_claimed(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """An unknown serial shows up unclaimed and in Discovered; confirming it claims it."""
    async with device_client(prefix) as device:
        await publish_until(
            device,
            f"{prefix}/{SERIAL}/state",
            state(temp=23.4),
            lambda: directory(hub).devices(reclamado=False),
        )
    [unclaimed] = directory(hub).devices(reclamado=False)
    assert (unclaimed.id, unclaimed.serial_number, unclaimed.estado) == (1, SERIAL, "activo")
    assert dict(unclaimed.parametros) == {"temp": 23.4}
    await until(lambda: discovery_flows(hass))
    flow = discovery_flows(hass)[0]
    assert flow["context"]["title_placeholders"] == {"name": SERIAL}
    assert flow["step_id"] == "discovery_confirm"

    await claim_in_ui(hass, tipo="sensor", modelo="T-01", descripcion="Termómetro")
    [claimed] = directory(hub).devices(reclamado=True)
    assert (claimed.id, claimed.nombre, claimed.tipo, claimed.modelo) == (
        1,
        "Sensor Temp",
        "sensor",
        "T-01",
    )
    assert not discovery_flows(hass)
    ha_device = ha_device_of(hub)
    assert ha_device is not None
    assert (ha_device.serial_number, ha_device.model) == (SERIAL, "T-01")
    # The parameter seen before the claim is a sensor at once, with its device class.
    temperature = hass.states.get("sensor.sensor_temp_temp")
    assert temperature is not None
    assert temperature.attributes["device_class"] == "temperature"
    assert temperature.attributes["unit_of_measurement"] == "°C"


async def test_switch_shows_the_device_state_and_publishes_config(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """Manual: turning the switch publishes the retained config; it is on once the device
    says so. The seed's estado follows encendido at once (its rule)."""
    async with device_client(prefix) as device:
        await device.subscribe(f"{prefix}/{SERIAL}/config", qos=1)
        await publish_until(
            device,
            f"{prefix}/{SERIAL}/state",
            state(estado="inactivo", watts=0),
            lambda: directory(hub).devices(),
        )
        await claim_in_ui(hass)
        first = await next_message(device)
        assert json.loads(first.payload) == {"modo": "manual", "encendido": False}

        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": "switch.sensor_temp_power"}, blocking=True
        )
        message = await next_message(device)
        assert message.topic.value == f"{prefix}/{SERIAL}/config"
        assert message.retain is True or message.retain is False  # delivered live
        assert json.loads(message.payload) == {"modo": "manual", "encendido": True}
        # Not optimistic: the relay is still off until the device reports.
        assert state_of(hass, "switch.sensor_temp_power") == "off"
        assert state_of(hass, "binary_sensor.sensor_temp_state") == "on"  # seed: derived
        await device.publish(f"{prefix}/{SERIAL}/state", state(estado="activo", watts=1500))
        await until(lambda: state_of(hass, "switch.sensor_temp_power") == "on")
        await until(lambda: state_of(hass, "sensor.sensor_temp_watts") == "1500")
        watts = hass.states.get("sensor.sensor_temp_watts")
        assert watts is not None and watts.attributes["device_class"] == "power"

    # A device that reconnects gets its configuration from the broker (retained).
    async with device_client(prefix) as rebooted:
        await rebooted.subscribe(f"{prefix}/{SERIAL}/config", qos=1)
        retained = await next_message(rebooted)
        assert retained.retain
        assert json.loads(retained.payload) == {"modo": "manual", "encendido": True}


@pytest.mark.parametrize("expected_lingering_timers", [True])  # the schedule's next change
async def test_schedule_mode_refuses_the_switch_and_follows_the_helper(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """Horario: the switch is refused (translated); the schedule helper decides encendido."""
    every_day = {
        day: [{"from": "00:00:00", "to": "23:59:59"}]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    }
    assert await async_setup_component(
        hass,
        "schedule",
        {"schedule": {"always": {"name": "Always", **every_day}, "never": {"name": "Never"}}},
    )
    async with device_client(prefix) as device:
        await device.subscribe(f"{prefix}/{SERIAL}/config", qos=1)
        await publish_until(
            device,
            f"{prefix}/{SERIAL}/state",
            state(estado="inactivo"),
            lambda: directory(hub).devices(),
        )
        await claim_in_ui(hass, modo="horario", schedule_entity="schedule.always")
        message = await next_message(device)
        assert json.loads(message.payload) == {"modo": "horario", "encendido": True}
        assert state_of(hass, "select.sensor_temp_mode") == "horario"

        with pytest.raises(ServiceValidationError) as refused:
            await hass.services.async_call(
                "switch", "turn_off", {"entity_id": "switch.sensor_temp_power"}, blocking=True
            )
        assert refused.value.translation_key == "follows_schedule"

        # On a schedule the device's report is the seed's estado.
        assert state_of(hass, "binary_sensor.sensor_temp_state") == "off"
        await device.publish(f"{prefix}/{SERIAL}/state", state(estado="activo"))
        await until(lambda: state_of(hass, "binary_sensor.sensor_temp_state") == "on")
        [info] = directory(hub).devices()
        assert info.configuracion.encendido is True  # seed: derived from estado

        # Back to manual from the select: the config goes out once, with the stored switch.
        await hass.services.async_call(
            "select",
            "select_option",
            {"entity_id": "select.sensor_temp_mode", "option": "manual"},
            blocking=True,
        )
        message = await next_message(device)
        assert json.loads(message.payload) == {"modo": "manual", "encendido": False}


async def test_claim_and_update_actions_answer_with_the_device_object(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """iot_hub.claim_device claims a serial never seen (pre-provisioned); update_device edits."""
    response = await hass.services.async_call(
        DOMAIN,
        "claim_device",
        {
            "serial_number": "NEW123",
            "nombre": "Enchufe",
            "tipo": "enchufe",
            "configuracion": {"modo": "manual", "encendido": True},
        },
        blocking=True,
        return_response=True,
    )
    assert response == {
        "id": 1,
        "serial_number": "NEW123",
        "nombre": "Enchufe",
        "tipo": "enchufe",
        "modelo": None,
        "descripcion": None,
        "estado": "activo",
        "parametros": {},
        "configuracion": {"modo": "manual", "encendido": True},
        "reclamado": True,
    }
    with pytest.raises(ServiceValidationError) as again:
        await hass.services.async_call(
            DOMAIN, "claim_device", {"serial_number": "NEW123"}, blocking=True
        )
    assert again.value.translation_key == "already_claimed"
    with pytest.raises(ServiceValidationError) as bad:
        await hass.services.async_call(
            DOMAIN,
            "claim_device",
            {"serial_number": "X", "configuracion": {"modo": "nunca"}},
            blocking=True,
        )
    assert bad.value.translation_key == "invalid_fields"

    ha_device = ha_device_of(hub)
    assert ha_device is not None
    updated = await hass.services.async_call(
        DOMAIN,
        "update_device",
        {
            "device_id": ha_device.id,
            "nombre": "Enchufe salón",
            "configuracion": {"encendido": False},
        },
        blocking=True,
        return_response=True,
    )
    assert updated is not None
    assert (updated["nombre"], updated["estado"], updated["configuracion"]) == (
        "Enchufe salón",
        "inactivo",
        {"modo": "manual", "encendido": False},
    )
    ha_device = dr.async_get(hass).async_get(ha_device.id)
    assert ha_device is not None and ha_device.name == "Enchufe salón"


async def test_logs_page_newest_first_and_survive_a_restart(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """Every change of estado or parametros is a row; an unchanged report is not."""
    async with device_client(prefix) as device:
        await publish_until(
            device, f"{prefix}/{SERIAL}/state", state(temp=20), lambda: directory(hub).devices()
        )
        for value in (21, 21, 22):
            await device.publish(f"{prefix}/{SERIAL}/state", state(temp=value), qos=1)
        await until(lambda: directory(hub).devices()[0].parametros == {"temp": 22})
    page = directory(hub).logs(1, 1, 2)
    assert (page.total, page.pages) == (3, 2)
    assert [row["parametros"] for row in page.items] == [{"temp": 22}, {"temp": 21}]
    assert set(page.items[0]) == {"id", "dispositivo_id", "estado", "parametros", "timestamp"}
    with pytest.raises(ValueError):
        directory(hub).logs(1, 3, 2)

    entry = hub.entry
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    again = directory(hub_of(hass))
    assert [d.serial_number for d in again.devices(reclamado=False)] == [SERIAL]
    assert again.logs(1, 1, 50).total == 3
    # Still offered in Discovered after the restart.
    await until(lambda: discovery_flows(hass))


async def test_bad_payloads_are_logged_and_harm_nothing(
    hass: HomeAssistant, hub: Hub, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Malformed, mistyped, huge and non-UTF-8 payloads: a log line each, then business as usual."""
    caplog.set_level(logging.WARNING)
    topic = f"{prefix}/{SERIAL}/state"
    async with device_client(prefix) as device:
        for payload in (
            b"not json",
            b'{"serial_number": 5, "estado": "activo"}',
            b'{"serial_number": "A", "estado": "encendido"}',
            b"\xff\xfe",
            b"[" * 100_000,
            json.dumps({"serial_number": "OTHER", "estado": "activo"}).encode(),
        ):
            await device.publish(topic, payload, qos=1)
        await publish_until(device, topic, state(temp=1), lambda: directory(hub).devices())
    assert [d.serial_number for d in directory(hub).devices()] == [SERIAL]
    assert "refused" in caplog.text


async def test_legacy_topic_reads_the_serial_from_the_payload(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """Unmodified firmware publishing on its own topic: the hub finds the device by serial."""
    async with device_client() as device:
        await publish_until(
            device,
            f"{prefix}-legacy/dispositivos/estado",
            state("LEGACY1", "inactivo", humedad=40),
            lambda: directory(hub).devices(),
        )
    [info] = directory(hub).devices()
    assert (info.serial_number, dict(info.parametros)) == ("LEGACY1", {"humedad": 40})


async def test_last_will_makes_entities_unavailable(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """The device's status topic: offline (its last will) makes its entities unavailable."""
    async with device_client(prefix) as device:
        await publish_until(
            device, f"{prefix}/{SERIAL}/state", state(), lambda: directory(hub).devices()
        )
        await claim_in_ui(hass)
        await device.publish(f"{prefix}/{SERIAL}/status", b"online", qos=1, retain=True)
        await device.publish(f"{prefix}/{SERIAL}/state", state(), qos=1)
        await until(lambda: state_of(hass, "switch.sensor_temp_power") == "on")
        await device.publish(f"{prefix}/{SERIAL}/status", b"offline", qos=1, retain=True)
        await until(lambda: state_of(hass, "switch.sensor_temp_power") == "unavailable")
        assert state_of(hass, "select.sensor_temp_mode") == "manual"  # usable offline
        await device.publish(f"{prefix}/{SERIAL}/status", b"online", qos=1, retain=True)
        await until(lambda: state_of(hass, "switch.sensor_temp_power") == "on")


async def test_appliance_over_home_assistants_mqtt(
    hass: HomeAssistant, setup_mqtt: SetupMqtt, prefix: str
) -> None:
    """The default transport: HA's own MQTT integration, on the real broker, end to end."""
    await setup_mqtt()
    entry = hub_entry([], {"mqtt_prefix": prefix})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub = hub_of(entry)
    assert hub.mqtt.devices is not None
    async with device_client(prefix) as device:
        await device.subscribe(f"{prefix}/{SERIAL}/config", qos=1)
        await publish_until(
            device, f"{prefix}/{SERIAL}/state", state(temp=19.5), lambda: directory(hub).devices()
        )
        await claim_in_ui(hass)
        message = await next_message(device)
        assert json.loads(message.payload) == {"modo": "manual", "encendido": False}
        await hass.services.async_call(
            "switch", "turn_on", {"entity_id": "switch.sensor_temp_power"}, blocking=True
        )
        message = await next_message(device)
        assert json.loads(message.payload) == {"modo": "manual", "encendido": True}
        await device.publish(f"{prefix}/{SERIAL}/state", state(temp=20.5), qos=1)
        await until(lambda: state_of(hass, "sensor.sensor_temp_temp") == "20.5")
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_claimed_devices_bad_reports_are_logged_once_a_minute(
    hass: HomeAssistant, hub: Hub, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Unreadable reports and reports naming another serial: one line a minute, state kept."""
    caplog.set_level(logging.WARNING)
    topic = f"{prefix}/{SERIAL}/state"
    async with device_client(prefix) as device:
        await publish_until(device, topic, state(temp=5), lambda: directory(hub).devices())
        await claim_in_ui(hass)
        handler = next(iter(hub.devices.values())).handler
        events, unsubscribe = follow_feed(hass, hub.entry_id)
        await device.publish(topic, b'{"serial_number":"TMP0603IF1WD","estado":1}', qos=1)
        await device.publish(topic, state("SOMEONE_ELSE", temp=99), qos=1)
        await device.publish(topic, state(temp=6), qos=1)
        await until(lambda: handler.parametros == {"temp": 6})
        unsubscribe()
    assert caplog.text.count("sent a state that cannot be read") == 1
    # Told as an error (seed 001's system_event) as often as it is logged.
    errors = [event.data for event in events if event.kind is FeedKind.ERROR]
    assert len(errors) == 1 and errors[0]["message"].startswith("Estado rechazado: ")
    assert directory(hub).devices()[0].parametros == {"temp": 6}


async def test_the_switch_follows_the_schedule_helper_as_it_changes(
    hass: HomeAssistant, hub: Hub, prefix: str
) -> None:
    """On a schedule, each change of the helper publishes encendido once; diagnostics say so."""
    hass.states.async_set("schedule.plug", "off")
    async with device_client(prefix) as device:
        await device.subscribe(f"{prefix}/{SERIAL}/config", qos=1)
        await publish_until(
            device,
            f"{prefix}/{SERIAL}/state",
            state(estado="inactivo"),
            lambda: directory(hub).devices(),
        )
        await claim_in_ui(hass, modo="horario", schedule_entity="schedule.plug")
        assert json.loads((await next_message(device)).payload) == {
            "modo": "horario",
            "encendido": False,
        }
        hass.states.async_set("schedule.plug", "on")
        assert json.loads((await next_message(device)).payload) == {
            "modo": "horario",
            "encendido": True,
        }
        handler = next(iter(hub.devices.values())).handler
        assert handler.diagnostics()["schedule_on"] is True
        hass.states.async_remove("schedule.plug")  # gone: the device's own report decides
        await until(lambda: handler.diagnostics()["schedule_on"] is None)
        assert handler.dynamic_descriptions(Platform.SWITCH) == ()
