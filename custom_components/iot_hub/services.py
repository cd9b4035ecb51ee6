"""Actions: ``start_session``, ``stop_session``, ``get_sessions`` and ``clear_emergency``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, service
from homeassistant.util import dt as dt_util
import probatio as vol

from .actors import async_actor_from_context, translated
from .const import DOMAIN
from .hub import Hub
from .models import DeviceRuntime
from .session_model import ActorRef, Session
from .sessions import SessionError

SERVICE_START_SESSION: Final = "start_session"
SERVICE_STOP_SESSION: Final = "stop_session"
SERVICE_GET_SESSIONS: Final = "get_sessions"
ATTR_START_TIME: Final = "start_time"
ATTR_END_TIME: Final = "end_time"
ATTR_LIMIT: Final = "limit"
DEFAULT_LIMIT: Final = 100

SERVICE_CLEAR_EMERGENCY: Final = "clear_emergency"
ATTR_USER_NAME: Final = "user_name"
ATTR_CARD: Final = "card"

SESSION_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})
START_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        # Chargers: who charges (shown on the charger), or a card checked like a scan.
        vol.Exclusive(ATTR_USER_NAME, "who"): cv.string,
        vol.Exclusive(ATTR_CARD, "who"): cv.string,
    }
)
GET_SESSIONS_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_START_TIME): cv.datetime,
        vol.Optional(ATTR_END_TIME): cv.datetime,
        vol.Optional(ATTR_LIMIT, default=DEFAULT_LIMIT): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=10000)
        ),
        vol.Optional(ATTR_USER_NAME): cv.string,
    }
)


def _resolve(hass: HomeAssistant, ha_device_id: str) -> tuple[Hub, DeviceRuntime]:
    """The hub and iot_hub device behind a device registry id, or a translated error."""
    device_entry, entry = service.async_get_device_and_config_entry(hass, DOMAIN, ha_device_id)
    hub = entry.runtime_data
    assert isinstance(hub, Hub)
    if (device := hub.device_for_ha_device(device_entry.id)) is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_a_session_device",
            translation_placeholders={"device": device_entry.name or ha_device_id},
        )
    return hub, device


def _start(hub: Hub, device: DeviceRuntime, actor: ActorRef, call: ServiceCall) -> Session:
    if (card := call.data.get(ATTR_CARD)) is not None:
        actor = hub.card_actor(device, card)
    elif (user_name := call.data.get(ATTR_USER_NAME)) is not None:
        actor = ActorRef(actor.kind, actor.user_id, user_name)
    return hub.start_session(device, actor, call.context)


def _stop(hub: Hub, device: DeviceRuntime, actor: ActorRef, call: ServiceCall) -> Session:
    return hub.stop_session(device, actor, call.context)


def _session_action(
    operate: Callable[[Hub, DeviceRuntime, ActorRef, ServiceCall], Session],
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """An action that starts or stops a session of the targeted device."""

    async def handle(call: ServiceCall) -> ServiceResponse:
        hub, device = _resolve(call.hass, call.data[ATTR_DEVICE_ID])
        actor = await async_actor_from_context(call.hass, call.context)
        try:
            session = operate(hub, device, actor, call)
        except SessionError as err:
            raise translated(err) from err
        if not call.return_response:
            return None
        return {"session": session.as_public_dict(dt_util.utcnow())}

    return handle


async def _get_sessions(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    hubs: list[Hub] = [
        entry.runtime_data
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if isinstance(entry.runtime_data, Hub)
    ]
    wanted: set[str] | None = None
    if ATTR_DEVICE_ID in call.data:
        wanted = {_resolve(hass, ha_id)[1].id for ha_id in call.data[ATTR_DEVICE_ID]}
    user_name = call.data.get(ATTR_USER_NAME)
    start = call.data.get(ATTR_START_TIME)
    end = call.data.get(ATTR_END_TIME)
    limit = call.data[ATTR_LIMIT]
    found = [
        (hub, session)
        for hub in hubs
        for session in hub.sessions.query(
            wanted,
            dt_util.as_utc(start) if start else None,
            dt_util.as_utc(end) if end else None,
            None if user_name else limit,  # the user filter comes after the query
        )
        if user_name is None or _charged_by(session, user_name)
    ]
    found.sort(key=lambda pair: pair[1].id, reverse=True)
    now = dt_util.utcnow()
    return {
        "sessions": [
            {**session.as_public_dict(now), "ha_device_id": hub.ha_device_id(session.device_id)}
            for hub, session in found[:limit]
        ]
    }


def _charged_by(session: Session, user_name: str) -> bool:
    """Whether the session was started by (or for) this user, case-insensitively."""
    wanted = user_name.casefold()
    names = (session.started_by.name, session.summary(session.started_at).get("user_name"))
    return any(name is not None and name.casefold() == wanted for name in names)


async def _clear_emergency(call: ServiceCall) -> None:
    hub, device = _resolve(call.hass, call.data[ATTR_DEVICE_ID])
    try:
        hub.clear_emergency(device)
    except SessionError as err:
        raise translated(err) from err


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Register the actions (in ``async_setup``: they exist even with no entry loaded)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_START_SESSION,
        _session_action(_start),
        START_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_STOP_SESSION,
        _session_action(_stop),
        SESSION_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_SESSIONS,
        _get_sessions,
        GET_SESSIONS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(DOMAIN, SERVICE_CLEAR_EMERGENCY, _clear_emergency, SESSION_SCHEMA)
