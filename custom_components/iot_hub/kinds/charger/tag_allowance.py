"""How many unknown cards one charger may register with HA's tag integration (pure).

Every scan fires ``iot_hub_nfc_scan`` and the card-scan event entity, and is passed to HA's
tag integration, which creates a tag and an entity-registry entry for each uid it has not
seen. A charger (or anyone holding its token) scanning made-up uids would fill both: 200
scans made 200 tags, and at the rate limit one charger could make ~180,000 an hour.

``TagAllowance`` lets one charger register at most ``limit`` *new* unknown uids per sliding
hour (``WINDOW_S``). Authorised cards and uids already known as tags are the caller's to let
through; a uid this charger registered within the hour passes again. What is held back still
fires the events; only the tag integration does not hear of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

WINDOW_S: Final = 3600.0


@dataclass(slots=True)
class TagAllowance:
    """The unknown uids one charger registered within the last hour (at most ``limit``)."""

    registered: dict[str, float] = field(default_factory=dict)  # uid -> when (monotonic s)
    held_back: int = 0  # scans of new unknown uids not registered, since HA started

    def admit(self, uid: str, now: float, limit: int) -> bool:
        """Whether ``uid``, scanned at ``now``, may be registered; counts what is not."""
        self.registered = {
            known: at for known, at in self.registered.items() if now - at < WINDOW_S
        }
        if uid in self.registered:
            return True
        if len(self.registered) >= limit:
            self.held_back += 1
            return False
        self.registered[uid] = now
        return True
