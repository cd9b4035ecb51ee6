"""The charger and dashboard simulators (independent clients of seed 002) against iot_hub.

They connect through HA's HTTP server as an ESP32 and a backoffice on the network would, so
these tests check the charger protocol from the outside: what the charger and the dashboard
see, and what HA keeps. The simulated device clock runs 60 times faster than the loop's
(metrics every 0.05 s, ``ts`` 3 s apart, the seed's cadence), and so does the clock HA holds
the charger's to (its meter credits no more device time than HA saw pass).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import json
import time
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.const import DOMAIN
from custom_components.iot_hub.kinds.charger import handler as charger_handler
from custom_components.iot_hub.kinds.charger.const import CONF_PRICE
from simulators.charger import (
    ChargerRejectedError,
    ChargerSimulator,
    ServerError,
    async_main as charger_main,
)
from simulators.dashboard import (
    EXIT_CONNECTION,
    EXIT_ERROR_FRAME,
    EXIT_OK,
    DashboardClient,
    async_main as dashboard_main,
    watch,
)

from .conftest import every_reading, hub_entry, state_of, until
from .test_charger import CARD, CHARGER_TOKEN, PRICE, card_subentry, charger_subentry

# Server-closed sockets: aiohttp may re-arm the server socket's heartbeat timer.
pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

CHARGER_ID = "simcharger1"
POWER_ENTITY = "sensor.charger_1_power"
INTERVAL = 0.05  # real seconds between metrics
TS_STEP = 3.0  # device seconds between metrics, as the seed's firmware

type StartCharger = Callable[..., ChargerSimulator]


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """One charger at station 1, showing every reading, and Juan's card."""
    return [
        every_reading(charger_subentry(CHARGER_ID, "Charger 1", CHARGER_TOKEN, "1")),
        card_subentry(CARD, "Juan Pérez"),
    ]


@pytest.fixture
def mock_config_entry(subentries: list[ConfigSubentryData]) -> MockConfigEntry:
    """The hub entry with a fixed price."""
    return hub_entry(subentries, {CONF_PRICE: PRICE})


@pytest.fixture(autouse=True)
def fast_ha_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """HA's monotonic clock, as the charger handler reads it, as fast as the device's."""
    monkeypatch.setattr(charger_handler, "monotonic", lambda: time.monotonic() * TS_STEP / INTERVAL)


@pytest.fixture
async def start_charger(ws_url: str) -> AsyncIterator[StartCharger]:
    """Run simulated chargers in the background; all stopped and awaited after the test."""
    running: list[tuple[ChargerSimulator, asyncio.Task[None]]] = []

    def start(token: str = CHARGER_TOKEN, station: str = "1", **kwargs: Any) -> ChargerSimulator:
        kwargs.setdefault("interval", INTERVAL)
        kwargs.setdefault("ts_step", TS_STEP)
        # No client pings: a re-armed ping timer would be reported as lingering.
        charger = ChargerSimulator(ws_url, token, station, seed=1, heartbeat=None, **kwargs)
        running.append((charger, asyncio.create_task(charger.run())))
        return charger

    yield start
    for charger, _ in running:
        charger.stop()
    await asyncio.gather(*(task for _, task in running), return_exceptions=True)


class Watcher:
    """A dashboard simulator watching station 1 in the background, frames decoded."""

    def __init__(self) -> None:
        """Nothing seen yet."""
        self.raw: list[str] = []
        self.notes: list[str] = []

    def frames(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every frame seen (of one ``type``), decoded."""
        decoded = [json.loads(line) for line in self.raw]
        return [frame for frame in decoded if kind is None or frame["type"] == kind]

    def session_metrics(self, session_id: int | None) -> list[dict[str, Any]]:
        """The ``metrics`` frames of one session."""
        return [f for f in self.frames("metrics") if f["session_id"] == session_id]


@pytest.fixture
async def watcher(ws_url: str, hass_access_token: str) -> AsyncIterator[Watcher]:
    """A dashboard subscribed to station 1 for the whole test (before any charger)."""
    seen = Watcher()
    stop = asyncio.Event()
    async with DashboardClient(ws_url, hass_access_token, "1") as dashboard:
        task = asyncio.create_task(
            watch(dashboard, out=seen.raw.append, err=seen.notes.append, stop=stop)
        )
        await until(lambda: len(seen.raw) >= 2)
        yield seen
        stop.set()
        assert await task == EXIT_OK


async def _sessions(hass: HomeAssistant) -> list[dict[str, Any]]:
    response = await hass.services.async_call(
        DOMAIN, "get_sessions", {}, blocking=True, return_response=True
    )
    assert response is not None
    sessions: list[dict[str, Any]] = response["sessions"]  # type: ignore[assignment]
    assert isinstance(sessions, list)
    return sessions


def _power(hass: HomeAssistant) -> float:
    state = state_of(hass, POWER_ENTITY)
    return float(state) if state not in (None, "unknown", "unavailable") else -1.0


@pytest.mark.usefixtures("init_integration")
async def test_card_session_watched_and_stopped_from_dashboards(
    hass: HomeAssistant,
    ws_url: str,
    hass_access_token: str,
    start_charger: StartCharger,
    watcher: Watcher,
) -> None:
    """Card scan → start → metrics with growing kWh → a dashboard's stop ends it everywhere."""
    assert watcher.frames()[:2] == [
        {"type": "subscribed", "estacionId": "1"},
        {"type": "init", "charger": {"id": 1, "status": "desconectado", "session": None}},
    ]
    charger = start_charger(card=CARD, counter=True, counter_start_kwh=1234.5)
    await until(lambda: charger.session_id is not None)
    session_id = charger.session_id
    assert (charger.user_name, charger.scans_sent, charger.sessions) == ("Juan Pérez", 1, 1)
    await until(lambda: len(watcher.session_metrics(session_id)) >= 6)
    await until(lambda: _power(hass) > 7000)
    assert _power(hass) < 7400

    (started,) = watcher.frames("session_started")
    assert (started["session_id"], started["charger_id"]) == (session_id, 1)
    assert started["user_name"] == "Juan Pérez"
    metrics = watcher.session_metrics(session_id)
    kwh = [frame["kwh"] for frame in metrics]
    assert kwh == sorted(kwh)
    assert kwh[-1] > kwh[0]
    assert metrics[-1]["cost"] == pytest.approx(kwh[-1] * PRICE, abs=0.011)
    for frame in metrics:
        # Plausible single-phase readings: 230 V, 7.2 kW, so about 31 A.
        assert 225 < frame["v"] < 235
        assert frame["a"] == pytest.approx(frame["w"] / frame["v"], abs=0.01)
        assert 7100 < frame["w"] < 7300

    # A second dashboard, from the command line: subscribing asks the charger to sync, then
    # its stop reaches the charger and ends the session for every dashboard.
    out: list[str] = []
    err: list[str] = []
    argv = ["--url", ws_url, "--station", "1", "--token", hass_access_token, "stop"]
    assert await dashboard_main(argv, out=out.append, err=err.append) == EXIT_OK
    assert json.loads(out[0]) == {"type": "subscribed", "estacionId": "1"}
    init = json.loads(out[1])
    assert init["charger"]["status"] == "cargando"
    assert init["charger"]["session"]["session_id"] == session_id
    assert json.loads(out[-1])["type"] == "session_ended"
    assert any(note.startswith(f"Session {session_id} ended: ") for note in err)
    assert charger.sync_requests == 1
    await until(lambda: charger.stops_received == 1)
    assert not charger.relay_closed
    assert charger.session_id is None
    await until(lambda: bool(watcher.frames("session_ended")))
    (ended,) = watcher.frames("session_ended")
    assert ended["session_id"] == session_id
    assert ended["kwh"] > 0
    assert not charger.errors
    assert _power(hass) == 0.0

    (record,) = await _sessions(hass)
    assert (record["id"], record["kind"], record["status"]) == (session_id, "charger", "stopped")
    assert record["started_by"] == {
        "kind": "card",
        "user_id": None,
        "name": "Juan Pérez",
        "card": CARD,
    }
    assert record["stopped_by"]["kind"] == "app"
    summary = record["summary"]
    assert summary["kwh"] > 0
    assert summary["kwh"] == pytest.approx(ended["kwh"], abs=0.001)
    # The hub took the charger's own meter: what it counted between its first and last
    # metrics of the session (the meter's 1 Wh resolution aside).
    assert summary["kwh"] <= charger.session_kwh + 0.001
    assert 7100 < summary["peak_power"] < 7300


@pytest.mark.usefixtures("init_integration")
async def test_charger_presses_stop_when_the_car_is_full(
    hass: HomeAssistant, start_charger: StartCharger, watcher: Watcher
) -> None:
    """The current tapers as the car fills; STOP on the charger ends the session."""
    charger = start_charger(card=CARD, charge_seconds=45.0)
    await until(lambda: charger.stops_pressed == 1)
    session_id = charger.last_session_id
    await until(lambda: charger.stops_received == 1)  # the server's confirmation
    await until(lambda: bool(watcher.frames("session_ended")))
    assert not charger.errors
    assert charger.soc == pytest.approx(1.0, abs=0.02)

    metrics = watcher.session_metrics(session_id)
    assert len(metrics) >= 15  # one when the relay closed, then one per 3 s for 45 s
    watts = [frame["w"] for frame in metrics]
    assert watts[0] == pytest.approx(7200, rel=0.01)
    assert watts[-1] < watts[0] / 2  # the taper
    assert watts[-1] == min(watts)
    amps = [frame["a"] for frame in metrics]
    assert amps[-1] < amps[0] / 2

    (record,) = await _sessions(hass)
    assert record["stopped_by"]["kind"] == "device"
    # Trapezoids of 3 s samples against the car's own finer integration.
    assert record["summary"]["kwh"] == pytest.approx(charger.session_kwh, rel=0.05)
    assert record["summary"]["kwh"] == pytest.approx(0.8 * charger.battery_kwh, rel=0.05)


@pytest.mark.usefixtures("init_integration")
async def test_emergency_stop_latches_until_cleared(
    hass: HomeAssistant, start_charger: StartCharger, watcher: Watcher
) -> None:
    """Emergency: the dashboard is alerted, the card is refused until HA clears it."""
    charger = start_charger(card=CARD, emergency_after=6.0, scan_every=3.0)
    await until(lambda: charger.emergencies_sent == 1)
    session_id = charger.last_session_id
    await until(lambda: bool(watcher.frames("emergency")))
    (alert,) = watcher.frames("emergency")
    assert (alert["charger_id"], alert["session_id"]) == (1, session_id)
    await until(lambda: charger.stops_received == 1)
    refused = ServerError("emergency stop active: clear it in Home Assistant", "EMERGENCY_ACTIVE")
    await until(lambda: refused in charger.errors)
    assert charger.sessions == 1
    (record,) = await _sessions(hass)
    assert record["status"] == "emergency"
    assert state_of(hass, "sensor.charger_1_charger_state") == "emergency"

    await hass.services.async_call(
        "button", "press", {"entity_id": "button.charger_1_clear_emergency"}, blocking=True
    )
    await until(lambda: charger.sessions == 2)  # its next scan starts a new session


@pytest.mark.usefixtures("init_integration")
async def test_dashboard_starts_for_a_person_and_a_card(
    hass: HomeAssistant, ws_url: str, hass_access_token: str, start_charger: StartCharger
) -> None:
    """``start`` (an iot_hub addition), with its refusals; the exit status tells which."""
    out: list[str] = []
    err: list[str] = []

    async def dashboard(*argv: str, token: str = hass_access_token, station: str = "1") -> int:
        return await dashboard_main(
            ["--url", ws_url, "--station", station, "--token", token, *argv],
            out=out.append,
            err=err.append,
        )

    assert await dashboard("start") == EXIT_ERROR_FRAME
    assert json.loads(out[-1]) == {"type": "error", "message": "charger not connected"}
    assert await dashboard("watch", token="not-a-ha-token") == EXIT_CONNECTION
    assert "4003" in err[-1]
    assert await dashboard("watch", station="9") == EXIT_CONNECTION
    assert "4005 unknown station" in err[-1]

    charger = start_charger()  # no card: only dashboards start it
    await charger.greeted.wait()
    assert await dashboard("start", "--user", "Ana", "--bearer") == EXIT_OK
    assert json.loads(out[-1])["user_name"] == "Ana"
    await until(lambda: charger.relay_closed)
    assert charger.user_name == "Ana"
    await until(lambda: _power(hass) > 7000)
    assert await dashboard("start", "--card", CARD) == EXIT_ERROR_FRAME
    assert json.loads(out[-1]) == {"type": "error", "message": "session already active"}
    assert await dashboard("stop") == EXIT_OK
    await until(lambda: not charger.relay_closed)

    assert await dashboard("start", "--card", "STRANGER-01") == EXIT_ERROR_FRAME
    assert json.loads(out[-1]) == {"type": "error", "message": "card not authorised"}
    assert await dashboard("start", "--card", CARD) == EXIT_OK
    await until(lambda: charger.user_name == "Juan Pérez" and charger.relay_closed)
    assert await dashboard("stop") == EXIT_OK
    assert await dashboard("stop") == EXIT_ERROR_FRAME
    assert json.loads(out[-1]) == {"type": "error", "message": "no active session"}
    await until(lambda: charger.stops_received == 2)
    assert charger.sessions == 2
    assert not charger.errors
    assert [r["started_by"]["name"] for r in await _sessions(hass)] == ["Juan Pérez", "Ana"]


@pytest.mark.usefixtures("init_integration")
async def test_charger_gives_up_on_a_bad_token_or_station(
    ws_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """4003 and 4005 are final: no reconnect loop; the command line exits with 1."""
    for token, station, code in (("not-the-token", "1", 4003), (CHARGER_TOKEN, "2", 4005)):
        charger = ChargerSimulator(ws_url, token, station, card=CARD, heartbeat=None)
        with pytest.raises(ChargerRejectedError) as err:
            async with asyncio.timeout(10):
                await charger.run()
        assert err.value.code == code
        assert charger.connections == 1
        assert charger.scans_sent == 0

    lines: list[str] = []
    argv = ["--url", ws_url, "--token", CHARGER_TOKEN, "--station", "7"]
    assert await charger_main(argv, log=lines.append) == 1
    assert "Check --station: '7'" in capsys.readouterr().err
    assert await charger_main([*argv[:3], "", "--station", "1"], log=lines.append) == 1
    assert "4001" in capsys.readouterr().err


async def test_charger_reconnects_mid_charge_when_iot_hub_reloads(
    hass: HomeAssistant, init_integration: MockConfigEntry, start_charger: StartCharger
) -> None:
    """A reload (as an HA restart) mid-charge: the charger comes back and the session goes on."""
    charger = start_charger(card=CARD, initial_backoff=0.05, max_backoff=0.2)
    await until(lambda: charger.relay_closed and charger.metrics_sent >= 4)
    session_id = charger.session_id
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await until(lambda: charger.connections == 2 and charger.greeted.is_set())
    sent = charger.metrics_sent
    await until(lambda: charger.metrics_sent >= sent + 4)
    assert charger.last_close == 1001
    assert charger.relay_closed
    assert charger.session_id == session_id
    # The hub tells a returning charger its running session again: not a new one for it.
    assert charger.sessions == 1
    (record,) = await _sessions(hass)
    assert (record["id"], record["status"]) == (session_id, "active")
    assert not charger.errors
