"""The one list of device kinds. Adding a kind = one package under ``kinds/`` and one line here.

The order is the order the kinds are offered in *Add device*, and the order in which they may
claim a connection's query parameters.
"""

from __future__ import annotations

from ..kind import Kind
from .appliance import APPLIANCE
from .charger import CHARGER
from .oven import OVEN
from .sensor import SENSOR

KINDS: tuple[Kind, ...] = (
    OVEN,
    CHARGER,
    APPLIANCE,
    SENSOR,
)


def registered() -> tuple[Kind, ...]:
    """Every kind (read at call time, so a test can register a kind of its own)."""
    return KINDS


def kind_named(key: str) -> Kind | None:
    """The kind stored under ``key`` in a device subentry, if this version knows it."""
    return next((kind for kind in registered() if kind.key == key), None)
