"""Actions: ``iot_hub.start_session``, ``iot_hub.stop_session`` and ``iot_hub.get_sessions``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Final

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    Context,
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

SESSION_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})
GET_SESSIONS_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_START_TIME): cv.datetime,
        vol.Optional(ATTR_END_TIME): cv.datetime,
        vol.Optional(ATTR_LIMIT, default=DEFAULT_LIMIT): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=10000)
        ),
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


def _session_action(
    operate: Callable[[Hub, DeviceRuntime, ActorRef, Context], Session],
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """An action that starts or stops a session of the targeted device."""

    async def handle(call: ServiceCall) -> ServiceResponse:
        hub, device = _resolve(call.hass, call.data[ATTR_DEVICE_ID])
        actor = await async_actor_from_context(call.hass, call.context)
        try:
            session = operate(hub, device, actor, call.context)
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
            limit,
        )
    ]
    found.sort(key=lambda pair: pair[1].id, reverse=True)
    now = dt_util.utcnow()
    return {
        "sessions": [
            {**session.as_public_dict(now), "ha_device_id": hub.ha_device_id(session.device_id)}
            for hub, session in found[:limit]
        ]
    }


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Register the actions (in ``async_setup``: they exist even with no entry loaded)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_START_SESSION,
        _session_action(Hub.start_session),
        SESSION_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_STOP_SESSION,
        _session_action(Hub.stop_session),
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
