"""What a damaged archive costs: bad records set aside, and repair issues that say so.

A record that cannot be read (a bad date, an unknown kind, not even an object) must not keep
the hub from starting: it is moved, as it was, to its own Store (``iot_hub.quarantine.<entry>``)
and a repair issue says how many records are there and where. A sessions file HA found
corrupt (and moved aside as ``<file>.corrupt.<time>``) is named by a second repair issue: its
sessions are lost; what the safety Store keeps (latches, session ids, lifetime totals) is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from .record import MeasureLoader, Session

ISSUE_QUARANTINED: Final = "sessions_quarantined"
ISSUE_LOST: Final = "sessions_lost"

# What reading a malformed record can raise (missing keys, wrong types, bad values).
_RECORD_ERRORS: Final = (KeyError, TypeError, ValueError, AttributeError, AssertionError)

type BadRecord = tuple[Any, str]  # the record as stored, and why it was set aside


def read_records(
    raws: Iterable[Any], load_measure: MeasureLoader
) -> tuple[list[Session], list[BadRecord]]:
    """The records that read as sessions, and the others with the reason."""
    good: list[Session] = []
    bad: list[BadRecord] = []
    for raw in raws:
        try:
            session = Session.from_dict(raw, load_measure)
            _check(session)
        except _RECORD_ERRORS as err:
            bad.append((raw, f"{type(err).__name__}: {err}"))
        else:
            good.append(session)
    return good, bad


def _check(session: Session) -> None:
    """What ``from_dict`` takes as it comes but the manager relies on."""
    if type(session.id) is not int or not isinstance(session.device_id, str):
        raise TypeError("id must be an integer and device_id a string")
    times = (session.started_at, session.ended_at, session.last_reading_at)
    if any(t is not None and t.tzinfo is None for t in times):
        raise ValueError("times must carry a time zone")


def quarantine_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """Where records that could not be read are kept."""
    return Store(hass, 1, f"{DOMAIN}.quarantine.{entry_id}")


async def async_set_aside(hass: HomeAssistant, entry_id: str, bad: list[BadRecord]) -> None:
    """Keep unreadable records in the quarantine Store, then raise a repair issue."""
    store = quarantine_store(hass, entry_id)
    kept = await store.async_load() or {}
    records = kept.get("records")
    records = list(records) if isinstance(records, list) else []
    now = dt_util.utcnow().isoformat()
    records.extend({"record": raw, "error": why, "set_aside_at": now} for raw, why in bad)
    await store.async_save({"records": records})
    _raise(
        hass,
        ISSUE_QUARANTINED,
        entry_id,
        ir.IssueSeverity.WARNING,
        {"count": str(len(records)), "path": store.path},
    )


async def async_report_lost(hass: HomeAssistant, store: Store[Any], entry_id: str) -> None:
    """When HA set the sessions file aside as corrupt: a repair issue says what was lost."""
    corrupt = await hass.async_add_executor_job(_newest_corrupt, Path(store.path))
    if corrupt is not None:
        _raise(hass, ISSUE_LOST, entry_id, ir.IssueSeverity.ERROR, {"path": str(corrupt)})


def _raise(
    hass: HomeAssistant,
    key: str,
    entry_id: str,
    severity: ir.IssueSeverity,
    placeholders: dict[str, str],
) -> None:
    """A repair issue of this hub entry (kept across restarts until the user dismisses it)."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{key}_{entry_id}",
        is_fixable=False,
        is_persistent=True,
        severity=severity,
        translation_key=key,
        translation_placeholders=placeholders,
    )


def _newest_corrupt(path: Path) -> Path | None:
    """The newest ``<file>.corrupt.<time>`` HA left next to ``path`` (blocking)."""
    found = sorted(path.parent.glob(f"{path.name}.corrupt.*"), key=_name_time)
    return found[-1] if found else None


def _name_time(path: Path) -> datetime:
    try:
        return datetime.fromisoformat(path.name.rsplit(".corrupt.", 1)[1])
    except ValueError:
        return datetime.min.replace(tzinfo=dt_util.UTC)
