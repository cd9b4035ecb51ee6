"""The WebSocket's limits against hostile or broken peers, over real sockets (issue 7).

Floods closed over a window and backed off, slow and silent readers closed with 1013, the
frame-size edge, connection caps, device tokens on an app's query, and failed-login storms.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import struct
import time
from unittest.mock import patch

from aiohttp import WSMsgType, WSServerHandshakeError
from homeassistant.components import persistent_notification
from homeassistant.components.http.ban import KEY_BAN_MANAGER, KEY_FAILED_LOGIN_ATTEMPTS
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.const import (
    CONF_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER,
    WS_PATH,
    CloseCode,
)
from custom_components.iot_hub.transport import limits, websocket, ws_link

from .conftest import (
    OVEN_ID,
    OVEN_TOKEN,
    WsConnect,
    closed_with,
    hub_of,
    state_of,
    until,
    until_recorded,
)
from .test_websocket import _setup_with_ip_ban, no_ban_file

__all__ = ["no_ban_file"]  # a fixture, used by name

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])


# -- 9: floods ------------------------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_flood_over_a_window_is_closed_once_warned_and_backed_off(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Dropping that restarts at each refill still adds up over the window: 1008, then 4029.

    Each batch of five frames gets one token back (the sleep refills it), so no more than four
    frames are ever dropped in a row; over the window they are far more than the limit.
    """
    monkeypatch.setattr(limits, "INBOUND_RATE", 100.0)
    monkeypatch.setattr(limits, "INBOUND_BURST", 1.0)
    monkeypatch.setattr(limits, "FLOOD_CLOSE_AFTER", 40)
    monkeypatch.setattr(limits, "FLOOD_BACKOFF", 1.0)
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    for _ in range(30):
        for _ in range(5):
            await oven.send_str("20")
        await asyncio.sleep(0.02)
    frames = []
    while (msg := await oven.receive(timeout=5)).type is WSMsgType.TEXT:
        frames.append(msg.json())
    assert msg.type is WSMsgType.CLOSE
    assert oven.close_code == CloseCode.POLICY
    assert frames == [{"error": "rate limit exceeded"}]  # one notice per window
    assert caplog.text.count("kept flooding") == 1
    # Reconnecting at once: refused for the back-off period, with its own code.
    again = await ws_connect(f"?token={OVEN_TOKEN}")
    await closed_with(again, CloseCode.BACKING_OFF)
    assert state_of(hass, "binary_sensor.oven_connectivity") == "off"
    await asyncio.sleep(1.1)
    later = await ws_connect(f"?token={OVEN_TOKEN}")
    await later.send_str("21")
    await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "21.0")


# -- 10: slow and silent readers ------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_reader_that_stops_reading_is_closed_1013_by_bytes_buffered(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    hass_access_token: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Frames pile up in the transport, not in the queue: the bytes are what is counted."""
    monkeypatch.setattr(ws_link, "MAX_PENDING", 100_000)  # the frame count never trips
    monkeypatch.setattr(ws_link, "MAX_BUFFERED_BYTES", 256 * 1024)
    app = await ws_connect(f"?token={hass_access_token}")
    await until(lambda: hub_of(hass).devices[OVEN_ID].clients)
    (link,) = hub_of(hass).devices[OVEN_ID].clients
    frame = "x" * 16_000
    for _ in range(2_000):  # 32 MB at most: far beyond any socket buffer
        if link.closing:
            break
        link.send_text(frame)
        await asyncio.sleep(0)
    assert link.closing
    assert "is not reading its frames" in caplog.text
    # When it reads at last, the close frame says why.
    while (msg := await app.receive(timeout=10)).type is WSMsgType.TEXT:
        pass
    assert msg.type is WSMsgType.CLOSE, msg
    assert app.close_code == CloseCode.TRY_AGAIN_LATER


async def _raw_websocket(
    client_factory: ClientSessionGenerator, query: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A hand-made WebSocket handshake: a peer that reads nothing unless the test does."""
    client = await client_factory()
    url = client.make_url(f"{WS_PATH}{query}")
    reader, writer = await asyncio.open_connection(url.host, url.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {url.path_qs} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


def _close_code_of(stream: bytes) -> int | None:
    """The code of the first close frame in a stream of unmasked server frames."""
    pos = 0
    while pos + 2 <= len(stream):
        opcode, length = stream[pos] & 0x0F, stream[pos + 1] & 0x7F
        pos += 2
        if length == 126:
            (length,) = struct.unpack("!H", stream[pos : pos + 2])
            pos += 2
        elif length == 127:
            (length,) = struct.unpack("!Q", stream[pos : pos + 8])
            pos += 8
        if opcode == 0x8:
            code: int = struct.unpack("!H", stream[pos : pos + 2])[0]
            return code
        pos += length
    return None


@pytest.mark.usefixtures("init_integration")
async def test_silent_peer_is_closed_1013_with_a_close_frame(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A peer that never reads answers no ping: 1013 in a close frame, not a dropped socket."""
    monkeypatch.setattr(ws_link, "HEARTBEAT", 0.2)
    reader, writer = await _raw_websocket(hass_client_no_auth, f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "off")
    stream = await asyncio.wait_for(reader.read(), timeout=5)  # everything, up to the end
    writer.close()
    assert _close_code_of(stream) == CloseCode.TRY_AGAIN_LATER
    assert "did not answer a ping" in caplog.text


@pytest.mark.usefixtures("init_integration")
async def test_reader_that_never_reads_is_let_go_after_the_grace(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full socket cannot hold the connection open: after the grace it is dropped."""
    monkeypatch.setattr(ws_link, "MAX_BUFFERED_BYTES", 64 * 1024)
    monkeypatch.setattr(ws_link, "WRITER_GRACE", 0.2)
    _reader, writer = await _raw_websocket(hass_client_no_auth, f"?token={OVEN_TOKEN}")
    await until(lambda: hub_of(hass).devices[OVEN_ID].link is not None)
    link = hub_of(hass).devices[OVEN_ID].link
    assert link is not None
    for _ in range(2_000):
        if link.closing:
            break
        link.send_text("y" * 16_000)
        await asyncio.sleep(0)
    assert link.closing
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "off")
    writer.close()


# -- 11: edges ------------------------------------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_frame_of_exactly_16_kib_is_accepted(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """The README refuses frames *over* 16 KiB: 16,384 bytes pass, 16,385 close with 1009."""
    assert websocket.MAX_FRAME_BYTES == 16_384
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await oven.send_str("20.5".rjust(16_384))
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "20.5")
    await oven.send_str("20.5".rjust(16_385))
    await closed_with(oven, CloseCode.TOO_BIG)


@pytest.mark.parametrize(
    ("option", "second_token_is_other_user"),
    [(CONF_MAX_CONNECTIONS_PER_USER, False), (CONF_MAX_CONNECTIONS_PER_ADDRESS, True)],
)
async def test_connection_caps_per_user_and_per_address(
    *,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_access_token: str,
    hass_read_only_access_token: str,
    option: str,
    second_token_is_other_user: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Past the cap an app gets 4031; a closed one frees its place; devices are not counted."""
    hass.config_entries.async_update_entry(init_integration, options={option: 2})
    third = hass_read_only_access_token if second_token_is_other_user else hass_access_token
    first = await ws_connect(f"?token={hass_access_token}")
    await ws_connect(f"?token={hass_access_token}")
    refused = await ws_connect(f"?token={third}")
    await closed_with(refused, CloseCode.TOO_MANY_CONNECTIONS)
    assert "too many connections" in caplog.text
    oven = await ws_connect(f"?token={OVEN_TOKEN}")  # a device: one per device anyway
    await oven.send_str("22")
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "22.0")
    await first.close()
    await until(lambda: len(hub_of(hass).devices[OVEN_ID].clients) == 1)
    again = await ws_connect(f"?token={third}")
    await again.send_json({"command": "BOGUS"})
    assert "unknown command" in (await again.receive_json(timeout=5))["error"]


# -- 12: a device token on an app's query ---------------------------------------------------


@pytest.mark.usefixtures("init_integration")
async def test_device_token_on_app_query_is_refused_and_leaves_the_device_alone(
    hass: HomeAssistant, ws_connect: WsConnect
) -> None:
    """``?token=<oven token>&device=oven`` is an app's query: 4003; the oven keeps its socket."""
    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await oven.send_str("20")
    await until(lambda: state_of(hass, "sensor.oven_temperature") == "20.0")
    app = await ws_connect(f"?token={OVEN_TOKEN}&device=oven")
    await app.send_json({"type": "mobile_app"})
    await closed_with(app, CloseCode.INVALID_TOKEN)
    await oven.send_str("21")
    await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "21.0")
    assert not oven.closed
    # A device that truly reconnects still replaces its older socket.
    second = await ws_connect(f"?token={OVEN_TOKEN}")
    await closed_with(oven, CloseCode.REPLACED)
    await second.send_str("23")
    await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "23.0")


# -- 14: failed logins ----------------------------------------------------------------------


def _slow_reverse_dns(address: str) -> tuple[str, list[str], list[str]]:
    time.sleep(0.2)
    raise socket.herror(address)


async def _bad_logins(ws_connect: WsConnect, count: int) -> None:
    async def one() -> None:
        try:
            ws = await ws_connect("?token=wrong-token")
        except WSServerHandshakeError as err:
            if err.status != 403:  # 403: banned meanwhile
                raise
            return
        msg = await ws.receive(timeout=10)
        assert msg.type is WSMsgType.CLOSE

    await asyncio.gather(*(one() for _ in range(count)))


@pytest.mark.usefixtures("no_ban_file")
async def test_login_storm_counts_every_failure_but_logs_and_notifies_once(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    ws_connect: WsConnect,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """80 bad tokens at once with a ban at 40: banned once, one iot_hub line, few notices.

    HA looks the address up (reverse DNS) before counting; a slow lookup is what lets
    failures arriving meanwhile all reach HA's path at the threshold.
    """
    await _setup_with_ip_ban(hass, mock_config_entry, threshold=40)
    with (
        patch.object(
            persistent_notification, "async_create", wraps=persistent_notification.async_create
        ) as notify,
        patch("homeassistant.components.http.ban.gethostbyaddr", _slow_reverse_dns),
    ):
        await _bad_logins(ws_connect, 80)
        await hass.async_block_till_done()
    assert hass.http.app[KEY_BAN_MANAGER].ip_bans_lookup  # the ban itself happened
    assert hass.http.app[KEY_FAILED_LOGIN_ATTEMPTS]  # every failure was counted
    assert caplog.text.count("Refused a connection from 127.0.0.1") == 1
    assert caplog.text.count("Banned IP 127.0.0.1 for too many login attempts") == 1
    # HA's own lines: the first failure of the minute, and the one that crossed the threshold.
    assert caplog.text.count("Login attempt or request with invalid authentication") <= 2
    titles = [call.args[2] for call in notify.call_args_list]
    assert titles.count("Banning IP address") == 1
    assert titles.count("Login attempt failed") <= 2


@pytest.mark.usefixtures("init_integration")
async def test_login_storm_without_a_ban_threshold_is_one_line(
    hass: HomeAssistant, ws_connect: WsConnect, caplog: pytest.LogCaptureFixture
) -> None:
    """HA's default (no threshold): 60 bad tokens are one line of ours and one of HA's."""
    caplog.set_level(logging.WARNING)
    with patch.object(
        persistent_notification, "async_create", wraps=persistent_notification.async_create
    ) as notify:
        await _bad_logins(ws_connect, 60)
        await hass.async_block_till_done()
    assert caplog.text.count("Refused a connection from 127.0.0.1") == 1
    assert caplog.text.count("Login attempt or request with invalid authentication") == 1
    assert notify.call_count == 1


def test_limit_tables_forget_stale_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Back-offs and log throttles keyed by peer do not grow without bound."""
    monkeypatch.setattr(limits, "_PRUNE_AT", 3)
    backoff = limits.Backoff()
    for who in "abc":
        backoff.start(who, 0.0)
    backoff.start("d", 60.0)
    assert set(backoff._until) == {"d"}
    assert backoff.remaining("d") > 0
    assert backoff.remaining("a") == 0
    throttle = limits.FailureThrottle(interval=0.01)
    for address in "abc":
        assert throttle.should_report(address)
    time.sleep(0.02)  # a, b and c are stale now
    assert throttle.should_report("d")
    throttle.interval = 60.0
    assert not throttle.should_report("d")
    assert set(throttle._last) == {"d"}
    assert throttle.take_suppressed("d") == 1


@pytest.mark.usefixtures("init_integration")
async def test_flooding_app_is_backed_off_by_user_and_pings_are_answered(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    hass_access_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An app is an HA user: its back-off follows the user; a ping of its own gets a pong."""
    monkeypatch.setattr(limits, "INBOUND_RATE", 0.001)
    monkeypatch.setattr(limits, "INBOUND_BURST", 1.0)
    monkeypatch.setattr(limits, "FLOOD_CLOSE_AFTER", 10)
    app = await ws_connect(f"?token={hass_access_token}")
    await app.ping()  # answered by the pump (no autoping): the socket stays up
    for _ in range(20):
        await app.send_json({"command": "BOGUS"})
    while (msg := await app.receive(timeout=5)).type is WSMsgType.TEXT:
        pass
    assert app.close_code == CloseCode.POLICY
    again = await ws_connect(f"?token={hass_access_token}")
    await closed_with(again, CloseCode.BACKING_OFF)
    assert msg.type is WSMsgType.CLOSE
