"""The WebSocket link's writer on its own, with a stand-in for aiohttp's WebSocketResponse."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiohttp import web
import pytest

from custom_components.iot_hub.transport import websocket
from custom_components.iot_hub.transport.websocket import WsLink


class FakeWebSocket:
    """Records frames and the close; ``send_str`` may fail or hang on demand."""

    def __init__(self, *, fail: BaseException | None = None, hang: bool = False) -> None:
        self.frames: list[str] = []
        self.closed: tuple[int, bytes] | None = None
        self._fail = fail
        self._hang = hang

    async def send_str(self, text: str) -> None:
        if self._fail is not None:
            raise self._fail
        if self._hang:
            await asyncio.Event().wait()
        self.frames.append(text)

    async def close(self, *, code: int, message: bytes) -> bool:
        self.closed = (code, message)
        return True


def _link(ws: FakeWebSocket) -> WsLink:
    return WsLink(cast("web.WebSocketResponse", ws), "192.0.2.1")


async def test_queued_frames_go_out_before_the_close() -> None:
    """Frames queued before ``close`` are sent; later ones are dropped."""
    ws = FakeWebSocket()
    link = _link(ws)
    assert link.peer == "192.0.2.1"
    link.send_text("a")
    link.send_text("b")
    link.close(4003, "token rotated")
    link.close(1000, "ignored: already closing")
    link.send_text("too late")
    await link.aclose()
    assert ws.frames == ["a", "b"]
    assert ws.closed == (4003, b"token rotated")


@pytest.mark.parametrize("error", [ConnectionResetError(), RuntimeError("closing transport")])
async def test_peer_vanishing_mid_write_ends_the_writer(error: BaseException) -> None:
    """A failed write drops what is queued; closing afterwards neither hangs nor raises."""
    ws = FakeWebSocket(fail=error)
    link = _link(ws)
    link.send_text("a")
    link.send_text("b")
    await asyncio.sleep(0)  # the writer runs and fails
    async with asyncio.timeout(1):
        await link.aclose()
    assert ws.frames == []
    assert ws.closed is None


async def test_stuck_writer_is_cancelled_after_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A peer whose socket never drains cannot hold the reader's cleanup forever."""
    monkeypatch.setattr(websocket, "WRITER_GRACE", 0.01)
    ws = FakeWebSocket(hang=True)
    link = _link(ws)
    link.send_text("stuck")
    async with asyncio.timeout(1):
        await link.aclose()
    writer: Any = link._writer
    assert writer.cancelled()
    assert ws.closed is None
