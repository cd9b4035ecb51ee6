"""Per-connection limits: inbound token bucket and the log/ban throttle for failed logins."""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import Final

INBOUND_RATE: Final = 50.0  # frames per second a connection may sustain
INBOUND_BURST: Final = 100.0  # frames it may send at once
FLOOD_CLOSE_AFTER: Final = 500  # dropped frames in a row before the peer is cut off
FAILED_LOGIN_INTERVAL: Final = 60.0  # seconds between two counted failures of one address


@dataclass(slots=True)
class TokenBucket:
    """Classic token bucket; ``allow`` costs one token per frame."""

    rate: float = INBOUND_RATE
    burst: float = INBOUND_BURST
    tokens: float = INBOUND_BURST
    stamp: float = field(default_factory=time.monotonic)
    dropped_in_a_row: int = 0

    def allow(self) -> bool:
        """Take a token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            self.dropped_in_a_row = 0
            return True
        self.dropped_in_a_row += 1
        return False


@dataclass(slots=True)
class FailureThrottle:
    """Lets one failure per address through every ``interval`` seconds.

    A misconfigured ESP32 retries forever; each retry still counts toward HA's IP ban (see
    ``websocket._count_failed_login``), but the log and the notification are not flooded.
    """

    interval: float = FAILED_LOGIN_INTERVAL
    _last: dict[str, float] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)

    def should_report(self, address: str) -> bool:
        """Whether this failure of ``address`` should be logged and counted now."""
        now = time.monotonic()
        if now - self._last.get(address, -self.interval) >= self.interval:
            self._last[address] = now
            return True
        self.suppressed[address] = self.suppressed.get(address, 0) + 1
        return False

    def take_suppressed(self, address: str) -> int:
        """How many failures of ``address`` went unreported since the last report."""
        return self.suppressed.pop(address, 0)
