"""The archive of finished sessions: a reading's save costs the same with 10 or 10,000 kept.

Counted, not timed: how many session records a reading-triggered save serialises, and how
many bytes it writes. (``benchmarks/archive.py`` times it at 1k/10k/100k.)
"""

from __future__ import annotations

from datetime import timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.iot_hub.const import CONF_HISTORY_SIZE, Actor
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kind import Inbound, Source
from custom_components.iot_hub.sessions import SAVE_DELAY, ActorRef, Session

from .conftest import OVEN_ID, hub_entry, oven_subentry
from .disk import on_disk, write_store
from .fakes import FakeLink
from .test_durability import _finished

__all__ = ["on_disk"]  # a fixture


def _archive(root: Path, entry_id: str) -> Path:
    return root / f"iot_hub.archive.{entry_id}.jsonl"


@pytest.mark.parametrize("history", [10, 10_000])
async def test_a_reading_save_does_not_grow_with_history(
    hass: HomeAssistant, on_disk: Path, history: int
) -> None:
    """Written by 1.2 with ``history`` finished sessions: they move to the archive once; then
    a reading's save serialises the running session alone and leaves the archive alone."""
    entry = hub_entry(
        [oven_subentry(OVEN_ID, "Oven", "oven-one-token-0123456789")],
        {CONF_HISTORY_SIZE: 20_000},
    )
    sessions = [_finished(i) for i in range(1, history + 1)]
    write_store(
        on_disk,
        f"iot_hub.sessions.{entry.entry_id}",
        {"next_id": history + 1, "sessions": sessions},
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub: Hub = entry.runtime_data
    assert len(hub.sessions.query(limit=None)) == history
    archive = _archive(on_disk, entry.entry_id)
    assert len(archive.read_text(encoding="utf-8").splitlines()) == history

    oven = hub.devices[OVEN_ID]
    link = FakeLink()
    hub.attach_device(oven, link)
    started = oven.start_session(ActorRef(Actor.AUTOMATION))
    await hub.sessions.async_flush()
    archived = archive.stat().st_size

    calls: list[Any] = []
    real = Session.as_dict

    def counting(session: Session) -> dict[str, Any]:
        calls.append(session.id)
        return real(session)

    with patch.object(Session, "as_dict", counting):
        hub.receive(oven, Inbound(Source.DEVICE, "180", link))
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY + 1))
        await hass.async_block_till_done()

    assert calls == [started.id]  # the running session, whatever the history
    stored = json.loads(
        (on_disk / f"iot_hub.sessions.{entry.entry_id}").read_text(encoding="utf-8")
    )["data"]
    assert [s["id"] for s in stored["sessions"]] == [started.id]
    assert stored["sessions"][0]["measure"]["readings"] == 1
    assert archive.stat().st_size == archived  # a reading never touches the archive


async def _one_oven(
    hass: HomeAssistant, options: dict[str, Any] | None = None
) -> tuple[MockConfigEntry, Hub]:
    """A hub entry with one oven, loaded, the oven attached through a fake link."""
    entry = hub_entry([oven_subentry(OVEN_ID, "Oven", "oven-one-token-0123456789")], options)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub: Hub = entry.runtime_data
    hub.attach_device(hub.devices[OVEN_ID], FakeLink())
    return entry, hub


async def test_an_ended_session_is_appended_once(hass: HomeAssistant, on_disk: Path) -> None:
    """An end appends one line; a removed device's sessions go with a ``forget`` line."""
    entry, hub = await _one_oven(hass)
    oven = hub.devices[OVEN_ID]
    actor = ActorRef(Actor.AUTOMATION)
    for _ in range(3):
        oven.start_session(actor)
        oven.stop_session(actor)
    await hub.sessions.async_flush()
    lines = _archive(on_disk, entry.entry_id).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2, 3]

    assert hass.config_entries.async_remove_subentry(entry, OVEN_ID)
    await hass.async_block_till_done()
    await hub.sessions.async_flush()
    lines = _archive(on_disk, entry.entry_id).read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1]) == {"forget": OVEN_ID}
    assert hub.sessions.query() == []
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    reloaded: Hub = entry.runtime_data
    assert reloaded.sessions.query() == []  # the forget line drops what came before it


async def test_a_line_cut_short_is_set_aside(hass: HomeAssistant, on_disk: Path) -> None:
    """A crash mid-append leaves half a line: the rest loads, the half goes to quarantine."""
    entry = hub_entry([oven_subentry(OVEN_ID, "Oven", "oven-one-token-0123456789")])
    archive = _archive(on_disk, entry.entry_id)
    whole = [json.dumps(_finished(i)) for i in (1, 2, 2)]  # 2 twice: appended, then a crash
    cut = json.dumps(_finished(3))[:40]
    archive.write_text("\n".join([*whole, cut]), encoding="utf-8")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub: Hub = entry.runtime_data
    assert [s.id for s in hub.sessions.query()] == [2, 1]
    quarantined = json.loads(
        (on_disk / f"iot_hub.quarantine.{entry.entry_id}").read_text(encoding="utf-8")
    )["data"]["records"]
    assert [r["record"] for r in quarantined] == [cut]
    assert archive.read_text(encoding="utf-8").splitlines() == [
        json.dumps(_finished(i), separators=(",", ":")) for i in (1, 2, 2)
    ]
    # Ids go on after the highest one seen, the cut one's included.
    hub.attach_device(hub.devices[OVEN_ID], FakeLink())
    assert hub.devices[OVEN_ID].start_session(ActorRef(Actor.AUTOMATION)).id == 3


async def test_the_archive_is_compacted_to_the_bound(hass: HomeAssistant, on_disk: Path) -> None:
    """Past twice the bound (plus slack), the file is rewritten to what the bound keeps."""
    entry, hub = await _one_oven(hass, {CONF_HISTORY_SIZE: 2})
    oven = hub.devices[OVEN_ID]
    actor = ActorRef(Actor.AUTOMATION)
    with patch("custom_components.iot_hub.sessions.archive.COMPACT_SLACK", 1):
        for _ in range(6):
            oven.start_session(actor)
            oven.stop_session(actor)
            await hub.sessions.async_flush()
    lines = _archive(on_disk, entry.entry_id).read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 2 * 2 + 1
    assert [json.loads(line)["id"] for line in lines][-2:] == [5, 6]
    assert [s.id for s in hub.sessions.query()] == [6, 5]


async def test_home_assistant_stopping_writes_the_last_readings(
    hass: HomeAssistant, on_disk: Path
) -> None:
    """HA does not unload entries when it stops: its final write takes the pending readings."""
    entry, hub = await _one_oven(hass)
    oven = hub.devices[OVEN_ID]
    oven.start_session(ActorRef(Actor.AUTOMATION))
    await hub.sessions.async_flush()
    assert oven.link is not None
    hub.receive(oven, Inbound(Source.DEVICE, "180", oven.link))
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    stored = json.loads(
        (on_disk / f"iot_hub.sessions.{entry.entry_id}").read_text(encoding="utf-8")
    )["data"]
    assert stored["sessions"][0]["measure"]["readings"] == 1
