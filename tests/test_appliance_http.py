"""The seed's REST routes (003) through HA's real HTTP server: shapes, statuses, hostile input.

The directory is an in-memory fake (``appliance_fake``); what is tested is the HTTP layer:
paths, auth, status codes, exact JSON bodies and the limits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from http import HTTPStatus
import json
import logging
from typing import Any

from aiohttp import ClientResponse
from homeassistant.auth.models import TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.iot_hub.errors import ErrorKey
from custom_components.iot_hub.kinds.appliance import access, views
from custom_components.iot_hub.kinds.appliance.http import MAX_BODY_BYTES

from .appliance_fake import (
    HEATER,
    PLUG,
    SENSOR,
    FakeDirectory,
    directory_fixture,  # noqa: F401  (the fixture)
)
from .conftest import hub_of

BASE = "/api/iot_hub/dispositivos"
SENSOR_JSON = (
    '{"id":1,"serial_number":"TMP0603IF1WD","nombre":"Sensor Temp","tipo":"sensor",'
    '"modelo":"T-01","descripcion":"Termómetro","estado":"activo","parametros":{"temp":23.4},'
    '"configuracion":{"modo":"manual","encendido":true},"reclamado":true}'
)
PLUG_JSON = (
    '{"id":2,"serial_number":"PLG0001","nombre":null,"tipo":null,"modelo":null,'
    '"descripcion":null,"estado":"inactivo","parametros":{"watts":12},'
    '"configuracion":{},"reclamado":false}'
)
HEATER_JSON = (
    '{"id":5,"serial_number":"HTR0005","nombre":"Estufa","tipo":"enchufe","modelo":"H-2",'
    '"descripcion":"Sala","estado":"inactivo","parametros":{},"configuracion":{"modo":"horario",'
    '"encendido":false,"horarios":[{"dias":"L-V","desde":"07:00"}]},"reclamado":true}'
)
SEED_CLAIM = {
    "serial_number": "PLG0001",
    "nombre": "Enchufe TV",
    "tipo": "enchufe",
    "modelo": "P-1",
    "descripcion": "Salón",
    "configuracion": {"modo": "manual", "encendido": True},
}
DEVICE_KEYS = [
    "id",
    "serial_number",
    "nombre",
    "tipo",
    "modelo",
    "descripcion",
    "estado",
    "parametros",
    "configuracion",
    "reclamado",
]

type Client = Any  # aiohttp's TestClient


@pytest.fixture
async def client(hass_client: ClientSessionGenerator) -> Client:
    """An admin's client (Bearer token)."""
    return await hass_client()


@pytest.fixture
async def anonymous(hass_client_no_auth: ClientSessionGenerator) -> Client:
    """A client without credentials."""
    return await hass_client_no_auth()


async def _user_token(hass: HomeAssistant, group: str) -> str:
    user = await hass.auth.async_create_user(f"user of {group}", group_ids=[group])
    refresh_token = await hass.auth.async_create_refresh_token(
        user, client_name="legacy app", token_type=TOKEN_TYPE_LONG_LIVED_ACCESS_TOKEN
    )
    return hass.auth.async_create_access_token(refresh_token)


async def error_of(response: ClientResponse, status: int) -> str:
    """The ``error`` of a refusal with this status (the body has no other key)."""
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    body = await response.json()
    assert list(body) == ["error"]
    return str(body["error"])


async def exactly(response: ClientResponse) -> str:
    """The body of a 200 as text, byte for byte."""
    assert response.status == HTTPStatus.OK, await response.text()
    assert response.content_type == "application/json"
    return (await response.read()).decode()


# -- reading -------------------------------------------------------------------------------


async def test_list_every_device_claimed_or_not(directory: FakeDirectory, client: Client) -> None:
    """ "Lista todos": the seed's ten keys in its order, raw UTF-8, by id."""
    response = await client.get(BASE)
    assert await exactly(response) == f"[{SENSOR_JSON},{PLUG_JSON},{HEATER_JSON}]"
    assert [list(obj) for obj in json.loads(await response.text())] == [DEVICE_KEYS] * 3


async def test_one_device(directory: FakeDirectory, client: Client) -> None:
    """``/dispositivos/<id>``: the device object."""
    assert await exactly(await client.get(f"{BASE}/1")) == SENSOR_JSON
    assert await exactly(await client.get(f"{BASE}/5")) == HEATER_JSON
    assert await exactly(await client.get(f"{BASE}/0002")) == PLUG_JSON  # as Flask's int


async def test_unclaimed_is_not_taken_for_an_id(directory: FakeDirectory, client: Client) -> None:
    """``no-reclamados`` is its own route, not ``{id}`` (which would answer 404)."""
    assert await exactly(await client.get(f"{BASE}/no-reclamados")) == f"[{PLUG_JSON}]"


@pytest.mark.parametrize(
    "raw_id", ["3", "999", "abc", "-1", "1.0", "%201", "9" * 19, "9" * 5000, "\u0661"]
)
async def test_unknown_ids_are_not_found(
    directory: FakeDirectory, client: Client, raw_id: str
) -> None:
    """Any id no device has (not a number, negative, beyond int range): 404, in JSON."""
    for path in (f"{BASE}/{raw_id}", f"{BASE}/{raw_id}/logs"):
        assert await error_of(await client.get(path), 404) == "Dispositivo no encontrado"
    response = await client.put(f"{BASE}/{raw_id}", json={"nombre": "x"})
    assert await error_of(response, 404) == "Dispositivo no encontrado"


# -- editing -------------------------------------------------------------------------------


async def test_edit_follows_the_modes(
    hass: HomeAssistant, directory: FakeDirectory, client: Client, hass_admin_user: Any
) -> None:
    """PUT: the seed's body, the device after the edit (manual: encendido decides estado)."""
    response = await client.put(
        f"{BASE}/1", json={"nombre": "Sensor Cocina", "configuracion": {"encendido": False}}
    )
    assert await exactly(response) == SENSOR_JSON.replace("Sensor Temp", "Sensor Cocina").replace(
        '"estado":"activo"', '"estado":"inactivo"'
    ).replace('"encendido":true', '"encendido":false')
    assert directory.device(1) is not None
    assert directory.device(1).nombre == "Sensor Cocina"  # type: ignore[union-attr]
    context = directory.contexts[-1]
    assert context is not None
    assert context.user_id == hass_admin_user.id
    # ``id`` and ``reclamado`` may come back in a client's body (it PUTs what it GOT).
    response = await client.put(f"{BASE}/1", data=SENSOR_JSON.replace('"estado":"activo",', ""))
    assert response.status == 400  # ... but not the device's own fields
    body = json.loads(SENSOR_JSON)
    for key in ("serial_number", "estado", "parametros"):
        del body[key]
    assert (await client.put(f"{BASE}/1", json=body)).status == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "invalid JSON"),
        ("[]", "object"),
        ('"texto"', "object"),
        ('{"estado":"activo"}', "estado come only from the device"),
        ('{"parametros":{}}', "parametros come only from the device"),
        ('{"nombre":5}', "nombre must be a string"),
        ('{"nombre":"' + "x" * 300 + '"}', "nombre too long"),
        ('{"configuracion":{"modo":"siempre"}}', "modo must be manual or horario"),
        ('{"configuracion":{"encendido":"si"}}', "encendido must be true or false"),
        ('{"configuracion":[]}', "configuracion must be an object"),
        ('{"color":"rojo"}', "unknown fields: color"),
        ("[" * 10000 + "]" * 10000, ""),
    ],
)
async def test_bad_bodies_are_refused_with_the_codecs_message(
    directory: FakeDirectory, client: Client, body: str, message: str
) -> None:
    """A body the codec refuses: 400 with its message; the device is unchanged."""
    error = await error_of(await client.put(f"{BASE}/1", data=body), 400)
    assert message.lower() in error.lower()
    assert directory.device(1) == SENSOR
    assert await exactly(await client.get(f"{BASE}/1")) == SENSOR_JSON  # still served


async def test_a_body_that_is_not_utf8(directory: FakeDirectory, client: Client) -> None:
    """Bytes that are not UTF-8: 400."""
    response = await client.put(f"{BASE}/1", data=b'{"nombre":"\xff"}')
    assert await error_of(response, 400) == "El cuerpo no es UTF-8"


async def test_huge_bodies_are_refused_unread(directory: FakeDirectory, client: Client) -> None:
    """Over 64 KiB: 413 from the announced length, or as soon as a chunked body passes it."""
    huge = b'{"nombre":"' + b"x" * MAX_BODY_BYTES + b'"}'
    response = await client.put(f"{BASE}/1", data=huge)
    assert await error_of(response, 413) == "Cuerpo demasiado grande"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):  # 4 MiB if it were all read
            yield b"x" * 65536

    response = await client.post(f"{BASE}/reclamar", data=chunks())
    assert await error_of(response, 413) == "Cuerpo demasiado grande"
    assert await exactly(await client.get(f"{BASE}/1")) == SENSOR_JSON  # the server goes on
    assert directory.device(1) == SENSOR
    # Exactly at the limit is read (and refused by the codec as a bad name, not as too big).
    at_limit = b'{"nombre":"' + b"x" * (MAX_BODY_BYTES - 13) + b'"}'
    assert len(at_limit) == MAX_BODY_BYTES
    assert await error_of(await client.put(f"{BASE}/1", data=at_limit), 400) == "nombre too long"


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [
        (ErrorKey.UNKNOWN_APPLIANCE, 404, "Dispositivo no encontrado"),
        (ErrorKey.ALREADY_CLAIMED, 409, "El dispositivo ya está reclamado"),
        (ErrorKey.NOT_CLAIMED, 409, "El dispositivo no está reclamado"),
        (ErrorKey.FOLLOWS_SCHEDULE, 409, "El dispositivo sigue su horario"),
        (ErrorKey.MQTT_UNAVAILABLE, 503, "MQTT no está disponible"),
        (ErrorKey.RATE_LIMITED, 409, "rate_limited"),
    ],
)
async def test_directory_refusals_map_to_statuses(
    directory: FakeDirectory, client: Client, key: ErrorKey, status: int, message: str
) -> None:
    """One table: each refusal of the directory, for an edit and for a claim."""
    directory.fail_with = key
    assert await error_of(await client.put(f"{BASE}/1", json={"nombre": "x"}), status) == message
    directory.fail_with = key
    response = await client.post(f"{BASE}/reclamar", json=SEED_CLAIM)
    assert await error_of(response, status) == message
    assert directory.device(1) == SENSOR
    assert directory.device(2) == PLUG


async def test_the_directorys_own_refusals(directory: FakeDirectory, client: Client) -> None:
    """Unclaimed device: 409; switching a device that follows its schedule: 409."""
    response = await client.put(f"{BASE}/2", json={"nombre": "x"})
    assert await error_of(response, 409) == "El dispositivo no está reclamado"
    response = await client.put(f"{BASE}/5", json={"configuracion": {"encendido": True}})
    assert await error_of(response, 409) == "El dispositivo sigue su horario"
    assert directory.device(5) == HEATER


# -- claiming ------------------------------------------------------------------------------


async def test_claim_with_the_seeds_body(
    directory: FakeDirectory, client: Client, hass_admin_user: Any
) -> None:
    """POST /reclamar: 200 and the claimed device; then it is no longer unclaimed."""
    response = await client.post(f"{BASE}/reclamar", data=json.dumps(SEED_CLAIM))
    assert await exactly(response) == (
        '{"id":2,"serial_number":"PLG0001","nombre":"Enchufe TV","tipo":"enchufe",'
        '"modelo":"P-1","descripcion":"Salón","estado":"activo","parametros":{"watts":12},'
        '"configuracion":{"modo":"manual","encendido":true},"reclamado":true}'
    )
    assert directory.contexts[-1] is not None
    assert directory.contexts[-1].user_id == hass_admin_user.id
    assert await exactly(await client.get(f"{BASE}/no-reclamados")) == "[]"
    # Claimed twice: a conflict, and nothing changes.
    response = await client.post(f"{BASE}/reclamar", json={**SEED_CLAIM, "nombre": "Otro"})
    assert await error_of(response, 409) == "El dispositivo ya está reclamado"
    assert directory.device(2).nombre == "Enchufe TV"  # type: ignore[union-attr]


async def test_claim_an_unseen_serial(directory: FakeDirectory, client: Client) -> None:
    """A serial never seen is pre-provisioned (the directory decides; the route passes it on)."""
    response = await client.post(f"{BASE}/reclamar", json={"serial_number": "NEW0001"})
    body = json.loads(await exactly(response))
    assert (body["id"], body["serial_number"], body["reclamado"]) == (6, "NEW0001", True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"nombre": "x"}, "missing serial_number"),
        ({"serial_number": "a/b"}, "serial_number must be"),
        ({"serial_number": 7}, "serial_number must be a string"),
        ({"serial_number": "X1", "configuracion": {"horarios": 1, "otro": 2}}, "unknown"),
    ],
)
async def test_bad_claims(
    directory: FakeDirectory, client: Client, body: dict[str, Any], message: str
) -> None:
    """A claim the codec refuses: 400 with its message."""
    response = await client.post(f"{BASE}/reclamar", json=body)
    assert message in await error_of(response, 400)
    assert directory.devices() == [SENSOR, PLUG, HEATER]


async def test_only_admins_claim_and_read_only_users_do_not_edit(
    hass: HomeAssistant,
    directory: FakeDirectory,
    anonymous: Client,
    hass_read_only_access_token: str,
) -> None:
    """Claiming adds a device to HA (admins); editing controls one (not read-only users)."""
    read_only = {"Authorization": f"Bearer {hass_read_only_access_token}"}
    response = await anonymous.post(f"{BASE}/reclamar", json=SEED_CLAIM, headers=read_only)
    assert await error_of(response, 403) == "Se requiere un administrador"
    response = await anonymous.put(f"{BASE}/1", json={"nombre": "x"}, headers=read_only)
    assert await error_of(response, 403) == "Se requiere permiso de control"
    assert await exactly(await anonymous.get(f"{BASE}/1", headers=read_only)) == SENSOR_JSON

    user = {"Authorization": f"Bearer {await _user_token(hass, 'system-users')}"}
    response = await anonymous.post(f"{BASE}/reclamar", json=SEED_CLAIM, headers=user)
    assert await error_of(response, 403) == "Se requiere un administrador"
    response = await anonymous.put(f"{BASE}/1", json={"nombre": "Sensor 2"}, headers=user)
    assert json.loads(await exactly(response))["nombre"] == "Sensor 2"
    assert directory.device(2) == PLUG


# -- logs ----------------------------------------------------------------------------------


async def test_logs_paging(directory: FakeDirectory, client: Client) -> None:
    """Defaults 1 and 50, newest first, the envelope's keys in order, a cap, past the end."""
    directory.add_log(1, 120)
    response = await client.get(f"{BASE}/1/logs")
    page = json.loads(await exactly(response))
    assert list(page) == ["items", "page", "per_page", "total", "pages"]
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (1, 50, 120, 3)
    assert [row["id"] for row in page["items"]] == list(range(120, 70, -1))
    assert list(page["items"][0]) == ["id", "dispositivo_id", "estado", "parametros", "timestamp"]

    page = json.loads(await exactly(await client.get(f"{BASE}/1/logs?page=3&per_page=50")))
    assert [row["id"] for row in page["items"]] == list(range(20, 0, -1))
    page = json.loads(await exactly(await client.get(f"{BASE}/1/logs?page=2&per_page=7")))
    assert [row["id"] for row in page["items"]] == list(range(113, 106, -1))
    assert page["pages"] == 18
    page = json.loads(await exactly(await client.get(f"{BASE}/1/logs?page=&per_page=")))
    assert (page["page"], page["per_page"]) == (1, 50)

    page = json.loads(await exactly(await client.get(f"{BASE}/1/logs?per_page=100000")))
    assert (page["per_page"], len(page["items"]), page["pages"]) == (500, 120, 1)

    for past in ("4", "99999", "9" * 18):
        response = await client.get(f"{BASE}/1/logs?page={past}")
        assert await error_of(response, 404) == "Página fuera de rango"


async def test_empty_log(directory: FakeDirectory, client: Client) -> None:
    """Page 1 of an empty log is an empty page; page 2 is past the end."""
    assert await exactly(await client.get(f"{BASE}/2/logs")) == (
        '{"items":[],"page":1,"per_page":50,"total":0,"pages":0}'
    )
    assert await error_of(await client.get(f"{BASE}/2/logs?page=2"), 404) == (
        "Página fuera de rango"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("page=0", "page debe ser un entero positivo"),
        ("page=-1", "page debe ser un entero positivo"),
        ("page=abc", "page debe ser un entero positivo"),
        ("page=1.5", "page debe ser un entero positivo"),
        ("page=" + "9" * 19, "page debe ser un entero positivo"),
        ("page=" + "9" * 5000, "page debe ser un entero positivo"),
        ("per_page=0", "per_page debe ser un entero positivo"),
        ("per_page=%20", "per_page debe ser un entero positivo"),
        ("per_page=1e3", "per_page debe ser un entero positivo"),
    ],
)
async def test_bad_paging(
    directory: FakeDirectory, client: Client, query: str, message: str
) -> None:
    """``page``/``per_page`` that are not positive integers: 400."""
    directory.add_log(1, 3)
    assert await error_of(await client.get(f"{BASE}/1/logs?{query}"), 400) == message


# -- auth and availability -----------------------------------------------------------------

ROUTES: list[tuple[str, str]] = [
    ("GET", BASE),
    ("GET", f"{BASE}/1"),
    ("PUT", f"{BASE}/1"),
    ("GET", f"{BASE}/no-reclamados"),
    ("POST", f"{BASE}/reclamar"),
    ("GET", f"{BASE}/1/logs"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_needs_a_token(
    *,
    hass: HomeAssistant,
    directory: FakeDirectory,
    anonymous: Client,
    hass_access_token: str,
    method: str,
    path: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """None or a wrong one: 401 (counted as a failed login); as Bearer or ``?token=``: served."""
    caplog.set_level(logging.WARNING)
    bodies = iter({"nombre": "Sensor Temp", "serial_number": f"NEW{n}"} for n in range(10))
    send: Callable[..., Any] = getattr(anonymous, method.lower())
    for kwargs in (
        {},
        {"headers": {"Authorization": "Bearer nope"}},
        {"headers": {"Authorization": "Basic x"}},
        {"params": {"token": "nope"}},
    ):
        response = await send(path, json=SEED_CLAIM, **kwargs)
        assert await error_of(response, 401) == "No autorizado"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Login attempt or request with invalid authentication" in caplog.text
    assert "nope" not in caplog.text  # the token is not logged
    assert directory.device(2) == PLUG

    for kwargs in (
        {"headers": {"Authorization": f"Bearer {hass_access_token}"}},
        {"params": {"token": hass_access_token}},
    ):
        body = next(bodies)
        if method == "PUT":
            del body["serial_number"]
        response = await send(path, json=body, **kwargs)
        assert response.status == 200, await response.text()


async def test_a_signed_path_works(
    hass: HomeAssistant, directory: FakeDirectory, anonymous: Client, hass_access_token: str
) -> None:
    """HA's ``authSig`` signed paths (as the frontend makes them) are accepted."""
    refresh_token = hass.auth.async_validate_access_token(hass_access_token)
    assert refresh_token is not None
    signed = async_sign_path(
        hass, f"{BASE}/1", timedelta(minutes=1), refresh_token_id=refresh_token.id
    )
    assert await exactly(await anonymous.get(signed)) == SENSOR_JSON


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_no_hub_no_service(
    hass: HomeAssistant, init_integration: MockConfigEntry, client: Client, method: str, path: str
) -> None:
    """Without an appliance directory (the hub is not loaded): 503."""
    await hass.config_entries.async_unload(init_integration.entry_id)
    response = await client.request(method, path, json=SEED_CLAIM)
    assert await error_of(response, 503) == "iot_hub no está cargado"


async def test_directory_of_reads_the_hubs_kind_parts(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The one lookup: ``entry.runtime_data.kind_parts["appliance"]`` of the loaded entry."""
    hub = hub_of(hass)
    real = hub.kind_parts["appliance"]
    assert access.directory_of(hass) is real
    fake = FakeDirectory([SENSOR])
    hub.kind_parts = {"oven": fake}  # type: ignore[dict-item]
    assert access.directory_of(hass) is None
    hub.kind_parts = {"appliance": object()}  # type: ignore[dict-item]
    assert access.directory_of(hass) is None
    hub.kind_parts = {"appliance": fake}
    assert access.directory_of(hass) is fake
    hub.kind_parts = {"appliance": real}
    await hass.config_entries.async_unload(init_integration.entry_id)
    assert access.directory_of(hass) is None


async def test_registered_once(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """A second call registers nothing (routes cannot be removed, so never twice)."""
    routes = len(hass.http.app.router.routes())
    views.async_register(hass)
    assert len(hass.http.app.router.routes()) == routes
