"""What the appliances' HTTP, SSE and ``websocket_api`` surfaces share: the directory, the caller.

``directory_of`` (from ``directory.py``) finds the loaded hub's appliance directory. ``authenticate`` accepts what HA's own views accept (``Authorization: Bearer``, a
signed ``authSig`` path) and also ``?token=`` with an HA access token, which is what a legacy
client adds to its URLs; every failure counts toward HA's IP ban (``transport/auth.py``).
``Filters`` are the seed's stream filters (``serial``, ``reclamado``), shared by SSE and
``websocket_api`` subscriptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from homeassistant.auth.models import User
from homeassistant.auth.permissions.const import POLICY_CONTROL
from homeassistant.core import Context, callback

from ...transport import http as transport_http
from ...transport.auth import LoginFailures
from .codec import DeviceInfo
from .directory import directory_of

TRUE_WORDS: Final = frozenset({"true", "1"})
FALSE_WORDS: Final = frozenset({"false", "0"})


@callback
@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated HA user, and the refresh token its access token belongs to."""

    user: User
    refresh_token_id: str | None

    @property
    def context(self) -> Context:
        """The context of what this caller changes (the logbook names the user)."""
        return Context(user_id=self.user.id)

    @property
    def may_control(self) -> bool:
        """Whether the user may control devices (admins and ordinary users, not read-only)."""
        return self.user.is_admin or self.user.permissions.access_all_entities(POLICY_CONTROL)


async def authenticate(request: web.Request, failures: LoginFailures) -> Caller | None:
    """The caller: HA's middleware (Bearer, ``authSig``) or ``?token=``; None counts a failure."""
    if (found := await transport_http.authenticate(request, failures)) is None:
        return None
    return Caller(*found)


def parse_flag(raw: str | None, name: str) -> bool | None:
    """``true``/``false`` (or ``1``/``0``, any case); None when absent or empty."""
    if raw is None or raw == "":
        return None
    word = raw.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name} debe ser true o false")


@dataclass(frozen=True, slots=True)
class Filters:
    """Which device changes a stream wants: the seed's ``serial`` and ``reclamado``."""

    serial: str | None = None
    reclamado: bool | None = None

    @classmethod
    def of(cls, serial: str | None, reclamado: bool | None, claimed: bool | None = None) -> Filters:
        """Filters from the seed's names; ``claimed`` is ``reclamado`` in English."""
        if reclamado is not None and claimed is not None and reclamado != claimed:
            raise ValueError("reclamado y claimed se contradicen")
        return cls(serial or None, reclamado if reclamado is not None else claimed)

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        """``?serial=&reclamado=`` (or ``claimed=``); ``ValueError`` for a bad flag."""
        return cls.of(
            query.get("serial"),
            parse_flag(query.get("reclamado"), "reclamado"),
            parse_flag(query.get("claimed"), "claimed"),
        )

    def matches(self, device: DeviceInfo) -> bool:
        """Exact serial, and ``reclamado`` as the device is after the change."""
        return (self.serial is None or device.serial_number == self.serial) and (
            self.reclamado is None or device.reclamado is self.reclamado
        )


__all__ = ["Caller", "Filters", "authenticate", "directory_of", "parse_flag"]
