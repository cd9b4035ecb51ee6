"""The seed's ``EstadoLog``: every change of an appliance's state, bounded and kept on disk.

One Store per device (``iot_hub.appliance_log.<entry>.<id>``): a row is added at each change
of ``estado`` or ``parametros``; the oldest rows go past the hub's ``appliance_log_size``.
Writes are delayed and batched (a busy device must not write its file at every message); what
a crash can take back is the last few seconds of rows, never the file.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...const import DOMAIN
from .codec import Parameter

SAVE_DELAY: Final = 10.0  # seconds


class DeviceLog:
    """One device's rows, newest last in memory, newest first when paged."""

    def __init__(self, hass: HomeAssistant, entry_id: str, legacy_id: int, size: int) -> None:
        """An empty log; ``async_load`` reads what was kept."""
        self.legacy_id = legacy_id
        self.rows: deque[dict[str, Any]] = deque(maxlen=size)
        self.next_row = 1
        self._store: Store[dict[str, Any]] = Store(
            hass, 1, f"{DOMAIN}.appliance_log.{entry_id}.{legacy_id}"
        )

    async def async_load(self) -> None:
        """Read the kept rows; rows that do not read as rows are dropped."""
        data = await self._store.async_load()
        rows = data.get("rows") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            return
        for row in rows:
            if _is_row(row):
                self.rows.append(row)
        if self.rows:
            self.next_row = max(row["id"] for row in self.rows) + 1

    def resize(self, size: int) -> None:
        """Keep at most ``size`` rows from now on (the newest)."""
        if size != self.rows.maxlen:
            self.rows = deque(self.rows, maxlen=size)

    @callback
    def add(self, estado: str, parametros: dict[str, Parameter]) -> None:
        """A change: one row, written within ``SAVE_DELAY``."""
        self.rows.append(
            {
                "id": self.next_row,
                "dispositivo_id": self.legacy_id,
                "estado": estado,
                "parametros": dict(parametros),
                "timestamp": dt_util.utcnow().isoformat(),
            }
        )
        self.next_row += 1
        self._store.async_delay_save(self._data, SAVE_DELAY)

    def page(self, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
        """Rows of one page, newest first, and the total."""
        total = len(self.rows)
        end = total - (page - 1) * per_page
        start = max(0, end - per_page)
        return [self.rows[i] for i in range(end - 1, start - 1, -1)] if end > 0 else [], total

    def _data(self) -> dict[str, Any]:
        return {"rows": list(self.rows)}

    async def async_save(self) -> None:
        """Write now (unload)."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the file (the device is gone for good)."""
        await self._store.async_remove()


def _is_row(row: Any) -> bool:
    return (
        isinstance(row, dict)
        and type(row.get("id")) is int
        and isinstance(row.get("estado"), str)
        and isinstance(row.get("parametros"), dict)
        and isinstance(row.get("timestamp"), str)
    )
