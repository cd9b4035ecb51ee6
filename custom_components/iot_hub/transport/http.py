"""What iot_hub's own HTTP views share: the caller's HA user, JSON errors, bounded bodies.

The legacy routes (appliances' seed 003, sensors' seed 001) take an HA access token as HA's
own views do (``Authorization: Bearer``, a signed ``authSig`` path) and also as ``?token=``,
which is what a legacy client can add to its URLs; every failure counts toward HA's IP ban
(``auth.LoginFailures``). Errors are the seeds' ``{"error": "<message>"}``.
"""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web
from homeassistant.auth.models import User
from homeassistant.components.http import KEY_AUTHENTICATED, KEY_HASS_USER
from homeassistant.components.http.auth_util import async_user_not_allowed_do_auth
from homeassistant.components.http.const import KEY_HASS_REFRESH_TOKEN_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .auth import LoginFailures

TOO_LARGE = "Cuerpo demasiado grande"


class BodyError(Exception):
    """A request body refused before it was decoded (413, or 400 when not UTF-8)."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        """The status and the ``error`` text of the answer."""
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: HTTPStatus, message: str) -> web.Response:
    """The seeds' JSON error."""
    return HomeAssistantView.json({"error": message}, status)


def unauthorized() -> web.Response:
    """No valid HA token (the failure was counted by ``authenticate``)."""
    response = error_response(HTTPStatus.UNAUTHORIZED, "No autorizado")
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def authenticate(
    request: web.Request, failures: LoginFailures
) -> tuple[User, str | None] | None:
    """The HA user and its refresh token id: HA's middleware or ``?token=``; None counts."""
    if request.get(KEY_AUTHENTICATED) and isinstance(user := request.get(KEY_HASS_USER), User):
        return user, request.get(KEY_HASS_REFRESH_TOKEN_ID)
    hass: HomeAssistant = request.app[KEY_HASS]
    if token := request.query.get("token"):
        refresh_token = hass.auth.async_validate_access_token(token)
        if refresh_token is not None and not async_user_not_allowed_do_auth(
            hass, refresh_token.user, request
        ):
            return refresh_token.user, refresh_token.id
        await failures.refuse_request(request, "invalid token")
        return None
    await failures.refuse_request(request, "missing credentials")
    return None


async def read_body(request: web.Request, limit: int) -> str:
    """The body as text, refused (413) as soon as it is known to be over ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, TOO_LARGE)
    body = bytearray()
    async for chunk in request.content.iter_any():  # a chunked body has no length up front
        body += chunk
        if len(body) > limit:
            raise BodyError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, TOO_LARGE)
    try:
        return body.decode()
    except UnicodeDecodeError as err:
        raise BodyError(HTTPStatus.BAD_REQUEST, "El cuerpo no es UTF-8") from err
