"""What the hub needs of a connection, whatever the transport behind it.

A WebSocket is one; so is an MQTT device's topic pair, or a one-shot link that collects the
replies to an HTTP POST. The hub and the kinds only ever send through this.
"""

from __future__ import annotations

from typing import Protocol


class Link(Protocol):
    """One connected peer (device or client) the hub can send frames to and close."""

    @property
    def peer(self) -> str:
        """Who is on the other end, for log lines (address, never a token)."""

    @property
    def closing(self) -> bool:
        """Whether the link was closed (replaced, removed, unloading): its frames are stale."""

    def send_text(self, text: str) -> None:
        """Queue a text frame; never blocks, closes a peer that stopped reading."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a close code (scheduled, returns at once)."""
