"""The sessions' ``Store``: its key, versions, and the migration of what older versions wrote."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from ..const import DOMAIN

STORAGE_VERSION: Final = 1
# 1.2: per-kind 'measure' (chargers joined ovens). 1.3: running sessions only; finished ones
# live in the archive (archive.py), and those a 1.2 Store holds move there on load.
STORAGE_MINOR_VERSION: Final = 3
# Version 1.1 predates kinds: every session it stored (and every session event it fired) was
# an oven's, its figures at the top.
LEGACY_SESSION_KIND: Final = "oven"
_V1_1_MEASURE_KEYS: Final = ("readings", "temperature_sum", "temperature_min", "temperature_max")


def migrate_stored_session(data: Any) -> Any:
    """A session stored by version 1.1 (oven fields at the top) in the 1.2 shape.

    What is not a 1.1 record is left as it is (a malformed one is set aside on load).
    """
    if not isinstance(data, dict) or "measure" in data:
        return data
    rest = {key: value for key, value in data.items() if key not in _V1_1_MEASURE_KEYS}
    return {
        **rest,
        "kind": LEGACY_SESSION_KIND,
        "measure": {key: data[key] for key in _V1_1_MEASURE_KEYS if key in data},
    }


class SessionStore(Store[dict[str, Any]]):
    """The sessions' Store, which migrates what older versions wrote."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """The Store of one hub entry's sessions."""
        super().__init__(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.sessions.{entry_id}",
            minor_version=STORAGE_MINOR_VERSION,
        )

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: dict[str, Any]
    ) -> dict[str, Any]:
        if old_major_version == 1 and old_minor_version < 2 and isinstance(old_data, dict):
            old_data = {
                **old_data,
                "sessions": [migrate_stored_session(s) for s in _list(old_data.get("sessions"))],
            }
        return old_data


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def safety_store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    """The safety Store: the next session id and each device's kind state (latch, totals).

    Small and written at once when a latch or the id changes, so losing the sessions file
    (truncated by a power cut, say) never resets them.
    """
    return Store(hass, 1, f"{DOMAIN}.safety.{entry_id}")
