"""Prepares the development Home Assistant of scripts/develop through HA's own HTTP APIs.

Waits for HA to answer, finishes onboarding with the user ``dev`` (password ``dev``), keeps a
long-lived token of that user in ``config/.dev_token`` and, with ``--demo``, adds through the
config-flow APIs HA's MQTT integration (the local Mosquitto), the IoT Hub entry, a "Demo
oven", a "Demo charger" (station 1), the NFC card its simulator presents, an energy price and
a "Demo ESPHome oven" over MQTT, a "Demo environment sensor" (seed 001's sensor 1, a DHT22)
and a "Demo wearable" (seed 004's consumer 22), keeping the device tokens (shown only once) in
``config/.demo_<simulator>_token`` for scripts/develop to start the simulators with; each
sensor sends one reading at once, so its sensors exist for the dashboard. It then claims the appliance "Demo plug" (serial ``DEMOPLUG0001``) as the
legacy app would (``POST /api/iot_hub/dispositivos/reclamar``) and puts it on a schedule
helper it creates; the appliance ``DEMOHEATER01`` is left unclaimed, in *Discovered*. Every
step is skipped when already done; without ``--demo`` the demo devices, card and schedule of
an earlier run are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime
import json
import os
from pathlib import Path
import re
import sys
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp

USERNAME: Final = "dev"
PASSWORD: Final = "dev"
# Written by scripts/develop for the first start only (see confirm_http_config).
FIRST_START_HTTP: Final = "packages/first_start_http.yaml"
STARTUP_TIMEOUT: Final = 900  # seconds; the first start installs the frontend and friends
ONBOARDING_STEPS: Final = ("user", "core_config", "analytics", "integration")
# Config entries that onboarding adds on its own and that only work with the internet.
ONBOARDING_ONLINE_DOMAINS: Final = ("google_translate", "radio_browser")
# The card the demo charger's simulator presents: the legacy protocol document's example.
DEMO_CARD_UID: Final = "VIRTUAL-1-A4F2E8"
DEMO_CARD_USER: Final = "Juan Pérez"
DEMO_PRICE: Final = 0.25  # per kWh, in Home Assistant's currency
# The broker scripts/develop's MQTT devices and HA's MQTT integration use.
MQTT_BROKER: Final = "127.0.0.1"
MQTT_PORT: Final = 1883
# The demo's appliances (seed 003), as scripts/develop runs their simulators.
DEMO_PLUG_SERIAL: Final = "DEMOPLUG0001"
DEMO_UNCLAIMED_SERIAL: Final = "DEMOHEATER01"
DEMO_PLUG_CLAIM: Final = {  # the keys of the seed's QR code
    "serial_number": DEMO_PLUG_SERIAL,
    "nombre": "Demo plug",
    "tipo": "enchufe",
    "modelo": "ESP32 relay",
    "descripcion": "A lamp on a schedule (simulators/appliance.py)",
    "configuracion": {"modo": "horario"},
}
DEMO_PLUG_AREA: Final = "Living room"
DEMO_PLUG_FAVORITES: Final = ("encendido", "estado", "modo", "parametro_watts")
DEMO_SCHEDULE: Final = "Demo plug schedule"
DEMO_SCHEDULE_ICON: Final = "mdi:calendar-clock"
DEMO_SCHEDULE_ON_MINUTES: Final = 5  # on for 5 minutes in every 10, so it is seen switching
DEMO_SCHEDULE_PERIOD: Final = 10
# Seed 004's consumer id of the demo wearable: its live streams are /api/iot_hub/ws/<stream>/22/.
DEMO_CONSUMER: Final = "22"
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """A device of the demo: its token file in config/ (or MQTT id), area and favorites."""

    name: str
    kind: str
    token_file: str | None  # None: an MQTT device (the broker, not a token, lets it in)
    area: str
    favorites: tuple[str, ...]  # entity keys (the unique ids' suffixes)
    hint: str
    station: str | None = None  # a charger's station id
    mqtt_id: str | None = None  # an MQTT device's topic id
    # The kind's own fields (a sensor's sensor_id, tipo, modelo, consumer_id).
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Sent once over the device WebSocket when added, so a sensor's entities exist at once.
    first_reading: dict[str, float] | None = None


DEMO_DEVICES: Final = (
    DemoDevice(
        name="Demo oven",
        kind="oven",
        token_file=".demo_oven_token",
        area="Kitchen",
        favorites=("temperature", "session_state", "start_session", "stop_session"),
        hint="its Start session button starts a measurement session",
    ),
    DemoDevice(
        name="Demo charger",
        kind="charger",
        token_file=".demo_charger_token",
        area="Garage",
        favorites=(
            "charger_state",
            "power",
            "session_energy",
            "lifetime_energy",
            "start_session",
            "stop_session",
        ),
        hint=f"its simulator presents {DEMO_CARD_USER}'s card and charges now and then",
        station="1",  # scripts/develop runs the charger simulator with --station 1
    ),
    DemoDevice(
        name="Demo ESPHome oven",
        kind="oven",
        token_file=None,
        area="Kitchen",
        favorites=("temperature",),
        hint="an ESPHome oven over MQTT: topics iot_hub/demo_esphome_oven/...",
        mqtt_id="demo_esphome_oven",  # scripts/develop runs simulators.esphome_oven --id this
    ),
    DemoDevice(
        name="Demo environment sensor",
        kind="sensor",
        # scripts/develop's simulate() reads .demo_<simulator module>_token.
        token_file=".demo_environment_sensor_token",
        area="Living room",
        favorites=("value_temperatura", "value_humedad", "problem"),
        hint="seed 001's sensor 1 (DHT22), a reading a second, a spike now and then",
        fields={
            "sensor_id": 1,
            "tipo": "temperatura",
            "modelo": "DHT22",
            # The simulator's spike (120 °C) is an anomaly: the problem sensor shows it.
            "anomaly_rules": {"temperatura": {"min": 5, "max": 40, "jump": 10}},
        },
        first_reading={"temperatura": 22.0, "humedad": 55.0},
    ),
    DemoDevice(
        name="Demo wearable",
        kind="sensor",
        token_file=".demo_wearable_token",
        area="Living room",
        favorites=("value_heart_rate", "value_accel_z"),
        hint=f"seed 004's consumer {DEMO_CONSUMER}: motion, heart rate and desires",
        fields={
            "sensor_id": 2,
            "tipo": "wearable",
            "modelo": "MPU6050",
            "consumer_id": DEMO_CONSUMER,
        },
        # Every key its simulator sends but the occasional desire: their sensors are named
        # before the device is put in its area.
        first_reading={
            **dict.fromkeys(("accel_x", "accel_y", "gyro_x", "gyro_y", "gyro_z"), 0.0),
            "accel_z": 9.81,
            "heart_rate": 62,
        },
    ),
)


def say(message: str) -> None:
    """A line on the terminal, between Home Assistant's log lines."""
    sys.stderr.write(f"\033[1;32m[develop]\033[0m {message}\n")


class BootstrapError(Exception):
    """A step failed; the message says which and why."""


class Api:
    """Home Assistant's REST and WebSocket APIs at ``base``."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        """Talk to the HA at ``base`` (``http://host:port``)."""
        self._session = session
        self.base = base
        self.client_id = f"{base}/"  # IndieAuth client id: HA's own frontend
        self.token = ""
        self._sock: aiohttp.ClientWebSocketResponse | None = None
        self._last_id = 0

    async def call(
        self, method: str, path: str, json: Any = None, *, auth: bool = True, form: Any = None
    ) -> Any:
        """A JSON request; raises ``BootstrapError`` on any status but 200."""
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        async with self._session.request(
            method, self.base + path, json=json, data=form, headers=headers
        ) as resp:
            if resp.status != 200:
                raise BootstrapError(f"{method} {path}: {resp.status} {await resp.text()}")
            return await resp.json()

    async def ws(self, command: dict[str, Any]) -> Any:
        """One command over /api/websocket (opened on first use); returns its result."""
        if self._sock is None:
            self._sock = await self._session.ws_connect(f"{self.base}/api/websocket")
            await self._sock.receive_json()  # auth_required
            await self._sock.send_json({"type": "auth", "access_token": self.token})
            if (reply := await self._sock.receive_json())["type"] != "auth_ok":
                raise BootstrapError(f"websocket auth: {reply}")
        self._last_id += 1
        await self._sock.send_json({"id": self._last_id, **command})
        reply = await self._sock.receive_json()
        if not reply.get("success"):
            raise BootstrapError(f"{command['type']}: {reply.get('error')}")
        return reply["result"]

    async def send_reading(self, device_token: str, reading: dict[str, float]) -> None:
        """One reading over the device WebSocket, as the device would send it."""
        url = f"{self.base.replace('http', 'ws', 1)}/api/iot_hub/ws"
        async with self._session.ws_connect(url, params={"token": device_token}) as sock:
            await sock.send_str(json.dumps(reading))

    async def wait_until_up(self) -> dict[str, bool]:
        """Onboarding's steps, once HA's frontend (which needs onboarding) is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        while True:
            try:
                async with self._session.get(f"{self.base}/manifest.json") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            if loop.time() > deadline:
                raise BootstrapError(f"{self.base} did not answer in time")
            await asyncio.sleep(0.5)
        async with self._session.get(f"{self.base}/api/onboarding") as resp:
            if resp.status == 404:  # onboarded: its views are gone
                return dict.fromkeys(ONBOARDING_STEPS, True)
            resp.raise_for_status()
            return {step["step"]: step["done"] for step in await resp.json()}

    async def wait_until_running(self) -> None:
        """Wait for HA to have started (its HTTP API answers before every integration is up).

        Discovery flows found while it starts are created only then: removing a demo
        device's Discovered entry earlier would not last.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_TIMEOUT
        while (await self.call("GET", "/api/config"))["state"] != "RUNNING":
            if loop.time() > deadline:
                raise BootstrapError(f"{self.base} did not finish starting in time")
            await asyncio.sleep(0.5)

    async def use_tokens_for(self, code: str) -> None:
        """Exchange an authorization code for an access token and use it from now on."""
        form = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        tokens = await self.call("POST", "/auth/token", auth=False, form=form)
        self.token = tokens["access_token"]

    async def log_in(self) -> None:
        """Log in as the dev user through the login-flow API."""
        flow = await self.call(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
            auth=False,
        )
        result = await self.call(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": self.client_id, "username": USERNAME, "password": PASSWORD},
            auth=False,
        )
        if result["type"] != "create_entry":
            raise BootstrapError(
                f"cannot log in as {USERNAME}/{PASSWORD} ({result.get('errors')}); "
                "this config/ was onboarded by hand: use scripts/develop --reset"
            )
        await self.use_tokens_for(result["result"])

    async def token_works(self, token: str) -> bool:
        """Whether ``token`` is accepted by the REST API."""
        async with self._session.get(
            f"{self.base}/api/", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            return resp.status == 200


def write_secret(path: Path, value: str) -> None:
    """A token file only its owner can read."""
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(f"{value}\n", encoding="utf-8")


async def onboard(api: Api, config: Path) -> None:
    """Finish onboarding as the dev user; leave ``api`` holding a long-lived token."""
    done = await api.wait_until_up()
    if not done["user"]:
        reply = await api.call(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": api.client_id,
                "name": "Developer",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
            auth=False,
        )
        await api.use_tokens_for(reply["auth_code"])
        say(f"Created the user {USERNAME} (password {PASSWORD})")
    token_file = config / ".dev_token"
    saved = token_file.read_text(encoding="utf-8").strip() if token_file.exists() else ""
    if saved and not await api.token_works(saved):
        saved = ""
    pending = [step for step in ONBOARDING_STEPS[1:] if not done[step]]
    if not api.token and (pending or not saved):
        await api.log_in()
    for step in pending:
        body = {"client_id": api.client_id, "redirect_uri": api.client_id}
        await api.call("POST", f"/api/onboarding/{step}", body if step == "integration" else None)
    if "core_config" in pending:
        # What the frontend's onboarding would set from the browser; internal_url is the base
        # of the firmware URL that a new device's token step shows.
        await api.ws({"type": "config/core/update", "internal_url": api.base, **machine_locale()})
        await remove_online_only_entries(api)
    if pending:
        say("Onboarding finished")
    if not saved:
        saved = await api.ws(
            {
                "type": "auth/long_lived_access_token",
                "client_name": f"scripts/develop {datetime.now():%Y-%m-%d %H:%M:%S}",
                "lifespan": 3650,
            }
        )
        write_secret(token_file, saved)
    api.token = saved
    await confirm_http_config(api, config)


def machine_locale() -> dict[str, str]:
    """This machine's time zone and (from its locale) country, when it says."""
    found: dict[str, str] = {}
    if (zone := Path("/etc/timezone")).exists():
        found["time_zone"] = zone.read_text(encoding="utf-8").strip()
    language = os.environ.get("LC_ALL") or os.environ.get("LANG") or ""
    if match := re.match(r"[a-z]{2,3}_([A-Z]{2})\b", language):
        found["country"] = match[1]
    return found


async def confirm_http_config(api: Api, config: Path) -> None:
    """Keep the 127.0.0.1-only HTTP settings imported from YAML on the first start.

    Since 2026.10 HA keeps them in .storage/http; imported ones are on trial and revert (with a
    restart, to listening on every interface) unless confirmed within five minutes. Confirmed,
    the YAML is obsolete: remove it, or HA raises a repair issue about it on every start.
    """
    http = await api.ws({"type": "http/config"})
    if http["active_config_type"] == "pending":
        await api.ws({"type": "http/config/promote"})
        issue = {"domain": "http", "issue_id": "deprecated_yaml", "ignore": True}
        await api.ws({"type": "repairs/ignore_issue", **issue})
        say("Confirmed the HTTP settings (127.0.0.1 only)")
    elif http["stable"].get("server_host") != [urlsplit(api.base).hostname]:
        say(
            "\033[1;33mHome Assistant listens on every interface:\033[0m set 127.0.0.1 in "
            "Settings > System > Network, or start over with scripts/develop --reset"
        )
    (config / FIRST_START_HTTP).unlink(missing_ok=True)


async def remove_online_only_entries(api: Api) -> None:
    """Onboarding adds Radio Browser and Google Translate; offline they only log failures."""
    for _ in range(200):  # their flows install requirements first
        entries = [
            entry
            for domain in ONBOARDING_ONLINE_DOMAINS
            for entry in await api.call("GET", f"/api/config/config_entries/entry?domain={domain}")
        ]
        if len(entries) == len(ONBOARDING_ONLINE_DOMAINS):
            break
        await asyncio.sleep(0.1)
    for entry in entries:
        await api.call("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")


async def hub_entry_id(api: Api) -> str:
    """The IoT Hub entry (added if missing), once it is loaded."""
    path = "/api/config/config_entries/entry?domain=iot_hub"
    if not (entries := await api.call("GET", path)):
        flow = await api.call("POST", "/api/config/config_entries/flow", {"handler": "iot_hub"})
        created = await api.call("POST", f"/api/config/config_entries/flow/{flow['flow_id']}", {})
        say("Added the IoT Hub integration")
        return str(created["result"]["entry_id"])
    for _ in range(300):  # HA answers before it has set the entry up; devices get 503
        if entries[0]["state"] == "loaded":
            break
        await asyncio.sleep(0.1)
        entries = await api.call("GET", path)
    return str(entries[0]["entry_id"])


async def subentries(api: Api, entry_id: str) -> list[dict[str, Any]]:
    """The hub's devices and cards."""
    return list(await api.ws({"type": "config_entries/subentries/list", "entry_id": entry_id}))


def form_defaults(step: dict[str, Any]) -> dict[str, Any]:
    """A form's answer that keeps every field with a default (the current value) as it is."""
    return {field["name"]: field["default"] for field in step["data_schema"] if "default" in field}


def form_values(step: dict[str, Any]) -> dict[str, Any]:
    """A form's answer that keeps what it shows: defaults and suggested (entered) values."""
    values = form_defaults(step)
    for field in step["data_schema"]:
        suggested = field.get("description", {}).get("suggested_value")
        if suggested is not None:
            values[field["name"]] = suggested
    return values


async def add_demo_device(api: Api, config: Path, entry_id: str, device: DemoDevice) -> None:
    """Add a demo device if missing, or issue it a new token if its token file was lost."""
    if device.token_file is None:
        await add_demo_mqtt_device(api, entry_id, device)
        return
    token_file = config / device.token_file
    subs = await subentries(api, entry_id)
    existing = next((sub for sub in subs if sub["title"] == device.name), None)
    if existing is not None and token_file.exists():
        return
    flows = "/api/config/config_entries/subentries/flow"
    start: dict[str, Any] = {"handler": [entry_id, "device"]}
    if existing is None:
        step = await api.call("POST", flows, start)
        step = await api.call(
            "POST", f"{flows}/{step['flow_id']}", {"name": device.name, "kind": device.kind}
        )
        if step.get("step_id") == "details":
            # The kind's own fields: a charger's station, a sensor's numbers and rules, an
            # oven's optional target temperature (left empty).
            details = dict(device.fields)
            if device.station is not None:
                details["station_id"] = device.station
            step = await api.call("POST", f"{flows}/{step['flow_id']}", details)
    else:  # the token is shown only once: issue a new one, keeping the rest of the form
        step = await api.call("POST", flows, {**start, "subentry_id": existing["subentry_id"]})
        step = await api.call(
            "POST", f"{flows}/{step['flow_id']}", {**form_defaults(step), "rotate_token": True}
        )
    if step.get("step_id") != "token":
        raise BootstrapError(f"adding {device.name}: expected the token step, got {step}")
    await api.call("POST", f"{flows}/{step['flow_id']}", {})
    token = step["description_placeholders"]["token"]
    write_secret(token_file, token)
    if existing is None:
        say(f"Added the device {device.name}")
        if device.first_reading is not None:
            await api.send_reading(token, device.first_reading)
        await show_on_dashboard(api, device.name, device.area, device.favorites)
    else:
        say(f"Issued a new token for {device.name} ({token_file.name} was missing)")


async def add_demo_mqtt_device(api: Api, entry_id: str, device: DemoDevice) -> None:
    """Add a demo device with transport MQTT if missing: its topics instead of a token."""
    if any(sub["title"] == device.name for sub in await subentries(api, entry_id)):
        return
    flows = "/api/config/config_entries/subentries/flow"
    step = await api.call("POST", flows, {"handler": [entry_id, "device"]})
    answers: tuple[dict[str, Any], ...] = (
        {"name": device.name, "kind": device.kind, "transport": "mqtt"},
        {"mqtt_id": device.mqtt_id},
        {},  # the topics step: it only shows them
    )
    for answer in answers:
        step = await api.call("POST", f"{flows}/{step['flow_id']}", answer)
    if step.get("type") != "create_entry":
        raise BootstrapError(f"adding {device.name}: expected the device, got {step}")
    say(f"Added the device {device.name} (MQTT)")
    await show_on_dashboard(api, device.name, device.area, device.favorites)


async def mqtt_integration(api: Api) -> None:
    """Set up HA's MQTT integration on the local broker, unless it is set up."""
    if await api.call("GET", "/api/config/config_entries/entry?domain=mqtt"):
        return
    flows = "/api/config/config_entries/flow"
    step = await api.call("POST", flows, {"handler": "mqtt"})
    # The form's defaults (protocol, the expandable "other_settings" section) as the UI sends them.
    answer = {
        **form_defaults(step),
        "broker": MQTT_BROKER,
        "port": MQTT_PORT,
        "other_settings": {"set_client_cert": False, "set_ca_cert": "off", "transport": "tcp"},
    }
    step = await api.call("POST", f"{flows}/{step['flow_id']}", answer)
    if step.get("type") != "create_entry":
        raise BootstrapError(
            f"cannot set up MQTT on {MQTT_BROKER}:{MQTT_PORT} ({step.get('errors')}); "
            "is Mosquitto running? (scripts/ensure-mosquitto)"
        )
    say(f"Added the MQTT integration (broker {MQTT_BROKER}:{MQTT_PORT})")


def schedule_blocks() -> list[dict[str, str]]:
    """On for the first minutes of every period, all day."""
    blocks = []
    for start in range(0, 24 * 60, DEMO_SCHEDULE_PERIOD):
        end = start + DEMO_SCHEDULE_ON_MINUTES
        blocks.append(
            {
                "from": f"{start // 60:02}:{start % 60:02}:00",
                "to": f"{end // 60:02}:{end % 60:02}:00",
            }
        )
    return blocks


async def demo_schedule(api: Api) -> str:
    """The demo plug's schedule helper (created if missing): its entity id."""
    schedules = await api.ws({"type": "schedule/list"})
    if not (found := next((s for s in schedules if s["name"] == DEMO_SCHEDULE), None)):
        blocks = schedule_blocks()
        found = await api.ws(
            {
                "type": "schedule/create",
                "name": DEMO_SCHEDULE,
                "icon": DEMO_SCHEDULE_ICON,
                **dict.fromkeys(WEEKDAYS, blocks),
            }
        )
        say(
            f"Created the schedule helper {DEMO_SCHEDULE} (on {DEMO_SCHEDULE_ON_MINUTES} "
            f"minutes in every {DEMO_SCHEDULE_PERIOD})"
        )
    entities = await api.ws({"type": "config/entity_registry/list"})
    for entity in entities:
        if entity["platform"] == "schedule" and entity["unique_id"] == found["id"]:
            return str(entity["entity_id"])
    raise BootstrapError(f"the schedule {DEMO_SCHEDULE} has no entity")


async def add_demo_appliance(api: Api, entry_id: str) -> str:
    """Claim the demo plug as the legacy app does, and put it on the demo schedule.

    The claim sets the mode (``horario``, the seed's key); which schedule helper it follows
    is an HA setting, chosen in the device's reconfigure form. Returns its name.
    """
    schedule = await demo_schedule(api)
    subs = await subentries(api, entry_id)
    if (plug := next((s for s in subs if s["unique_id"] == DEMO_PLUG_SERIAL), None)) is None:
        await api.call("POST", "/api/iot_hub/dispositivos/reclamar", DEMO_PLUG_CLAIM)
        say(f"Claimed the appliance {DEMO_PLUG_SERIAL} as {DEMO_PLUG_CLAIM['nombre']}")
        subs = await subentries(api, entry_id)
        plug = next(s for s in subs if s["unique_id"] == DEMO_PLUG_SERIAL)
        await show_on_dashboard(api, plug["title"], DEMO_PLUG_AREA, DEMO_PLUG_FAVORITES)
    flows = "/api/config/config_entries/subentries/flow"
    start = {"handler": [entry_id, "device"], "subentry_id": plug["subentry_id"]}
    step = await api.call("POST", flows, start)
    current = form_values(step)
    if current.get("modo") == "horario" and current.get("schedule_entity") == schedule:
        await api.call("DELETE", f"{flows}/{step['flow_id']}")
        return str(plug["title"])
    answer = {**current, "modo": "horario", "schedule_entity": schedule}
    step = await api.call("POST", f"{flows}/{step['flow_id']}", answer)
    if step.get("reason") != "reconfigure_successful":
        raise BootstrapError(f"putting {plug['title']} on {schedule}: {step}")
    say(f"{plug['title']} follows {schedule}")
    return str(plug["title"])


async def add_demo_card(api: Api, entry_id: str) -> None:
    """Authorise the demo charger's card, unless it is (its uid is the subentry's unique id)."""
    if any(sub["unique_id"] == DEMO_CARD_UID for sub in await subentries(api, entry_id)):
        return
    flows = "/api/config/config_entries/subentries/flow"
    flow = await api.call("POST", flows, {"handler": [entry_id, "card"]})
    answer = {"uid": DEMO_CARD_UID, "name": DEMO_CARD_USER}
    if (await api.call("POST", f"{flows}/{flow['flow_id']}", answer))["type"] != "create_entry":
        raise BootstrapError(f"cannot authorise the card {DEMO_CARD_UID}")
    say(f"Authorised the NFC card {DEMO_CARD_UID} of {DEMO_CARD_USER}")


async def set_demo_price(api: Api, entry_id: str) -> None:
    """Set the energy price in the hub's options, unless a price (or price sensor) is set."""
    flows = "/api/config/config_entries/options/flow"
    step = await api.call("POST", flows, {"handler": entry_id})
    current = {  # the optional fields show their current value as a suggestion
        field["name"]: field.get("description", {}).get("suggested_value")
        for field in step["data_schema"]
    }
    if current["price_per_kwh"] is not None or current["price_entity"]:
        await api.call("DELETE", f"{flows}/{step['flow_id']}")
        return
    answer = {**form_defaults(step), "price_per_kwh": DEMO_PRICE}
    await api.call("POST", f"{flows}/{step['flow_id']}", answer)
    say(f"Set the energy price to {DEMO_PRICE} per kWh (IoT Hub's options)")


async def remove_demo(api: Api, config: Path) -> bool:
    """Remove the demo devices, card and schedule of an earlier run (``--no-demo``).

    The demo appliances' serials stay known to iot_hub (it keeps every serial it heard, and
    has no way to forget one): their *Discovered* entries are dismissed, on every run.
    """
    names = {device.name for device in DEMO_DEVICES}
    unique_ids = {
        DEMO_CARD_UID,
        DEMO_PLUG_SERIAL,
        DEMO_UNCLAIMED_SERIAL,
        *(device.mqtt_id for device in DEMO_DEVICES if device.mqtt_id),
    }
    removed = False
    for entry in await api.call("GET", "/api/config/config_entries/entry?domain=iot_hub"):
        for sub in await subentries(api, entry["entry_id"]):
            if sub["title"] in names or sub["unique_id"] in unique_ids:
                await api.ws(
                    {
                        "type": "config_entries/subentries/delete",
                        "entry_id": entry["entry_id"],
                        "subentry_id": sub["subentry_id"],
                    }
                )
                removed = True
    discovered = {f"appliance:{serial}" for serial in (DEMO_PLUG_SERIAL, DEMO_UNCLAIMED_SERIAL)}
    for flow in await api.ws({"type": "config_entries/flow/progress"}):
        if flow["handler"] == "iot_hub" and flow["context"].get("unique_id") in discovered:
            # iot_hub offers them again at each start: dismissed quietly, every run.
            await api.call("DELETE", f"/api/config/config_entries/flow/{flow['flow_id']}")
    if "schedule" in (await api.call("GET", "/api/config"))["components"]:
        for schedule in await api.ws({"type": "schedule/list"}):
            if schedule["name"] == DEMO_SCHEDULE:
                await api.ws({"type": "schedule/delete", "schedule_id": schedule["id"]})
                removed = True
    for device in DEMO_DEVICES:
        if device.token_file is not None:
            (config / device.token_file).unlink(missing_ok=True)
    return removed


async def demo_entities(
    api: Api, name: str, wanted: tuple[str, ...] = ()
) -> tuple[str, dict[str, str]]:
    """A demo device's id and its entities' ids by key (they appear right after it).

    ``wanted`` keys are waited for a while too: an appliance's sensors come with its first
    report.
    """
    found: tuple[str, dict[str, str]] | None = None
    for _ in range(100):
        devices = await api.ws({"type": "config/device_registry/list"})
        if device_id := next((d["id"] for d in devices if d["name"] == name), None):
            entities = await api.ws({"type": "config/entity_registry/list"})
            keys = {  # unique ids are "<device>_<key>"
                entity["unique_id"].split("_", 1)[1]: entity["entity_id"]
                for entity in entities
                if entity["device_id"] == device_id
            }
            if keys:
                found = device_id, keys
                if all(key in keys for key in wanted):
                    return found
        await asyncio.sleep(0.1)
    if found is None:
        raise BootstrapError(f"{name} has no entities")
    return found


async def show_on_dashboard(api: Api, name: str, area: str, favorite_keys: tuple[str, ...]) -> None:
    """Put a new demo device in its area and its main entities in the Overview's favorites.

    The default dashboard (the "home" strategy) shows favorite entities and areas; a device
    in no area is listed only one click away, under Devices.
    """
    device_id, keys = await demo_entities(api, name, favorite_keys)
    areas = await api.ws({"type": "config/area_registry/list"})
    # Onboarding made "Living Room": names are unique regardless of case.
    wanted = area.casefold()
    if not (area_id := next((a["area_id"] for a in areas if a["name"].casefold() == wanted), None)):
        created = await api.ws({"type": "config/area_registry/create", "name": area})
        area_id = created["area_id"]
    await api.ws(
        {"type": "config/device_registry/update", "device_id": device_id, "area_id": area_id}
    )
    home = (await api.ws({"type": "frontend/get_system_data", "key": "home"}))["value"] or {}
    favorites: list[str] = home.get("favorite_entities", [])
    favorites += [keys[key] for key in favorite_keys if key in keys and keys[key] not in favorites]
    await api.ws(
        {
            "type": "frontend/set_system_data",
            "key": "home",
            "value": {**home, "favorite_entities": favorites},
        }
    )


async def bootstrap(args: argparse.Namespace) -> None:
    """Run every step."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        api = Api(session, args.url.rstrip("/"))
        await onboard(api, args.config)
        await api.wait_until_running()
        plug = ""
        if args.demo:
            await mqtt_integration(api)  # first: iot_hub then finds HA's MQTT at once
            entry_id = await hub_entry_id(api)
            await add_demo_card(api, entry_id)
            await set_demo_price(api, entry_id)
            for device in DEMO_DEVICES:
                await add_demo_device(api, args.config, entry_id, device)
            plug = await add_demo_appliance(api, entry_id)
        elif await remove_demo(api, args.config):
            say("Removed the demo devices, card and schedule of an earlier run (--no-demo)")
        say(
            f"Ready: {api.base}  user {USERNAME}, password {PASSWORD}"
            f'  (REST API: curl -H "Authorization: Bearer $(cat {args.config}/.dev_token)"'
            f" {api.base}/api/states)"
        )
        for device in DEMO_DEVICES if args.demo else ():
            device_id, _ = await demo_entities(api, device.name)
            say(f"{device.name}: {api.base}/config/devices/device/{device_id} ({device.hint})")
        if plug:
            device_id, _ = await demo_entities(api, plug)
            say(
                f"{plug}: {api.base}/config/devices/device/{device_id} (appliance "
                f"{DEMO_PLUG_SERIAL} on MQTT, following the helper {DEMO_SCHEDULE})"
            )
            say(
                f"Appliance {DEMO_UNCLAIMED_SERIAL} is unclaimed: {api.base}/config/integrations"
                "/dashboard (Discovered) or GET /api/iot_hub/dispositivos/no-reclamados"
            )
        if args.demo:
            for line in legacy_client_urls(api.base, args.config):
                say(line)


def legacy_client_urls(base: str, config: Path) -> list[str]:
    """What the seeds' clients connect to, with the dev user's token (lines for the banner)."""
    ws = base.replace("http", "ws", 1)
    token = f"$(cat {config}/.dev_token)"
    return [
        (
            f"Seed 001 event channels: {ws}/api/iot_hub/v1/ws?channel=readings&token={token}"
            " (channels general, sensors, readings, locations, anomalies, predictions)"
        ),
        (
            f"Seed 004 live streams: {ws}/api/iot_hub/ws/sensor_data/{DEMO_CONSUMER}/"
            f"?token={token} (also heart_rate_today, heart_rate_stats, desires_tracking,"
            " desires_stats)"
        ),
    ]


def main() -> int:
    """Parse arguments and bootstrap."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--config", type=Path, required=True, help="HA's configuration folder")
    parser.add_argument("--demo", action="store_true", help="add the demo devices")
    args = parser.parse_args()
    try:
        asyncio.run(bootstrap(args))
    except (BootstrapError, aiohttp.ClientError, TimeoutError) as err:
        say(f"\033[1;31mBootstrap failed:\033[0m {err or type(err).__name__}")
        return 1
    except KeyboardInterrupt:  # run by hand (scripts/develop's Ctrl-C stops it with a TERM)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
