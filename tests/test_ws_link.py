"""The WebSocket link's writer on its own, with a stand-in for aiohttp's WebSocketResponse."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiohttp import web
import pytest

from custom_components.iot_hub.transport import ws_link
from custom_components.iot_hub.transport.ws_link import WsLink


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
    monkeypatch.setattr(ws_link, "WRITER_GRACE", 0.01)
    ws = FakeWebSocket(hang=True)
    link = _link(ws)
    link.send_text("stuck")
    async with asyncio.timeout(1):
        await link.aclose()
    writer: Any = link._writer
    assert writer.cancelled()
    assert ws.closed is None


class FakeTransport:
    """What the link asks of the request's transport: its buffer, and an abort."""

    def __init__(self, buffered: int = 0) -> None:
        self.buffered = buffered
        self.aborted = False

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:
        self.aborted = True


def _stuck_link(buffered: int) -> tuple[WsLink, FakeTransport]:
    """A link whose peer takes nothing: writes hang, ``buffered`` bytes sit in the transport."""
    transport = FakeTransport(buffered)
    ws = cast("web.WebSocketResponse", FakeWebSocket(hang=True))
    return WsLink(ws, "192.0.2.1", cast("Any", transport)), transport


async def _link_stuck_in_a_write(monkeypatch: pytest.MonkeyPatch) -> tuple[WsLink, FakeTransport]:
    """A link whose writer hangs on its first frame, 10 bytes in the transport, a short grace."""
    monkeypatch.setattr(ws_link, "WRITER_GRACE", 0.01)
    link, transport = _stuck_link(buffered=10)
    link.send_text("stuck")
    await asyncio.sleep(0)  # the writer takes it and hangs
    return link, transport


class PingedWebSocket(FakeWebSocket):
    """Counts pings."""

    def __init__(self) -> None:
        super().__init__()
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1


async def test_peer_that_takes_nothing_is_aborted_after_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its backlog is dropped at once; the socket, stuck in a write, is aborted later."""
    link, transport = await _link_stuck_in_a_write(monkeypatch)
    link.send_text("queued")
    assert link.buffered() == 10 + len("queued")  # the transport's bytes, and the queue's
    link.give_up("not reading")
    link.give_up("said once")
    assert link.closing
    assert link.buffered() == 10  # the queue is gone; the transport's bytes are not ours
    await asyncio.sleep(0.05)
    assert transport.aborted
    writer: Any = link._writer
    assert writer.cancelled()
    await link.aclose()


async def test_bytes_in_the_transport_count_toward_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A nearly full transport leaves room for fewer characters: past it, 1013."""
    monkeypatch.setattr(ws_link, "MAX_BUFFERED_BYTES", 100)
    link, transport = _stuck_link(buffered=95)
    link.send_text("12345")
    link.send_text("6")
    assert link.closing
    await link.aclose()
    assert transport.aborted  # bytes left in the transport at the end: the peer took nothing


async def test_heartbeat_pings_a_silent_peer_and_gives_up_without_an_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Heard from: no ping; silent: a ping; an answer keeps it; no answer closes it, 1013."""
    monkeypatch.setattr(ws_link, "HEARTBEAT", 0.02)
    ws = PingedWebSocket()
    link = _link(ws)
    link.heard()
    await asyncio.sleep(0.03)
    assert ws.pings == 0  # it spoke during the first beat
    async with asyncio.timeout(1):
        while ws.pings == 0:
            await asyncio.sleep(0.005)
    link.heard()  # the answer
    async with asyncio.timeout(1):
        while ws.closed is None:
            await asyncio.sleep(0.005)
    assert ws.pings >= 2
    assert ws.closed == (1013, b"did not answer a ping")
    await link.aclose()


async def test_closed_peer_that_takes_nothing_is_aborted_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Any close (here: replaced) is bounded: no heartbeat runs once closing, the grace does."""
    link, transport = await _link_stuck_in_a_write(monkeypatch)
    link.close(4008, "replaced by a newer connection")
    await asyncio.sleep(0.05)
    assert transport.aborted
    await link.aclose()
