"""The action ``iot_hub.send_test_event`` (admins): seed 001's test event from HA.

It sends what ``POST /api/iot_hub/v1/ws/test-event`` sends, a ``system_event`` with ``data``
``{"test": true}``, at the level asked for (``info`` by default), and answers
``{"delivered": N}``: how many channel clients got it.
"""

from __future__ import annotations

from typing import Final

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import config_validation as cv, service
import probatio as vol

from ...const import DOMAIN
from ...errors import ErrorKey, IotHubError, translate_errors
from .channel_views import MAX_MESSAGE_CHARS
from .codec import CHANNELS, DEFAULT_CHANNEL, LEVELS
from .live import live_of

SERVICE_TEST_EVENT: Final = "send_test_event"
TEST_EVENT_SCHEMA: Final = vol.Schema(
    {
        vol.Optional("channel", default=DEFAULT_CHANNEL): vol.In(CHANNELS),
        vol.Required("message"): vol.All(cv.string, vol.Length(min=1, max=MAX_MESSAGE_CHARS)),
        vol.Optional("level", default="info"): vol.In(sorted(LEVELS)),
    }
)


@translate_errors
async def _send_test_event(call: ServiceCall) -> ServiceResponse:
    if (live := live_of(call.hass)) is None:
        raise IotHubError(ErrorKey.CHANNELS_NOT_LOADED, DOMAIN)
    delivered = live.channel_events.system(
        call.data["level"], call.data["message"], {"test": True}, channel=call.data["channel"]
    )
    return {"delivered": delivered} if call.return_response else None


def async_register_actions(hass: HomeAssistant) -> None:
    """Register the action (once per HA run)."""
    service.async_register_admin_service(
        hass,
        DOMAIN,
        SERVICE_TEST_EVENT,
        _send_test_event,
        TEST_EVENT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
