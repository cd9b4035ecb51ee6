"""The one error path: error keys, the exception that carries them, and its HA translation.

Every refusal iot_hub can meet (a session that cannot start, a card that is not authorised, a
frame sent too fast) has one ``ErrorKey``. The key is the translation key of the message HA
shows (``exceptions`` in ``strings.json``), and each kind maps the keys it can meet to its own
wire message, so an app, a dashboard and the HA UI hear about the same refusal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from functools import wraps
from typing import Any, Final

from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN


class ErrorKey(StrEnum):
    """What went wrong; also the translation key of the message HA shows."""

    # Sessions: every kind that runs sessions can meet these.
    SESSION_ALREADY_ACTIVE = "session_already_active"
    NO_ACTIVE_SESSION = "no_active_session"
    DEVICE_NOT_CONNECTED = "device_not_connected"
    # Actions aimed at a device that is not iot_hub's, or whose kind has no sessions.
    NOT_A_SESSION_DEVICE = "not_a_session_device"
    NOT_SUPPORTED = "not_supported"
    # Transports: every kind's peers can meet these.
    RATE_LIMITED = "rate_limited"
    BINARY_FRAME = "binary_frame"
    # Chargers.
    EMERGENCY_ACTIVE = "emergency_active"
    NO_EMERGENCY = "no_emergency"
    CARD_REJECTED = "card_rejected"
    # Appliances (MQTT, seed 003).
    UNKNOWN_APPLIANCE = "unknown_appliance"
    ALREADY_CLAIMED = "already_claimed"
    NOT_CLAIMED = "not_claimed"
    FOLLOWS_SCHEDULE = "follows_schedule"
    MQTT_UNAVAILABLE = "mqtt_unavailable"
    INVALID_FIELDS = "invalid_fields"
    # Sensors (seed 001's event channels).
    CHANNELS_NOT_LOADED = "channels_not_loaded"


# Keys any kind with sessions can meet, whatever it is; a kind adds its own to these.
SESSION_KEYS: Final = frozenset(
    {ErrorKey.SESSION_ALREADY_ACTIVE, ErrorKey.NO_ACTIVE_SESSION, ErrorKey.DEVICE_NOT_CONNECTED}
)
TRANSPORT_KEYS: Final = frozenset({ErrorKey.RATE_LIMITED, ErrorKey.BINARY_FRAME})


class IotHubError(Exception):
    """An operation refused now; ``key`` says why, ``device_name`` for which device."""

    def __init__(self, key: ErrorKey, device_name: str) -> None:
        """Remember which message and device."""
        super().__init__(key.value)
        self.key = key
        self.device_name = device_name

    def translated(self) -> ServiceValidationError:
        """This error as the translated one HA shows to the user."""
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=self.key.value,
            translation_placeholders={"device": self.device_name},
        )


def translate_errors[**P, R](
    func: Callable[P, Awaitable[R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn the ``IotHubError`` of an action or a button press into a translated HA error."""

    @wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except IotHubError as err:
            raise err.translated() from err

    return wrapper
