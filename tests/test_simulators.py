"""The simulators (independent clients written from seed 000) against the real integration.

They connect through HA's HTTP server like a device and an app on the network would, so these
tests check the protocol from the outside: what the oven and the app see, and what HA keeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.const import DOMAIN
from simulators.mobile_app import (
    EXIT_CONNECTION,
    EXIT_ERROR_FRAME,
    EXIT_OK,
    MobileAppClient,
    async_main as mobile_app_main,
    run_command,
    watch,
)
from simulators.oven import OvenRejectedError, OvenSimulator, async_main as oven_main

from .conftest import OVEN2_ID, OVEN2_TOKEN, OVEN_ID, OVEN_TOKEN, oven_subentry, state_of, until

# aiohttp re-arms the server socket's heartbeat timer when a closing socket still receives
# data (iot_hub's endpoint uses heartbeat=30), so that timer can outlive a test.
pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

type StartOven = Callable[..., OvenSimulator]


@pytest.fixture
async def start_oven(ws_url: str) -> AsyncIterator[StartOven]:
    """Run simulated ovens in the background; all stopped and awaited after the test."""
    running: list[tuple[OvenSimulator, asyncio.Task[None]]] = []

    def start(token: str = OVEN_TOKEN, **kwargs: Any) -> OvenSimulator:
        kwargs.setdefault("interval", 0.05)
        # No client pings: aiohttp may re-arm its ping timer while a closing socket still
        # receives data, and the test harness would report that timer as lingering.
        oven = OvenSimulator(ws_url, token, seed=1, heartbeat=None, **kwargs)
        running.append((oven, asyncio.create_task(oven.run())))
        return oven

    yield start
    for oven, _ in running:
        oven.stop()
    await asyncio.gather(*(task for _, task in running), return_exceptions=True)


async def _sessions(hass: HomeAssistant) -> list[dict[str, Any]]:
    response = await hass.services.async_call(
        DOMAIN, "get_sessions", {}, blocking=True, return_response=True
    )
    assert response is not None
    sessions: list[dict[str, Any]] = response["sessions"]  # type: ignore[assignment]
    assert isinstance(sessions, list)
    return sessions


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "init_integration")
async def test_app_and_oven_simulators_run_a_session(
    hass: HomeAssistant, ws_url: str, start_oven: StartOven, hass_access_token: str
) -> None:
    """App START → the oven heats and streams → readings in the session → app STOP."""
    oven = start_oven()
    await until(lambda: oven.readings_sent >= 3)
    await until(lambda: state_of(hass, "sensor.oven_temperature") not in (None, "unknown"))
    # Streaming before any session: the readings show in HA but belong to no session.
    assert await _sessions(hass) == []

    frames: list[str] = []
    notes: list[str] = []
    async with MobileAppClient(ws_url, hass_access_token) as app:
        assert (
            await run_command(app, "START", wait=5, out=frames.append, err=notes.append) == EXIT_OK
        )
        assert '{"session_id": 1, "status": "active"}' in frames
        await until(lambda: oven.commands == ["START"])
        assert oven.measuring
        assert not oven.errors

        # The app is told about each reading, now with the session's id.
        async with asyncio.timeout(5):
            while True:
                frame = await app.receive()
                if frame.data is not None and frame.data.get("session_id") == 1:
                    break
        assert frame.data is not None
        assert isinstance(frame.data["temperature"], float)
        assert "timestamp" in frame.data
        in_session = oven.readings_sent
        await until(lambda: oven.readings_sent >= in_session + 5)

        assert (
            await run_command(app, "STOP", wait=5, out=frames.append, err=notes.append) == EXIT_OK
        )
    assert '{"session_id": 1, "status": "stopped"}' in frames
    await until(lambda: oven.commands == ["START", "STOP"] and not oven.measuring)

    (record,) = await _sessions(hass)
    assert record["status"] == "stopped"
    assert record["started_by"]["kind"] == "app"
    assert record["summary"]["readings"] >= 5
    # The simulated probe starts at room temperature and heats: plausible values only.
    assert 15.0 <= record["summary"]["temperature_min"] <= record["summary"]["temperature_max"]
    assert record["summary"]["temperature_max"] < 200.0
    await hass.async_block_till_done()
    assert int(state_of(hass, "sensor.oven_last_session_readings") or 0) >= 5


@pytest.mark.usefixtures("init_integration")
async def test_oven_without_identification_and_with_bearer(
    hass: HomeAssistant, start_oven: StartOven
) -> None:
    """Firmware that skips {"type": "esp32"} and sends the token as a header still works."""
    oven = start_oven(identify=False, bearer=True, start_temp=30.0)
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")
    await until(lambda: oven.readings_sent >= 2)
    await until(lambda: state_of(hass, "sensor.oven_temperature") not in (None, "unknown"))
    assert 25.0 < float(state_of(hass, "sensor.oven_temperature") or "nan") < 35.0
    assert not oven.errors


@pytest.mark.usefixtures("init_integration")
async def test_oven_gives_up_on_an_invalid_token(ws_url: str) -> None:
    """4003 is final: no reconnect loop on a wrong token."""
    oven = OvenSimulator(ws_url, "not-the-oven-token", interval=0.05, heartbeat=None)
    with pytest.raises(OvenRejectedError) as err:
        async with asyncio.timeout(10):
            await oven.run()
    assert err.value.code == 4003
    assert oven.connections == 1

    # The command line: an empty token is a missing one (4001), and it exits with 1.
    assert await oven_main(["--url", ws_url, "--token", "", "--quiet"]) == 1


@pytest.mark.usefixtures("init_integration")
async def test_oven_replaced_by_another_with_the_same_token(
    ws_url: str, start_oven: StartOven
) -> None:
    """A second oven with the same token takes over; the first stops instead of fighting."""
    first = OvenSimulator(ws_url, OVEN_TOKEN, interval=0.05, heartbeat=None)
    first_task = asyncio.create_task(first.run())
    await first.connected.wait()
    second = start_oven()
    with pytest.raises(OvenRejectedError) as err:
        async with asyncio.timeout(10):
            await first_task
    assert err.value.code == 4008
    assert first.connections == 1
    await second.connected.wait()


async def test_oven_reconnects_when_iot_hub_reloads(
    hass: HomeAssistant, init_integration: MockConfigEntry, start_oven: StartOven
) -> None:
    """Unload (as on an HA restart) drops the oven; it keeps trying and comes back."""
    oven = start_oven(initial_backoff=0.05, max_backoff=0.2)
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await until(lambda: oven.last_close == 1001)
    await asyncio.sleep(0.3)  # a few attempts meet 503 "iot_hub is not loaded"
    assert oven.connections == 1
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    await until(lambda: oven.connections == 2)
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")
    sent = oven.readings_sent
    await until(lambda: oven.readings_sent > sent + 2)


@pytest.mark.usefixtures("init_integration")
async def test_mobile_app_command_line(
    hass: HomeAssistant, ws_url: str, hass_access_token: str, start_oven: StartOven
) -> None:
    """The app's exit status tells a script what happened."""
    out: list[str] = []
    err: list[str] = []

    async def app(*argv: str) -> int:
        return await mobile_app_main(["--url", ws_url, *argv], out=out.append, err=err.append)

    # No oven connected: the server says so in an error frame.
    assert await app("--token", hass_access_token, "start") == EXIT_ERROR_FRAME
    assert out[-1] == '{"error": "oven not connected"}'
    assert await app("--token", "not-a-ha-token", "start") == EXIT_CONNECTION
    assert "4003" in err[-1]
    assert await app("--token", hass_access_token, "--device", "Nope", "watch") == (EXIT_CONNECTION)
    assert "4005" in err[-1]

    oven = start_oven()
    await oven.connected.wait()
    assert await app("--token", hass_access_token, "--bearer", "start") == EXIT_OK
    assert out[-1] == '{"session_id": 1, "status": "active"}'
    await until(lambda: oven.measuring)
    assert await app("--token", hass_access_token, "stop") == EXIT_OK
    assert out[-1] == '{"session_id": 1, "status": "stopped"}'
    assert await app("--token", hass_access_token, "stop") == EXIT_ERROR_FRAME
    assert out[-1] == '{"error": "no active session"}'
    await until(lambda: not oven.measuring)


@pytest.mark.parametrize(
    "subentries",
    [[oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN), oven_subentry(OVEN2_ID, "Oven 2", OVEN2_TOKEN)]],
)
@pytest.mark.usefixtures("init_integration")
async def test_watch_two_ovens(
    hass: HomeAssistant, ws_url: str, hass_access_token: str, start_oven: StartOven
) -> None:
    """With two ovens the app must pick one; watching shows only that oven's readings."""
    err: list[str] = []
    assert (
        await mobile_app_main(
            ["--url", ws_url, "--token", hass_access_token, "watch"], out=err.append, err=err.append
        )
        == EXIT_CONNECTION
    )
    assert "4006" in err[-1]

    start_oven(OVEN_TOKEN, start_temp=20.0)
    start_oven(OVEN2_TOKEN, start_temp=90.0)
    seen: list[str] = []
    stop = asyncio.Event()
    async with (
        aiohttp.ClientSession() as session,
        MobileAppClient(ws_url, hass_access_token, device="Oven 2", session=session) as app,
    ):
        watcher = asyncio.create_task(watch(app, out=seen.append, err=err.append, stop=stop))
        await until(lambda: len(seen) >= 5)
        stop.set()
        assert await watcher == EXIT_OK
    # Oven 2 starts at 90 °C and only cools: none of oven 1's ~20 °C readings leak in.
    temperatures = [float(line.split('"temperature": ')[1].split(",")[0]) for line in seen]
    assert min(temperatures) > 80.0
