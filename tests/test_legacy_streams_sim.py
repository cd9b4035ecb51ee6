"""The seed-004 frontend simulator against iot_hub, end to end over real sockets."""

from __future__ import annotations

import argparse
import json

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from simulators.legacy_streams import EXIT_CONNECTION, LegacyStreams, parse_args, run, ws_base

from .conftest import WsConnect
from .sensor_tools import CONSUMER, WEARABLE, WEARABLE_TOKEN

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """The wearable of consumer 22."""
    return [WEARABLE]


async def _base(hass_client_no_auth: ClientSessionGenerator) -> str:
    client = await hass_client_no_auth()
    return str(client.make_url("/api/iot_hub"))


@pytest.mark.usefixtures("init_integration")
async def test_frontend_sees_snapshots_pushes_pongs_and_request_data(
    hass: HomeAssistant,
    ws_connect: WsConnect,
    hass_client_no_auth: ClientSessionGenerator,
    hass_access_token: str,
) -> None:
    """Three sockets open; lists on connect, objects pushed, pongs, a fresh snapshot."""
    frontend = LegacyStreams(await _base(hass_client_no_auth), CONSUMER, hass_access_token)
    await frontend.connect()
    try:
        await frontend.wait_for(
            lambda f: (
                f.state["heart_rate_stats"].latest is not None
                and f.state["heart_rate_today"].latest is not None
            )
        )
        assert frontend.stats() == {
            "totalConnections": 3,
            "activeConnections": 3,
            "channels": [
                {"channel": "sensor_data_22", "state": "OPEN", "isActive": True},
                {"channel": "heart_rate_today_22", "state": "OPEN", "isActive": True},
                {"channel": "heart_rate_stats_22", "state": "OPEN", "isActive": True},
            ],
        }
        device = await ws_connect(f"?token={WEARABLE_TOKEN}")
        for n in range(12):
            await device.send_str(
                json.dumps({"accel_x": float(n), "gyro_z": 1, "heart_rate": 60 + n})
            )
        sensor = frontend.state["sensor_data"]
        await frontend.wait_for(
            lambda f: len(sensor.readings) == 10 and sensor.readings[0]["accel_x"] == 11.0
        )
        assert [r["accel_x"] for r in sensor.readings] == [float(n) for n in range(11, 1, -1)]
        await frontend.wait_for(
            lambda f: (f.state["heart_rate_stats"].latest or {}).get("count") == 12
        )
        await frontend.wait_for(
            lambda f: (f.state["heart_rate_today"].latest or {}).get("current") == 71
        )
        await frontend.ping()
        await frontend.wait_for(lambda f: all(s.pongs == 1 for s in f.state.values()))
        sensor.readings = []
        await frontend.request_data("sensor_data")
        await frontend.wait_for(lambda f: len(sensor.readings) == 10)
    finally:
        await frontend.close()


@pytest.mark.usefixtures("init_integration")
async def test_cli_exits_3_on_a_refused_token_and_0_otherwise(
    hass_client_no_auth: ClientSessionGenerator,
    hass_access_token: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """4001 is reported; a good token runs for its duration and exits 0."""
    base = await _base(hass_client_no_auth)
    args = parse_args(
        [
            "--url",
            base,
            "--consumer",
            CONSUMER,
            "--token",
            "nope",
            "--ping",
            "0.05",
            "--duration",
            "2",
        ]
    )
    assert await run(args) == EXIT_CONNECTION
    assert "closed by the server: 4001" in capsys.readouterr().err
    good = argparse.Namespace(**{**vars(args), "token": hass_access_token, "duration": 0.2})
    assert await run(good) == 0
    out = capsys.readouterr().out
    assert 'sensor_data {"type": "sensor_update", "data": []}' in out
    assert 'heart_rate_stats {"type": "pong"}' in out


@pytest.mark.usefixtures("socket_enabled")
async def test_cli_exits_3_when_nothing_answers() -> None:
    """No server: a connection error, exit 3."""
    args = parse_args(
        ["--url", "http://127.0.0.1:9/api/iot_hub", "--consumer", "1", "--token", "t"]
    )
    assert await run(args) == EXIT_CONNECTION


def test_bases() -> None:
    """http(s) bases mean ws(s); a trailing slash is dropped."""
    assert ws_base("https://ha.local/api/iot_hub/") == "wss://ha.local/api/iot_hub"
    assert ws_base("ws://ha:8123/api/iot_hub") == "ws://ha:8123/api/iot_hub"
