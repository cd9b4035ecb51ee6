"""Limits of the device endpoint: inbound rate, floods, back-off, caps, the log throttle."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, auto
import time
from typing import Any, Final

from ..const import (
    CONF_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    DEFAULT_MAX_CONNECTIONS_PER_USER,
)

INBOUND_RATE: Final = 50.0  # frames per second a connection may sustain
INBOUND_BURST: Final = 100.0  # frames it may send at once
FLOOD_WINDOW: Final = 10.0  # seconds over which dropped frames are counted
FLOOD_CLOSE_AFTER: Final = 500  # dropped frames within one window that close the connection
FLOOD_BACKOFF: Final = 60.0  # seconds a peer closed for flooding is refused
FAILED_LOGIN_INTERVAL: Final = 60.0  # seconds between two reported failures of one address
_PRUNE_AT: Final = 1024  # entries kept per address/peer table before stale ones are dropped


@dataclass(slots=True)
class TokenBucket:
    """Classic token bucket; ``allow`` costs one token per frame."""

    rate: float = INBOUND_RATE
    burst: float = INBOUND_BURST
    tokens: float = INBOUND_BURST
    stamp: float = field(default_factory=time.monotonic)

    @classmethod
    def for_rate(cls, rate: float | None) -> TokenBucket:
        """A full bucket sustaining ``rate`` frames/s with bursts of twice that (None: default)."""
        if rate is None:  # the module's values, read now (tests lower them)
            return cls(rate=INBOUND_RATE, burst=INBOUND_BURST, tokens=INBOUND_BURST)
        return cls(rate=rate, burst=2 * rate, tokens=2 * rate)

    def allow(self) -> bool:
        """Take a token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Drop(Enum):
    """What a dropped frame calls for."""

    NOTICE = auto()  # the first of its window: tell the peer (once)
    QUIET = auto()
    CLOSE = auto()  # ``limit`` dropped within one window: a flood


@dataclass(slots=True)
class FloodMeter:
    """Dropped frames counted over a window that opens at the first drop.

    A count of drops *in a row* restarts at every refilled token, so a steady flood never
    reached it; drops within a window add up whatever got through between them.
    """

    window: float = FLOOD_WINDOW
    limit: int = FLOOD_CLOSE_AFTER
    opened: float = float("-inf")
    dropped: int = 0

    def drop(self) -> Drop:
        """Count one dropped frame."""
        now = time.monotonic()
        if now - self.opened >= self.window:
            self.opened = now
            self.dropped = 0
        self.dropped += 1
        if self.dropped >= self.limit:
            return Drop.CLOSE
        return Drop.NOTICE if self.dropped == 1 else Drop.QUIET


@dataclass(slots=True)
class Backoff:
    """Who was closed for flooding, and until when they are refused."""

    _until: dict[str, float] = field(default_factory=dict)

    def start(self, who: str, seconds: float) -> None:
        """Refuse ``who`` for ``seconds`` from now."""
        now = time.monotonic()
        if len(self._until) >= _PRUNE_AT:
            self._until = {key: end for key, end in self._until.items() if end > now}
        self._until[who] = now + seconds

    def remaining(self, who: str) -> float:
        """Seconds ``who`` must still wait (0: welcome)."""
        return max(0.0, self._until.get(who, 0.0) - time.monotonic())


@dataclass(slots=True)
class ConnectionCounts:
    """Open app/dashboard connections per address and per HA user."""

    by_address: Counter[str] = field(default_factory=Counter)
    by_user: Counter[str] = field(default_factory=Counter)

    def acquire(self, address: str, user: str, *, per_address: int, per_user: int) -> bool:
        """Count one more connection unless that would pass a cap."""
        if self.by_address[address] >= per_address or self.by_user[user] >= per_user:
            return False
        self.by_address[address] += 1
        self.by_user[user] += 1
        return True

    def acquire_within(self, address: str, user: str, options: Mapping[str, Any]) -> bool:
        """``acquire`` under the caps of the hub's ``options`` (or their defaults)."""
        return self.acquire(
            address,
            user,
            per_address=options.get(
                CONF_MAX_CONNECTIONS_PER_ADDRESS, DEFAULT_MAX_CONNECTIONS_PER_ADDRESS
            ),
            per_user=options.get(CONF_MAX_CONNECTIONS_PER_USER, DEFAULT_MAX_CONNECTIONS_PER_USER),
        )

    def release(self, address: str, user: str) -> None:
        """One connection closed."""
        for counts, key in ((self.by_address, address), (self.by_user, user)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]


@dataclass(slots=True)
class FailureThrottle:
    """Lets one report per key (an address) through every ``interval`` seconds.

    A misconfigured ESP32 retries forever; each retry still counts toward HA's IP ban (see
    ``auth.LoginFailures``), but the log and the notification are not flooded.
    """

    interval: float = FAILED_LOGIN_INTERVAL
    _last: dict[str, float] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)

    def should_report(self, address: str) -> bool:
        """Whether this event of ``address`` should be logged now."""
        now = time.monotonic()
        if now - self._last.get(address, -self.interval) >= self.interval:
            if len(self._last) >= _PRUNE_AT:
                self._last = {k: t for k, t in self._last.items() if now - t < self.interval}
                self.suppressed = {k: n for k, n in self.suppressed.items() if k in self._last}
            self._last[address] = now
            return True
        self.suppressed[address] = self.suppressed.get(address, 0) + 1
        return False

    def take_suppressed(self, address: str) -> int:
        """How many events of ``address`` went unreported since the last report."""
        return self.suppressed.pop(address, 0)
