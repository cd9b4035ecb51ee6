"""Base of every iot_hub entity: device info, availability, dispatcher wiring, record budget.

Platforms know no kind: each adds, for every device, the descriptions its kind declares for
that platform (``Kind.entities``), now and for devices added later.

The record budget: what readings change is written at most once per the device's
``record_interval`` (every state written is a row in the recorder's database). The first
reading after a quiet interval is written at once; those within the interval make one write
at its end, with the latest value. Everything else a device does is written at once, and
nothing but these entity states is held back (sessions, the feed, streams, clients).

Only what changed is written: a reading (or an interval's end) writes an entity only if what
it would show (its availability, value and attributes) differs from what was last written,
or if it forces updates (``force_update``). A state write costs HA's whole path (about 14 µs
of loop CPU per write skipped in ``benchmarks.warm_writes``) even when its state machine
then finds the state identical, so the check comes first. What each write shows is computed once and kept: the
platforms' properties read it during the write, and the next reading compares against it.
HA's ``last_reported`` of such a state therefore moves when it changes, not at each reading.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HassJob, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_call_later

from .capacity import unique_id
from .const import DOMAIN
from .descriptions import IotHubEntityDescription
from .device import DeviceRuntime
from .hub import IotHubConfigEntry
from .signals import Update, signal_device_added, signal_device_update, signal_new_entities

MANUFACTURER = "iot_hub"


# What an entity shows: availability, the value's type and value (0 and 0.0 are different
# states: "0" and "0.0"), and its attributes (None without any).
type Shown = tuple[bool, type[Any], Any, dict[str, Any] | None]


class IotHubEntity(Entity):
    """An entity of one iot_hub device."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: IotHubEntityDescription

    # What the last write showed (None: nothing written yet), and what the write in progress
    # shows (None outside a write): the properties read it rather than compute it again.
    _written: Shown | None = None
    _writing: Shown | None = None

    def __init__(self, device: DeviceRuntime, description: IotHubEntityDescription) -> None:
        """Bind to a device."""
        self.device = device
        self.entity_description = description
        self._attr_unique_id = unique_id(device.id, description.key)
        registry = device.handler.registry_info()
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device.id)},
            name=device.name,
            manufacturer=MANUFACTURER,
            model=registry.get("model") or device.kind.model,
            serial_number=registry.get("serial_number"),
        )

    @property
    def handler(self) -> Any:
        """The device's kind handler: what the description's functions read."""
        return self.device.handler

    @property
    def available(self) -> bool:
        """Unavailable while the device is disconnected (except for diagnostics of that)."""
        return self.entity_description.available_offline or self.device.connected

    # -- what the entity shows ----------------------------------------------------------------

    def _value(self) -> Any:
        """The description's value: what the platform shows as its state (none here)."""
        return None

    def _attributes(self) -> dict[str, Any] | None:
        """The description's attributes (none here)."""
        return None

    def _shown(self) -> Shown:
        value = self._value()
        return (self.available, type(value), value, self._attributes())

    def _showing(self) -> Any:
        """The value to show: the write's in progress, else the description's now."""
        return self._value() if (shown := self._writing) is None else shown[2]

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The description's attributes (a running session's id, anomalies, ...)."""
        return self._attributes() if (shown := self._writing) is None else shown[3]

    @callback
    def _async_write_ha_state(self) -> None:
        """Every write (HA's own too) computes what it shows once, and keeps it."""
        if (shown := self._writing) is None:
            self._writing = shown = self._shown()
        try:
            super()._async_write_ha_state()
        finally:
            self._writing = None
        self._written = shown

    @callback
    def _async_write_changed(self) -> None:
        """Write if the entity would show something else than it last did (or forces it)."""
        shown = self._shown()
        if shown != self._written or self.force_update:
            self._writing = shown
            self.async_write_ha_state()

    # -- dispatcher wiring -------------------------------------------------------------------

    async def async_added_to_hass(self) -> None:
        """Follow the updates this entity shows; readings within the record budget."""
        await super().async_added_to_hass()
        updates_on = self.entity_description.updates_on
        write_now = self.async_write_ha_state
        if Update.READING in updates_on:
            self._window_job = HassJob(self._async_window_end, cancel_on_shutdown=True)
            self.async_on_remove(self._async_close_window)
            write_now = self._async_write_now
        for what in updates_on:
            self.async_on_remove(
                async_dispatcher_connect(
                    self.hass,
                    signal_device_update(self.device.id, what),
                    self._async_reading if what is Update.READING else write_now,
                )
            )

    # -- the record budget (entities that show readings) -------------------------------------

    # The open interval's cancel (None: the next reading is written at once), and whether a
    # reading arrived within it. Class defaults: only entities showing readings set them.
    _window: CALLBACK_TYPE | None = None
    _reading_waits = False
    _window_job: HassJob[[datetime], None]

    @callback
    def _async_reading(self) -> None:
        """A reading: written at once after a quiet interval, else at the interval's end.

        Runs for every reading of the device (thousands a second on a big hub): within an
        interval it only sets a flag. A reading that changes nothing this entity shows is
        not written, but opens the interval all the same: the intervals (and so what the
        recorder gets) are what they would be if every reading were written.
        """
        if self._window is not None:
            self._reading_waits = True
            return
        self._async_write_changed()
        self._async_open_window()

    @callback
    def _async_open_window(self) -> None:
        # Read at every interval, so a reconfigured budget applies without a reload.
        if interval := self.device.record_interval:
            self._window = async_call_later(self.hass, interval, self._window_job)

    @callback
    def _async_window_end(self, _now: datetime) -> None:
        """The interval is over: write the latest reading if one waits, and start another.

        Written only if it changed what was last written: readings that went and came back
        within the interval write nothing.
        """
        self._window = None
        if self._reading_waits:
            self._reading_waits = False
            self._async_write_changed()
            self._async_open_window()

    @callback
    def _async_write_now(self) -> None:
        """Anything but a reading (connection, session): written at once, latest value too."""
        self._reading_waits = False
        self.async_write_ha_state()

    @callback
    def _async_close_window(self) -> None:
        if self._window is not None:
            self._window()
            self._window = None


def async_setup_device_entities(
    entry: IotHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    platform: Platform,
    factory: Callable[[DeviceRuntime, Any], IotHubEntity],
) -> None:
    """Add a platform's entities for every device now and for every device added later.

    A device may reveal entities of its own later (an appliance's parameter seen the first
    time): they are added when its handler says so.
    """
    hass = entry.runtime_data.hass
    added: dict[str, set[str]] = {}

    @callback
    def add_new(device: DeviceRuntime) -> None:
        keys = added.setdefault(device.id, set())
        descriptions = [
            description
            for description in (
                *device.kind.entities.get(platform, ()),
                *device.handler.dynamic_descriptions(platform),
            )
            if description.key not in keys
        ]
        if descriptions:
            keys.update(description.key for description in descriptions)
            async_add_entities(
                [factory(device, description) for description in descriptions],
                config_subentry_id=device.id,
            )

    @callback
    def add(device: DeviceRuntime) -> None:
        add_new(device)
        entry.async_on_unload(
            # A partial wrapped as a callback: a bare lambda would run in an executor thread.
            async_dispatcher_connect(
                hass, signal_new_entities(device.id), callback(partial(add_new, device))
            )
        )

    for device in entry.runtime_data.devices.values():
        add(device)
    entry.async_on_unload(async_dispatcher_connect(hass, signal_device_added(entry.entry_id), add))
