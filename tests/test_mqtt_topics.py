"""The MQTT topic contract (``topics.py``), the outbox and the back-off: pure functions."""

from __future__ import annotations

import logging

from hypothesis import given, strategies as st
from paho.mqtt.client import topic_matches_sub
import pytest

from custom_components.iot_hub.transport.mqtt.backoff import Backoff
from custom_components.iot_hub.transport.mqtt.outbox import Outbox, Outgoing
from custom_components.iot_hub.transport.mqtt.topics import (
    command_topic,
    config_topic,
    filter_matches,
    leaf_filter,
    parse_topic,
    state_topic,
    status_topic,
    topic_id,
    valid_filter,
    valid_prefix,
    valid_topic,
    valid_topic_id,
)


def test_topics_of_a_device() -> None:
    """The four topics of a device, under the default and a nested prefix."""
    assert state_topic("iot_hub", "TMP0603IF1WD") == "iot_hub/TMP0603IF1WD/state"
    assert command_topic("iot_hub", "oven1") == "iot_hub/oven1/command"
    assert config_topic("home/iot", "abc") == "home/iot/abc/config"
    assert status_topic("iot_hub", "abc") == "iot_hub/abc/status"
    assert leaf_filter("iot_hub", "state") == "iot_hub/+/state"
    for bad in ("", "a/b", "a+", "#", "a\x00"):
        with pytest.raises(ValueError):
            state_topic("iot_hub", bad)


@pytest.mark.parametrize(
    ("prefix", "topic", "expected"),
    [
        ("iot_hub", "iot_hub/SN1/state", ("SN1", "state")),
        ("iot_hub", "iot_hub/SN1/status", ("SN1", "status")),
        ("home/iot", "home/iot/SN1/config", ("SN1", "config")),
        ("iot_hub", "iot_hub/SN1/command", ("SN1", "command")),
        ("iot_hub", "iot_hub/SN1/other", None),
        ("iot_hub", "iot_hub/SN1/state/extra", None),
        ("iot_hub", "iot_hub//state", None),
        ("iot_hub", "iot_hub/SN1", None),
        ("iot_hub", "iot_hubx/SN1/state", None),
        ("iot_hub", "other/SN1/state", None),
    ],
)
def test_parse_topic(prefix: str, topic: str, expected: tuple[str, str] | None) -> None:
    """``<prefix>/<id>/<leaf>`` with a known leaf, nothing else."""
    assert parse_topic(prefix, topic) == expected
    assert topic_id(prefix, topic) == (expected[0] if expected else None)


@given(
    st.text(st.characters(blacklist_characters="/+#\x00", codec="utf-8"), min_size=1),
    st.sampled_from(["state", "command", "config", "status"]),
)
def test_topics_parse_back(device_id: str, leaf: str) -> None:
    """Any valid id survives the round trip through its topic."""
    assert valid_topic_id(device_id)
    topic = f"iot_hub/{device_id}/{leaf}"
    assert parse_topic("iot_hub", topic) == (device_id, leaf)
    assert valid_topic(topic)
    assert filter_matches(leaf_filter("iot_hub", leaf), topic)


def test_validation() -> None:
    """Prefixes, topics and filters as MQTT allows them (the options flow checks these)."""
    assert valid_prefix("iot_hub")
    assert valid_prefix("home/iot")
    for bad in ("", "/iot", "iot/", "a/+", "a/#", "a\x00", "x" * 70000):
        assert not valid_prefix(bad)
    assert valid_topic("a/b")
    for bad in ("", "a/+", "#", "a\x00", "x" * 70000):
        assert not valid_topic(bad)
    for good in ("#", "+", "a/#", "a/+/b", "+/+", "dispositivos/#", "/a"):
        assert valid_filter(good)
    for bad in ("", "a/#/b", "a#", "a/b+", "a+/b", "a\x00", "x" * 70000):
        assert not valid_filter(bad)


level = st.sampled_from(["a", "b", "", "$SYS", "c d"])
filter_level = st.sampled_from(["a", "b", "", "+", "$SYS"])


@given(
    st.lists(level, min_size=1, max_size=4),
    st.lists(filter_level, min_size=1, max_size=4),
    st.booleans(),
)
def test_filter_matching_agrees_with_paho(
    topic_levels: list[str], filter_levels: list[str], hash_end: bool
) -> None:
    """Our matcher says what paho's does, on every shape of topic and filter."""
    topic = "/".join(topic_levels)
    topic_filter = "/".join([*filter_levels, "#"] if hash_end else filter_levels)
    assert filter_matches(topic_filter, topic) == topic_matches_sub(topic_filter, topic)


def test_filter_matching_rules() -> None:
    """``#`` matches its parent; wildcards do not match ``$`` topics."""
    assert filter_matches("a/#", "a")
    assert filter_matches("#", "a/b")
    assert not filter_matches("#", "$SYS/x")
    assert not filter_matches("+/x", "$SYS/x")
    assert filter_matches("$SYS/#", "$SYS/x")
    assert not filter_matches("a/+", "a/b/c")
    assert not filter_matches("a/b/c", "a/b")


def _message(n: int) -> Outgoing:
    return Outgoing(f"t/{n}", str(n).encode(), 1, False)


def test_outbox(caplog: pytest.LogCaptureFixture) -> None:
    """FIFO, bounded (oldest dropped, one warning), a message leaves only when sent."""
    outbox = Outbox(2, "test")
    assert outbox.peek() is None
    assert not outbox.ready.is_set()
    first = _message(1)
    outbox.put(first)
    assert outbox.ready.is_set()
    outbox.put(_message(2))
    outbox.put(_message(3))  # drops 1
    outbox.put(_message(4))  # drops 2
    assert len(outbox) == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    outbox.sent(first)  # already dropped: nothing else leaves
    assert len(outbox) == 2
    head = outbox.peek()
    assert head is not None
    assert head.payload == b"3"
    outbox.sent(head)
    last = outbox.peek()
    assert last is not None
    outbox.sent(last)
    assert len(outbox) == 0
    assert not outbox.ready.is_set()
    assert "2 older messages were dropped" in caplog.records[-1].getMessage()


def test_backoff() -> None:
    """Doubling from the initial delay up to the maximum, jittered down by at most half."""
    backoff = Backoff(1.0, 8.0)
    delays = [backoff.next() for _ in range(6)]
    for delay, base in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert base / 2 <= delay <= base
    backoff.reset()
    assert backoff.next() <= 1.0
    for _ in range(100):  # a long outage does not overflow
        assert backoff.next() <= 8.0
