"""Actions of appliances: ``iot_hub.claim_device`` (admin) and ``iot_hub.update_device``.

They take the seed's own fields and check them with its codec, so an automation, the legacy
``POST /dispositivos/reclamar`` and ``PUT /dispositivos/<id>`` accept and refuse the same
bodies. Both answer with the seed's device object.
"""

from __future__ import annotations

import json
from typing import Any, Final

from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr, service
import probatio as vol

from ...const import DOMAIN
from ...errors import ErrorKey, IotHubError, translate_errors
from ...protocol import ProtocolError
from .codec import EDITABLE, decode_claim, decode_edit, device_object
from .const import CONF_SERIAL
from .directory import ApplianceDirectory, directory_of

SERVICE_CLAIM: Final = "claim_device"
SERVICE_UPDATE: Final = "update_device"

_TEXTS: Final = {vol.Optional(key): vol.Any(None, cv.string) for key in EDITABLE[:4]}
CLAIM_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_SERIAL): cv.string,
        **_TEXTS,
        vol.Optional("configuracion"): dict,
    }
)
UPDATE_SCHEMA: Final = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        **_TEXTS,
        vol.Optional("configuracion"): dict,
    }
)


def _invalid(err: ProtocolError) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=ErrorKey.INVALID_FIELDS.value,
        translation_placeholders={"reason": str(err)},
    )


def _directory(hass: HomeAssistant) -> ApplianceDirectory:
    if (directory := directory_of(hass)) is None:
        raise IotHubError(ErrorKey.MQTT_UNAVAILABLE, DOMAIN)
    return directory


@translate_errors
async def _claim(call: ServiceCall) -> ServiceResponse:
    directory = _directory(call.hass)
    try:
        serial, edit = decode_claim(json.dumps(dict(call.data)))
    except ProtocolError as err:
        raise _invalid(err) from err
    info = await directory.async_claim(serial, edit, call.context)
    return device_object(info) if call.return_response else None


@translate_errors
async def _update(call: ServiceCall) -> ServiceResponse:
    directory = _directory(call.hass)
    ha_device = dr.async_get(call.hass).async_get(call.data[ATTR_DEVICE_ID])
    serial = next(
        (
            ident
            for domain, ident in (ha_device.identifiers if ha_device else ())
            if domain == DOMAIN
        ),
        None,
    )
    legacy_id = directory.legacy_id_of_device(serial) if serial else None
    if legacy_id is None:
        raise IotHubError(ErrorKey.UNKNOWN_APPLIANCE, call.data[ATTR_DEVICE_ID])
    current = directory.device(legacy_id)
    assert current is not None  # the id is the directory's
    fields: dict[str, Any] = {key: call.data[key] for key in EDITABLE if key in call.data}
    try:
        edit = decode_edit(json.dumps(fields), current.configuracion)
    except ProtocolError as err:
        raise _invalid(err) from err
    info = await directory.async_update(legacy_id, edit, call.context)
    return device_object(info) if call.return_response else None


def async_register_actions(hass: HomeAssistant) -> None:
    """Register the two actions (once per HA run)."""
    service.async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_CLAIM,
        _claim,
        CLAIM_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_UPDATE,
        _update,
        UPDATE_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
