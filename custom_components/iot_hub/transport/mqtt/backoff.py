"""Exponential back-off with jitter, for reconnecting to a broker that is down."""

from __future__ import annotations

from dataclasses import dataclass, field
import random


@dataclass(slots=True)
class Backoff:
    """Delays that double from ``initial`` up to ``maximum``, each scaled by 0.5-1.0.

    The jitter keeps many hubs (or many restarts) from reconnecting in lockstep when a shared
    broker comes back.
    """

    initial: float = 1.0
    maximum: float = 60.0
    _attempt: int = field(default=0, init=False)

    def next(self) -> float:
        """The delay before the next attempt."""
        base = min(self.maximum, self.initial * 2.0 ** min(self._attempt, 32))
        self._attempt += 1
        return base * random.uniform(0.5, 1.0)  # noqa: S311  (timing jitter, not secrecy)

    def reset(self) -> None:
        """Connected again: the next outage starts at ``initial``."""
        self._attempt = 0
