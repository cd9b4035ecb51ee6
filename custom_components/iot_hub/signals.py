"""Dispatcher signals: how the hub tells entities (and later streams) what changed."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from homeassistant.util.signal_type import SignalType

from .const import DOMAIN


class Update(StrEnum):
    """What changed on a device; entities listen only to what they show."""

    READING = "reading"
    SESSION = "session"
    CONNECTION = "connection"
    CONFIG = "config"  # how the device is run (an appliance's mode and switch)
    ANOMALY = "anomaly"  # an anomaly started or ended (``analysis.py``)
    PREDICTION = "prediction"  # a new round of predictions (at most one per 30 s)


def signal_device_update(device_id: str, what: Update) -> SignalType[()]:
    """Signal sent when one kind of thing of one device changed.

    One signal per kind: a reading (many a second) wakes only the entities that show it.
    """
    return SignalType(f"{DOMAIN}_device_update_{device_id}_{what}")


def signal_entity_event(device_id: str, key: str) -> SignalType[str, dict[str, Any]]:
    """Signal of one event entity of a device (its key): an event type and its data."""
    return SignalType(f"{DOMAIN}_entity_event_{device_id}_{key}")


def signal_device_added(entry_id: str) -> SignalType[Any]:
    """Signal sent with a device subentry's runtime when it was added after setup."""
    return SignalType(f"{DOMAIN}_device_added_{entry_id}")


def signal_new_entities(device_id: str) -> SignalType[()]:
    """Signal sent when a device revealed entities of its own (a parameter seen first)."""
    return SignalType(f"{DOMAIN}_new_entities_{device_id}")
