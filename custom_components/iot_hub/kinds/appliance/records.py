"""What the appliance directory keeps and answers: a serial's record, a log page.

``Seen`` is what the hub last heard of one serial (claimed or not), as stored; a damaged
entry reads as None and costs that entry only. ``LogPage`` is the envelope logs are paged in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import math
from typing import Any

from ...protocol import ProtocolError
from .codec import Configuracion, Estado, Parameter, decode_configuracion, decode_parametros
from .const import CONF_CONFIGURACION


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


@dataclass(slots=True)
class Seen:
    """What the hub last heard of one serial (claimed or not): kept across restarts."""

    id: int
    estado: Estado = "inactivo"
    parametros: dict[str, Parameter] = field(default_factory=dict)
    last_seen: datetime | None = None  # formatted only when written: not per message

    def as_dict(self) -> dict[str, Any]:
        """Stored form."""
        return {
            "id": self.id,
            "estado": self.estado,
            "parametros": self.parametros,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Seen | None:
        """Read back; None when it does not read (a damaged file costs that entry only)."""
        if not isinstance(data, dict) or type(data.get("id")) is not int or data["id"] < 1:
            return None
        try:
            # Checked as a device's report is: a damaged value must not become a state.
            parametros = decode_parametros(data.get("parametros"))
        except ProtocolError:
            parametros = {}
        last_seen = data.get("last_seen")
        return cls(
            data["id"],
            "activo" if data.get("estado") == "activo" else "inactivo",
            parametros,
            _aware(last_seen),
        )


def configuracion_of(data: Any) -> Configuracion:
    """A claimed device's stored configuration (the default when it does not read)."""
    try:
        return decode_configuracion(data.get(CONF_CONFIGURACION) or {})
    except ProtocolError:
        return Configuracion()


def _aware(value: object) -> datetime | None:
    """A stored time with its zone, or None when it does not read."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
