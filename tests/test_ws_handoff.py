"""Device frames handed over as aiohttp parses them (``ws_handoff``), over HA's real HTTP server.

The hand-off must be taken on the aiohttp Home Assistant pins, keep frames in their order, and
fall back to ``receive()`` when aiohttp's insides are not the ones it was written against.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import struct
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.transport import ws_handoff

from .conftest import OVEN_TOKEN, WsConnect, state_of, until, until_recorded
from .test_ws_limits import _raw_websocket

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])


def test_pinned_aiohttp_takes_the_handoff() -> None:
    """The aiohttp HA pins has the ``_post_start`` the hand-off copies.

    When this fails after an upgrade, read aiohttp's new ``WebSocketResponse._post_start``,
    bring ``HandoffResponse._post_start`` in line and update ``_POST_START_NAMES``.
    """
    assert ws_handoff.SUPPORTED


def _tasks_of_receive(hub_receive: Any) -> tuple[list[asyncio.Task[Any] | None], Any]:
    """A stand-in for ``Hub.receive`` that notes the task each frame is handled in."""
    tasks: list[asyncio.Task[Any] | None] = []

    def receive(hub: Hub, *args: Any) -> None:
        tasks.append(asyncio.current_task())
        hub_receive(hub, *args)

    return tasks, receive


@pytest.mark.usefixtures("init_integration")
async def test_device_frames_are_handed_over_by_the_parser(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """No task awaits a device's frames: each is handled from aiohttp's parser callback."""
    tasks, receive = _tasks_of_receive(Hub.receive)
    with patch.object(Hub, "receive", receive):
        oven = await ws_connect(f"?token={OVEN_TOKEN}")
        await oven.send_str("20")
        await oven.send_str("21")
        await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "21.0")
    assert tasks == [None, None]


async def test_other_aiohttp_reads_frames_with_receive(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An aiohttp whose insides differ gets aiohttp's own response: frames come by receive()."""
    monkeypatch.setattr(ws_handoff, "SUPPORTED", False)
    caplog.set_level(logging.DEBUG, "custom_components.iot_hub.transport.websocket")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert f"aiohttp {aiohttp.__version__} is not the one frames are handed over" in caplog.text
    tasks, receive = _tasks_of_receive(Hub.receive)
    with patch.object(Hub, "receive", receive):
        oven = await ws_connect(f"?token={OVEN_TOKEN}")
        await oven.send_str("20")
        await oven.send_str("not a number")
        assert "invalid" in (await oven.receive_json(timeout=5))["error"]
        await oven.send_str("21")
        await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "21.0")
    assert len(tasks) == 3
    assert None not in tasks


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (payload under 126 bytes)."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return struct.pack("!BB", 0x80 | opcode, 0x80 | len(payload)) + mask + masked


async def _text_frames(reader: asyncio.StreamReader, count: int) -> list[dict[str, Any]]:
    """The next ``count`` unmasked server text frames, as JSON."""
    frames = []
    for _ in range(count):
        head = await asyncio.wait_for(reader.readexactly(2), 5)
        assert head[0] & 0x0F == 0x1, head
        frames.append(json.loads(await reader.readexactly(head[1] & 0x7F)))
    return frames


@pytest.mark.usefixtures("init_integration")
async def test_text_behind_a_queued_frame_keeps_its_place(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Binary, then bad text, in one TCP write: the binary frame's notice is answered first.

    The binary frame waits in aiohttp's queue for ``receive()``; the text behind it must wait
    too, or its reply would overtake the notice.
    """
    reader, writer = await _raw_websocket(hass_client_no_auth, f"?token={OVEN_TOKEN}")
    writer.write(_client_frame(0x2, b"\x00\x01") + _client_frame(0x1, b"not a number"))
    first, second = await _text_frames(reader, 2)
    assert "binary" in first["error"]
    assert "invalid" in second["error"]
    # After the queue drained, frames are handed over again and still applied.
    writer.write(_client_frame(0x1, b"22"))
    await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "22.0")
    writer.close()


@pytest.mark.usefixtures("init_integration")
async def test_a_frame_that_breaks_its_handler_costs_only_itself(
    hass: HomeAssistant, ws_connect: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug on one frame is logged; the connection and the next frames carry on."""
    hub_receive = Hub.receive
    broken = {"20"}

    def receive(hub: Hub, device: Any, inbound: Any) -> None:
        if inbound.text in broken:
            raise RuntimeError("boom")
        hub_receive(hub, device, inbound)

    with patch.object(Hub, "receive", receive):
        oven = await ws_connect(f"?token={OVEN_TOKEN}")
        await oven.send_str("20")
        await until(lambda: "Error handling a frame from 127.0.0.1" in caplog.text)
        await oven.send_str("21")
        await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "21.0")
    assert "RuntimeError: boom" in caplog.text
    assert not oven.closed


@pytest.mark.usefixtures("init_integration")
async def test_mixed_frames_in_one_write_are_answered_in_order(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Random mixes of readings, bad text, binary frames and pings, each mix in one TCP write.

    Each mix is parsed in one go, so text frames are handed over or queued behind a binary
    frame or a ping depending on what came before them: the replies must still come in the
    order of their frames, every ping must get its pong, and the last reading must count.
    """
    rng = random.Random(20261207)
    reader, writer = await _raw_websocket(hass_client_no_auth, f"?token={OVEN_TOKEN}")
    for mix in range(3):
        frames, replies, pings = [], [], []
        for index in range(25):  # three mixes stay under the burst of 100 text frames
            match rng.choice(("reading", "bad", "binary", "ping")):
                case "reading":
                    frames.append(_client_frame(0x1, b"20"))
                case "bad":
                    frames.append(_client_frame(0x1, b"not a number"))
                    replies.append("invalid")
                case "binary":
                    frames.append(_client_frame(0x2, b"\x01"))
                    replies.append("binary")
                case "ping":
                    frames.append(_client_frame(0x9, f"{mix}-{index}".encode()))
                    pings.append(f"{mix}-{index}".encode())
        last = f"{30 + mix}".encode()
        writer.write(b"".join(frames) + _client_frame(0x1, last))
        errors, pongs = [], []
        while len(errors) < len(replies) or len(pongs) < len(pings):
            head = await asyncio.wait_for(reader.readexactly(2), 5)
            payload = await reader.readexactly(head[1] & 0x7F)
            if head[0] & 0x0F == 0xA:
                pongs.append(payload)
            else:
                assert head[0] & 0x0F == 0x1, head
                error = json.loads(payload)["error"]
                errors.append("binary" if "binary" in error else "invalid")
        assert errors == replies
        assert sorted(pongs) == sorted(pings)
        await until_recorded(
            hass,
            lambda last=last: state_of(hass, "sensor.oven_temperature") == f"{last.decode()}.0",
        )
    writer.close()
