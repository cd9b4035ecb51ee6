"""Session events in the recorder and the logbook, with the real (in-memory) recorder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
import re
from typing import Any, cast

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.db_schema import EventData, Events, EventTypes
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.json import json_loads
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    RecorderInstanceContextManager,
    WebSocketGenerator,
)

from custom_components.iot_hub import logbook
from custom_components.iot_hub.const import (
    DOMAIN,
    EVENT_ANOMALY,
    EVENT_SESSION_ENDED,
    EVENT_SESSION_STARTED,
)

from .conftest import OVEN_ID, OVEN_TOKEN, WsConnect, state_of, until, until_recorded


@pytest.fixture
async def mock_recorder_before_hass(async_test_recorder: RecorderInstanceContextManager) -> None:
    """The real recorder: requested before ``hass`` (see ha-api-notes §10, pitfall 4)."""


def _stored_events(hass: HomeAssistant) -> list[tuple[str, dict[str, Any]]]:
    """Session events as the recorder wrote them (runs in the recorder's executor)."""
    with get_instance(hass).get_session() as session:
        rows = (
            session.query(EventTypes.event_type, EventData.shared_data)
            .select_from(Events)
            .join(EventTypes, Events.event_type_id == EventTypes.event_type_id)
            .join(EventData, Events.data_id == EventData.data_id)
            .filter(EventTypes.event_type.in_([EVENT_SESSION_STARTED, EVENT_SESSION_ENDED]))
            .order_by(Events.time_fired_ts)
            .all()
        )
    return [(event_type, cast("dict[str, Any]", json_loads(data))) for event_type, data in rows]


async def logbook_entries(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, start: datetime, device_id: str
) -> list[dict[str, Any]]:
    """iot_hub's logbook entries of one HA device since ``start``, as the frontend asks."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
            "end_time": dt_util.utcnow().isoformat(),
            "device_ids": [device_id],
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    return [e for e in response["result"] if e.get("domain") == DOMAIN]


async def test_session_in_recorder_and_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    ws_connect: WsConnect,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Start by action, readings over the WebSocket, stop: stored, then described."""
    hass.config.components.add("frontend")  # logbook's panel; the frontend is not installed
    assert await async_setup_component(hass, "logbook", {})
    await hass.async_block_till_done()
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, OVEN_ID), init_integration.entry_id
    )
    assert device is not None
    start = dt_util.utcnow()

    oven = await ws_connect(f"?token={OVEN_TOKEN}")
    await until(lambda: state_of(hass, "binary_sensor.oven_connectivity") == "on")
    await hass.services.async_call(
        DOMAIN, "start_session", {ATTR_DEVICE_ID: device.id}, blocking=True
    )
    assert await oven.receive_str(timeout=5) == "START"
    for value in ("100", "200.5", "150"):
        await oven.send_str(value)
    await until_recorded(hass, lambda: state_of(hass, "sensor.oven_temperature") == "150.0")
    await hass.services.async_call(
        DOMAIN, "stop_session", {ATTR_DEVICE_ID: device.id}, blocking=True
    )
    assert await oven.receive_str(timeout=5) == "STOP"
    await async_wait_recording_done(hass)

    stored = await get_instance(hass).async_add_executor_job(_stored_events, hass)
    assert [event_type for event_type, _ in stored] == [EVENT_SESSION_STARTED, EVENT_SESSION_ENDED]
    ended = stored[1][1]
    assert ended["device_id"] == device.id
    assert ended["iot_hub_device_id"] == OVEN_ID
    assert ended["session_id"] == 1
    assert ended["status"] == "stopped"
    assert ended["summary"]["readings"] == 3
    assert ended["summary"]["temperature_max"] == 200.5

    entries = await logbook_entries(hass, hass_ws_client, start, device.id)
    assert [e["name"] for e in entries] == ["Oven", "Oven"]
    # The action's context reached the events: the logbook names the action behind each.
    assert [e["context_service"] for e in entries] == ["start_session", "stop_session"]
    assert entries[0]["message"] == "started session 1 by an automation"
    # The duration is wall-clock time (sockets forbid a frozen clock): a few seconds at most.
    assert re.fullmatch(
        r"stopped session 1 by an automation: 3 readings, 100\.0-200\.5 °C \(avg 150\.17 °C\),"
        r" [0-9] s",
        entries[1]["message"],
    ), entries[1]["message"]


# -- the describe functions on their own ------------------------------------------------------


@pytest.fixture
def describers(hass: HomeAssistant) -> dict[str, Callable[[Event], dict[str, str]]]:
    """The logbook platform's describe callbacks, by event type."""
    found: dict[str, Callable[[Event], dict[str, str]]] = {}

    def register(domain: str, event_type: str, describe: Callable[[Event], dict[str, str]]) -> None:
        assert domain == DOMAIN
        found[event_type] = describe

    logbook.async_describe_events(hass, register)
    assert set(found) == {EVENT_SESSION_STARTED, EVENT_SESSION_ENDED, EVENT_ANOMALY}
    return found


def _event(event_type: str, data: Mapping[str, Any]) -> Event:
    return Event(event_type, data)


def _summary(**overrides: Any) -> dict[str, Any]:
    return {
        "readings": 0,
        "temperature_min": None,
        "temperature_max": None,
        "temperature_avg": None,
        "duration": 0.0,
    } | overrides


@pytest.mark.parametrize(
    ("actor", "said"),
    [
        ({"kind": "user", "user_id": "u1", "name": "Ana"}, "started session 4 by Ana"),
        ({"kind": "app", "user_id": "u1", "name": None}, "started session 4 by an app"),
        (
            {"kind": "automation", "user_id": None, "name": None},
            "started session 4 by an automation",
        ),
        ({"kind": "device", "user_id": None, "name": None}, "started session 4 by the device"),
        ({"kind": "system", "user_id": None, "name": None}, "started session 4 by iot_hub"),
        ({"kind": "user", "user_id": "u1", "name": None}, "started session 4 by a user"),
        # A kind from a newer version (events stay in the recorder across downgrades).
        ({"kind": "schedule", "user_id": None, "name": None}, "started session 4 by schedule"),
        ({"kind": "operator", "user_id": None, "name": None}, "started session 4 by operator"),
        (None, "started session 4"),
    ],
)
def test_describe_started_names_the_actor(
    describers: dict[str, Callable[[Event], dict[str, str]]],
    actor: dict[str, Any] | None,
    said: str,
) -> None:
    """Who started it, in words, for each kind of actor."""
    event = _event(
        EVENT_SESSION_STARTED, {"device_name": "Oven", "session_id": 4, "started_by": actor}
    )
    assert describers[EVENT_SESSION_STARTED](event) == {
        LOGBOOK_ENTRY_NAME: "Oven",
        LOGBOOK_ENTRY_MESSAGE: said,
    }


def test_describe_interrupted(describers: dict[str, Callable[[Event], dict[str, str]]]) -> None:
    """A session the device never came back to, with no readings at all."""
    event = _event(
        EVENT_SESSION_ENDED,
        {
            "device_name": "Pizza oven",
            "session_id": 9,
            "status": "interrupted",
            "stopped_by": {"kind": "system", "user_id": None, "name": None},
            "summary": _summary(duration=3600.4),
        },
    )
    assert describers[EVENT_SESSION_ENDED](event) == {
        LOGBOOK_ENTRY_NAME: "Pizza oven",
        LOGBOOK_ENTRY_MESSAGE: "session 9 was interrupted by iot_hub: 0 readings, 3600 s",
    }


def test_describe_stopped_with_readings(
    describers: dict[str, Callable[[Event], dict[str, str]]],
) -> None:
    """A stopped session: who stopped it and the temperature range."""
    event = _event(
        EVENT_SESSION_ENDED,
        {
            "device_name": "Oven",
            "session_id": 2,
            "status": "stopped",
            "stopped_by": {"kind": "device", "user_id": None, "name": None},
            "summary": _summary(
                readings=2,
                temperature_min=20.0,
                temperature_max=22.0,
                temperature_avg=21.0,
                duration=59.6,
            ),
        },
    )
    assert describers[EVENT_SESSION_ENDED](event)[LOGBOOK_ENTRY_MESSAGE] == (
        "stopped session 2 by the device: 2 readings, 20.0-22.0 °C (avg 21.0 °C), 60 s"
    )


@pytest.mark.parametrize(
    ("status", "cost", "message"),
    [
        ("stopped", 17.15, "stopped session 123 by Juan Pérez: 2.45 kWh, cost 17.15, 850 s"),
        (
            "emergency",
            None,
            "session 123 ended with an emergency stop by the device: 2.45 kWh, 850 s",
        ),
    ],
)
def test_describe_charger_sessions(
    describers: dict[str, Callable[[Event], dict[str, str]]],
    status: str,
    cost: float | None,
    message: str,
) -> None:
    """A charger's session ends with its energy and cost (the seed's example figures)."""
    by = {"kind": "card", "user_id": None, "name": "Juan Pérez", "card": "VIRTUAL-1-A4F2E8"}
    event = _event(
        EVENT_SESSION_ENDED,
        {
            "device_name": "Charger 1",
            "kind": "charger",
            "session_id": 123,
            "status": status,
            "stopped_by": by if status == "stopped" else {"kind": "device", "name": None},
            "summary": {"kwh": 2.45, "cost": cost, "duration": 850.0, "user_name": "Juan Pérez"},
        },
    )
    assert describers[EVENT_SESSION_ENDED](event) == {
        LOGBOOK_ENTRY_NAME: "Charger 1",
        LOGBOOK_ENTRY_MESSAGE: message,
    }


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (
            {"event_type": "anomaly_detected", "rule": "max", "value": 45.0, "limit": 40.0},
            "temperatura 45.0 is above the max 40.0",
        ),
        (
            {"event_type": "anomaly_detected", "rule": "min", "value": -1.0, "limit": 0.0},
            "temperatura -1.0 is below the min 0.0",
        ),
        (
            {"event_type": "anomaly_detected", "rule": "jump", "value": 30.0, "limit": 5.0},
            "temperatura jumped to 30.0, more than 5.0",
        ),
        (
            {"event_type": "anomaly_resolved", "rule": "max", "value": 39.0, "limit": 40.0},
            "temperatura is back to normal (39.0)",
        ),
    ],
)
def test_describe_anomaly(
    describers: dict[str, Callable[[Event], dict[str, str]]], data: dict[str, Any], said: str
) -> None:
    """A sensor's anomaly, detected or resolved, in a few words under the device's name."""
    event = _event(
        EVENT_ANOMALY,
        {"device_id": "d1", "device_name": "Greenhouse", "quantity": "temperatura", **data},
    )
    assert describers[EVENT_ANOMALY](event) == {
        LOGBOOK_ENTRY_NAME: "Greenhouse",
        LOGBOOK_ENTRY_MESSAGE: said,
    }
