"""The bounded outbox: publishes that wait, in order, while the broker is unreachable.

Both transports keep one. A message leaves it only once it was sent (for QoS 1: once the
broker acknowledged it), so a connection lost mid-send sends it again: at least once. When
the outbox is full the oldest message is dropped: one warning per outage, not one per drop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
import logging
from typing import Final

_LOGGER = logging.getLogger(__name__)

DEFAULT_OUTBOX_SIZE: Final = 1000


@dataclass(frozen=True, slots=True, eq=False)  # identity: the same message may be sent twice
class Outgoing:
    """One message to publish."""

    topic: str
    payload: bytes
    qos: int
    retain: bool


class Outbox:
    """A bounded FIFO of ``Outgoing``; ``ready`` is set while it holds something."""

    def __init__(self, size: int = DEFAULT_OUTBOX_SIZE, name: str = "MQTT") -> None:
        """Hold at most ``size`` messages; ``name`` says whose outbox in log lines."""
        self._items: deque[Outgoing] = deque()
        self._size = max(1, size)
        self._name = name
        self._dropped = 0
        self.ready = asyncio.Event()

    def __len__(self) -> int:
        """Messages waiting."""
        return len(self._items)

    def put(self, message: Outgoing) -> None:
        """Queue ``message`` last; a full outbox drops its oldest message first."""
        if len(self._items) >= self._size:
            dropped = self._items.popleft()
            self._dropped += 1
            if self._dropped == 1:
                _LOGGER.warning(
                    "%s: outbox full (%d messages) while the broker is unreachable; dropping "
                    "the oldest, starting with one on %s",
                    self._name,
                    self._size,
                    dropped.topic,
                )
            else:
                _LOGGER.debug("%s: outbox full, dropped a message on %s", self._name, dropped.topic)
        self._items.append(message)
        self.ready.set()

    def peek(self) -> Outgoing | None:
        """The next message to send, left in place until ``sent``."""
        return self._items[0] if self._items else None

    def sent(self, message: Outgoing) -> None:
        """``message`` (the one ``peek`` gave) went out: forget it, unless already dropped."""
        if self._items and self._items[0] is message:
            self._items.popleft()
        if not self._items:
            self.ready.clear()
            if self._dropped:
                _LOGGER.warning(
                    "%s: outbox sent; %d older messages were dropped while it was full",
                    self._name,
                    self._dropped,
                )
                self._dropped = 0
