"""What a toy session measures: how many numbers, and their total (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ToyMeasure:
    """Count and total of the numbers of one session."""

    count: int = 0
    total: float = 0.0

    def add(self, value: float) -> None:
        """Fold one number in."""
        self.count += 1
        self.total += value

    def summary(self) -> dict[str, Any]:
        """What actions, events and the logbook show."""
        return {"count": self.count, "total": self.total}

    def as_dict(self) -> dict[str, Any]:
        """JSON form kept in the Store."""
        return {"count": self.count, "total": self.total}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToyMeasure:
        """Inverse of ``as_dict``."""
        return cls(count=data["count"], total=data["total"])


def logbook_summary(summary: dict[str, Any]) -> str:
    """``3 numbers, total 6.0``."""
    return f"{summary['count']} numbers, total {summary['total']}"
