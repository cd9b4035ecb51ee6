"""The archive of finished sessions: one JSON line per session, appended once, never rewritten.

``<config>/.storage/iot_hub.archive.<entry>.jsonl``. A session is appended when it ends (the
line is flushed and fsync'ed in the executor before anyone hears of the end), so a save costs
what ended since the last one, not the whole history. A removed device is a ``{"forget":
<device id>}`` line. When the file holds well over what the history bound keeps, it is
compacted: rewritten, in the executor, to what the bound keeps (a new file, then an atomic
rename). A line that cannot be read (a crash cut the last one short, say) is set aside by the
manager, then dropped by the compaction that follows.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
import json
import os
from pathlib import Path
from typing import Any, Final

from homeassistant.core import HomeAssistant

from ..const import DOMAIN

FORGET: Final = "forget"
# Compact when the file holds this many lines more than twice what the bound keeps.
COMPACT_SLACK: Final = 1000

type BadLine = tuple[str, str]  # the line as stored, and why it could not be read


class Archive:
    """One hub entry's finished sessions on disk; every write runs in the executor, in order."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """The archive file of one hub entry (created at the first append)."""
        self._hass = hass
        self.path = Path(hass.config.path(".storage", f"{DOMAIN}.archive.{entry_id}.jsonl"))
        self._lock = asyncio.Lock()
        self.lines = 0  # lines in the file now

    async def async_load(self) -> tuple[list[Any], list[BadLine]]:
        """Every record still in the file (forgotten devices' left out), and the bad lines."""
        async with self._lock:
            records, bad, self.lines = await self._hass.async_add_executor_job(_read, self.path)
        return records, bad

    async def async_append(self, entries: Iterable[dict[str, Any]]) -> None:
        """Append records (or ``forget`` lines); on disk (fsync'ed) when this returns."""
        text = "".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in entries)
        if not text:
            return
        async with self._lock:
            await self._hass.async_add_executor_job(_append, self.path, text)
            self.lines += text.count("\n")

    async def async_compact(self, keep_per_device: int, kept: int) -> None:
        """Rewrite the file to what the bound keeps, when it has grown well past ``kept``."""
        if self.lines > 2 * kept + COMPACT_SLACK:
            async with self._lock:
                self.lines = await self._hass.async_add_executor_job(
                    _compact, self.path, keep_per_device, []
                )

    async def async_drop(self, records: list[Any]) -> None:
        """Rewrite the file without these records and without unreadable lines."""
        async with self._lock:
            self.lines = await self._hass.async_add_executor_job(_compact, self.path, None, records)


def _read(path: Path) -> tuple[list[Any], list[BadLine], int]:
    """Records in file order, minus those of devices forgotten after them (blocking)."""
    if not path.exists():
        return [], [], 0
    records: list[Any] = []
    bad: list[BadLine] = []
    count = 0
    with path.open(encoding="utf-8") as file:
        for line in file:
            count += 1
            try:
                record = json.loads(line)
            except ValueError as err:
                bad.append((line.rstrip("\n"), f"{type(err).__name__}: {err}"))
                continue
            if isinstance(record, dict) and set(record) == {FORGET}:
                records = [r for r in records if _device(r) != record[FORGET]]
            else:
                records.append(record)
    return records, bad, count


def _device(record: Any) -> Any:
    return record.get("device_id") if isinstance(record, dict) else None


def _append(path: Path, text: str) -> None:
    """Append and make it durable (blocking)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _compact(path: Path, keep_per_device: int | None, drop: list[Any]) -> int:
    """Keep each device's newest ``keep_per_device`` records but ``drop``, in order (blocking)."""
    records, _bad, _count = _read(path)
    records = [record for record in records if record not in drop]
    newest: dict[Any, deque[int]] = {}
    for index, record in enumerate(records):
        newest.setdefault(_device(record), deque(maxlen=keep_per_device)).append(index)
    keep = sorted(index for indices in newest.values() for index in indices)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as file:
        for index in keep:
            file.write(json.dumps(records[index], separators=(",", ":")) + "\n")
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    return len(keep)
