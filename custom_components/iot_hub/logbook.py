"""Logbook descriptions of session events (each kind words its own summary) and anomalies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from . import kinds
from .const import DOMAIN, EVENT_ANOMALY, EVENT_SESSION_ENDED, EVENT_SESSION_STARTED
from .sessions import LEGACY_SESSION_KIND

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


def _summary(kind_key: str, summary: dict[str, Any]) -> str:
    """The summary in a few words, as the session's kind puts it, and its duration."""
    kind = kinds.kind_named(kind_key)
    parts = [kind.logbook_summary(summary)] if kind and kind.logbook_summary else []
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
                f"{_summary(data.get('kind', LEGACY_SESSION_KIND), data['summary'])}"
            ),
        }

    async_describe_event(DOMAIN, EVENT_SESSION_STARTED, describe_started)
    async_describe_event(DOMAIN, EVENT_SESSION_ENDED, describe_ended)
    async_describe_event(DOMAIN, EVENT_ANOMALY, describe_anomaly)


_ANOMALY = {
    "min": "{quantity} {value} is below the min {limit}",
    "max": "{quantity} {value} is above the max {limit}",
    "jump": "{quantity} jumped to {value}, more than {limit}",
}


@callback
def describe_anomaly(event: Event) -> dict[str, str]:
    """``temperatura 45.0 is above the max 40.0``; ``temperatura is back to normal (39.0)``."""
    data = event.data
    if data["event_type"] == "anomaly_resolved":
        words = "{quantity} is back to normal ({value})"
    else:
        words = _ANOMALY[data["rule"]]
    message = words.format(quantity=data["quantity"], value=data["value"], limit=data["limit"])
    return {LOGBOOK_ENTRY_NAME: data["device_name"], LOGBOOK_ENTRY_MESSAGE: message}
