"""The MQTT topic contract: ``<prefix>/<id>/<leaf>`` built and parsed, prefixes and filters checked.

Leaves: ``state`` and ``status`` (device -> hub), ``command`` and ``config`` (hub -> device).
An id names one device in a topic, so it holds no level separator nor wildcard; everything
here is pure (no I/O), so the options flow, the hub and the kinds share it.
"""

from __future__ import annotations

from typing import Final

STATE: Final = "state"
COMMAND: Final = "command"
CONFIG: Final = "config"
STATUS: Final = "status"
LEAVES: Final = frozenset({STATE, COMMAND, CONFIG, STATUS})

STATUS_ONLINE: Final = "online"
STATUS_OFFLINE: Final = "offline"

MAX_TOPIC_BYTES: Final = 65535  # MQTT's limit of a topic name or filter (UTF-8)
_FORBIDDEN_IN_ID: Final = frozenset("/+#\x00")


def valid_topic_id(topic_id: str) -> bool:
    """Whether ``topic_id`` can name a device: one topic level, no wildcard."""
    return bool(topic_id) and _FORBIDDEN_IN_ID.isdisjoint(topic_id)


def valid_prefix(prefix: str) -> bool:
    """Whether ``prefix`` can start topics: levels without wildcards, no empty first/last."""
    return (
        bool(prefix)
        and not prefix.startswith("/")
        and not prefix.endswith("/")
        and "+" not in prefix
        and "#" not in prefix
        and "\x00" not in prefix
        and len(prefix.encode()) <= MAX_TOPIC_BYTES
    )


def valid_topic(topic: str) -> bool:
    """Whether one can publish on ``topic`` (a name, not a filter)."""
    return (
        bool(topic)
        and "+" not in topic
        and "#" not in topic
        and "\x00" not in topic
        and len(topic.encode()) <= MAX_TOPIC_BYTES
    )


def valid_filter(topic_filter: str) -> bool:
    """Whether one can subscribe to ``topic_filter``: ``+`` a whole level, ``#`` the last."""
    if not topic_filter or "\x00" in topic_filter:
        return False
    if len(topic_filter.encode()) > MAX_TOPIC_BYTES:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Whether a message on ``topic`` matches ``topic_filter`` (``#`` also matches its parent).

    A filter starting with a wildcard does not match a ``$`` topic (``$SYS/...``), as the
    MQTT specification says.
    """
    if topic_filter == topic:
        return True
    levels = topic.split("/")
    wanted = topic_filter.split("/")
    if levels[0].startswith("$") and wanted[0] in ("+", "#"):
        return False
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(levels) or (level != "+" and level != levels[index]):
            return False
    return len(wanted) == len(levels)


def _topic(prefix: str, topic_id: str, leaf: str) -> str:
    if not valid_topic_id(topic_id):
        raise ValueError(f"not a topic id: {topic_id!r}")
    return f"{prefix}/{topic_id}/{leaf}"


def state_topic(prefix: str, topic_id: str) -> str:
    """Where the device publishes its frames."""
    return _topic(prefix, topic_id, STATE)


def command_topic(prefix: str, topic_id: str) -> str:
    """Where the hub sends the device commands (QoS 1, not retained)."""
    return _topic(prefix, topic_id, COMMAND)


def config_topic(prefix: str, topic_id: str) -> str:
    """Where the hub keeps the device's configuration (QoS 1, retained)."""
    return _topic(prefix, topic_id, CONFIG)


def status_topic(prefix: str, topic_id: str) -> str:
    """Where the device says ``online`` / ``offline`` (birth and last will, retained)."""
    return _topic(prefix, topic_id, STATUS)


def leaf_filter(prefix: str, leaf: str) -> str:
    """The filter of one leaf of every device, e.g. ``iot_hub/+/state``."""
    return f"{prefix}/+/{leaf}"


def parse_topic(prefix: str, topic: str) -> tuple[str, str] | None:
    """``(id, leaf)`` of ``<prefix>/<id>/<leaf>`` with a known leaf, else None."""
    head = f"{prefix}/"
    if not topic.startswith(head):
        return None
    topic_id, sep, leaf = topic[len(head) :].partition("/")
    if not sep or leaf not in LEAVES or not valid_topic_id(topic_id):
        return None
    return topic_id, leaf


def topic_id(prefix: str, topic: str) -> str | None:
    """The device id of ``<prefix>/<id>/<leaf>``, or None when ``topic`` is no such topic."""
    parsed = parse_topic(prefix, topic)
    return parsed[0] if parsed else None
