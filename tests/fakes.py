"""Test doubles shared by several test modules."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeLink:
    """A ``Link`` without a socket: records what the hub sends and how it closes it.

    Lets a test drive the hub directly, with no socket I/O, so the ``freezer`` fixture can
    be used (a frozen loop clock hangs every real socket wait).
    """

    peer: str = "192.0.2.10"
    sent: list[str] = field(default_factory=list)
    closed: tuple[int, str] | None = None

    @property
    def closing(self) -> bool:
        """Whether the hub closed it."""
        return self.closed is not None

    def send_text(self, text: str) -> None:
        """Record a frame."""
        self.sent.append(text)

    def close(self, code: int, reason: str) -> None:
        """Record the close code and reason."""
        self.closed = (code, reason)
