"""One claimed appliance (seed 003): its reports in, its configuration out, by the seed's rules.

The device reports ``estado`` (its relay) and ``parametros``; the hub publishes, retained, the
configuration it must run: ``modo`` and the ``encendido`` to apply. In ``manual`` the switch
decides ``encendido`` and ``estado`` follows it (the seed's rule); in ``horario`` an HA
``schedule`` helper (chosen in the device's options) decides ``encendido``, and ``estado`` is
what the device reports. The seed's raw ``horarios`` is passed on untouched. Every change of
``estado`` or ``parametros`` is a row in the device's log (``directory.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import logging
from typing import Any, Final

from homeassistant.const import STATE_ON, Platform
from homeassistant.core import Event, EventStateChangedData, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ...descriptions import IotHubEntityDescription
from ...errors import ErrorKey, IotHubError
from ...feed import FeedKind
from ...kind import Inbound, KindContext, KindHandler
from ...protocol import ProtocolError
from ...sessions import ActorRef
from ...signals import Update
from ...transport.limits import FailureThrottle
from .codec import (
    Configuracion,
    Edit,
    Estado,
    Parameter,
    decode_state,
    encode_configuracion,
    estado_after,
)
from .const import CONF_MODELO, CONF_SCHEDULE, CONF_SERIAL
from .directory import ApplianceDirectory
from .parameters import parameter_description
from .records import configuracion_of

_LOGGER = logging.getLogger(__name__)

LOG_INTERVAL: Final = 60.0  # seconds between two log lines about one device's bad payloads


class ApplianceHandler(KindHandler):
    """A claimed appliance's live state and configuration."""

    def __init__(self, device: KindContext) -> None:
        """Start from what was last heard of the serial (kept across restarts)."""
        super().__init__(device)
        self.directory: ApplianceDirectory = device.kind_hub()
        self.serial: str = device.data[CONF_SERIAL]
        self.directory.adopted(device)
        seen = self.directory.seen.get(self.serial)
        self.reported: Estado = seen.estado if seen else "inactivo"
        self.parametros: dict[str, Parameter] = dict(seen.parametros) if seen else {}
        self._keys: dict[str, Parameter] = dict(self.parametros)  # every key seen this run
        # Decoded once per change of the device's data, not at every report.
        self._configuracion = configuracion_of(device.data)
        self._published: str | None = None
        self._schedule_on: bool | None = None
        self._unfollow: Callable[[], None] | None = None
        self._bad_reports = FailureThrottle(LOG_INTERVAL)
        self._follow_schedule()

    # -- what entities and clients read -------------------------------------------------------

    @property
    def configuracion(self) -> Configuracion:
        """The stored configuration (``modo``, the switch's ``encendido``, ``horarios``)."""
        return self._configuracion

    @property
    def estado(self) -> Estado:
        """The seed's ``estado``: from the switch in manual, from the device on a schedule."""
        return estado_after(self.configuracion, self.reported)

    @property
    def relay_on(self) -> bool:
        """What the device last said of its relay (the switch's real state)."""
        return self.reported == "activo"

    def parameter(self, key: str) -> Parameter | None:
        """The last value of one of ``parametros`` (None when the last report lacked it)."""
        return self.parametros.get(key)

    def registry_info(self) -> dict[str, str | None]:
        """The serial, and the model the claim named."""
        return {"serial_number": self.serial, "model": self.device.data.get(CONF_MODELO)}

    def dynamic_descriptions(self, platform: Platform) -> Sequence[IotHubEntityDescription]:
        """One sensor per key of ``parametros`` seen so far."""
        if platform is not Platform.SENSOR:
            return ()
        return [parameter_description(key, value) for key, value in self._keys.items()]

    def diagnostics(self) -> dict[str, Any]:
        """Live state."""
        return {
            "serial_number": self.serial,
            "reported": self.reported,
            "parametros": self.parametros,
            "configuracion": self.configuracion.as_dict(),
            "schedule_on": self._schedule_on,
            "published": self._published,
        }

    # -- frames in -----------------------------------------------------------------------------

    def receive(self, inbound: Inbound) -> None:
        """A state report: ``{"serial_number", "estado", "parametros"}``.

        Appliances have no app clients: every frame is the device's.
        """
        try:
            report = decode_state(inbound.text)
        except ProtocolError as err:
            self._log_bad(str(err))
            return
        if report.serial_number != self.serial:
            self._log_bad(f"the payload names {report.serial_number!r}")
            return
        estado_changed = report.estado != self.reported
        self.reported = report.estado
        self.parametros = report.parametros
        self.device.reading(dt_util.utcnow())
        self.directory.reported(self.serial, report.estado, report.parametros, self._configuracion)
        if new := report.parametros.keys() - self._keys.keys():
            self._keys.update({key: report.parametros[key] for key in new})
            self.device.new_entities()
        self.device.notify(Update.READING)
        if estado_changed:  # what the switch and estado show (they skip plain readings)
            self.device.notify(Update.CONFIG)

    def _log_bad(self, why: str) -> None:
        if self._bad_reports.should_report(self.serial):
            _LOGGER.warning("%s sent a state that cannot be read: %s", self.device.name, why)
            self.device.publish(FeedKind.ERROR, {"message": f"Estado rechazado: {why}"})

    # -- configuration out -----------------------------------------------------------------------

    def _encendido_to_apply(self) -> bool:
        configuracion = self.configuracion
        if configuracion.modo == "manual":
            return configuracion.encendido
        if self._schedule_on is not None:
            return self._schedule_on
        return self.reported == "activo"  # no helper: the device follows its own horarios

    def _publish(self) -> None:
        """Publish the configuration, retained, when it differs from what was published."""
        configuracion = self.configuracion
        payload = encode_configuracion(
            Configuracion(configuracion.modo, self._encendido_to_apply(), configuracion.horarios)
        )
        if payload != self._published:
            self._published = payload
            self.device.publish_config(payload)

    def mqtt_ready(self) -> None:
        """The broker is there: make sure it holds this device's configuration."""
        self._published = None
        self._publish()

    def config_changed(self) -> None:
        """A claim's edit, a PUT, the switch, the select or a reconfigure changed the device."""
        self._configuracion = configuracion_of(self.device.data)
        self._follow_schedule()
        self._publish()
        self.device.notify(Update.CONFIG)
        self.directory.changed(self.serial)

    # -- the schedule helper ---------------------------------------------------------------------

    def _follow_schedule(self) -> None:
        entity_id = self.device.data.get(CONF_SCHEDULE)
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
        self._schedule_on = None
        if not entity_id:
            return
        hass = self.device.hass
        if (state := hass.states.get(entity_id)) is not None:
            self._schedule_on = state.state == STATE_ON

        @callback
        def _changed(event: Event[EventStateChangedData]) -> None:
            new_state = event.data["new_state"]
            self._schedule_on = None if new_state is None else new_state.state == STATE_ON
            if self.configuracion.modo == "horario":
                self._publish()

        self._unfollow = async_track_state_change_event(hass, [entity_id], _changed)

    def unload(self) -> None:
        """Stop following the schedule helper."""
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None

    # -- what HA changes -----------------------------------------------------------------------

    async def async_turn(self, on: bool, actor: ActorRef) -> None:
        """The switch: in manual, ask the device; on a schedule, refused (it decides)."""
        configuracion = self.configuracion
        if configuracion.modo == "horario":
            raise IotHubError(ErrorKey.FOLLOWS_SCHEDULE, self.device.name)
        _LOGGER.debug("%s turned %s by %s", self.device.name, "on" if on else "off", actor)
        await self._edit(Configuracion("manual", on, configuracion.horarios))

    async def async_set_mode(self, modo: str, actor: ActorRef) -> None:
        """The select: manual or on a schedule."""
        configuracion = self.configuracion
        _LOGGER.debug("%s set to %s by %s", self.device.name, modo, actor)
        await self._edit(
            Configuracion(
                "horario" if modo == "horario" else "manual",
                configuracion.encendido,
                configuracion.horarios,
            )
        )

    async def _edit(self, configuracion: Configuracion) -> None:
        await self.directory.async_update(
            self.directory.id_of(self.serial), Edit(configuracion=configuracion)
        )
