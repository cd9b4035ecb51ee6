"""Actions: ``start_session``, ``stop_session``, ``get_sessions``, and each kind's own.

Every refusal is an ``IotHubError``, turned into a translated error by ``translate_errors``.
"""

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
from homeassistant.helpers import config_validation as cv, service
from homeassistant.util import dt as dt_util
import probatio as vol

from . import kinds
from .actors import async_actor_from_context
from .const import DOMAIN
from .device import DeviceRuntime
from .errors import ErrorKey, IotHubError, translate_errors
from .hub import Hub
from .sessions import Session

SERVICE_START_SESSION: Final = "start_session"
SERVICE_STOP_SESSION: Final = "stop_session"
SERVICE_GET_SESSIONS: Final = "get_sessions"
ATTR_START_TIME: Final = "start_time"
ATTR_END_TIME: Final = "end_time"
ATTR_LIMIT: Final = "limit"
DEFAULT_LIMIT: Final = 100
ATTR_USER_NAME: Final = "user_name"
ATTR_CARD: Final = "card"

DEVICE_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})
START_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        # Who the session is for (a charger shows it), or a card checked like a scan.
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
        raise IotHubError(ErrorKey.NOT_A_SESSION_DEVICE, device_entry.name or ha_device_id)
    return hub, device


@translate_errors
async def _start_session(call: ServiceCall) -> ServiceResponse:
    hub, device = _resolve(call.hass, call.data[ATTR_DEVICE_ID])
    actor = await async_actor_from_context(call.hass, call.context)
    actor = device.handler.starter(actor, call.data.get(ATTR_USER_NAME), call.data.get(ATTR_CARD))
    session = device.start_session(actor, call.context)
    await hub.sessions.async_flush()  # the call returns once the device and the bus know
    return {"session": hub.sessions.public(session)} if call.return_response else None


@translate_errors
async def _stop_session(call: ServiceCall) -> ServiceResponse:
    hub, device = _resolve(call.hass, call.data[ATTR_DEVICE_ID])
    actor = await async_actor_from_context(call.hass, call.context)
    session = device.stop_session(actor, call.context)
    await hub.sessions.async_flush()
    return {"session": hub.sessions.public(session)} if call.return_response else None


@translate_errors
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
    return {"sessions": [hub.sessions.public(session) for hub, session in found[:limit]]}


def _charged_by(session: Session, user_name: str) -> bool:
    """Whether the session was started by (or for) this user, case-insensitively."""
    wanted = user_name.casefold()
    names = (session.started_by.name, session.summary(session.started_at).get("user_name"))
    return any(name is not None and name.casefold() == wanted for name in names)


def _kind_action(name: str) -> Callable[[ServiceCall], Coroutine[Any, Any, None]]:
    """An action of one or more kinds, on the targeted device."""

    @translate_errors
    async def handle(call: ServiceCall) -> None:
        _hub, device = _resolve(call.hass, call.data[ATTR_DEVICE_ID])
        if (act := device.kind.actions.get(name)) is None:
            raise IotHubError(ErrorKey.NOT_SUPPORTED, device.name)
        act(device.handler)

    return handle


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Register the actions (in ``async_setup``: they exist even with no entry loaded)."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_START_SESSION,
        _start_session,
        START_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_STOP_SESSION,
        _stop_session,
        DEVICE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_SESSIONS,
        _get_sessions,
        GET_SESSIONS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    for name in sorted({name for kind in kinds.registered() for name in kind.actions}):
        hass.services.async_register(DOMAIN, name, _kind_action(name), DEVICE_SCHEMA)
