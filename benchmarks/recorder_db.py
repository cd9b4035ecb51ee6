"""HA's recorder on SQLite for the benchmarks: its set-up, and what its database holds.

Shared by ``benchmarks.recorder`` (what the recorder keeps, with and without iot_hub's record
budget) and ``benchmarks.ovens --recorder`` (the load with the recorder on): the recorder is
set up before the hub (``setup_recorder`` is a ``before_hub`` of
``home_assistant.running_home_assistant_with``), the database is read on a read-only connection
of its own (``db_figures``), and ``drain`` times how long the recorder's queue takes to empty.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
import sqlite3
import time
from typing import Any, Final

from homeassistant.components.recorder import get_instance
from homeassistant.core import HomeAssistant
from homeassistant.helpers import recorder as recorder_helper
from homeassistant.setup import async_setup_component

COMMIT_INTERVAL: Final = 1  # seconds; HA's default is 5 (commits batch rows, not shrink them)
DB_NAME: Final = "home-assistant_v2.db"
OVEN_ENTITIES: Final = "sensor.bench_oven_%"
OVEN_TEMPERATURES: Final = "sensor.bench_oven_%_temperature"
WEARABLE_ENTITIES: Final = "sensor.bench_wearable_%"
BARE_DOMAIN: Final = "bench"
# How often ``drain`` looks at the recorder's queue.
DRAIN_POLL: Final = 0.01


@dataclass(frozen=True, slots=True)
class DbFigures:
    """What the database holds at one moment."""

    used_bytes: int
    oven_states: int
    oven_temperature_states: int
    wearable_states: int
    states: int


def db_path(hass: HomeAssistant) -> Path:
    """Where ``setup_recorder`` puts the database."""
    return Path(hass.config.config_dir) / DB_NAME


def db_figures(path: Path) -> DbFigures:
    """Read the database's size in use and its ``states`` rows (a read-only connection)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:

        def one(sql: str, *args: str) -> int:
            value: int = db.execute(sql, args).fetchone()[0]
            return value

        count = (
            "SELECT COUNT(*) FROM states JOIN states_meta USING (metadata_id) "
            "WHERE states_meta.entity_id LIKE ?"
        )
        return DbFigures(
            used_bytes=(one("PRAGMA page_count") - one("PRAGMA freelist_count"))
            * one("PRAGMA page_size"),
            oven_states=one(count, OVEN_ENTITIES),
            oven_temperature_states=one(count, OVEN_TEMPERATURES),
            wearable_states=one(count, WEARABLE_ENTITIES),
            states=one("SELECT COUNT(*) FROM states"),
        )


async def figures_now(hass: HomeAssistant) -> DbFigures:
    """The database's figures, read off the loop."""
    return await hass.async_add_executor_job(db_figures, db_path(hass))


async def settle(hass: HomeAssistant) -> None:
    """Until what HA did so far is committed to the database."""
    await hass.async_block_till_done()
    await get_instance(hass).async_block_till_done()


def backlog(hass: HomeAssistant) -> int:
    """Events and tasks waiting in the recorder's queue now."""
    return get_instance(hass).backlog


async def drain(hass: HomeAssistant) -> tuple[float, float]:
    """Seconds until the recorder's queue is empty, and until that is committed too."""
    started = time.perf_counter()
    while backlog(hass):  # noqa: ASYNC110  (the queue offers no event to wait on)
        await asyncio.sleep(DRAIN_POLL)
    emptied = time.perf_counter() - started
    await get_instance(hass).async_block_till_done()
    return emptied, time.perf_counter() - started


async def setup_recorder(hass: HomeAssistant, _config: dict[str, Any]) -> None:
    """Set up HA's recorder on SQLite in the config dir (a ``before_hub``)."""
    db_url = f"sqlite:///{db_path(hass)}"
    config = {
        "recorder": {
            "db_url": db_url,
            "commit_interval": COMMIT_INTERVAL,
            # The bare-HA baselines' entities (``common.measure_bare_ha``): their tight loops
            # write far more states than any load, which are not what is measured.
            "exclude": {"domains": [BARE_DOMAIN]},
        }
    }
    recorder_helper.async_initialize_recorder(hass)  # what bootstrap does first
    if not await async_setup_component(hass, "recorder", config):
        raise RuntimeError("the recorder did not set up")
    if not await get_instance(hass).async_db_ready:
        raise RuntimeError("the recorder's database is not ready")
