"""The MQTT device simulators against the real Mosquitto on 127.0.0.1:1883.

What an ESPHome oven or appliance (``simulators/esphome/*.yaml``) puts on the broker, seen by
an independent subscriber: the topics, the payloads, the retained birth and will, and how the
devices follow commands and the retained configuration. A private broker on a free port
shows the reconnection after a broker restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import sys
import uuid

import aiomqtt
import pytest

from simulators import appliance as appliance_module, esphome_oven
from simulators.appliance import ApplianceModel, ApplianceSimulator, arduinojson_number
from simulators.esphome_oven import EsphomeOvenSimulator
from simulators.mqtt_device import (
    MqttConnection,
    MqttDeviceSimulator,
    Topics,
    check_publish_topic,
    check_topic_id,
)

from .conftest import until

# Real sockets to 127.0.0.1 (PHACC blocks sockets unless asked).
pytestmark = pytest.mark.usefixtures("socket_enabled")

BROKER = "127.0.0.1"
PORT = 1883
ROOT = Path(__file__).resolve().parent.parent
READING = r"-?\d+\.\d"


@dataclass
class Observer:
    """What a subscriber saw: (topic, payload, retain flag), in order."""

    seen: list[tuple[str, str, bool]] = field(default_factory=list)

    def on(self, topic: str) -> list[str]:
        return [payload for t, payload, _ in self.seen if t == topic]


@contextlib.asynccontextmanager
async def observe(topic_filter: str, port: int = PORT) -> AsyncIterator[Observer]:
    """Subscribe to ``topic_filter`` for the block's duration."""
    observer = Observer()
    async with aiomqtt.Client(BROKER, port, identifier=f"observer-{uuid.uuid4().hex}") as client:
        await client.subscribe(topic_filter, qos=1)

        async def read() -> None:
            async for message in client.messages:
                payload = message.payload
                assert isinstance(payload, bytes)
                observer.seen.append(
                    (message.topic.value, payload.decode(errors="replace"), message.retain)
                )

        reader = asyncio.create_task(read())
        try:
            yield observer
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


async def publish(
    topic: str, payload: str | bytes, *, retain: bool = False, port: int = PORT
) -> None:
    async with aiomqtt.Client(BROKER, port, identifier=f"hub-{uuid.uuid4().hex}") as client:
        await client.publish(topic, payload, qos=1, retain=retain)


async def retained(topic: str, port: int = PORT) -> str | None:
    """The retained message on ``topic`` (None when there is none)."""
    async with aiomqtt.Client(BROKER, port, identifier=f"probe-{uuid.uuid4().hex}") as client:
        await client.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(1.0):
                async for message in client.messages:
                    assert message.retain
                    assert isinstance(message.payload, bytes)
                    return message.payload.decode()
        except TimeoutError:
            return None
    return None  # pragma: no cover - the iterator only ends by raising


@pytest.fixture
def topics() -> Topics:
    """Topics of a device of this test's own (the broker is shared)."""
    return Topics("iot_hub_test", f"T{uuid.uuid4().hex[:12].upper()}")


@pytest.fixture
async def clean_broker(topics: Topics) -> AsyncIterator[None]:
    """Clear what the test left retained on the shared broker."""
    yield
    for topic in (topics.status, topics.config):
        await publish(topic, b"", retain=True)


type Run = Callable[[MqttDeviceSimulator], MqttDeviceSimulator]


@pytest.fixture
async def run(clean_broker: None) -> AsyncIterator[Run]:
    """Run simulators in the background; all stopped and awaited after the test."""
    tasks: list[tuple[MqttDeviceSimulator, asyncio.Task[None]]] = []

    def start(device: MqttDeviceSimulator) -> MqttDeviceSimulator:
        tasks.append((device, asyncio.create_task(device.run())))
        return device

    yield start
    for device, _ in tasks:
        device.stop()
    await asyncio.gather(*(task for _, task in tasks))


def connection() -> MqttConnection:
    """A connection that leaves no session behind on the shared broker."""
    return MqttConnection(clean_session=True)


# -- the oven ------------------------------------------------------------------------------


async def test_esphome_oven_publishes_readings_and_follows_start_stop(
    topics: Topics, run: Run
) -> None:
    async with observe(f"{topics.prefix}/{topics.device_id}/#") as seen:
        oven = run(
            EsphomeOvenSimulator(
                topics.device_id,
                prefix=topics.prefix,
                interval=0.02,
                seed=3,
                connection=connection(),
            )
        )
        assert isinstance(oven, EsphomeOvenSimulator)
        await until(lambda: len(seen.on(topics.state)) >= 3)
        assert seen.on(topics.status)[0] == "online"
        assert await retained(topics.status) == "online"
        # The bare reading, one decimal, as ESPHome's sensor with accuracy_decimals: 1.
        assert all(re.fullmatch(READING, reading) for reading in seen.on(topics.state))
        assert oven.measuring is False

        await publish(topics.command, "START")
        await until(lambda: oven.measuring)
        # Only the exact words count, as ESPHome's on_message with payload: START.
        for junk in ("start", " STOP", "STOP\n", "", "\xff"):
            await publish(topics.command, junk.encode("latin-1"))
        await until(lambda: len(oven.ignored) == 5)
        assert oven.measuring is True
        await publish(topics.command, "STOP")
        await until(lambda: not oven.measuring)
        assert oven.commands == ["START", "STOP"]
        readings = oven.readings_sent
        await until(lambda: oven.readings_sent > readings)  # still publishing

        oven.stop()
        await until(lambda: seen.on(topics.status)[-1:] == ["offline"])
    assert await retained(topics.status) == "offline"  # the shutdown message, retained
    # Nothing else but the contract's topics.
    assert {t for t, _, _ in seen.seen} == {topics.state, topics.status, topics.command}


@pytest.mark.parametrize(
    ("kill", "exit_code"), [(signal.SIGKILL, -signal.SIGKILL), (signal.SIGTERM, 0)]
)
async def test_oven_process_killed_leaves_its_will(
    topics: Topics, clean_broker: None, kill: signal.Signals, exit_code: int
) -> None:
    """SIGKILL: the broker publishes the last will. SIGTERM: the oven says offline itself."""
    async with observe(topics.status) as seen:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simulators.esphome_oven",
            "--id",
            topics.device_id,
            "--prefix",
            topics.prefix,
            "--broker",
            BROKER,
            "--port",
            str(PORT),
            "--clean-session",
            "--interval",
            "0.2",
            "-q",
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            await until(lambda: seen.on(topics.status) == ["online"], timeout=30)
        finally:
            process.send_signal(kill)
            assert await process.wait() == exit_code
        await until(lambda: seen.on(topics.status) == ["online", "offline"])
    assert await retained(topics.status) == "offline"


def test_oven_command_line_refuses_a_bad_id() -> None:
    with pytest.raises(SystemExit) as exited:
        esphome_oven.main(["--id", "a/b"])
    assert exited.value.code == 2
    with pytest.raises(ValueError, match="interval"):
        EsphomeOvenSimulator("oven1", interval=0)


# -- the appliance -------------------------------------------------------------------------


def _decoded(payload: str) -> dict[str, object]:
    data = json.loads(payload)
    assert isinstance(data, dict)
    return data


async def test_appliance_follows_the_retained_configuration(topics: Topics, run: Run) -> None:
    serial = topics.device_id
    await publish(topics.config, '{"modo":"manual","encendido":true}', retain=True)
    async with observe(f"{topics.prefix}/{serial}/#") as seen:
        device = run(
            ApplianceSimulator(
                serial, prefix=topics.prefix, interval=3600, seed=1, connection=connection()
            )
        )
        assert isinstance(device, ApplianceSimulator)
        await until(lambda: device.relay)
        await until(lambda: len(seen.on(topics.state)) == 2)
        booted, configured = (_decoded(p) for p in seen.on(topics.state))
        # Off while booting (ALWAYS_OFF), then the retained configuration switches it on.
        assert booted["estado"] == "inactivo"
        assert configured["estado"] == "activo"
        assert device.modo == "manual"
        payload = seen.on(topics.state)[1]
        assert list(configured) == ["serial_number", "estado", "parametros"]
        assert configured["serial_number"] == serial
        assert " " not in payload  # compact, as ArduinoJson writes it
        parametros = configured["parametros"]
        assert isinstance(parametros, dict)
        assert list(parametros) == ["temp", "watts"]
        assert parametros["watts"] > 0

        # Schedule mode: HA evaluates the schedule and sends encendido.
        await publish(topics.config, '{"modo":"horario","encendido":false}', retain=True)
        await until(lambda: len(seen.on(topics.state)) == 3)
        off = _decoded(seen.on(topics.state)[2])
        assert off["estado"] == "inactivo"
        assert off["parametros"] == {"temp": off["parametros"]["temp"], "watts": 0}  # type: ignore[index]
        assert (device.relay, device.modo) == (False, "horario")

        # The same again: the relay stays, the state is confirmed once.
        await publish(topics.config, '{"modo":"horario","encendido":false}', retain=True)
        await until(lambda: len(seen.on(topics.state)) == 4)
        # No boolean encendido: relay unchanged, confirmed. JSON that is not an object is an
        # empty object to ESPHome (the same). Not JSON at all: ignored, as ESPHome ignores it.
        for config in ('{"modo":"manual","encendido":"yes"}', "[1, 2]", "not json", "null"):
            await publish(topics.config, config, retain=True)
        await until(lambda: len(device.rejected) == 2)
        await until(lambda: len(seen.on(topics.state)) == 6)
        assert device.relay is False
        assert device.modo == "manual"
        await publish(topics.config, '{"encendido":true,"horarios":{"raw":1}}', retain=True)
        await until(lambda: device.relay)
        await until(lambda: _decoded(seen.on(topics.state)[-1])["estado"] == "activo")
        assert device.states_sent == seen.on(topics.state)
        assert seen.on(topics.status)[0] == "online"


async def test_appliance_reports_on_its_interval(topics: Topics, run: Run) -> None:
    async with observe(topics.state) as seen:
        run(
            ApplianceSimulator(
                topics.device_id, prefix=topics.prefix, interval=0.02, connection=connection()
            )
        )
        await until(lambda: len(seen.seen) >= 4)
    assert all(_decoded(payload)["estado"] == "inactivo" for _, payload, _ in seen.seen)


async def test_appliance_as_unmodified_legacy_firmware(topics: Topics, clean_broker: None) -> None:
    """--legacy-topic: the bare JSON on that topic; no status, no configuration followed."""
    legacy = f"legacy_test/{topics.device_id}"
    await publish(topics.config, '{"modo":"manual","encendido":false}', retain=True)
    async with observe(f"{topics.prefix}/{topics.device_id}/#") as ours, observe(legacy) as theirs:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "simulators.appliance",
            "--serial",
            topics.device_id,
            "--broker",
            BROKER,
            "--port",
            str(PORT),
            "--prefix",
            topics.prefix,
            "--legacy-topic",
            legacy,
            "--encendido",
            "--interval",
            "0.05",
            "--clean-session",
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            await until(lambda: len(theirs.seen) >= 3, timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
    for _, payload, _ in theirs.seen:
        data = _decoded(payload)
        assert data["serial_number"] == topics.device_id
        assert data["estado"] == "activo"  # --encendido; the configuration is not followed
    # Nothing on iot_hub's topics but the test's own configuration.
    assert [topic for topic, _, _ in ours.seen] == [topics.config]


def test_appliance_command_line_and_checks() -> None:
    for argv in (["--serial", "with space"], ["--serial", "S1", "--legacy-topic", "a/#"]):
        with pytest.raises(SystemExit) as exited:
            appliance_module.main(argv)
        assert exited.value.code == 2
    with pytest.raises(ValueError, match="interval"):
        ApplianceSimulator("S1", interval=-1)
    assert check_topic_id("APL0001") == "APL0001"
    assert check_publish_topic("dispositivos/x") == "dispositivos/x"
    # ArduinoJson writes 61.0 as 61 and keeps one decimal otherwise.
    assert [arduinojson_number(v) for v in (61.0, 0.0, 23.44, 23.46)] == [61, 0, 23.4, 23.5]
    model = ApplianceModel(rated_watts=100.0)
    assert model.read(0.0, on=False)["watts"] == 0
    warm = [model.read(600.0, on=True)["temp"] for _ in range(5)][-1]
    assert warm > 25  # the load warms the probe toward ambient + 8 °C


# -- reconnection after a broker restart -----------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((BROKER, 0))
        port: int = probe.getsockname()[1]
        return port


async def _start_broker(port: int, folder: Path) -> asyncio.subprocess.Process:
    config = folder / "mosquitto.conf"
    config.write_text(f"listener {port} {BROKER}\nallow_anonymous true\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        shutil.which("mosquitto") or "/usr/sbin/mosquitto",
        "-c",
        str(config),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )

    async def answers() -> bool:
        try:
            _, writer = await asyncio.open_connection(BROKER, port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True

    async with asyncio.timeout(10):
        while not await answers():
            await asyncio.sleep(0.05)
    return process


async def test_appliance_reconnects_after_a_broker_restart(tmp_path: Path, run: Run) -> None:
    port = _free_port()
    broker = await _start_broker(port, tmp_path)
    device = run(
        ApplianceSimulator(
            "RESTART1",
            interval=3600,
            connection=MqttConnection(port=port, initial_backoff=0.05, max_backoff=0.2),
        )
    )
    assert isinstance(device, ApplianceSimulator)
    try:
        await until(device.connected.is_set)
        broker.terminate()
        await broker.wait()
        await until(lambda: not device.connected.is_set())
        broker = await _start_broker(port, tmp_path)
        await until(lambda: device.connections == 2, timeout=10)
        await until(device.connected.is_set)
        # Back online: birth again, then the configuration is followed again.
        assert await retained("iot_hub/RESTART1/status", port) == "online"
        await publish("iot_hub/RESTART1/config", '{"encendido":true}', retain=True, port=port)
        await until(lambda: device.relay)
    finally:
        device.stop()
        await until(lambda: not device.connected.is_set())
        broker.terminate()
        await broker.wait()
