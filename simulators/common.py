"""What both simulators share: URLs with credentials, close-code meanings, console output.

Nothing here is imported from ``custom_components``: the simulators are independent clients
written from the protocol documents, so a change in the integration cannot silently change
what they send.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
import sys
from typing import Final

from yarl import URL

type Printer = Callable[[str], None]

# Close codes iot_hub uses (docs/protocols.md); the seeds' own codes where they had one.
CLOSE_MISSING_CREDENTIALS: Final = 4001
CLOSE_INVALID_TOKEN: Final = 4003
CLOSE_MISSING_STATION: Final = 4004
CLOSE_UNKNOWN_DEVICE: Final = 4005
CLOSE_DEVICE_NOT_CHOSEN: Final = 4006
CLOSE_REPLACED: Final = 4008
CLOSE_DEVICE_REMOVED: Final = 4010

CLOSE_MEANINGS: Final[dict[int, str]] = {
    1000: "normal closure",
    1001: "server going away (Home Assistant restarting or iot_hub unloading)",
    1006: "connection lost without a close frame",
    1008: "policy violation (flooding)",
    1009: "frame too big",
    1011: "server error",
    1013: "try again later (frames were not read fast enough)",
    CLOSE_MISSING_CREDENTIALS: "missing token",
    CLOSE_INVALID_TOKEN: "invalid token (wrong, rotated or revoked)",
    CLOSE_MISSING_STATION: "missing estacionId (--station)",
    CLOSE_UNKNOWN_DEVICE: "unknown device",
    CLOSE_DEVICE_NOT_CHOSEN: "several devices: choose one with --device NAME",
    CLOSE_REPLACED: "replaced by a newer connection with the same token",
    CLOSE_DEVICE_REMOVED: "device removed from iot_hub",
}

# The EV-charger protocol (seed 002, ``role``/``estacionId``) gives some codes its own meaning.
STATION_CLOSE_MEANINGS: Final[dict[int, str]] = {
    CLOSE_UNKNOWN_DEVICE: "unknown station (no charger with this estacionId for this token)",
    CLOSE_DEVICE_NOT_CHOSEN: "missing estacionId (--station)",
}


def describe_close(
    code: int | None, reason: str = "", *, meanings: Mapping[int, str] | None = None
) -> str:
    """A human sentence for a WebSocket close.

    Args:
        code: The close code, or None when the socket ended without one.
        reason: The reason text the server sent, if any.
        meanings: Meanings that replace ``CLOSE_MEANINGS``' for some codes (e.g.
            ``STATION_CLOSE_MEANINGS``).

    Returns:
        For example ``4003 invalid token (wrong, rotated or revoked): "invalid token"``.
    """
    if code is None:
        return "connection closed without a close code"
    meaning = (meanings or {}).get(code) or CLOSE_MEANINGS.get(code, "unknown close code")
    return f"{code} {meaning}" + (f': "{reason}"' if reason else "")


def with_credentials(
    url: str, token: str, *, bearer: bool = False, **query: str | None
) -> tuple[URL, dict[str, str]]:
    """The URL and headers that carry ``token`` the way the device or app is configured.

    Args:
        url: The endpoint, e.g. ``ws://homeassistant.local:8123/api/iot_hub/ws``.
        token: A device token or a Home Assistant access token.
        bearer: Send the token as ``Authorization: Bearer`` instead of ``?token=``.
        **query: Extra query parameters; ``None`` values are left out.

    Returns:
        The URL to connect to and the headers to send.
    """
    target = URL(url)
    extra = {key: value for key, value in query.items() if value is not None}
    if bearer:
        return target.update_query(extra), {"Authorization": f"Bearer {token}"}
    return target.update_query(token=token, **extra), {}


def redacted(url: URL) -> str:
    """The URL without its token, for console output."""
    return str(url.without_query_params("token"))


def timestamped(stream_name: str = "stdout") -> Printer:
    """A printer that prefixes each line with the local time, as the seed's console did.

    Args:
        stream_name: ``"stdout"`` or ``"stderr"``; looked up at each call so that pytest's
            and the shell's redirections are honoured.

    Returns:
        A function printing one line.
    """

    def out(line: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        print(f"{stamp} {line}", file=getattr(sys, stream_name), flush=True)

    return out


def silent(_line: str) -> None:
    """A printer that prints nothing (library use)."""
