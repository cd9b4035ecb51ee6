"""The simulators end to end through Home Assistant: real broker, real HTTP server, real SSE.

The devices are the simulators of ``simulators/`` (what the ESPHome YAML files publish), run
in-process; the legacy app is the seed's REST calls and its SSE watcher
(``simulators/legacy_app``) against HA's own HTTP server. Each test has a topic prefix of
its own on the shared Mosquitto, and clears what it left retained there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
from http import HTTPStatus
import json
from typing import Any
from unittest.mock import patch
import uuid

import aiomqtt
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import HomeAssistant
from homeassistant.helpers import discovery_flow
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kinds.appliance.directory import ApplianceDirectory
from simulators.appliance import ApplianceSimulator
from simulators.esphome_oven import EsphomeOvenSimulator
from simulators.legacy_app import SseEvent, build_stream_url, consume_sse
from simulators.mqtt_device import MqttConnection, MqttDeviceSimulator

from .appliance_tools import HOST, PORT, broker_options, load_broker_hub, unique_prefix
from .conftest import state_of, until, until_recorded

pytestmark = pytest.mark.usefixtures("socket_enabled")

API = "/api/iot_hub"
SERIAL = "APL0001ESP32"  # simulators/esphome/appliance.yaml's
DEVICE_KEYS = [
    "id",
    "serial_number",
    "nombre",
    "tipo",
    "modelo",
    "descripcion",
    "estado",
    "parametros",
    "configuracion",
    "reclamado",
]
LOG_KEYS = ["id", "dispositivo_id", "estado", "parametros", "timestamp"]
QR_CODE = {  # what the seed's app read from the device's QR code
    "serial_number": SERIAL,
    "nombre": "Enchufe TV",
    "tipo": "enchufe",
    "modelo": "ESP32-R1",
    "descripcion": "Salón",
    "configuracion": {"modo": "manual", "encendido": True},
}

type Client = Any  # aiohttp's TestClient


def compact(value: Any) -> str:
    """JSON as the seed writes it: compact, raw UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.fixture
def prefix() -> str:
    """This test's topic prefix."""
    return unique_prefix()


@pytest.fixture
async def hub(hass: HomeAssistant, prefix: str, run: Runner) -> AsyncIterator[Hub]:
    """A hub with no device, on a dedicated connection; it also reads a legacy topic.

    Unloaded before the simulators stop (``run``): it does not see their topics cleared.
    """
    loaded = await load_broker_hub(
        hass, [], broker_options(prefix, legacy_filter=f"{prefix}-legacy/#")
    )
    yield loaded
    await hass.config_entries.async_unload(loaded.entry_id)


@pytest.fixture
async def client(hass_client: ClientSessionGenerator, hub: Hub) -> Client:
    """An admin's client of HA's HTTP server (Bearer token), as the legacy app uses it."""
    return await hass_client()


class Runner:
    """Simulators running in the background, as an ESP32 runs its firmware."""

    def __init__(self) -> None:
        """None yet."""
        self.tasks: dict[MqttDeviceSimulator, asyncio.Task[None]] = {}

    async def __call__(self, device: MqttDeviceSimulator) -> MqttDeviceSimulator:
        """Start ``device``; return once it is connected."""
        self.tasks[device] = asyncio.create_task(device.run())
        async with asyncio.timeout(10):
            await device.connected.wait()
        return device

    async def stop(self, device: MqttDeviceSimulator) -> None:
        """Stop ``device`` cleanly (``offline`` published) and wait until it is gone."""
        device.stop()
        await self.tasks[device]


@pytest.fixture
async def run(prefix: str) -> AsyncIterator[Runner]:
    """Start simulators; all stopped after the test, and their retained topics cleared."""
    runner = Runner()
    yield runner
    for device in runner.tasks:
        device.stop()
    await asyncio.gather(*runner.tasks.values())
    async with aiomqtt.Client(HOST, PORT, identifier=f"cleaner-{uuid.uuid4().hex}") as cleaner:
        for device in runner.tasks:
            for topic in (device.topics.status, device.topics.config):
                await cleaner.publish(topic, b"", qos=1, retain=True)


def connection() -> MqttConnection:
    """A device connection that leaves no session on the shared broker.

    Its client id is its own: a test run beside this one with the same serial would
    otherwise make the broker drop one of the two.
    """
    return MqttConnection(clean_session=True, client_id=f"e2e-{uuid.uuid4().hex[:12]}")


def appliances(hub: Hub) -> ApplianceDirectory:
    """The hub's appliance directory."""
    part = hub.kind_parts["appliance"]
    assert isinstance(part, ApplianceDirectory)
    return part


def discovery_flows(hass: HomeAssistant) -> list[Any]:
    """The hub's Discovered entries."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]


async def report_until(
    appliance: ApplianceSimulator, predicate: Callable[[], object], timeout: float = 10.0
) -> None:
    """Run the YAML's ``publish_state`` script until the hub shows it heard.

    The simulators report on connecting, and the hub's subscription may not be in place
    yet then: this repeats the report instead of waiting for the next interval.
    """
    async with asyncio.timeout(timeout):
        while not predicate():
            await appliance.publish_state()
            for _ in range(20):
                if predicate():
                    return
                await asyncio.sleep(0.01)


def last_sent(appliance: ApplianceSimulator) -> dict[str, Any]:
    """The last state message the appliance published (once the broker took it)."""
    return json.loads(appliance.states_sent[-1]) if appliance.states_sent else {}


@dataclass
class Observer:
    """Every message on a topic filter, as an independent subscriber sees it."""

    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)

    def on(self, topic: str) -> list[bytes]:
        """The payloads that arrived on ``topic``, in order."""
        return [payload for name, payload, _ in self.messages if name == topic]


@contextlib.asynccontextmanager
async def observe(topic_filter: str) -> AsyncIterator[Observer]:
    """Subscribe to ``topic_filter`` (retained messages included) for the block."""
    observer = Observer()
    async with aiomqtt.Client(HOST, PORT, identifier=f"observer-{uuid.uuid4().hex}") as mqtt:
        await mqtt.subscribe(topic_filter, qos=1)

        async def read() -> None:
            async for message in mqtt.messages:
                payload = message.payload
                assert isinstance(payload, bytes)
                observer.messages.append((message.topic.value, payload, message.retain))

        reader = asyncio.create_task(read())
        try:
            yield observer
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


@dataclass
class Watcher:
    """What the seed's ``sse_client.py`` saw on the stream: lines as read, and events."""

    lines: list[str] = field(default_factory=list)
    events: list[SseEvent] = field(default_factory=list)

    def updates(self) -> list[dict[str, Any]]:
        """The device objects of the updates so far."""
        return [json.loads(event.data) for event in self.events[1:]]


@contextlib.asynccontextmanager
async def watching(client: Client, token: str) -> AsyncIterator[Watcher]:
    """The legacy app's SSE watcher on HA's server, for the block (``?token=``)."""
    watcher = Watcher()
    url = build_stream_url(str(client.make_url("")), token=token)
    task = asyncio.create_task(
        consume_sse(client.session, url, {}, watcher.events.append, on_line=watcher.lines.append)
    )
    try:
        await until(lambda: watcher.events or task.done())
        yield watcher
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def ok_json(response: Any) -> Any:
    """The JSON body of a 200."""
    assert response.status == HTTPStatus.OK, await response.text()
    return await response.json()


async def test_appliance_simulator_discovered_claimed_configured_logged_streamed(
    *,
    hass: HomeAssistant,
    hub: Hub,
    prefix: str,
    client: Client,
    run: Runner,
    hass_access_token: str,
) -> None:
    """The seed's whole flow with the appliance simulator and the legacy app's calls."""
    appliance = ApplianceSimulator(
        SERIAL, prefix=prefix, interval=3600, seed=1, connection=connection()
    )
    await run(appliance)
    await report_until(appliance, lambda: discovery_flows(hass))
    # Unclaimed: listed by the legacy route, and in Discovered under its serial.
    [unclaimed] = await ok_json(await client.get(f"{API}/dispositivos/no-reclamados"))
    assert list(unclaimed) == DEVICE_KEYS
    assert (unclaimed["serial_number"], unclaimed["estado"], unclaimed["reclamado"]) == (
        SERIAL,
        "inactivo",
        False,
    )
    assert set(unclaimed["parametros"]) == {"temp", "watts"}
    assert discovery_flows(hass)[0]["context"]["title_placeholders"] == {"name": SERIAL}
    device_id = unclaimed["id"]

    async with (
        watching(client, hass_access_token) as watcher,
        observe(f"{prefix}/{SERIAL}/+") as topics,
    ):
        # hello first: an event line, then the empty object.
        assert watcher.events[0] == SseEvent("{}", "hello")
        assert watcher.lines[:3] == ["event: hello", "data: {}", ""]

        # Claimed with the QR code's keys (admin token): the relay follows "encendido".
        response = await client.post(f"{API}/dispositivos/reclamar", json=QR_CODE)
        claimed = await ok_json(response)
        assert list(claimed) == DEVICE_KEYS
        assert claimed["id"] == device_id
        assert claimed["reclamado"] is True
        assert claimed["configuracion"] == {"modo": "manual", "encendido": True}
        assert not discovery_flows(hass)
        await until(lambda: last_sent(appliance)["estado"] == "activo")  # the relay's report
        assert appliance.relay
        assert appliance.configs == [{"modo": "manual", "encendido": True}]
        await until(lambda: state_of(hass, "switch.enchufe_tv_power") == "on")
        assert state_of(hass, "binary_sensor.enchufe_tv_state") == "on"
        watts = str(last_sent(appliance)["parametros"]["watts"])
        await until(lambda: state_of(hass, "sensor.enchufe_tv_watts") == watts)
        assert topics.on(f"{prefix}/{SERIAL}/config") == [b'{"modo":"manual","encendido":true}']

        # PUT: the configuration goes out once; the device turns off and reports inactivo.
        response = await client.put(
            f"{API}/dispositivos/{device_id}", json={"configuracion": {"encendido": False}}
        )
        edited = await ok_json(response)
        assert edited["configuracion"] == {"modo": "manual", "encendido": False}
        assert edited["estado"] == "inactivo"  # the seed's rule: manual follows encendido
        await until(lambda: last_sent(appliance)["estado"] == "inactivo")
        assert not appliance.relay
        await until(lambda: state_of(hass, "switch.enchufe_tv_power") == "off")
        # A barrier: what the hub publishes now goes out after any second configuration.
        # (On the command topic, which an appliance does not read.)
        await hass.async_block_till_done()
        assert hub.mqtt.devices is not None
        hub.mqtt.devices.publish(SERIAL, "command", "barrier", False)
        await until(lambda: topics.on(f"{prefix}/{SERIAL}/command") == [b"barrier"])
        assert topics.on(f"{prefix}/{SERIAL}/config") == [
            b'{"modo":"manual","encendido":true}',
            b'{"modo":"manual","encendido":false}',
        ]
        assert appliance.configs == [
            {"modo": "manual", "encendido": True},
            {"modo": "manual", "encendido": False},
        ]

        # The stream: every update as the seed framed it; the last one is the device now.
        now = await ok_json(await client.get(f"{API}/dispositivos/{device_id}"))
        await until(lambda: watcher.updates() and watcher.updates()[-1] == now | _event())
    # After hello, each event is exactly a data line and a blank line: no event line.
    updates = watcher.lines[3:]
    assert len(updates) == 2 * (len(watcher.events) - 1) >= 6
    for data_line, blank, event in zip(
        updates[::2], updates[1::2], watcher.events[1:], strict=True
    ):
        assert blank == ""
        assert event.event is None
        assert data_line == f"data: {event.data}"
        body = json.loads(event.data)
        assert compact(body) == event.data  # compact, raw UTF-8, keys as sent
        assert list(body) == [*DEVICE_KEYS, "event"]  # "event" last
        assert body["event"] == "device_update"
        assert body["serial_number"] == SERIAL
    seen = [
        (u["reclamado"], u["estado"], u["configuracion"]["encendido"]) for u in watcher.updates()
    ]
    assert (True, "activo", True) in seen
    assert seen[-1] == (True, "inactivo", False)
    assert "Salón".encode() in compact(now).encode()

    # Logs: newest first, two a page, the seed's rows.
    page = await ok_json(await client.get(f"{API}/dispositivos/{device_id}/logs?page=1&per_page=2"))
    assert list(page) == ["items", "page", "per_page", "total", "pages"]
    assert (page["page"], page["per_page"]) == (1, 2)
    assert page["total"] >= 3  # inactivo when discovered, activo, inactivo
    assert page["pages"] == -(-page["total"] // 2)
    newest, before = page["items"]
    assert list(newest) == LOG_KEYS
    assert newest["id"] > before["id"]
    assert newest["timestamp"] >= before["timestamp"]
    assert newest["dispositivo_id"] == device_id
    assert (newest["estado"], before["estado"]) == ("inactivo", "activo")
    assert newest["parametros"] == last_sent(appliance)["parametros"]
    assert newest["parametros"]["watts"] == 0

    # A rebooting device gets its configuration from the broker (retained).
    await run.stop(appliance)
    rebooted = ApplianceSimulator(SERIAL, prefix=prefix, interval=3600, connection=connection())
    await run(rebooted)
    await until(lambda: rebooted.configs)
    assert rebooted.configs == [{"modo": "manual", "encendido": False}]
    assert rebooted.relay is False


def _event() -> dict[str, str]:
    return {"event": "device_update"}


async def test_esphome_oven_simulator_as_an_mqtt_oven(
    hass: HomeAssistant, hub: Hub, prefix: str, client: Client, run: Runner
) -> None:
    """Added in the UI with transport mqtt: readings are its temperature; sessions START it."""
    assert await async_setup_component(hass, "config", {})
    assert await async_setup_component(hass, "api", {})
    flows = "/api/config/config_entries/subentries/flow"
    step = await ok_json(await client.post(flows, json={"handler": [hub.entry.entry_id, "device"]}))
    for answer in (
        {"name": "Horno", "kind": "oven", "transport": "mqtt"},
        {"mqtt_id": "horno1"},
        {},
    ):
        step = await ok_json(await client.post(f"{flows}/{step['flow_id']}", json=answer))
    assert step["type"] == "create_entry", step
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.horno_temperature") == "unavailable"

    oven = EsphomeOvenSimulator(
        "horno1", prefix=prefix, interval=0.05, seed=3, connection=connection()
    )
    await run(oven)

    def readings() -> set[str]:
        return {payload for topic, payload in oven.published if topic == oven.topics.state}

    await until(lambda: state_of(hass, "sensor.horno_temperature") in readings())
    assert state_of(hass, "binary_sensor.horno_connectivity") == "on"

    response = await client.post(
        "/api/services/button/press", json={"entity_id": "button.horno_start_session"}
    )
    assert response.status == HTTPStatus.OK, await response.text()
    await until(lambda: oven.measuring)
    assert oven.commands == ["START"]
    await until(lambda: state_of(hass, "sensor.horno_session") == "active")
    response = await client.post(
        "/api/services/button/press", json={"entity_id": "button.horno_stop_session"}
    )
    assert response.status == HTTPStatus.OK, await response.text()
    await until(lambda: not oven.measuring)
    assert oven.commands == ["START", "STOP"]
    assert oven.ignored == []

    # A clean shutdown says offline (ESPHome's shutdown message): unavailable at once.
    await run.stop(oven)
    await until(lambda: state_of(hass, "sensor.horno_temperature") == "unavailable")


async def test_legacy_topic_appliance_simulator(
    hass: HomeAssistant, hub: Hub, prefix: str, client: Client, run: Runner
) -> None:
    """Unmodified firmware on its own topic (the hub's legacy filter): found by its serial."""
    legacy = ApplianceSimulator(
        "LEGACY0001",
        prefix=prefix,
        interval=3600,
        legacy_topic=f"{prefix}-legacy/dispositivos/LEGACY0001",
        encendido=True,
        seed=2,
        log_states=False,
        connection=connection(),
    )
    await run(legacy)
    await until(lambda: legacy.states_sent)  # its report on connecting is out
    await report_until(legacy, lambda: appliances(hub).devices())
    [unclaimed] = await ok_json(await client.get(f"{API}/dispositivos/no-reclamados"))
    assert (unclaimed["serial_number"], unclaimed["estado"]) == ("LEGACY0001", "activo")
    assert all(topic == legacy.state_topic for topic, _ in legacy.published)  # no status

    body = {"serial_number": "LEGACY0001", "nombre": "Termo"}
    claimed = await ok_json(await client.post(f"{API}/dispositivos/reclamar", json=body))
    assert claimed["reclamado"] is True
    # Its reports reach the claimed device's entities; it takes no configuration.
    await report_until(legacy, lambda: state_of(hass, "switch.termo_power") == "on")
    await report_until(legacy, lambda: state_of(hass, "sensor.termo_temp") is not None)
    last = json.loads(legacy.states_sent[-1])["parametros"]
    await until_recorded(hass, lambda: state_of(hass, "sensor.termo_temp") == str(last["temp"]))
    assert state_of(hass, "sensor.termo_watts") == str(last["watts"])
    assert legacy.configs == []
    assert legacy.relay is True


async def test_claimed_before_it_reports_its_sensors_come_with_the_first_report(
    hass: HomeAssistant, hub: Hub, prefix: str, client: Client, run: Runner
) -> None:
    """Claimed from its QR code before it is online: each key of its first report is a sensor."""
    body = {"serial_number": "NEW0001", "nombre": "Nuevo"}
    claimed = await ok_json(await client.post(f"{API}/dispositivos/reclamar", json=body))
    assert (claimed["reclamado"], claimed["parametros"]) == (True, {})
    assert state_of(hass, "sensor.nuevo_temp") is None
    appliance = ApplianceSimulator("NEW0001", prefix=prefix, interval=3600, connection=connection())
    await run(appliance)
    # What it sends by itself is out: its report on connecting, and the retained
    # configuration's confirmation.
    await until(lambda: appliance.configs and len(appliance.states_sent) == 2)
    await report_until(appliance, lambda: state_of(hass, "sensor.nuevo_watts") is not None)
    last = json.loads(appliance.states_sent[-1])["parametros"]
    await until_recorded(hass, lambda: state_of(hass, "sensor.nuevo_temp") == str(last["temp"]))
    assert state_of(hass, "sensor.nuevo_watts") == str(last["watts"])


async def test_a_restart_offers_only_the_unclaimed_in_discovered(
    hass: HomeAssistant, hub: Hub, prefix: str, client: Client, run: Runner
) -> None:
    """After a restart, a claimed appliance is not offered in Discovered; an unclaimed one is.

    While HA starts, discovery flows wait for it to be running: one offered for a claimed
    device would show up if that device were removed meanwhile.
    """
    devices = [
        ApplianceSimulator(serial, prefix=prefix, interval=3600, connection=connection())
        for serial in ("PLUG0001", "HEAT0001")
    ]
    for device in devices:
        await run(device)
        await report_until(device, lambda serial=device.serial: serial in appliances(hub).seen)
    body = {"serial_number": "PLUG0001", "nombre": "Enchufe"}
    await ok_json(await client.post(f"{API}/dispositivos/reclamar", json=body))
    with patch.object(discovery_flow, "async_create_flow") as offer:
        assert await hass.config_entries.async_reload(hub.entry.entry_id)
        await hass.async_block_till_done()
    assert [call.kwargs["data"]["serial_number"] for call in offer.call_args_list] == ["HEAT0001"]
