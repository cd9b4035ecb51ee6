"""HA's clock over a charger's: device time is credited only as far as HA saw time pass (pure).

A charger stamps its readings (``ts``) with its own clock, and the energy meter integrates
between those stamps. A device whose clock runs ahead, or lies, would thus bill energy for
time that never passed: 100 frames sent within 2 s with ``ts`` stepping +60 s at 350 kW made
577.5 kWh. ``ClockGuard`` holds the meter to HA's clock, whoever sends what:

* It keeps a **budget** of seconds. Every reading adds the time HA's (monotonic) clock moved
  since the previous one; crediting an interval spends its device seconds (power samples) or
  the seconds ``max_power_w`` needs for the energy (counter readings).
* An interval longer than the budget is credited only for the budget (``clipped``,
  ``clipped_s``); a counter step beyond it is refused by the meter.
* A new meter starts with ``CLOCK_SLACK_S`` in the budget, for jitter and the first interval.

So batching costs nothing: readings queued during 40 s offline and sent at once are covered
by the 40 s HA saw pass. And over a whole session, the device time credited never exceeds
the HA time between its first and its latest reading plus ``CLOCK_SLACK_S``; the energy never
exceeds ``max_power_w`` times that. A device clock running fast is brought back to HA's time.

The budget is stored with the meter; the arrival time is not (HA's monotonic clock restarts
with the machine), so the first reading after a restart only sets the new reference: the
time HA was down is never credited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import math
from typing import Any, Final

CLOCK_SLACK_S: Final = 10.0
"""Seconds a new meter may credit beyond HA's elapsed time (jitter, the first interval)."""


@dataclass(slots=True, kw_only=True)
class ClockGuard:
    """Seconds of device time HA's clock still allows to be credited."""

    budget_s: float = CLOCK_SLACK_S
    clipped: int = 0  # intervals credited only in part (or counter steps refused) for it
    clipped_s: float = 0.0  # device seconds not credited
    arrival: float | None = None  # HA's monotonic time of the latest reading (not stored)

    def tick(self, now: float | None) -> None:
        """A reading arrived at ``now`` (HA's monotonic seconds): add the time since the last.

        ``None``: the caller has no clock, and nothing changes.
        """
        if now is None or not math.isfinite(now):
            return
        if self.arrival is not None and now > self.arrival:
            self.budget_s += now - self.arrival
        if self.arrival is None or now > self.arrival:
            self.arrival = now

    @property
    def guarding(self) -> bool:
        """Whether HA's clock is known (a reading arrived with a time since the last load)."""
        return self.arrival is not None

    def covers(self, seconds: float) -> bool:
        """Whether ``seconds`` fit in the budget (always, while HA's clock is unknown)."""
        return not self.guarding or seconds <= self.budget_s

    def grant(self, seconds: float) -> float:
        """Spend up to ``seconds``; return what was granted and count the rest as clipped."""
        if not self.guarding:
            return seconds
        granted = min(seconds, max(self.budget_s, 0.0))
        self.budget_s -= granted
        if granted < seconds:
            self.clipped += 1
            self.clipped_s += seconds - granted
        return granted

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored with the meter."""
        return {"budget_s": self.budget_s, "clipped": self.clipped, "clipped_s": self.clipped_s}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ClockGuard:
        """Inverse of ``as_dict``; a meter stored before the guard starts with the slack."""
        data = data or {}
        budget = float(data.get("budget_s", CLOCK_SLACK_S))
        return cls(
            budget_s=budget if math.isfinite(budget) else 0.0,
            clipped=int(data.get("clipped", 0)),
            clipped_s=float(data.get("clipped_s", 0.0)),
        )
