"""Codec of the legacy MQTT appliance back end (seed 003): state in, device objects out.

Pure (no Home Assistant imports, no I/O). What the seed fixes, kept exactly:

- A device publishes ``{"serial_number": "TMP0603IF1WD", "estado": "activo",
  "parametros": {"temp": 23.4}}`` (English ``state``/``parameters`` are accepted too).
  ``estado`` is ``activo`` or ``inactivo``; ``parametros`` is an object of named values.
- The device object clients read has the seed's ten keys, in its order: ``id, serial_number,
  nombre, tipo, modelo, descripcion, estado, parametros, configuracion, reclamado``.
- ``configuracion`` holds ``modo`` (``manual`` | ``horario``), ``encendido`` (bool) and the
  schedule ``horarios``, whose shape the seed never gives: it is kept and passed on untouched.
- Modes: in ``manual`` the switch (``encendido``) decides and ``estado`` follows it; in
  ``horario`` the device's ``estado`` decides and ``encendido`` follows it.
- The SSE stream frames: ``event: hello`` then ``data: {}`` first; a device update is one
  ``data:`` line of compact JSON (``,`` and ``:`` without spaces, non-ASCII as is) with
  ``"event":"device_update"`` as the last key, and no ``event:`` line; heartbeats are
  ``event: ping`` with ``data: {}``. Every event ends with a blank line.

What iot_hub decides where the seed is silent: limits on sizes, nesting and types (a payload
is checked like a WebSocket frame), the serial's characters, and which fields a client may
edit (``serial_number``, ``estado`` and ``parametros`` come only from the device).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import json
import math
from typing import Any, Final, Literal

from ...protocol import ProtocolError
from ...protocol.json_frames import parse_json_object

type Estado = Literal["activo", "inactivo"]
type Modo = Literal["manual", "horario"]
type Parameter = float | int | str | bool

ESTADOS: Final[frozenset[str]] = frozenset({"activo", "inactivo"})
MODOS: Final[frozenset[str]] = frozenset({"manual", "horario"})
MAX_SERIAL_CHARS: Final = 64
MAX_PARAMETERS: Final = 64
MAX_PARAMETER_KEY_CHARS: Final = 64
MAX_TEXT_CHARS: Final = 256  # a text parameter, a name, a type, a model, a description
MAX_SCHEDULE_CHARS: Final = 8192  # ``horarios`` as JSON: kept, never interpreted here
EDITABLE: Final = ("nombre", "tipo", "modelo", "descripcion", "configuracion")
DEVICE_ONLY: Final = ("serial_number", "estado", "parametros")

SSE_HELLO: Final = "event: hello\ndata: {}\n\n"
SSE_PING: Final = "event: ping\ndata: {}\n\n"


@dataclass(frozen=True, slots=True)
class StateReport:
    """What a device published: its serial, its state and its named values."""

    serial_number: str
    estado: Estado
    parametros: dict[str, Parameter]


@dataclass(frozen=True, slots=True)
class Configuracion:
    """How a device is run: manual (the switch) or on a schedule, and the schedule as sent."""

    modo: Modo = "manual"
    encendido: bool = False
    horarios: Any = None  # the seed's raw schedule, passed through untouched

    def as_dict(self) -> dict[str, Any]:
        """The seed's ``configuracion`` object (``horarios`` only when there is one)."""
        data: dict[str, Any] = {"modo": self.modo, "encendido": self.encendido}
        if self.horarios is not None:
            data["horarios"] = self.horarios
        return data


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """Everything a client sees of a device (the seed's ``Dispositivo``)."""

    id: int
    serial_number: str
    nombre: str | None = None
    tipo: str | None = None
    modelo: str | None = None
    descripcion: str | None = None
    estado: Estado = "inactivo"
    parametros: Mapping[str, Parameter] = field(default_factory=dict)
    configuracion: Configuracion = field(default_factory=Configuracion)
    reclamado: bool = False


@dataclass(frozen=True, slots=True)
class Edit:
    """A client's change (claim or PUT): only the fields it named; None means not named."""

    nombre: str | None = None
    tipo: str | None = None
    modelo: str | None = None
    descripcion: str | None = None
    configuracion: Configuracion | None = None


# -- decoding --------------------------------------------------------------------------------


def _text(value: object, key: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{key} must be a string")
    if len(value) > limit:
        raise ProtocolError(f"{key} too long")
    if not value.isprintable():
        raise ProtocolError(f"{key} must be printable")
    return value


def serial_number(value: object) -> str:
    """A serial: 1-64 printable ASCII characters without blanks (it also names MQTT topics)."""
    serial = _text(value, "serial_number", MAX_SERIAL_CHARS)
    if not serial or not serial.isascii() or any(c.isspace() or c in "+#/" for c in serial):
        raise ProtocolError("serial_number must be 1-64 ASCII characters without blanks or + # /")
    return serial


def _estado(value: object) -> Estado:
    if value == "activo":
        return "activo"
    if value == "inactivo":
        return "inactivo"
    raise ProtocolError("estado must be activo or inactivo")


def _parameter(key: str, value: object) -> Parameter:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= 2**53:
            raise ProtocolError(f"parametros.{key} out of range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProtocolError(f"parametros.{key} must be finite")
        return value
    if isinstance(value, str):
        return _text(value, f"parametros.{key}")
    raise ProtocolError(f"parametros.{key} must be a number, a boolean or a string")


def decode_parametros(value: object) -> dict[str, Parameter]:
    """The named values of a report (or of a kept one), or ``ProtocolError``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProtocolError("parametros must be an object")
    if len(value) > MAX_PARAMETERS:
        raise ProtocolError("too many parametros")
    parametros: dict[str, Parameter] = {}
    for key, raw in value.items():
        if not key or len(key) > MAX_PARAMETER_KEY_CHARS or not key.isprintable():
            raise ProtocolError("parametros keys must be 1-64 printable characters")
        parametros[key] = _parameter(key, raw)
    return parametros


def _either(data: Mapping[str, Any], spanish: str, english: str) -> Any:
    return data[spanish] if spanish in data else data.get(english)


def decode_state(payload: str | bytes) -> StateReport:
    """A device's state message (MQTT payload), or ``ProtocolError`` saying what is wrong."""
    if isinstance(payload, bytes):
        try:
            payload = payload.decode()
        except UnicodeDecodeError as err:
            raise ProtocolError("payload is not UTF-8") from err
    data = parse_json_object(payload)
    if "serial_number" not in data:
        raise ProtocolError("missing serial_number")
    estado = _either(data, "estado", "state")
    if estado is None:
        raise ProtocolError("missing estado")
    return StateReport(
        serial_number(data["serial_number"]),
        _estado(estado),
        decode_parametros(_either(data, "parametros", "parameters")),
    )


def decode_configuracion(value: object, current: Configuracion | None = None) -> Configuracion:
    """A (partial) ``configuracion`` object over ``current``; unknown keys are refused."""
    if not isinstance(value, dict):
        raise ProtocolError("configuracion must be an object")
    if unknown := value.keys() - {"modo", "encendido", "horarios"}:
        raise ProtocolError(f"unknown configuracion keys: {', '.join(sorted(unknown))[:64]}")
    base = current or Configuracion()
    modo = value.get("modo", base.modo)
    if modo not in MODOS:
        raise ProtocolError("modo must be manual or horario")
    encendido = value.get("encendido", base.encendido)
    if not isinstance(encendido, bool):
        raise ProtocolError("encendido must be true or false")
    horarios = value.get("horarios", base.horarios)
    try:
        too_long = len(json.dumps(horarios)) > MAX_SCHEDULE_CHARS
    except (RecursionError, TypeError, ValueError) as err:
        raise ProtocolError("horarios is not plain JSON") from err
    if too_long:
        raise ProtocolError("horarios too long")
    return Configuracion("manual" if modo == "manual" else "horario", encendido, horarios)


def decode_edit(body: str, current: Configuracion | None = None) -> Edit:
    """A client's PUT body: editable fields only (the device's own fields are refused)."""
    data = parse_json_object(body)
    if named := [key for key in DEVICE_ONLY if key in data]:
        raise ProtocolError(f"{', '.join(named)} come only from the device")
    if unknown := data.keys() - set(EDITABLE) - {"id", "reclamado"}:
        raise ProtocolError(f"unknown fields: {', '.join(sorted(unknown))[:64]}")
    return _edit(data, current)


def decode_claim(body: str) -> tuple[str, Edit]:
    """The legacy claim body (``POST /dispositivos/reclamar``): the serial and its fields."""
    data = parse_json_object(body)
    if "serial_number" not in data:
        raise ProtocolError("missing serial_number")
    return serial_number(data["serial_number"]), _edit(data, None)


def _edit(data: Mapping[str, Any], current: Configuracion | None) -> Edit:
    texts = {
        key: None if data.get(key) is None else _text(data[key], key)
        for key in ("nombre", "tipo", "modelo", "descripcion")
    }
    configuracion = (
        decode_configuracion(data["configuracion"], current) if "configuracion" in data else None
    )
    return Edit(**texts, configuracion=configuracion)


# -- the seed's mode rules -------------------------------------------------------------------


def estado_after(configuracion: Configuracion, reported: Estado) -> Estado:
    """Manual: the switch decides the state; schedule: the device's report does."""
    if configuracion.modo == "manual":
        return "activo" if configuracion.encendido else "inactivo"
    return reported


def configuracion_after(configuracion: Configuracion, reported: Estado) -> Configuracion:
    """On a schedule ``encendido`` follows the device's state; in manual it is the user's."""
    if configuracion.modo == "horario":
        return Configuracion("horario", reported == "activo", configuracion.horarios)
    return configuracion


# -- encoding --------------------------------------------------------------------------------


def device_object(device: DeviceInfo) -> dict[str, Any]:
    """The seed's device object: its ten keys, in its order."""
    return {
        "id": device.id,
        "serial_number": device.serial_number,
        "nombre": device.nombre,
        "tipo": device.tipo,
        "modelo": device.modelo,
        "descripcion": device.descripcion,
        "estado": device.estado,
        "parametros": dict(device.parametros),
        # Nobody configured an unclaimed device yet: an empty object, not a made-up default.
        "configuracion": device.configuracion.as_dict() if device.reclamado else {},
        "reclamado": device.reclamado,
    }


def compact(obj: Any) -> str:
    """Compact JSON as the seed writes it: no blanks after separators, non-ASCII as is."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_sse_update(device: DeviceInfo) -> str:
    """One SSE ``device_update`` event: a single ``data:`` line, ``event`` as the last key."""
    return f"data: {compact({**device_object(device), 'event': 'device_update'})}\n\n"


def encode_configuracion(configuracion: Configuracion) -> str:
    """What the device gets on its (retained) configuration topic."""
    return compact(configuracion.as_dict())
