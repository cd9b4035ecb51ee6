"""How many enabled entities the hub has, against HA's cap per config entry.

HA creates no new enabled entity of a config entry that already has
``MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY`` (10,000); it only logs a warning, and which device
(or which of its platforms) loses out is a race. Disabled entities do not count. The count here
is what the hub would have: the enabled entities in the entity registry (those the user enabled
included), plus, for each device, the entities its kind enables by default that are not
registered yet (a device just added, or one whose entities HA refused).
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_platform, entity_registry as er, issue_registry as ir

from .const import CONF_KIND, DOMAIN, SUBENTRY_DEVICE
from .kind import Kind

ISSUE_TOO_MANY_ENTITIES = "too_many_entities"


def max_enabled() -> int:
    """HA's cap, read when used (it is HA's to change)."""
    return entity_platform.MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY


def unique_id(device_id: str, key: str) -> str:
    """The unique id of a device's entity of description ``key``."""
    return f"{device_id}_{key}"


def _enabled_keys(kind: Kind) -> list[str]:
    return [
        description.key
        for descriptions in kind.entities.values()
        for description in descriptions
        if description.entity_registry_enabled_default
    ]


def enabled_by_default(kind: Kind) -> int:
    """How many entities a new device of ``kind`` enables."""
    return len(_enabled_keys(kind))


def devices_per_hub(kind: Kind) -> int:
    """How many devices of ``kind`` alone one hub holds with their default entities."""
    return max_enabled() // enabled_by_default(kind)


def wanted_entities(hass: HomeAssistant, entry: ConfigEntry, kinds: Mapping[str, Kind]) -> int:
    """The enabled entities the hub's devices have or will have."""
    devices = {
        subentry.subentry_id: kinds.get(subentry.data[CONF_KIND])
        for subentry in entry.get_subentries_of_type(SUBENTRY_DEVICE)
    }
    registered = [
        entity
        for entity in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if entity.config_subentry_id in devices  # not a removed device's, still being cleaned
    ]
    unique_ids = {entity.unique_id for entity in registered}
    count = sum(1 for entity in registered if entity.disabled_by is None)
    for device_id, kind in devices.items():
        if kind is not None:
            count += sum(
                1 for key in _enabled_keys(kind) if unique_id(device_id, key) not in unique_ids
            )
    return count


@callback
def check(hass: HomeAssistant, entry: ConfigEntry, kinds: Mapping[str, Kind]) -> None:
    """Raise a repair issue while the hub wants more enabled entities than HA allows."""
    count, cap = wanted_entities(hass, entry, kinds), max_enabled()
    if count <= cap:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_TOO_MANY_ENTITIES)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_TOO_MANY_ENTITIES,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_TOO_MANY_ENTITIES,
        translation_placeholders={"count": str(count), "max": str(cap)},
    )
