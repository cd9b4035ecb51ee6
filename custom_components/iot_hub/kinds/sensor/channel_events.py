"""What happens in the hub, as seed 001's frames on its channels (and system events on HA's bus).

- Sensor devices added, reconfigured or removed: ``entity_event`` ``sensor`` on ``sensors``,
  ``data`` ``{"id", "tipo", "modelo", "created_at"}`` (``created_at``: when HA's device
  registry got the device; a removed sensor's last record).
- Each reading of a sensor: ``entity_event`` ``reading`` ``created`` on ``readings``, its id
  the hub's reading id (``channel_codec.reading_object``).
- HA areas created, renamed, removed: ``entity_event`` ``location`` on ``locations``.
- Anomalies and predictions (published by the analysis): ``anomaly_detected`` (resolved:
  ``updated``) on ``anomalies``, ``prediction_completed`` on ``predictions``; their ``data`` as
  published, with an ``id``.
- Any device connected (``info``) or lost (``warning``), errors (``error``), the hub started
  (``info``, "Sistema iniciado correctamente"): ``system_event`` on ``general``, also fired on
  HA's bus as ``iot_hub_system_event`` for automations.

Entity frames are built only while somebody listens; 50 readings a second cost nothing then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, callback
from homeassistant.helpers import area_registry as ar, device_registry as dr
from homeassistant.loader import async_get_integration
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, CloseCode
from ...feed import FeedEvent, FeedKind
from ...kind import HubContext, KindContext
from .channel_codec import jsonable, location_id, reading_object
from .channels import EventChannels
from .codec import Level, entity_event, system_event
from .const import CONF_MODELO, CONF_SENSOR_ID, CONF_TIPO, KIND

EVENT_SYSTEM: Final = f"{DOMAIN}_system_event"
STARTED: Final = "Sistema iniciado correctamente"
CONNECTED: Final = "Dispositivo conectado"
LOST: Final = "Dispositivo desconectado"
DEVICE_ERROR: Final = "Error en un dispositivo"
SENSOR_ACTIONS: Final = {
    FeedKind.DEVICE_ADDED: ("created", "create_sensor"),
    FeedKind.DEVICE_UPDATED: ("updated", "update_sensor"),
    FeedKind.DEVICE_REMOVED: ("deleted", "delete_sensor"),
}
AREA_ACTIONS: Final = {
    "create": ("created", "create_location"),
    "update": ("updated", "update_location"),
    "remove": ("deleted", "delete_location"),
}
# Channel, entity type, event type and action of what the analysis publishes.
ANALYSIS: Final = {
    FeedKind.ANOMALY: ("anomalies", "anomaly", "anomaly_detected", "detect_anomaly"),
    FeedKind.ANOMALY_RESOLVED: ("anomalies", "anomaly", "updated", "resolve_anomaly"),
    FeedKind.PREDICTION: (
        "predictions",
        "prediction",
        "prediction_completed",
        "complete_prediction",
    ),
}


class ChannelEvents:
    """Turns the hub's feed and HA's area registry into channel frames."""

    def __init__(self, hub: HubContext, channels: EventChannels, new_id: Callable[[], int]) -> None:
        """``new_id``: an id for an analysis event that brings none (the hub's counter)."""
        self.hub = hub
        self.hass = hub.hass
        self.channels = channels
        channels.on_first = self.prime
        self._new_id = new_id
        self._sensors: dict[str, dict[str, Any]] = {}  # device id -> its last sensor record
        self._areas: dict[str, dict[str, Any]] = {}  # area id -> its last location record
        self._unsubscribe: list[Callable[[], None]] = []
        self.version = "unknown"

    async def async_setup(self) -> None:
        """Follow the areas and HA's stop; say the hub started."""
        self.version = str((await async_get_integration(self.hass, DOMAIN)).version)
        for area in ar.async_get(self.hass).async_list_areas():
            self._areas[area.id] = self._location(area.id, area.name, area.created_at)
        self._unsubscribe = [
            self.hass.bus.async_listen(ar.EVENT_AREA_REGISTRY_UPDATED, self._area_changed),
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._stopping),
        ]
        self.system("info", STARTED, {"module": "websocket", "version": self.version})

    @callback
    def shutdown(self) -> None:
        """Stop following; close every client (going away)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self.channels.close_all(CloseCode.UNLOADING, "iot_hub is unloading")

    @callback
    def _stopping(self, _event: Event) -> None:
        # HA does not unload entries when it stops; open sockets would hold up its shutdown.
        self._unsubscribe = self._unsubscribe[:1]  # the stop listener is spent
        self.channels.close_all(CloseCode.UNLOADING, "Home Assistant is stopping")

    # -- system events ----------------------------------------------------------------------

    @callback
    def system(
        self,
        level: Level,
        message: str,
        data: Mapping[str, Any],
        at: datetime | None = None,
        channel: str = "general",
    ) -> int:
        """Send a ``system_event`` on ``channel`` and fire it on HA's bus; how many got it."""
        frame = system_event(level, message, jsonable(data), at or dt_util.utcnow())
        self.hass.bus.async_fire(EVENT_SYSTEM, {**frame, "channel": channel})
        return self.channels.send(channel, frame)

    # -- the hub's feed ---------------------------------------------------------------------

    @callback
    def feed(self, event: FeedEvent) -> None:
        """One thing that happened to a device."""
        if event.kind is FeedKind.READING:  # the many: nothing to do while no client listens
            if self.channels.count and event.device_kind == KIND:
                self._reading(event)
            return
        match event.kind:
            case FeedKind.CONNECTED | FeedKind.DISCONNECTED:
                level: Level = "info" if event.kind is FeedKind.CONNECTED else "warning"
                message = CONNECTED if event.kind is FeedKind.CONNECTED else LOST
                self.system(level, message, _about(event), event.at)
            case FeedKind.ERROR:
                text = event.data.get("message")
                data = {**_about(event), **event.data}
                self.system("error", str(text) if text else DEVICE_ERROR, data, event.at)
            case _ if event.device_kind != KIND:
                return  # only sensors are seed 001's entities
            case FeedKind.DEVICE_ADDED | FeedKind.DEVICE_UPDATED | FeedKind.DEVICE_REMOVED:
                self._sensor_changed(event)
            case _:  # anomalies, their resolution, predictions
                self._analysis(event)

    @callback
    def prime(self) -> None:
        """Know every sensor's record (the first client connects: a removal may follow)."""
        for device in self.hub.devices_of(KIND):
            self._sensor_record(device, dt_util.utcnow())

    def _sensor_record(self, device: KindContext, at: datetime) -> dict[str, Any]:
        before = self._sensors.get(device.id)
        created_at = before["created_at"] if before else _registered_at(device) or at
        record = {
            "id": device.data.get(CONF_SENSOR_ID),
            "tipo": device.data.get(CONF_TIPO),
            "modelo": device.data.get(CONF_MODELO),
            "created_at": created_at,
        }
        self._sensors[device.id] = record
        return record

    def _sensor_changed(self, event: FeedEvent) -> None:
        if event.kind is FeedKind.DEVICE_REMOVED:
            record = self._sensors.pop(event.device_id, None)
        elif (device := self.hub.device(event.device_id)) is not None:
            record = self._sensor_record(device, event.at)
        else:
            record = None  # gone already (a stale event)
        if record is None or not self.channels.count:
            return
        event_type, action = SENSOR_ACTIONS[event.kind]
        self.channels.send(
            "sensors",
            entity_event(
                "sensor", event_type, record["id"], jsonable(record), at=event.at, action=action
            ),
        )

    def _reading(self, event: FeedEvent) -> None:
        # Every sensor's record is known from the first client on (``prime``, then the
        # lifecycle events): none means a reading that raced its device's removal.
        if (record := self._sensors.get(event.device_id)) is None:
            return
        reading_id = event.data["id"]
        data = reading_object(
            reading_id,
            record["id"],
            event.data["values"],
            event.data.get("taken_at") or event.at,
        )
        self.channels.send(
            "readings",
            entity_event(
                "reading", "created", reading_id, data, at=event.at, action="create_reading"
            ),
        )

    def _analysis(self, event: FeedEvent) -> None:
        if not self.channels.count:
            return
        channel, entity_type, event_type, action = ANALYSIS[event.kind]
        given = event.data.get("id")
        entity_id = given if isinstance(given, int) and not isinstance(given, bool) else None
        if entity_id is None:
            entity_id = self._new_id()
        data = jsonable({"id": entity_id, **event.data})
        data["id"] = entity_id
        self.channels.send(
            channel,
            entity_event(entity_type, event_type, entity_id, data, at=event.at, action=action),
        )

    # -- areas as locations -----------------------------------------------------------------

    @staticmethod
    def _location(area_id: str, name: str, created_at: datetime | None) -> dict[str, Any]:
        return {
            "id": location_id(area_id),
            "nombre": name,
            "area_id": area_id,
            "created_at": created_at or dt_util.utcnow(),
        }

    @callback
    def _area_changed(self, event: Event[ar.EventAreaRegistryUpdatedData]) -> None:
        action = event.data["action"]
        area_id = event.data["area_id"]
        if action not in AREA_ACTIONS or area_id is None:
            return  # "reorder": no area changed
        if action == "remove":
            record = self._areas.pop(area_id, None) or self._location(area_id, "", None)
        elif (area := ar.async_get(self.hass).async_get_area(area_id)) is None:
            return
        else:
            record = self._areas[area_id] = self._location(area_id, area.name, area.created_at)
        if not self.channels.count:
            return
        event_type, verb = AREA_ACTIONS[action]
        self.channels.send(
            "locations",
            entity_event(
                "location",
                event_type,
                record["id"],
                jsonable(record),
                at=dt_util.utcnow(),
                action=verb,
            ),
        )


def _about(event: FeedEvent) -> dict[str, Any]:
    """Which device a system event is about."""
    return {"device": event.device_name, "kind": event.device_kind}


def _registered_at(device: KindContext) -> datetime | None:
    """When HA's device registry got the device (None: not yet, it was just added)."""
    if (ha_id := device.ha_device_id()) is None:
        return None
    entry = dr.async_get(device.hass).async_get(ha_id)
    return entry.created_at if entry is not None else None
