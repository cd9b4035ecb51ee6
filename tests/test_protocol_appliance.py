"""The MQTT appliance codec (seed 003): the seed's shapes byte for byte, and any input survived."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import example, given, strategies as st
import pytest

from custom_components.iot_hub.kinds.appliance.codec import (
    MAX_PARAMETERS,
    SSE_HELLO,
    SSE_PING,
    Configuracion,
    DeviceInfo,
    StateReport,
    compact,
    configuracion_after,
    decode_claim,
    decode_configuracion,
    decode_edit,
    decode_state,
    device_object,
    encode_configuracion,
    encode_sse_update,
    estado_after,
)
from custom_components.iot_hub.protocol import ProtocolError

from .codec_strategies import JSON_VALUES, NESTING, PROPERTY_SETTINGS, any_frame, outcome

SEED_STATE = '{"serial_number":"TMP0603IF1WD","estado":"activo","parametros":{"temp":23.4}}'
# The seed's SSE example (003, L131), one data line and the blank line that ends the event.
SEED_SSE_UPDATE = (
    'data: {"id":1,"serial_number":"TMP0603IF1WD","nombre":"Sensor Temp","tipo":"sensor",'
    '"modelo":"T-01","descripcion":"Termómetro","estado":"activo","parametros":{"temp":23.4},'
    '"configuracion":{"modo":"manual","encendido":true},"reclamado":true,"event":"device_update"}'
    "\n\n"
)
SEED_CLAIM = (
    '{"serial_number":"TMP0603IF1WD","nombre":"Sensor Temp","tipo":"sensor","modelo":"T-01",'
    '"descripcion":"Termómetro","configuracion":{"modo":"manual","encendido":true}}'
)
SEED_DEVICE = DeviceInfo(
    id=1,
    serial_number="TMP0603IF1WD",
    nombre="Sensor Temp",
    tipo="sensor",
    modelo="T-01",
    descripcion="Termómetro",
    estado="activo",
    parametros={"temp": 23.4},
    configuracion=Configuracion("manual", True),
    reclamado=True,
)


def test_the_seeds_state_message() -> None:
    assert decode_state(SEED_STATE) == StateReport("TMP0603IF1WD", "activo", {"temp": 23.4})
    assert decode_state(SEED_STATE.encode()) == decode_state(SEED_STATE)
    english = '{"serial_number":"A1","state":"inactivo","parameters":{"watts":5,"on":true}}'
    assert decode_state(english) == StateReport("A1", "inactivo", {"watts": 5, "on": True})
    assert decode_state('{"serial_number":"A1","estado":"activo"}').parametros == {}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfe", "payload is not UTF-8"),
        ('{"estado":"activo"}', "missing serial_number"),
        ('{"serial_number":"A1"}', "missing estado"),
        ('{"serial_number":"A1","estado":"on"}', "estado must be activo or inactivo"),
        ('{"serial_number":"A/1","estado":"activo"}', "serial_number must be 1-64 ASCII"),
        ('{"serial_number":"A 1","estado":"activo"}', "serial_number must be 1-64 ASCII"),
        ('{"serial_number":"","estado":"activo"}', "serial_number must be 1-64 ASCII"),
        ('{"serial_number":7,"estado":"activo"}', "serial_number must be a string"),
        ('{"serial_number":"A1","estado":"activo","parametros":[1]}', "must be an object"),
        ('{"serial_number":"A1","estado":"activo","parametros":{"t":NaN}}', "must be finite"),
        ('{"serial_number":"A1","estado":"activo","parametros":{"t":{"x":1}}}', "must be a num"),
        (
            '{"serial_number":"A1","estado":"activo","parametros":{"t":9007199254740993}}',
            "out of range",
        ),
        ('{"serial_number":"A1","estado":"activo","parametros":{"":1}}', "parametros keys"),
    ],
)
def test_bad_state_messages(payload: str | bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        decode_state(payload)


def test_too_many_parameters() -> None:
    parametros = {f"k{i}": i for i in range(MAX_PARAMETERS + 1)}
    payload = json.dumps({"serial_number": "A1", "estado": "activo", "parametros": parametros})
    with pytest.raises(ProtocolError, match="too many parametros"):
        decode_state(payload)


def test_the_seeds_sse_frames_byte_for_byte() -> None:
    assert SSE_HELLO == "event: hello\ndata: {}\n\n"
    assert SSE_PING == "event: ping\ndata: {}\n\n"
    assert encode_sse_update(SEED_DEVICE) == SEED_SSE_UPDATE
    keys = list(device_object(SEED_DEVICE))
    assert keys == [
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


def test_the_seeds_claim_and_put_bodies() -> None:
    serial, edit = decode_claim(SEED_CLAIM)
    assert serial == "TMP0603IF1WD"
    assert (edit.nombre, edit.tipo, edit.modelo, edit.descripcion) == (
        "Sensor Temp",
        "sensor",
        "T-01",
        "Termómetro",
    )
    assert edit.configuracion == Configuracion("manual", True)
    put = decode_edit('{"configuracion":{"modo":"manual","encendido":true}}')
    assert put.configuracion == Configuracion("manual", True)
    assert put.nombre is None  # not named: left as it is
    with pytest.raises(ProtocolError, match="estado, parametros come only from the device"):
        decode_edit('{"estado":"activo","parametros":{}}')
    with pytest.raises(ProtocolError, match="unknown fields: color"):
        decode_edit('{"color":"red"}')
    with pytest.raises(ProtocolError, match="missing serial_number"):
        decode_claim('{"nombre":"x"}')
    with pytest.raises(ProtocolError, match="nombre too long"):
        decode_edit(json.dumps({"nombre": "x" * 257}))
    with pytest.raises(ProtocolError, match="descripcion must be printable"):
        decode_edit('{"descripcion":"a\\u0000b"}')


def test_configuration_edits_apply_over_the_current_one() -> None:
    schedule = [{"dias": "L-V", "desde": "08:00", "hasta": "18:00"}]  # passed through as is
    current = Configuracion("horario", False, schedule)
    assert decode_configuracion({"encendido": True}, current) == Configuracion(
        "horario", True, schedule
    )
    assert decode_configuracion({"modo": "manual"}, current).horarios == schedule
    for bad, message in (
        ({"modo": "auto"}, "modo must be manual or horario"),
        ({"encendido": 1}, "encendido must be true or false"),
        ({"brillo": 3}, "unknown configuracion keys: brillo"),
        ({"horarios": "x" * 9000}, "horarios too long"),
    ):
        with pytest.raises(ProtocolError, match=message):
            decode_configuracion(bad, current)
    with pytest.raises(ProtocolError, match="configuracion must be an object"):
        decode_configuracion([1])
    with pytest.raises(ProtocolError, match="horarios is not plain JSON"):
        decode_configuracion({"horarios": {1, 2}})  # only a caller's bug could pass a set
    assert json.loads(encode_configuracion(current)) == {
        "modo": "horario",
        "encendido": False,
        "horarios": schedule,
    }


def test_the_seeds_mode_rules() -> None:
    """manual: ``encendido`` decides ``estado``; horario: ``estado`` decides ``encendido``."""
    manual_on = Configuracion("manual", True)
    assert estado_after(manual_on, "inactivo") == "activo"
    assert estado_after(Configuracion("manual", False), "activo") == "inactivo"
    assert configuracion_after(manual_on, "inactivo") == manual_on
    schedule = Configuracion("horario", False, {"raw": True})
    assert estado_after(schedule, "activo") == "activo"
    assert configuracion_after(schedule, "activo") == Configuracion("horario", True, {"raw": True})


# -- properties over any input ----------------------------------------------------------------

KEYS = st.sampled_from(
    ["serial_number", "estado", "state", "parametros", "parameters", "nombre", "configuracion"]
)
JSON_OBJECTS = st.dictionaries(KEYS | st.text(), JSON_VALUES)
DEEP = st.one_of(
    NESTING.map(lambda n: "[" * n),
    NESTING.map(lambda n: '{"parametros":' + '{"a":' * n),
    NESTING.map(lambda n: '{"configuracion":{"horarios":' + "[" * n + "]" * n + "}}"),
)
ANY_FRAME = any_frame(JSON_OBJECTS, DEEP)


@PROPERTY_SETTINGS
@given(ANY_FRAME)
@example('{"configuracion":{"horarios":' + "[" * 900 + "]" * 900 + "}}")
@example('{"serial_number":"A","estado":"activo","parametros":{"t":1e400}}')
def test_decoders_never_raise_anything_else(frame: str) -> None:
    """Any payload or body gives a typed result or a ``ProtocolError``, never another error."""
    for decode in (decode_state, decode_edit, decode_claim):
        result = outcome(decode, frame)
        if isinstance(result, ProtocolError):
            assert str(result)
            continue
        if isinstance(result, StateReport):
            for value in result.parametros.values():
                assert not isinstance(value, float) or math.isfinite(value)


SERIALS = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="+#/"),
    min_size=1,
    max_size=64,
)
PARAMETER_VALUES = (
    st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(categories=["L", "N", "P"]), max_size=50)
)
PARAMETROS = st.dictionaries(
    st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=20),
    PARAMETER_VALUES,
    max_size=10,
)
ESTADOS = st.sampled_from(["activo", "inactivo"])


@PROPERTY_SETTINGS
@given(SERIALS, ESTADOS, PARAMETROS)
def test_what_a_device_sends_is_what_is_read(
    serial: str, estado: Any, parametros: dict[str, Any]
) -> None:
    payload = json.dumps({"serial_number": serial, "estado": estado, "parametros": parametros})
    assert decode_state(payload) == StateReport(serial, estado, parametros)


CONFIGURACIONES = st.builds(
    Configuracion,
    st.sampled_from(["manual", "horario"]),
    st.booleans(),
    st.none() | JSON_VALUES.filter(lambda v: v is not None),
)


@PROPERTY_SETTINGS
@given(CONFIGURACIONES, st.integers(min_value=1, max_value=2**31), SERIALS, PARAMETROS)
def test_configuration_and_sse_round_trip(
    configuracion: Configuracion, device_id: int, serial: str, parametros: dict[str, Any]
) -> None:
    """What the device and the SSE clients get reads back as what was meant."""
    assert decode_configuracion(json.loads(encode_configuracion(configuracion))) == configuracion
    device = DeviceInfo(device_id, serial, parametros=parametros, configuracion=configuracion)
    frame = encode_sse_update(device)
    assert frame.startswith("data: ")
    assert frame.endswith("\n\n")
    assert frame.count("\n") == 2  # one data line: compact JSON never holds a raw newline
    shown = json.loads(frame.removeprefix("data: "))
    assert list(shown)[-1] == "event"
    assert shown == {**device_object(device), "event": "device_update"}
    assert compact(shown) == frame.removeprefix("data: ").removesuffix("\n\n")
