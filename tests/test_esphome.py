"""The ESPHome configurations in simulators/esphome/: valid for ESPHome, and true to the contract.

Two kinds of checks:

* ``esphome config`` (ESPHome from PyPI, in its own virtualenv made by
  ``scripts/esphome-env``, because its pins clash with Home Assistant's) accepts each file,
  copied alone with the example ``secrets.yaml`` into an empty folder, as a user would. If
  that virtualenv cannot be built the tests FAIL; ``IOT_HUB_SKIP_ESPHOME=1`` opts out (they
  are then skipped, saying why). The first build takes about a minute; later runs reuse it.
* The YAML, read with a loader that tolerates ESPHome's tags, publishes and follows exactly
  iot_hub's topic contract, and exactly what the simulators (``simulators.esphome_oven``,
  ``simulators.appliance``) publish: same topics, same payload shapes, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import os
from pathlib import Path
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from custom_components.iot_hub.kinds.sensor.codec import decode_reading
from simulators import appliance as appliance_sim, esphome_oven, oven
from simulators.mqtt_device import OFFLINE, ONLINE, Topics

ROOT = Path(__file__).resolve().parent.parent
ESPHOME_DIR = ROOT / "simulators" / "esphome"
OVEN_YAML = ESPHOME_DIR / "oven.yaml"
APPLIANCE_YAML = ESPHOME_DIR / "appliance.yaml"
ENVIRONMENT_YAML = ESPHOME_DIR / "environment.yaml"
# Platforms with sub-sensors: a meter (hlw8012) and a DHT (temperature and humidity).
METER_PARTS = ("power", "voltage", "current", "energy", "temperature", "humidity")
ENTITY_DOMAINS = ("sensor", "binary_sensor", "switch", "text_sensor", "number", "select", "button")


# -- reading ESPHome YAML without ESPHome ------------------------------------------------


class Tagged:
    """A value behind an ESPHome tag (``!secret``, ``!lambda``, ...), kept as written."""

    def __init__(self, tag: str, value: Any) -> None:
        self.tag, self.value = tag, value

    def __repr__(self) -> str:
        return f"{self.tag} {self.value!r}"


class EsphomeLoader(yaml.SafeLoader):
    """yaml's safe loader, plus any ``!tag`` as a ``Tagged`` value."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tagged:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    return Tagged(f"!{suffix}", value)


EsphomeLoader.add_multi_constructor("!", _tagged)


def _substitute(value: Any, substitutions: dict[str, str]) -> Any:
    """``${name}`` replaced everywhere, as ESPHome's substitutions do."""
    if isinstance(value, str):
        return re.sub(
            r"\$\{(\w+)\}|\$(\w+)",
            lambda m: str(substitutions[m.group(1) or m.group(2)]),
            value,
        )
    if isinstance(value, list):
        return [_substitute(item, substitutions) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, substitutions) for key, item in value.items()}
    if isinstance(value, Tagged):
        return Tagged(value.tag, _substitute(value.value, substitutions))
    return value


def load(path: Path) -> dict[str, Any]:
    """The configuration with its substitutions applied (as ESPHome would)."""
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=EsphomeLoader)
    substitutions = {key: str(value) for key, value in raw.pop("substitutions").items()}
    config = _substitute(raw, substitutions)
    config["substitutions"] = substitutions
    return config


def entities(config: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every entity of the configuration, with its domain (hlw8012's sub-sensors too)."""
    for domain in ENTITY_DOMAINS:
        for entity in config.get(domain, []):
            parts = [entity[key] for key in METER_PARTS if isinstance(entity.get(key), dict)]
            # A meter platform (hlw8012) is no entity itself: its configured parts are.
            yield from ((domain, part) for part in parts or [entity])


def lambda_text(value: Any) -> str:
    assert isinstance(value, str | Tagged), value
    return value.value if isinstance(value, Tagged) else value


def published_keys(code: str, target: str) -> list[str]:
    """The keys a publish_json lambda sets on ``target`` (``root`` or a nested object), in order."""
    return re.findall(rf'\b{target}\["(\w+)"\](?:\s*=|\.to<)', code)


# -- the contract, checked in the YAML -----------------------------------------------------


def _load_checked(path: Path, id_key: str) -> tuple[dict[str, Any], dict[str, Any], Topics]:
    """The configuration, its substitutions and its topics, its MQTT basics checked."""
    config = load(path)
    subs = config["substitutions"]
    topics = Topics(subs["prefix"], subs[id_key])
    mqtt = config["mqtt"]
    assert mqtt["topic_prefix"] == f"{topics.prefix}/{topics.device_id}"
    # No HA MQTT discovery (duplicates of iot_hub's entities), no ESPHome dashboard
    # discovery, no log topic: only the contract's topics carry anything.
    assert mqtt["discovery"] is False
    assert mqtt["discover_ip"] is False
    assert "log_topic" in mqtt
    assert mqtt["log_topic"] is None
    for key, payload in (
        ("birth_message", ONLINE),
        ("will_message", OFFLINE),
        ("shutdown_message", OFFLINE),
    ):
        assert mqtt[key] == {"topic": topics.status, "payload": payload, "qos": 1, "retain": True}
    assert "api" not in config
    return config, subs, topics


def test_oven_yaml_follows_the_contract() -> None:
    config, _, topics = _load_checked(OVEN_YAML, "device_id")

    commands = config["mqtt"]["on_message"]
    assert {(c["topic"], c["payload"], c["qos"]) for c in commands} == {
        (topics.command, "START", 1),
        (topics.command, "STOP", 1),
    }
    # The simulator follows the very same payloads, nothing else.
    assert {c["payload"].encode() for c in commands} == set(esphome_oven.COMMANDS)
    for command in commands:
        (action,) = [a for a in command["then"] if "binary_sensor.template.publish" in a]
        publish = action["binary_sensor.template.publish"]
        assert publish == {"id": "measuring", "state": command["payload"] == "START"}

    published = [entity for _, entity in entities(config) if not entity.get("internal")]
    (sensor,) = published
    assert sensor["platform"] in {"max6675", "max31855", "dallas_temp"}
    assert sensor["state_topic"] == topics.state
    assert sensor["retain"] is False
    assert sensor["accuracy_decimals"] == 1  # "23.5", as simulators.oven.format_reading
    assert oven.format_reading(23.456) == "23.5"
    assert {"filter_out": "nan"} in sensor["filters"]
    assert sensor["update_interval"] == f"{esphome_oven.DEFAULT_INTERVAL:g}s"
    (measuring,) = [e for d, e in entities(config) if d == "binary_sensor"]
    assert measuring["id"] == "measuring"
    assert measuring["internal"] is True


def test_appliance_yaml_follows_the_contract() -> None:
    config, subs, topics = _load_checked(APPLIANCE_YAML, "serial")
    # Every entity is internal: the state JSON is the only thing published about them.
    assert all(entity.get("internal") is True for _, entity in entities(config))

    (on_config,) = config["mqtt"]["on_json_message"]
    assert on_config["topic"] == topics.config
    assert on_config["qos"] == 1
    handler = lambda_text(on_config["then"][0]["lambda"])
    assert 'x["modo"]' in handler
    assert 'x["encendido"].is<bool>()' in handler
    assert "id(relay).turn_on()" in handler
    assert "id(relay).turn_off()" in handler

    (script,) = config["script"]
    assert script["id"] == "publish_state"
    (action,) = script["then"]
    publish = action["mqtt.publish_json"]
    assert publish["topic"] == topics.state
    assert publish["qos"] == 1
    assert publish["retain"] is False
    code = lambda_text(publish["payload"])
    # The seed's keys, in the seed's order; estado from the relay.
    assert published_keys(code, "root") == ["serial_number", "estado", "parametros"]
    assert f'root["serial_number"] = "{subs["serial"]}";' in code
    assert 'id(relay).state ? "activo" : "inactivo"' in code
    parametros = published_keys(code, "parametros")
    assert parametros == ["temp", "watts"]

    # The simulator publishes the same JSON shape.
    payload = appliance_sim.state_payload(
        subs["serial"], True, appliance_sim.ApplianceModel().read(1.0, on=True)
    )
    assert re.fullmatch(r'\{"serial_number":"\w+","estado":"activo","parametros":\{.*\}\}', payload)
    assert list(json.loads(payload)) == ["serial_number", "estado", "parametros"]
    assert list(json.loads(payload)["parametros"]) == parametros

    # When it publishes: on connecting, on every relay change, and on an interval.
    assert {"script.execute": "publish_state"} in config["mqtt"]["on_connect"]
    (relay,) = config["switch"]
    assert relay["id"] == "relay"
    assert relay["restore_mode"] == "ALWAYS_OFF"
    assert {"script.execute": "publish_state"} in relay["on_state"]
    (interval,) = config["interval"]
    assert interval["interval"] == f"{appliance_sim.DEFAULT_INTERVAL:g}s"
    assert interval["then"] == [{"script.execute": "publish_state"}]
    (mode,) = config["text_sensor"]
    assert mode["id"] == "modo"


def test_environment_yaml_follows_the_contract() -> None:
    """Seed 001's reading keys, in its order, on the state topic; every entity internal."""
    config, subs, topics = _load_checked(ENVIRONMENT_YAML, "device_id")
    assert all(entity.get("internal") is True for _, entity in entities(config))
    (dht,) = config["sensor"]
    assert dht["platform"] == "dht"
    assert dht["humidity"]["on_value"] == [{"script.execute": "publish_reading"}]

    (script,) = config["script"]
    assert script["id"] == "publish_reading"
    (action,) = script["then"]
    publish = action["mqtt.publish_json"]
    assert publish["topic"] == topics.state
    assert (publish["qos"], publish["retain"]) == (1, False)
    code = lambda_text(publish["payload"])
    assert published_keys(code, "root") == ["sensor_id", "temperatura", "humedad"]
    assert f'root["sensor_id"] = {subs["sensor_id"]};' in code
    # What iot_hub reads of it: the sensor kind's codec takes exactly this shape.
    reading = decode_reading(json.dumps({"sensor_id": 1, "temperatura": 23.5, "humedad": 65.2}))
    assert reading.values == {"temperatura": 23.5, "humedad": 65.2}


def test_example_secrets_cover_every_file() -> None:
    secrets = yaml.safe_load((ESPHOME_DIR / "secrets.yaml").read_text(encoding="utf-8"))
    for path in (OVEN_YAML, APPLIANCE_YAML, ENVIRONMENT_YAML):
        used = set(re.findall(r"!secret\s+(\w+)", path.read_text(encoding="utf-8")))
        assert used
        assert used <= set(secrets)


# -- esphome config ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def esphome() -> str:
    """The ``esphome`` program of .venv-esphome, built by scripts/esphome-env if needed."""
    if os.environ.get("IOT_HUB_SKIP_ESPHOME") == "1":
        pytest.skip("IOT_HUB_SKIP_ESPHOME=1: ESPHome's validation is not run")
    result = subprocess.run(
        [str(ROOT / "scripts" / "esphome-env")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            "scripts/esphome-env could not build ESPHome's environment (set "
            f"IOT_HUB_SKIP_ESPHOME=1 to skip these tests):\n{result.stderr[-3000:]}"
        )
    return result.stdout.strip().splitlines()[-1]


def _esphome_config(esphome: str, folder: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [esphome, "config", name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _clean_copy(tmp_path: Path, source: Path) -> Path:
    shutil.copy(source, tmp_path / source.name)
    shutil.copy(ESPHOME_DIR / "secrets.yaml", tmp_path / "secrets.yaml")
    return tmp_path


@pytest.mark.parametrize(
    "source", [OVEN_YAML, APPLIANCE_YAML, ENVIRONMENT_YAML], ids=lambda p: p.name
)
def test_esphome_accepts_the_configuration(esphome: str, tmp_path: Path, source: Path) -> None:
    folder = _clean_copy(tmp_path, source)
    result = _esphome_config(esphome, folder, source.name)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Configuration is valid!" in result.stdout + result.stderr
    # ESPHome resolved the substitutions to the contract's topics.
    assert "state_topic: iot_hub/oven1/state" in result.stdout or source != OVEN_YAML
    assert "topic: iot_hub/APL0001ESP32/config" in result.stdout or source != APPLIANCE_YAML
    assert "topic: iot_hub/env1/state" in result.stdout or source != ENVIRONMENT_YAML


def test_esphome_rejects_a_broken_configuration(esphome: str, tmp_path: Path) -> None:
    """The check above can fail: an invalid QoS and a missing secret are refused."""
    folder = _clean_copy(tmp_path, OVEN_YAML)
    text = (folder / "oven.yaml").read_text(encoding="utf-8")
    (folder / "oven.yaml").write_text(text.replace("qos: 1", "qos: 3", 1), encoding="utf-8")
    assert _esphome_config(esphome, folder, "oven.yaml").returncode != 0

    folder = _clean_copy(tmp_path, APPLIANCE_YAML)
    (folder / "secrets.yaml").write_text('wifi_ssid: "x"\n', encoding="utf-8")
    assert _esphome_config(esphome, folder, "appliance.yaml").returncode != 0
