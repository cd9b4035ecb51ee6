"""An in-memory ``ApplianceDirectory`` for the appliances' HTTP, SSE and websocket_api tests.

It keeps a few ``DeviceInfo``s and applies the seed's rules as simply as possible, so that
the surfaces (which are thin layers over the directory) can be tested through HA's real HTTP
server while the real directory is written. ``fixture`` patches ``access.directory_of`` to
return it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from unittest.mock import patch

from homeassistant.core import Context, HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.errors import ErrorKey, IotHubError
from custom_components.iot_hub.kinds.appliance.codec import (
    Configuracion,
    DeviceInfo,
    Edit,
    estado_after,
)
from custom_components.iot_hub.kinds.appliance.directory import ApplianceDirectory
from custom_components.iot_hub.kinds.appliance.records import LogPage

SENSOR = DeviceInfo(
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
PLUG = DeviceInfo(id=2, serial_number="PLG0001", parametros={"watts": 12})  # seen, unclaimed
HEATER = DeviceInfo(
    id=5,
    serial_number="HTR0005",
    nombre="Estufa",
    tipo="enchufe",
    modelo="H-2",
    descripcion="Sala",
    configuracion=Configuracion("horario", False, [{"dias": "L-V", "desde": "07:00"}]),
    reclamado=True,
)


class FakeDirectory(ApplianceDirectory):
    """Devices by id, a log per device (oldest first), subscribers, and what was called."""

    def __init__(self, devices: list[DeviceInfo]) -> None:
        """These devices, with empty logs."""
        self._devices = {device.id: device for device in devices}
        self.log_rows: dict[int, list[dict[str, Any]]] = {device.id: [] for device in devices}
        self.subscribers: list[Callable[[DeviceInfo], None]] = []
        self.contexts: list[Context | None] = []
        self.fail_with: ErrorKey | None = None  # the next claim or edit is refused so

    def devices(self, reclamado: bool | None = None) -> list[DeviceInfo]:
        """By id, claimed/unclaimed only if asked."""
        return [
            device
            for _, device in sorted(self._devices.items())
            if reclamado is None or device.reclamado is reclamado
        ]

    def device(self, legacy_id: int) -> DeviceInfo | None:
        """By id."""
        return self._devices.get(legacy_id)

    def _refuse_if_asked(self, name: str) -> None:
        if (key := self.fail_with) is not None:
            self.fail_with = None
            raise IotHubError(key, name)

    async def async_claim(
        self, serial: str, edit: Edit, context: Context | None = None
    ) -> DeviceInfo:
        """Claim a seen device, or pre-provision an unknown serial with the next id."""
        self._refuse_if_asked(serial)
        self.contexts.append(context)
        found = next((d for d in self._devices.values() if d.serial_number == serial), None)
        if found is not None and found.reclamado:
            raise IotHubError(ErrorKey.ALREADY_CLAIMED, serial)
        base = found or DeviceInfo(id=max(self._devices, default=0) + 1, serial_number=serial)
        return self.emit(replace(_edited(base, edit), reclamado=True))

    async def async_update(
        self, legacy_id: int, edit: Edit, context: Context | None = None
    ) -> DeviceInfo:
        """Apply the edit (manual: ``encendido`` decides ``estado``)."""
        if (current := self._devices.get(legacy_id)) is None:
            raise IotHubError(ErrorKey.UNKNOWN_APPLIANCE, str(legacy_id))
        self._refuse_if_asked(current.serial_number)
        if not current.reclamado:
            raise IotHubError(ErrorKey.NOT_CLAIMED, current.serial_number)
        new = edit.configuracion
        if (
            new is not None
            and new.modo == "horario" == current.configuracion.modo
            and new.encendido != current.configuracion.encendido
        ):
            raise IotHubError(ErrorKey.FOLLOWS_SCHEDULE, current.serial_number)
        self.contexts.append(context)
        return self.emit(_edited(current, edit))

    def logs(self, legacy_id: int, page: int, per_page: int) -> LogPage:
        """Newest first; ``ValueError`` past the last page (page 1 always exists)."""
        if legacy_id not in self._devices:
            raise IotHubError(ErrorKey.UNKNOWN_APPLIANCE, str(legacy_id))
        rows = self.log_rows[legacy_id][::-1]
        start = (page - 1) * per_page
        if page > 1 and start >= len(rows):
            raise ValueError("page out of range")
        return LogPage(rows[start : start + per_page], page, per_page, len(rows))

    def subscribe(self, callback: Callable[[DeviceInfo], None]) -> Callable[[], None]:
        """Hear every change until the callable returned is called."""
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def emit(self, device: DeviceInfo) -> DeviceInfo:
        """A device changed (as MQTT would change it): store it and tell every subscriber."""
        self._devices[device.id] = device
        self.log_rows.setdefault(device.id, [])
        for callback in list(self.subscribers):
            callback(device)
        return device

    def add_log(self, legacy_id: int, rows: int) -> None:
        """``rows`` log rows, the newest last."""
        log = self.log_rows[legacy_id]
        for _ in range(rows):
            n = len(log) + 1
            log.append(
                {
                    "id": n,
                    "dispositivo_id": legacy_id,
                    "estado": "activo" if n % 2 else "inactivo",
                    "parametros": {"temp": 20 + n / 10},
                    "timestamp": f"2026-01-01T00:00:{n % 60:02d}+00:00",
                }
            )


def _edited(device: DeviceInfo, edit: Edit) -> DeviceInfo:
    configuracion = edit.configuracion or device.configuracion
    return replace(
        device,
        nombre=edit.nombre if edit.nombre is not None else device.nombre,
        tipo=edit.tipo if edit.tipo is not None else device.tipo,
        modelo=edit.modelo if edit.modelo is not None else device.modelo,
        descripcion=edit.descripcion if edit.descripcion is not None else device.descripcion,
        configuracion=configuracion,
        estado=estado_after(configuracion, device.estado),
    )


@contextmanager
def serving(directory: ApplianceDirectory | None) -> Iterator[None]:
    """The surfaces find ``directory`` as the loaded hub's (None: no hub)."""
    with patch(
        "custom_components.iot_hub.kinds.appliance.access.directory_of",
        return_value=directory,
    ):
        yield


@pytest.fixture(name="directory")
async def directory_fixture(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> AsyncIterator[FakeDirectory]:
    """The loaded hub's appliances: a claimed sensor, an unclaimed plug, a heater on schedule.

    In a test module: ``from .appliance_fake import directory_fixture  # noqa: F401``.
    """
    fake = FakeDirectory([SENSOR, PLUG, HEATER])
    with serving(fake):
        yield fake
