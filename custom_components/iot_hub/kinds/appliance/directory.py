"""Every appliance of the hub, claimed or not, as the seed's back end knew them.

The directory gives each serial its stable integer ``id`` (the seed's), keeps the unclaimed
ones (Discovered in HA) and the last state of every one across restarts, claims and edits
devices (a claim adds the device subentry), pages their logs, and tells subscribers (the SSE
stream, ``websocket_api`` subscriptions) of every change. The REST, SSE and ``websocket_api``
surfaces are thin layers over it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
import logging
from typing import Any, Final

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from ...const import CONF_KIND, CONF_MQTT_ID, CONF_TRANSPORT, DOMAIN, TRANSPORT_MQTT
from ...errors import ErrorKey, IotHubError
from ...kind import HubContext, KindContext, KindHub, loaded_kind_hub
from ...protocol import ProtocolError
from ...transport.limits import FailureThrottle
from .codec import (
    Configuracion,
    DeviceInfo,
    Edit,
    Estado,
    Parameter,
    configuracion_after,
    decode_state,
    estado_after,
    serial_number,
)
from .const import (
    CONF_CONFIGURACION,
    CONF_DESCRIPCION,
    CONF_LEGACY_ID,
    CONF_LOG_SIZE,
    CONF_MODELO,
    CONF_SERIAL,
    CONF_TIPO,
    DEFAULT_LOG_SIZE,
    KIND,
    MAX_UNCLAIMED,
)
from .logs import DeviceLog
from .records import LogPage, Seen, configuracion_of
from .streams import close_streams

_LOGGER = logging.getLogger(__name__)

SAVE_DELAY: Final = 10.0
FORGET_AFTER: Final = timedelta(days=30)  # an unclaimed serial silent this long is forgotten
LOG_INTERVAL: Final = 60.0

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50


def _valid_serial(serial: object) -> bool:
    try:
        serial_number(serial)
    except ProtocolError:
        return False
    return True


def directory_of(hass: HomeAssistant) -> ApplianceDirectory | None:
    """The appliances' directory of the loaded hub, if any."""
    return loaded_kind_hub(hass, KIND, ApplianceDirectory)


def discovery_unique_id(serial: str) -> str:
    """The unique id of an appliance's discovery flow (and of its ignored entry)."""
    return f"{KIND}:{serial}"


class ApplianceDirectory(KindHub):
    """The appliances of one hub: ids, what was last heard, claims, edits, logs."""

    def __init__(self, hub: HubContext) -> None:
        """Empty until ``async_setup`` reads what was kept."""
        super().__init__(hub)
        self.hass = hub.hass
        self._store: Store[dict[str, Any]] = Store(
            hub.hass, 1, f"{DOMAIN}.appliances.{hub.entry_id}"
        )
        self.seen: dict[str, Seen] = {}
        self.next_id = 1
        self._logs: dict[str, DeviceLog] = {}
        self._listeners: list[Callable[[DeviceInfo], None]] = []
        self._discovered: set[str] = set()
        self._told: dict[str, DeviceInfo] = {}  # what listeners last heard of each serial
        self._refusals = FailureThrottle(LOG_INTERVAL)

    # -- life --------------------------------------------------------------------------------

    async def async_setup(self) -> None:
        """Read the kept serials and logs; unclaimed ones are offered again (Discovered)."""
        data = await self._store.async_load()
        raw = data.get("devices") if isinstance(data, dict) else None
        taken: set[int] = set()
        for serial, value in (raw if isinstance(raw, dict) else {}).items():
            seen = Seen.from_dict(value)
            if not _valid_serial(serial) or seen is None or seen.id in taken:
                _LOGGER.warning("Appliance record %r set aside: it does not read", serial)
                continue
            taken.add(seen.id)
            self.seen[serial] = seen
        # Claimed devices carry their id too: a lost file must not hand their ids out again.
        for subentry in self._claimed_subentries():
            serial = subentry.data[CONF_SERIAL]
            legacy_id = subentry.data.get(CONF_LEGACY_ID)
            if serial not in self.seen and type(legacy_id) is int:
                self.seen[serial] = Seen(legacy_id)
        stored_next = data.get("next_id") if isinstance(data, dict) else None
        self.next_id = max(
            [stored_next if type(stored_next) is int else 1]
            + [seen.id + 1 for seen in self.seen.values()]
        )
        # By the subentries: the hub adds its devices after this, so none is claimed() yet.
        claimed = {subentry.data[CONF_SERIAL] for subentry in self._claimed_subentries()}
        await self._async_forget_silent(claimed)
        for serial, seen in self.seen.items():
            log = self._log(serial, seen.id)
            await log.async_load()
        for serial in self.seen:
            if serial not in claimed:
                self._offer(serial)

    async def _async_forget_silent(self, claimed: set[str]) -> None:
        """Forget unclaimed serials not heard for ``FORGET_AFTER`` (and their logs).

        A serial heard once and never claimed (a neighbour's device, a typo, a test) must not
        stay offered, listed and counted against the cap for ever.
        """
        cutoff = dt_util.utcnow() - FORGET_AFTER
        for serial, seen in list(self.seen.items()):
            last = seen.last_seen
            if serial in claimed or last is None or last >= cutoff:
                continue
            del self.seen[serial]
            await self._log(serial, seen.id).async_remove()
            del self._logs[serial]
            _LOGGER.info("Forgot unclaimed appliance %s, silent since %s", serial, seen.last_seen)

    async def async_shutdown(self) -> None:
        """End the streams that watch this directory, and write everything now (unload)."""
        close_streams(self.hass)
        await self._store.async_save(self._data())
        for log in self._logs.values():
            await log.async_save()

    def _data(self) -> dict[str, Any]:
        return {
            "next_id": self.next_id,
            "devices": {serial: seen.as_dict() for serial, seen in self.seen.items()},
        }

    def _save_soon(self) -> None:
        self._store.async_delay_save(self._data, SAVE_DELAY)

    def _log(self, serial: str, legacy_id: int) -> DeviceLog:
        if (log := self._logs.get(serial)) is None:
            size = int(self.hub.options.get(CONF_LOG_SIZE, DEFAULT_LOG_SIZE))
            log = self._logs[serial] = DeviceLog(self.hass, self.hub.entry_id, legacy_id, size)
        return log

    @callback
    def options_changed(self) -> None:
        """The log size may have changed."""
        size = int(self.hub.options.get(CONF_LOG_SIZE, DEFAULT_LOG_SIZE))
        for log in self._logs.values():
            log.resize(size)

    def diagnostics(self) -> dict[str, Any]:
        """Every serial with its id and whether it is claimed, and who listens."""
        return {
            "next_id": self.next_id,
            "devices": {
                serial: {**seen.as_dict(), "claimed": self.claimed(serial) is not None}
                for serial, seen in self.seen.items()
            },
            "listeners": len(self._listeners),
            "log_rows": {serial: len(log.rows) for serial, log in self._logs.items()},
        }

    # -- what devices report -----------------------------------------------------------------

    def unknown_mqtt_device(self, mqtt_id: str | None, payload: str) -> None:
        """A state message from a serial no device has: remember it, offer it in Discovered."""
        try:
            report = decode_state(payload)
        except ProtocolError as err:
            self._log_refused(mqtt_id or "legacy topic", str(err))
            return
        if mqtt_id is not None and mqtt_id != report.serial_number:
            self._log_refused(mqtt_id, f"the payload names {report.serial_number!r}")
            return
        serial = report.serial_number
        if serial not in self.seen and self._unclaimed_count() >= MAX_UNCLAIMED:
            self._log_refused(serial, f"{MAX_UNCLAIMED} unclaimed devices already; claim some")
            return
        self.reported(serial, report.estado, report.parametros)
        self._offer(serial)

    def reported(
        self,
        serial: str,
        estado: Estado,
        parametros: dict[str, Parameter],
        configuracion: Configuracion | None = None,
    ) -> None:
        """A device reported its state: log a change, tell subscribers.

        ``configuracion``: a claimed device's (its handler keeps it decoded); the seed's
        ``estado`` of the log row follows it. None for a device nobody claimed.
        """
        seen = self._seen(serial)
        seen.last_seen = dt_util.utcnow()
        changed = seen.estado != estado or seen.parametros != parametros
        seen.estado = estado
        seen.parametros = parametros
        if changed:
            logged = estado if configuracion is None else estado_after(configuracion, estado)
            self._log(serial, seen.id).add(logged, parametros)
            if self._listeners:  # the device object is built for someone who reads it
                self._tell(self.info(serial))
        self._save_soon()

    def id_of(self, serial: str) -> int:
        """The serial's integer ``id`` (given the first time it is asked or heard)."""
        return self._seen(serial).id

    def legacy_id_of_device(self, device_id: str) -> int | None:
        """The integer ``id`` of a claimed device, by its iot_hub device id."""
        for device in self.hub.devices_of(KIND):
            if device.id == device_id:
                return self.id_of(device.data[CONF_SERIAL])
        return None

    def adopted(self, device: KindContext) -> None:
        """A device of this serial runs now (claimed or added by hand): it is not Discovered.

        Its id goes into its entry too (soon: the hub is adding it right now), so that a lost
        directory file cannot give it another.
        """
        serial = device.data[CONF_SERIAL]
        legacy_id = self._seen(serial).id
        self._close_discovery(serial)
        self._save_soon()
        if device.data.get(CONF_LEGACY_ID) != legacy_id:
            self.hass.loop.call_soon(self._keep_id, device.id, legacy_id)

    @callback
    def _keep_id(self, device_id: str, legacy_id: int) -> None:
        for device in self.hub.devices_of(KIND):
            if device.id == device_id:
                self.hub.update_device(
                    device, device.name, {**device.data, CONF_LEGACY_ID: legacy_id}
                )

    def _seen(self, serial: str) -> Seen:
        if (seen := self.seen.get(serial)) is None:
            seen = self.seen[serial] = Seen(self.next_id)
            self.next_id += 1
        return seen

    def _unclaimed_count(self) -> int:
        return sum(1 for serial in self.seen if not self.claimed(serial))

    def _log_refused(self, who: str, why: str) -> None:
        """Once a minute per sender: a broken device must not fill the log, nor hide another."""
        if self._refusals.should_report(who):
            _LOGGER.warning("Appliance message from %s refused: %s", who, why)

    def _offer(self, serial: str) -> None:
        """Show an unclaimed serial in Discovered, once per run (ignoring it is HA's)."""
        if serial in self._discovered:
            return
        self._discovered.add(serial)
        discovery_flow.async_create_flow(
            self.hass,
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={CONF_KIND: KIND, CONF_MQTT_ID: serial, CONF_SERIAL: serial},
        )

    # -- what clients read -------------------------------------------------------------------

    def claimed(self, serial: str) -> KindContext | None:
        """The claimed device of a serial."""
        return self.hub.device_by_mqtt_id(serial)

    def _claimed_subentries(self) -> list[Any]:
        return [
            subentry
            for subentry in self.hub.subentries("device")
            if subentry.data.get(CONF_KIND) == KIND
        ]

    def info(self, serial: str) -> DeviceInfo:
        """The seed's device object of a serial, claimed or not."""
        seen = self._seen(serial)
        if (device := self.claimed(serial)) is None:
            return DeviceInfo(seen.id, serial, estado=seen.estado, parametros=seen.parametros)
        data = device.data
        stored = configuracion_of(data)
        return DeviceInfo(
            id=seen.id,
            serial_number=serial,
            nombre=device.name,
            tipo=data.get(CONF_TIPO),
            modelo=data.get(CONF_MODELO),
            descripcion=data.get(CONF_DESCRIPCION),
            estado=estado_after(stored, seen.estado),
            parametros=seen.parametros,
            configuracion=configuracion_after(stored, seen.estado),
            reclamado=True,
        )

    def devices(self, reclamado: bool | None = None) -> list[DeviceInfo]:
        """Every device by ``id``; ``reclamado`` keeps only the claimed (True) or not (False)."""
        found = [self.info(serial) for serial in self.seen]
        if reclamado is not None:
            found = [info for info in found if info.reclamado is reclamado]
        return sorted(found, key=lambda info: info.id)

    def serial_of(self, legacy_id: int) -> str | None:
        """The serial of an ``id``."""
        return next((s for s, seen in self.seen.items() if seen.id == legacy_id), None)

    def device(self, legacy_id: int) -> DeviceInfo | None:
        """The device with this integer ``id``."""
        serial = self.serial_of(legacy_id)
        return None if serial is None else self.info(serial)

    def logs(self, legacy_id: int, page: int, per_page: int) -> LogPage:
        """A page of the device's log, newest first.

        Raises ``IotHubError(ErrorKey.UNKNOWN_APPLIANCE)``; ``ValueError`` for a page past
        the last (page 1 of an empty log is an empty page).
        """
        if (serial := self.serial_of(legacy_id)) is None:
            raise IotHubError(ErrorKey.UNKNOWN_APPLIANCE, str(legacy_id))
        items, total = self._log(serial, legacy_id).page(page, per_page)
        if page > 1 and not items:
            raise ValueError(f"page {page} is past the last")
        return LogPage(items, page, per_page, total)

    # -- what clients change -----------------------------------------------------------------

    async def async_claim(
        self, serial: str, edit: Edit, context: Context | None = None
    ) -> DeviceInfo:
        """Claim a device (seen or not yet seen): add it to HA with these fields.

        Raises ``IotHubError(ErrorKey.ALREADY_CLAIMED)``.
        """
        if self.claimed(serial) is not None:
            raise IotHubError(ErrorKey.ALREADY_CLAIMED, serial)
        seen = self._seen(serial)
        configuracion = edit.configuracion or Configuracion()
        data = {
            CONF_KIND: KIND,
            CONF_TRANSPORT: TRANSPORT_MQTT,
            CONF_MQTT_ID: serial,
            CONF_SERIAL: serial,
            CONF_LEGACY_ID: seen.id,
            CONF_TIPO: edit.tipo,
            CONF_MODELO: edit.modelo,
            CONF_DESCRIPCION: edit.descripcion,
            CONF_CONFIGURACION: configuracion.as_dict(),
        }
        self.hub.add_device(self._free_title(edit.nombre or serial, serial), data, serial)
        info = self.info(serial)
        self._tell(info)
        _LOGGER.info("Appliance %s claimed as %s (id %s)", serial, info.nombre, info.id)
        return info

    def _free_title(self, wanted: str, serial: str) -> str:
        """Device names are unique in a hub: a taken one gets the serial appended."""
        taken = {subentry.title.casefold() for subentry in self.hub.subentries("device")}
        return wanted if wanted.casefold() not in taken else f"{wanted} ({serial})"

    def _close_discovery(self, serial: str) -> None:
        flows = self.hass.config_entries.flow
        for flow in flows.async_progress_by_handler(
            DOMAIN, match_context={"unique_id": discovery_unique_id(serial)}
        ):
            flows.async_abort(flow["flow_id"])
        self._discovered.discard(serial)

    async def async_update(
        self, legacy_id: int, edit: Edit, context: Context | None = None
    ) -> DeviceInfo:
        """Apply a client's edit by the seed's mode rules; publish the configuration once.

        Raises ``IotHubError(ErrorKey.UNKNOWN_APPLIANCE)`` (or ``NOT_CLAIMED``).
        """
        if (serial := self.serial_of(legacy_id)) is None:
            raise IotHubError(ErrorKey.UNKNOWN_APPLIANCE, str(legacy_id))
        if (device := self.claimed(serial)) is None:
            raise IotHubError(ErrorKey.NOT_CLAIMED, serial)
        updates: dict[str, Any] = {
            key: value
            for key, value in (
                (CONF_TIPO, edit.tipo),
                (CONF_MODELO, edit.modelo),
                (CONF_DESCRIPCION, edit.descripcion),
            )
            if value is not None
        }
        if edit.configuracion is not None:
            updates[CONF_CONFIGURACION] = edit.configuracion.as_dict()
        title = device.name
        if edit.nombre is not None and edit.nombre != device.name:
            title = self._free_title(edit.nombre, serial)
        self.hub.update_device(device, title, {**device.data, **updates})
        return self.info(serial)

    # -- who listens -------------------------------------------------------------------------

    def subscribe(self, callback_: Callable[[DeviceInfo], None]) -> Callable[[], None]:
        """Hear every device change (MQTT state, claim, edit, HA-side switch/select/rename)."""
        self._listeners.append(callback_)
        return lambda: self._listeners.remove(callback_)

    def changed(self, serial: str) -> None:
        """Something HA-side changed a claimed device (rename, mode, switch): tell listeners."""
        self._tell(self.info(serial))

    def _tell(self, info: DeviceInfo) -> None:
        """Every listener, once per change a client can see (not for bookkeeping edits)."""
        if self._told.get(info.serial_number) == info:
            return
        self._told[info.serial_number] = info
        for listener in list(self._listeners):
            listener(info)
