"""What each write of the sessions Store costs: a session's JSON is rebuilt only when it changed.

A real ``SessionManager`` on HA's real ``Store`` (the test harness keeps the Store's JSON in
``hass_storage``): a write holds every running session as it is now, yet builds again only
the sessions that took a reading since the last write, so ending many sessions one after
another (each end is written before it is announced) stays linear in the sessions.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from custom_components.iot_hub.const import Actor
from custom_components.iot_hub.kinds.oven.measure import OvenMeasure
from custom_components.iot_hub.sessions.manager import SessionManager
from custom_components.iot_hub.sessions.record import ActorRef, Measure, Session

DEVICES = 40
ENTRY = "store_writes_entry"
APP = ActorRef(Actor.APP)


def _load_measure(_kind: str, data: dict[str, Any]) -> Measure:
    return OvenMeasure.from_dict(data)


async def _manager(hass: HomeAssistant) -> SessionManager:
    manager = SessionManager(
        hass,
        ENTRY,
        history_size=10,
        resume_grace=timedelta(minutes=5),
        load_measure=_load_measure,
        ha_device_id=lambda _device_id: None,
        on_change=lambda _device_id: None,
    )
    await manager.async_load()
    return manager


async def _running(hass: HomeAssistant) -> tuple[SessionManager, list[str]]:
    """A manager with a session running on each of ``DEVICES`` ovens, written."""
    manager = await _manager(hass)
    ids = [f"oven{i}" for i in range(DEVICES)]
    for device_id in ids:
        manager.start(device_id, device_id, "oven", OvenMeasure(), APP, None)
    await manager.async_flush()
    return manager, ids


def _stored(hass_storage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    data = hass_storage[f"iot_hub.sessions.{ENTRY}"]["data"]
    return {session["device_id"]: session for session in data["sessions"]}


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ``Session.as_dict`` call, by session id."""
    calls: list[int] = []
    as_dict = Session.as_dict

    def counted(session: Session) -> dict[str, Any]:
        calls.append(session.id)
        return as_dict(session)

    monkeypatch.setattr(Session, "as_dict", counted)
    return calls


async def test_a_write_rebuilds_only_the_sessions_that_took_a_reading(
    hass: HomeAssistant, hass_storage: dict[str, Any], builds: list[int]
) -> None:
    """Readings show in the next write; sessions without one are written as they were."""
    manager, ids = await _running(hass)
    # Each new session twice: its "started" event's data, and the write.
    assert sorted(builds) == sorted([*range(1, DEVICES + 1)] * 2)
    assert {s["measure"]["readings"] for s in _stored(hass_storage).values()} == {0}

    builds.clear()
    for device_id in ids[:3]:
        session = manager.record(device_id, dt_util.utcnow())
        assert session is not None
        assert isinstance(session.measure, OvenMeasure)
        session.measure.add(180.5)
    await manager.async_flush()
    assert sorted(builds) == sorted(manager.active(d).id for d in ids[:3])  # type: ignore[union-attr]
    stored = _stored(hass_storage)
    assert len(stored) == DEVICES
    for device_id in ids:
        expected = 1 if device_id in ids[:3] else 0
        assert stored[device_id]["measure"]["readings"] == expected
    assert stored[ids[0]]["last_reading_at"] is not None
    assert stored[ids[3]]["last_reading_at"] is None

    # A reading folded in after a write is in the next one, not lost to the cache.
    session = manager.record(ids[3], dt_util.utcnow())
    assert session is not None
    assert isinstance(session.measure, OvenMeasure)
    session.measure.add(90.0)
    session.measure.add(95.0)
    await manager.async_flush()
    assert _stored(hass_storage)[ids[3]]["measure"]["readings"] == 2
    await manager.async_shutdown()


async def test_ending_sessions_one_by_one_stays_linear(
    hass: HomeAssistant, hass_storage: dict[str, Any], builds: list[int]
) -> None:
    """n sessions ended one after another, each written before the next: 2n builds."""
    manager, ids = await _running(hass)
    builds.clear()
    for count, device_id in enumerate(ids, 1):
        manager.stop(device_id, device_id, APP, None)
        await manager.async_flush()  # as an action that waits for the end to be on disk
        assert len(_stored(hass_storage)) == DEVICES - count
    # Each ended session twice (its "ended" event's data, its archive record); the running
    # ones are not rebuilt (every write rebuilt them all: 860 builds for 40 sessions).
    assert sorted(builds) == sorted([*range(1, DEVICES + 1)] * 2)
    assert manager.query(ids) and all(not s.active for s in manager.query(ids))
    await manager.async_shutdown()
