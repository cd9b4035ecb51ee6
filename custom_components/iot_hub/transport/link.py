"""What the hub needs of a connection, whatever the transport behind it."""

from __future__ import annotations

from typing import Protocol


class Link(Protocol):
    """One connected peer (device or client) the hub can send frames to and close."""

    @property
    def peer(self) -> str:
        """Who is on the other end, for log lines (address, never a token)."""

    def send_text(self, text: str) -> None:
        """Queue a text frame; never blocks, closes a peer that stopped reading."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a close code (scheduled, returns at once)."""
