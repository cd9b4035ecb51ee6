"""A real Home Assistant, in this process, serving iot_hub on 127.0.0.1 (for benchmarks).

The start-up follows ``homeassistant.bootstrap.async_from_config_dict`` step by step but sets
up only what iot_hub needs (core, ``http`` and iot_hub itself) instead of the default
integrations, which would bring the frontend, the recorder and discovery into the measurement.
A benchmark may add one more integration before the hub (``before_hub``: the appliances one
sets up HA's MQTT, whose YAML entities come from ``configuration_yaml``).
Nothing is mocked: the registries, the Store, the auth manager and the HTTP server are HA's own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
import socket
import tempfile
from types import MappingProxyType
from typing import Any

from homeassistant import bootstrap, loader
from homeassistant.auth.const import GROUP_ID_ADMIN
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntries,
    ConfigEntry,
    ConfigEntryState,
    ConfigSubentryDataWithId,
)
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component

from custom_components.iot_hub.const import (
    CONF_KIND,
    CONF_RECORD_INTERVAL,
    CONF_TOKEN_HASH,
    DOMAIN,
    SUBENTRY_DEVICE,
    WS_PATH,
)
from custom_components.iot_hub.kinds.charger.const import CONF_PRICE, CONF_STATION_ID
from custom_components.iot_hub.tokens import hash_token

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = REPO_ROOT / "custom_components" / DOMAIN


def free_port() -> int:
    """An ephemeral TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class BenchOven:
    """One configured oven: its name, device token and temperature sensor."""

    subentry_id: str
    name: str
    token: str

    @property
    def temperature_entity(self) -> str:
        """Entity id of its temperature sensor (HA derives it from the device name)."""
        return f"sensor.{self.name.lower().replace(' ', '_')}_temperature"


@dataclass(frozen=True, slots=True)
class BenchCharger:
    """One configured EV charger: its name, device token, station and power sensor."""

    subentry_id: str
    name: str
    token: str
    station: str

    @property
    def power_entity(self) -> str:
        """Entity id of its power sensor (HA derives it from the device name)."""
        return f"sensor.{self.name.lower().replace(' ', '_')}_power"


# What the load benchmarks' devices store: no record budget, so that every reading is a state
# write, the path they measure (``benchmarks.recorder`` measures the budget).
EVERY_READING: dict[str, Any] = {CONF_RECORD_INTERVAL: 0}

# The energy price of the hub entry when it has chargers (per kWh), so costs are computed.
BENCH_PRICE = 0.25


@dataclass(frozen=True, slots=True)
class RunningHomeAssistant:
    """What a benchmark needs from the started instance."""

    hass: HomeAssistant
    entry: ConfigEntry
    ovens: tuple[BenchOven, ...]
    port: int
    access_token: str
    chargers: tuple[BenchCharger, ...] = ()

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT/api/iot_hub/ws``."""
        return f"ws://127.0.0.1:{self.port}{WS_PATH}"


def bench_ovens(count: int) -> tuple[BenchOven, ...]:
    """``count`` ovens named "Bench oven 01"... with fixed, known tokens."""
    width = max(2, len(str(count)))
    return tuple(
        BenchOven(
            subentry_id=f"benchoven{i:0{width}d}",
            name=f"Bench oven {i:0{width}d}",
            token=f"bench-oven-token-{i:0{width}d}-0123456789abcdef",
        )
        for i in range(1, count + 1)
    )


def bench_chargers(count: int) -> tuple[BenchCharger, ...]:
    """``count`` chargers named "Bench charger 01"... at stations "1"..., with known tokens."""
    width = max(2, len(str(count)))
    return tuple(
        BenchCharger(
            subentry_id=f"benchcharger{i:0{width}d}",
            name=f"Bench charger {i:0{width}d}",
            token=f"bench-charger-token-{i:0{width}d}-0123456789abcdef",
            station=str(i),
        )
        for i in range(1, count + 1)
    )


def hub_entry(
    ovens: tuple[BenchOven, ...],
    chargers: tuple[BenchCharger, ...] = (),
    others: Sequence[ConfigSubentryDataWithId] = (),
) -> ConfigEntry:
    """The hub entry as the config flow would create it, with one subentry per device.

    ``others``: subentries of other kinds (a benchmark's sensors), as they are.
    """
    return ConfigEntry(
        domain=DOMAIN,
        title="IoT Hub",
        data={},
        options={CONF_PRICE: BENCH_PRICE} if chargers else {},
        source=SOURCE_USER,
        unique_id=DOMAIN,
        version=1,
        minor_version=1,
        discovery_keys=MappingProxyType({}),
        subentries_data=[
            ConfigSubentryDataWithId(
                data=MappingProxyType(
                    {CONF_KIND: "oven", CONF_TOKEN_HASH: hash_token(oven.token), **EVERY_READING}
                ),
                subentry_id=oven.subentry_id,
                subentry_type=SUBENTRY_DEVICE,
                title=oven.name,
                unique_id=None,
            )
            for oven in ovens
        ]
        + [
            ConfigSubentryDataWithId(
                data=MappingProxyType(
                    {
                        CONF_KIND: "charger",
                        CONF_TOKEN_HASH: hash_token(charger.token),
                        CONF_STATION_ID: charger.station,
                        **EVERY_READING,
                    }
                ),
                subentry_id=charger.subentry_id,
                subentry_type=SUBENTRY_DEVICE,
                title=charger.name,
                unique_id=None,
            )
            for charger in chargers
        ]
        + list(others),
    )


async def _start(
    config_dir: Path,
    entry: ConfigEntry,
    port: int,
    *,
    configuration_yaml: str = "",
    before_hub: Callable[[HomeAssistant, dict[str, Any]], Awaitable[None]] | None = None,
) -> tuple[HomeAssistant, str]:
    """Start HA in ``config_dir`` with ``entry`` loaded; returns it and an admin access token."""
    # custom_components/iot_hub is where HA looks for custom integrations; a symlink keeps
    # the benchmark on the repository's code.
    (config_dir / "custom_components").mkdir()
    (config_dir / "custom_components" / DOMAIN).symlink_to(INTEGRATION_DIR)
    # Integrations such as MQTT read their YAML entities from here, not from ``config``.
    (config_dir / "configuration.yaml").write_text(configuration_yaml, encoding="utf-8")
    config: dict[str, Any] = {
        "homeassistant": {
            "name": "iot_hub benchmark",
            "latitude": 0.0,
            "longitude": 0.0,
            "elevation": 0,
            "unit_system": "metric",
            "time_zone": "UTC",
        },
        "http": {"server_host": ["127.0.0.1"], "server_port": port},
    }
    hass = HomeAssistant(str(config_dir))
    loader.async_setup(hass)
    hass.config.skip_pip = True
    # The order of bootstrap.async_from_config_dict, minus the default integrations.
    hass.config_entries = ConfigEntries(hass, config)
    await loader.async_get_custom_components(hass)
    if not await bootstrap.async_load_base_functionality(hass):
        raise RuntimeError("Home Assistant's registries did not load")
    for domain in sorted(bootstrap.CORE_INTEGRATIONS):
        if not await async_setup_component(hass, domain, config):
            raise RuntimeError(f"{domain} did not set up")
    await async_process_ha_core_config(hass, config["homeassistant"])
    if not await async_setup_component(hass, "http", config):
        raise RuntimeError("http did not set up")
    # http starts listening when HA starts (it waits for the frontend or the start event).
    await hass.async_start()
    if before_hub is not None:
        await before_hub(hass, config)
    await hass.config_entries.async_add(entry)
    await hass.async_block_till_done()
    if entry.state is not ConfigEntryState.LOADED:
        raise RuntimeError(f"iot_hub did not load: {entry.state} {entry.reason}")
    user = await hass.auth.async_create_user("Benchmark", group_ids=[GROUP_ID_ADMIN])
    refresh_token = await hass.auth.async_create_refresh_token(
        user,
        client_name="iot_hub benchmark",
        token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN,
        access_token_expiration=timedelta(days=1),
    )
    return hass, hass.auth.async_create_access_token(refresh_token)


@asynccontextmanager
async def running_home_assistant(
    oven_count: int,
    *,
    port: int | None = None,
    charger_count: int = 0,
    before_hub: Callable[[HomeAssistant, dict[str, Any]], Awaitable[None]] | None = None,
) -> AsyncIterator[RunningHomeAssistant]:
    """Start Home Assistant with iot_hub and ``oven_count`` ovens; stop it and clean up after.

    Args:
        oven_count: How many oven subentries the hub entry gets.
        port: HTTP port on 127.0.0.1; a free ephemeral one when None.
        charger_count: How many EV-charger subentries it gets (stations "1"...).
        before_hub: Set up another integration before the hub (the recorder, say).

    Yields:
        The running instance, its hub entry, ovens, chargers, port and an admin access token.
    """
    ovens, chargers = bench_ovens(oven_count), bench_chargers(charger_count)
    entry = hub_entry(ovens, chargers)
    port = port or free_port()
    async with running_home_assistant_with(entry, port=port, before_hub=before_hub) as (
        hass,
        token,
    ):
        yield RunningHomeAssistant(
            hass=hass, entry=entry, ovens=ovens, port=port, access_token=token, chargers=chargers
        )


@asynccontextmanager
async def running_home_assistant_with(
    entry: ConfigEntry,
    *,
    port: int | None = None,
    configuration_yaml: str = "",
    before_hub: Callable[[HomeAssistant, dict[str, Any]], Awaitable[None]] | None = None,
) -> AsyncIterator[tuple[HomeAssistant, str]]:
    """Start Home Assistant with this iot_hub entry; stop it and clean up after.

    Args:
        entry: The hub entry, as the config flow would create it.
        port: HTTP port on 127.0.0.1; a free ephemeral one when None.
        configuration_yaml: The config dir's ``configuration.yaml`` (YAML-configured entities
            of other integrations; the core and ``http`` are configured in code).
        before_hub: Run after HA started and before the hub entry is added (to set up another
            integration), with HA and its configuration.

    Yields:
        The running instance and an admin access token.
    """
    with tempfile.TemporaryDirectory(prefix="iot_hub_bench_") as tmp:
        hass, token = await _start(
            Path(tmp),
            entry,
            port or free_port(),
            configuration_yaml=configuration_yaml,
            before_hub=before_hub,
        )
        try:
            yield hass, token
        finally:
            await hass.async_stop()


def device_ids(ha: RunningHomeAssistant, devices: Iterable[BenchOven | BenchCharger]) -> list[str]:
    """The device-registry ids of ``devices`` (ovens or chargers of the hub entry)."""
    registry = dr.async_get(ha.hass)
    ids = []
    for device in devices:
        entry = registry.async_get_device_by_identifier(
            (DOMAIN, device.subentry_id), ha.entry.entry_id
        )
        assert entry is not None
        ids.append(entry.id)
    return ids


async def start_sessions(hass: HomeAssistant, ids: Sequence[str]) -> None:
    """Start a session on each device (``iot_hub.start_session``, as from the UI)."""
    for device_id in ids:
        await hass.services.async_call(
            DOMAIN, "start_session", {ATTR_DEVICE_ID: device_id}, blocking=True
        )


async def stop_sessions(hass: HomeAssistant, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Stop each device's session, then the summaries ``iot_hub.get_sessions`` reports."""
    for device_id in ids:
        await hass.services.async_call(
            DOMAIN, "stop_session", {ATTR_DEVICE_ID: device_id}, blocking=True
        )
    response = await hass.services.async_call(
        DOMAIN, "get_sessions", {"limit": 10000}, blocking=True, return_response=True
    )
    assert response is not None
    records = response["sessions"]
    assert isinstance(records, list)
    summaries = []
    for record in records:
        assert isinstance(record, dict)
        summary = record["summary"]
        assert isinstance(summary, dict)
        summaries.append(summary)
    return summaries
