"""Stores on a real disk: PHACC keeps every Store in memory; these tests need the files.

``Store``'s own load, write and remove are taken before PHACC's ``hass_storage`` patches
them (this module is imported at collection), and put back for a test that asks for
``on_disk`` (``conftest.hass_config_dir`` gives each test a directory of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import shutil
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
import pytest

_REAL_LOAD = Store._async_load
_REAL_WRITE = Store._async_write_data
_REAL_REMOVE = Store.async_remove


@pytest.fixture
def on_disk(hass: HomeAssistant) -> Iterator[Path]:
    """Real Store files under ``<config>/.storage`` (the directory is yielded)."""
    with (
        patch.object(Store, "_async_load", _REAL_LOAD),
        patch.object(Store, "_async_write_data", _REAL_WRITE),
        patch.object(Store, "async_remove", _REAL_REMOVE),
    ):
        root = Path(hass.config.path(".storage"))
        root.mkdir(parents=True, exist_ok=True)
        yield root


def write_store(
    root: Path, key: str, data: Any, *, version: int = 1, minor_version: int = 1
) -> None:
    """A Store file as HA writes it."""
    envelope = {"version": version, "minor_version": minor_version, "key": key, "data": data}
    (root / key).write_text(json.dumps(envelope), encoding="utf-8")


def read_store(root: Path, key: str) -> Any:
    """A Store file's data, as it is on disk now."""
    return json.loads((root / key).read_text(encoding="utf-8"))["data"]


def snapshot(root: Path, into: Path) -> None:
    """Copy iot_hub's files as they are on disk now (what a crash would leave)."""
    into.mkdir(parents=True, exist_ok=True)
    for path in root.glob("iot_hub.*"):
        shutil.copy2(path, into / path.name)


def restore(snapshot_dir: Path, root: Path) -> None:
    """Put back iot_hub's files as a crash left them (what a clean unload wrote goes)."""
    for path in root.glob("iot_hub.*"):
        path.unlink()
    for path in snapshot_dir.iterdir():
        shutil.copy2(path, root / path.name)
