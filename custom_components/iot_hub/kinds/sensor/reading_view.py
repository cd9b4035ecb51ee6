"""Seed 001's ``POST /api/iot_hub/v1/readings``: a sensor posts a reading with its own token.

The body is the seed's ``{"sensor_id": 1, "temperatura": 23.5, "humedad": 65.2,
"timestamp": "2025-07-20T10:30:00Z"}``; it goes where a WebSocket or MQTT frame goes
(``SensorHandler.accept``), so entities, channels and streams all get it. The answer is 201
with the reading object the ``readings`` channel sends (``channel_codec.reading_object``).

The device token comes as Bearer or ``?token=``; a wrong or missing one is 401 (counted
toward HA's IP ban). ``sensor_id`` may be left out; naming another sensor's number is 403.
A bad body is 400, one over ``MAX_BODY_BYTES`` 413; more than a sensor's rate
(``const.MAX_RATE``/s, bursts of twice that, as over a connection) is 429.
"""

from __future__ import annotations

from http import HTTPStatus
import logging
from typing import Final

from aiohttp import web
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView
from homeassistant.util import dt as dt_util

from ...const import CONF_TOKEN_HASH
from ...kind import KindContext
from ...protocol import ProtocolError
from ...tokens import hash_token
from ...transport.auth import LoginFailures
from ...transport.http import BodyError, error_response, read_body, unauthorized
from ...transport.websocket import token_from
from .channel_codec import decode_posted_reading, reading_object
from .channel_views import BASE, NOT_LOADED
from .const import CONF_SENSOR_ID, KIND
from .handler import SensorHandler
from .live import SensorLive, live_of

_LOGGER = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 16 * 1024  # a reading is well under 1 KiB


def _sensor_of(live: SensorLive, token: str) -> KindContext | None:
    """The sensor device this token belongs to (compared by digest, never in clear)."""
    digest = hash_token(token)
    return next(
        (d for d in live.hub.devices_of(KIND) if d.data.get(CONF_TOKEN_HASH) == digest), None
    )


class ReadingsView(HomeAssistantView):
    """``POST /api/iot_hub/v1/readings``."""

    url = f"{BASE}/readings"
    name = "api:iot_hub:v1:readings"
    requires_auth = False  # sensors have no HA user: their device token is checked here

    def __init__(self, failures: LoginFailures) -> None:
        """``failures`` is shared by every seed-001 route."""
        self._failures = failures

    async def post(self, request: web.Request) -> web.Response:
        """Accept one reading; 201 with its object."""
        if (live := live_of(request.app[KEY_HASS])) is None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, NOT_LOADED)
        if (token := token_from(request)) is None:
            await self._failures.refuse_request(request, "missing credentials")
            return unauthorized()
        if (device := _sensor_of(live, token)) is None:
            await self._failures.refuse_request(request, "invalid token")
            return unauthorized()
        handler = getattr(device, "handler", None)
        assert isinstance(handler, SensorHandler)  # every device of the kind has one
        if not handler.may_post():
            return error_response(HTTPStatus.TOO_MANY_REQUESTS, "Demasiadas lecturas")
        try:
            sensor_id, reading = decode_posted_reading(await read_body(request, MAX_BODY_BYTES))
        except BodyError as err:
            response = error_response(err.status, err.message)
            response.force_close()  # the rest of the body is left unread
            return response
        except ProtocolError as err:
            _LOGGER.debug("%s posted a reading that cannot be read: %s", device.name, err)
            return error_response(HTTPStatus.BAD_REQUEST, str(err))
        own = device.data.get(CONF_SENSOR_ID)
        if sensor_id is not None and sensor_id != own:
            return error_response(HTTPStatus.FORBIDDEN, "sensor_id no es el de este token")
        received = dt_util.utcnow()
        reading_id = handler.posted(reading, received)
        body = reading_object(reading_id, own, reading.values, reading.taken_at or received)
        return self.json(body, HTTPStatus.CREATED)
