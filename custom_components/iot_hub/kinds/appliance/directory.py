"""Every appliance of the hub, claimed or not, as the seed's back end knew them.

The directory gives each serial its stable integer ``id`` (the seed's), keeps the unclaimed
ones (Discovered in HA) and the last state of every one across restarts, claims and edits
devices (a claim adds the device subentry), pages their logs, and tells subscribers (the SSE
stream, ``websocket_api`` subscriptions) of every change. The REST, SSE and ``websocket_api``
surfaces are thin layers over it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
from typing import Any

from homeassistant.core import Context

from .codec import DeviceInfo, Edit

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class LogPage:
    """One page of a device's log, newest first (the envelope Flask-SQLAlchemy pages use)."""

    items: list[dict[str, Any]]  # {"id", "dispositivo_id", "estado", "parametros", "timestamp"}
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """How many pages there are (0 for an empty log)."""
        return math.ceil(self.total / self.per_page)

    def as_dict(self) -> dict[str, Any]:
        """The JSON body: ``items``, ``page``, ``per_page``, ``total``, ``pages``."""
        return {
            "items": self.items,
            "page": self.page,
            "per_page": self.per_page,
            "total": self.total,
            "pages": self.pages,
        }


class ApplianceDirectory:
    """The appliances of one hub (interface; the implementation follows)."""

    def devices(self, reclamado: bool | None = None) -> list[DeviceInfo]:
        """Every device by ``id``; ``reclamado`` keeps only the claimed (True) or not (False)."""
        raise NotImplementedError

    def device(self, legacy_id: int) -> DeviceInfo | None:
        """The device with this integer ``id``."""
        raise NotImplementedError

    async def async_claim(
        self, serial: str, edit: Edit, context: Context | None = None
    ) -> DeviceInfo:
        """Claim a device (seen or not yet seen): add it to HA with these fields.

        Raises ``IotHubError(ErrorKey.ALREADY_CLAIMED)``.
        """
        raise NotImplementedError

    async def async_update(
        self, legacy_id: int, edit: Edit, context: Context | None = None
    ) -> DeviceInfo:
        """Apply a client's edit by the seed's mode rules; publish the configuration once.

        Raises ``IotHubError(ErrorKey.UNKNOWN_APPLIANCE)`` (or ``NOT_CLAIMED``).
        """
        raise NotImplementedError

    def logs(self, legacy_id: int, page: int, per_page: int) -> LogPage:
        """A page of the device's log, newest first.

        Raises ``IotHubError(ErrorKey.UNKNOWN_APPLIANCE)``; ``ValueError`` for a page past
        the last (page 1 of an empty log is an empty page).
        """
        raise NotImplementedError

    def subscribe(self, callback: Callable[[DeviceInfo], None]) -> Callable[[], None]:
        """Hear every device change (MQTT state, claim, edit, HA-side switch/select/rename)."""
        raise NotImplementedError
