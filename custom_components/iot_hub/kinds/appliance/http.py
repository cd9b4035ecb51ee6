"""The seed's REST routes (seed 003) under ``/api/iot_hub/``: thin views over the directory.

``GET /dispositivos`` (every device, claimed or not), ``GET|PUT /dispositivos/{id}``,
``GET /dispositivos/no-reclamados``, ``POST /dispositivos/reclamar`` and
``GET /dispositivos/{id}/logs?page=&per_page=``. Bodies are the seed's device objects
(``codec.device_object``) and its log page envelope; every refusal is
``{"error": "<message>"}`` with its status (``ERRORS`` for the directory's refusals).

What the seed left open and iot_hub decides: an HA access token is required (Bearer, a
signed path, or ``?token=``); a claim needs an admin (it adds a device to HA) and answers
200 with the device object, as the seed's Flask route did for any success; an edit needs a
user that may control devices (read-only users get 403); bodies over ``MAX_BODY_BYTES`` are
refused (413) before they are read whole; ``per_page`` above ``MAX_PER_PAGE`` is capped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
import logging
import re
from typing import Any, Final

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from ...errors import ErrorKey, IotHubError
from ...protocol import ProtocolError
from ...transport import http as transport_http
from ...transport.auth import LoginFailures
from ...transport.http import BodyError, error_response, unauthorized
from . import access, codec
from .access import Caller
from .directory import DEFAULT_PER_PAGE, MAX_PER_PAGE, ApplianceDirectory

_LOGGER = logging.getLogger(__name__)

BASE: Final = "/api/iot_hub/dispositivos"
MAX_BODY_BYTES: Final = 64 * 1024  # a claim or an edit is a few hundred bytes
NOT_FOUND: Final = "Dispositivo no encontrado"
NOT_LOADED: Final = "iot_hub no está cargado"
# An id or a page count: digits only, and few enough that no device or page can be missed.
_NUMBER: Final = re.compile(r"[0-9]{1,18}")

# How each refusal of the directory is answered.
ERRORS: Final[Mapping[ErrorKey, tuple[HTTPStatus, str]]] = {
    ErrorKey.UNKNOWN_APPLIANCE: (HTTPStatus.NOT_FOUND, NOT_FOUND),
    ErrorKey.ALREADY_CLAIMED: (HTTPStatus.CONFLICT, "El dispositivo ya está reclamado"),
    ErrorKey.NOT_CLAIMED: (HTTPStatus.CONFLICT, "El dispositivo no está reclamado"),
    ErrorKey.FOLLOWS_SCHEDULE: (HTTPStatus.CONFLICT, "El dispositivo sigue su horario"),
    ErrorKey.MQTT_UNAVAILABLE: (HTTPStatus.SERVICE_UNAVAILABLE, "MQTT no está disponible"),
}
DEFAULT_ERROR: Final = HTTPStatus.CONFLICT  # any other refusal: refused now, as the request is


class RefusedError(Exception):
    """A request answered with ``{"error": message}`` and ``status``."""

    def __init__(self, status: HTTPStatus, message: str, *, close: bool = False) -> None:
        """``close``: the connection is not kept (its body was left unread)."""
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


def refusal_of(err: IotHubError) -> RefusedError:
    """The status and message of a directory's refusal."""
    status, message = ERRORS.get(err.key, (DEFAULT_ERROR, err.key.value))
    return RefusedError(status, message)


def legacy_id(raw: str) -> int:
    """The ``{id}`` of a path: an id no device can have is not found (never a 500)."""
    if not _NUMBER.fullmatch(raw):
        raise RefusedError(HTTPStatus.NOT_FOUND, NOT_FOUND)
    return int(raw)


def count(query: Mapping[str, str], name: str, default: int) -> int:
    """A positive integer query parameter (``page``, ``per_page``); empty is the default."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not _NUMBER.fullmatch(raw) or (value := int(raw)) < 1:
        raise RefusedError(HTTPStatus.BAD_REQUEST, f"{name} debe ser un entero positivo")
    return value


async def read_body(request: web.Request) -> str:
    """The body as text, refused (413) as soon as it is known to be over the limit."""
    try:
        return await transport_http.read_body(request, MAX_BODY_BYTES)
    except BodyError as err:
        # A body left unread: the connection is not kept.
        raise RefusedError(err.status, err.message, close=True) from err


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request, with the directory it is about."""

    request: web.Request
    caller: Caller
    directory: ApplianceDirectory


class ApplianceView(HomeAssistantView):
    """A legacy route: authenticates itself (``?token=`` too) and answers JSON."""

    requires_auth = False  # ``access.authenticate`` also accepts ``?token=``

    def __init__(self, failures: LoginFailures) -> None:
        """``failures`` is shared by every route: one count of failed logins per address."""
        self._failures = failures

    async def _answer(
        self, request: web.Request, work: Callable[[Call], Awaitable[Any]]
    ) -> web.Response:
        """Authenticate, find the directory, run ``work``; its result is the JSON body."""
        caller = await access.authenticate(request, self._failures)
        if caller is None:
            return unauthorized()
        hass: HomeAssistant = request.app[KEY_HASS]
        if (directory := access.directory_of(hass)) is None:
            return error_response(HTTPStatus.SERVICE_UNAVAILABLE, NOT_LOADED)
        try:
            try:
                return self.json(await work(Call(request, caller, directory)))
            except IotHubError as err:
                raise refusal_of(err) from err
            except ProtocolError as err:
                raise RefusedError(HTTPStatus.BAD_REQUEST, str(err)) from err
        except RefusedError as err:
            _LOGGER.debug(
                "%s %s refused (%d): %s", request.method, request.path, err.status, err.message
            )
            response = error_response(err.status, err.message)
            if err.close:
                response.force_close()
            return response


def _device(call: Call, raw_id: str) -> codec.DeviceInfo:
    if (device := call.directory.device(legacy_id(raw_id))) is None:
        raise RefusedError(HTTPStatus.NOT_FOUND, NOT_FOUND)
    return device


class DevicesView(ApplianceView):
    """``GET /dispositivos``: every device, claimed or not ("Lista todos")."""

    url = BASE
    name = "api:iot_hub:dispositivos"

    async def get(self, request: web.Request) -> web.Response:
        """The device objects, by id."""

        async def work(call: Call) -> Any:
            return [codec.device_object(device) for device in call.directory.devices()]

        return await self._answer(request, work)


class UnclaimedView(ApplianceView):
    """``GET /dispositivos/no-reclamados``: devices seen over MQTT and not claimed yet."""

    url = f"{BASE}/no-reclamados"
    name = "api:iot_hub:dispositivos:no-reclamados"

    async def get(self, request: web.Request) -> web.Response:
        """The unclaimed device objects, by id."""

        async def work(call: Call) -> Any:
            return [
                codec.device_object(device) for device in call.directory.devices(reclamado=False)
            ]

        return await self._answer(request, work)


class ClaimView(ApplianceView):
    """``POST /dispositivos/reclamar``: the QR flow's claim (an admin adds a device to HA)."""

    url = f"{BASE}/reclamar"
    name = "api:iot_hub:dispositivos:reclamar"

    async def post(self, request: web.Request) -> web.Response:
        """Claim the serial with the body's fields; the claimed device object."""

        async def work(call: Call) -> Any:
            if not call.caller.user.is_admin:
                # 403, not HA's 401: the token is good, and a 401 would count toward a ban.
                raise RefusedError(HTTPStatus.FORBIDDEN, "Se requiere un administrador")
            serial, edit = codec.decode_claim(await read_body(call.request))
            device = await call.directory.async_claim(serial, edit, call.caller.context)
            return codec.device_object(device)

        return await self._answer(request, work)


class DeviceView(ApplianceView):
    """``GET|PUT /dispositivos/{id}``: one device; an edit by the seed's mode rules."""

    url = f"{BASE}/{{dispositivo_id}}"
    name = "api:iot_hub:dispositivos:id"

    async def get(self, request: web.Request, dispositivo_id: str) -> web.Response:
        """The device object."""

        async def work(call: Call) -> Any:
            return codec.device_object(_device(call, dispositivo_id))

        return await self._answer(request, work)

    async def put(self, request: web.Request, dispositivo_id: str) -> web.Response:
        """Apply the body's editable fields; the device object after the edit."""

        async def work(call: Call) -> Any:
            if not call.caller.may_control:
                raise RefusedError(HTTPStatus.FORBIDDEN, "Se requiere permiso de control")
            current = _device(call, dispositivo_id)
            edit = codec.decode_edit(await read_body(call.request), current.configuracion)
            device = await call.directory.async_update(current.id, edit, call.caller.context)
            return codec.device_object(device)

        return await self._answer(request, work)


class LogsView(ApplianceView):
    """``GET /dispositivos/{id}/logs?page=&per_page=``: the device's log, newest first."""

    url = f"{BASE}/{{dispositivo_id}}/logs"
    name = "api:iot_hub:dispositivos:logs"

    async def get(self, request: web.Request, dispositivo_id: str) -> web.Response:
        """One page: ``items``, ``page``, ``per_page``, ``total``, ``pages``."""

        async def work(call: Call) -> Any:
            device_id = legacy_id(dispositivo_id)
            page = count(call.request.query, "page", 1)
            per_page = min(count(call.request.query, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
            try:
                return call.directory.logs(device_id, page, per_page).as_dict()
            except ValueError as err:  # past the last page
                raise RefusedError(HTTPStatus.NOT_FOUND, "Página fuera de rango") from err

        return await self._answer(request, work)


def views(failures: LoginFailures) -> list[ApplianceView]:
    """Every REST view, static paths before ``{id}`` (``no-reclamados`` is not an id)."""
    return [
        DevicesView(failures),
        UnclaimedView(failures),
        ClaimView(failures),
        DeviceView(failures),
        LogsView(failures),
    ]
