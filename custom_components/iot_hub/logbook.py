"""Logbook descriptions of session events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_SESSION_ENDED, EVENT_SESSION_STARTED

# How an actor reads when the session record has no name for it.
_UNNAMED_ACTOR = {
    "device": "the device",
    "app": "an app",
    "user": "a user",
    "automation": "an automation",
    "system": "iot_hub",
}


def _by(actor: dict[str, Any] | None) -> str:
    if not actor:
        return ""
    who = actor.get("name") or _UNNAMED_ACTOR.get(actor["kind"], actor["kind"])
    return f" by {who}"


def _summary(summary: dict[str, Any]) -> str:
    """The summary in a few words: a charger's energy and cost, an oven's temperatures."""
    if "kwh" in summary:
        parts = [f"{summary['kwh']} kWh"]
        if summary.get("cost") is not None:
            parts.append(f"cost {summary['cost']}")
    else:
        parts = [f"{summary['readings']} readings"]
        if summary.get("temperature_max") is not None:
            parts.append(
                f"{summary['temperature_min']}-{summary['temperature_max']} °C"
                f" (avg {summary['temperature_avg']} °C)"
            )
    parts.append(f"{summary['duration']:.0f} s")
    return ", ".join(parts)


_ENDINGS = {
    "interrupted": "session {id} was interrupted",
    "emergency": "session {id} ended with an emergency stop",
}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe session starts and ends."""

    @callback
    def describe_started(event: Event) -> dict[str, str]:
        data = event.data
        return {
            LOGBOOK_ENTRY_NAME: data["device_name"],
            LOGBOOK_ENTRY_MESSAGE: (
                f"started session {data['session_id']}{_by(data.get('started_by'))}"
            ),
        }

    @callback
    def describe_ended(event: Event) -> dict[str, str]:
        data = event.data
        verb = _ENDINGS.get(data["status"], "stopped session {id}")
        return {
            LOGBOOK_ENTRY_NAME: data["device_name"],
            LOGBOOK_ENTRY_MESSAGE: (
                f"{verb.format(id=data['session_id'])}{_by(data.get('stopped_by'))}: "
                f"{_summary(data['summary'])}"
            ),
        }

    async_describe_event(DOMAIN, EVENT_SESSION_STARTED, describe_started)
    async_describe_event(DOMAIN, EVENT_SESSION_ENDED, describe_ended)
