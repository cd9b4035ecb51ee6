"""The analysis module: anomaly rules and least-squares trends, by example and by property."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.iot_hub.analysis import (
    DETECTED,
    MAX_POINTS,
    MAX_RULES,
    MAX_TIME_TO,
    MIN_POINTS,
    RESOLVED,
    Anomalies,
    Anomaly,
    Rule,
    RuleError,
    Trend,
    parse_rules,
)

from .codec_strategies import PROPERTY_SETTINGS

WINDOW = 600.0
EPOCH = 1.78e9  # a real clock: sums must not lose the slope to the epoch's size
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
steps = st.floats(min_value=0.5, max_value=30.0)


def _series(trend: Trend, start: float, values: list[float], step: float) -> float:
    t = start
    for value in values:
        trend.add(t, value)
        t += step
    return t - step


# -- rules ------------------------------------------------------------------------------------


def test_rules_parse_and_refuse_with_a_reason() -> None:
    """The stored form round-trips; each refusal names its form error."""
    rules = parse_rules({"temperatura": {"min": 0, "max": 40, "jump": 5}, "co2": {"max": 1500}})
    assert rules == {"temperatura": Rule(0.0, 40.0, 5.0), "co2": Rule(None, 1500.0, None)}
    assert {name: rule.as_data() for name, rule in rules.items()} == {
        "temperatura": {"min": 0.0, "max": 40.0, "jump": 5.0},
        "co2": {"max": 1500.0},
    }
    assert parse_rules(None) == {} == parse_rules({})
    refused: list[tuple[Any, str]] = [
        ("temperatura: 5", "anomaly_rules_invalid"),
        ([1, 2], "anomaly_rules_invalid"),
        ({"": {"max": 1}}, "anomaly_rules_invalid"),
        ({"x" * 65: {"max": 1}}, "anomaly_rules_invalid"),
        ({"t\n": {"max": 1}}, "anomaly_rules_invalid"),
        ({"t": 5}, "anomaly_rules_invalid"),
        ({"t": {}}, "anomaly_rules_invalid"),
        ({"t": {"maximum": 5}}, "anomaly_rules_invalid"),
        ({"t": {"max": "hot"}}, "anomaly_rules_invalid"),
        ({"t": {"max": True}}, "anomaly_rules_invalid"),
        ({"t": {"max": math.inf}}, "anomaly_rules_invalid"),
        ({"t": {"max": 2e9}}, "anomaly_rules_invalid"),
        ({"t": {"max": None}}, "anomaly_rules_invalid"),
        ({"t": {"min": 5, "max": 5}}, "anomaly_rules_range"),
        ({"t": {"jump": 0}}, "anomaly_rules_jump"),
        ({f"q{i}": {"max": 1} for i in range(MAX_RULES + 1)}, "anomaly_rules_invalid"),
    ]
    for raw, key in refused:
        with pytest.raises(RuleError) as err:
            parse_rules(raw)
        assert err.value.key == key, raw


def test_an_anomaly_starts_once_and_ends_at_the_first_good_reading() -> None:
    """Out of range: detected once; back in range: resolved. A spike: two jumps, then calm."""
    anomalies = Anomalies({"t": Rule(0, 40, 5)})
    assert anomalies.check("humedad", 1e6) is None  # no rule: never anomalous
    assert anomalies.check("t", 20) is None
    assert anomalies.check("t", 41) == (DETECTED, Anomaly("t", 41, "max", 40))
    assert anomalies.check("t", 42) is None  # the same anomaly, told once
    assert anomalies.active == {"t": Anomaly("t", 41, "max", 40)}
    assert anomalies.check("t", 39) == (RESOLVED, Anomaly("t", 39, "max", 40))
    assert anomalies.check("t", 20) == (DETECTED, Anomaly("t", 20, "jump", 5))
    assert anomalies.check("t", 30) is None  # jumps back up: still anomalous
    assert anomalies.check("t", 31) == (RESOLVED, Anomaly("t", 31, "jump", 5))
    assert anomalies.check("t", -1) == (DETECTED, Anomaly("t", -1, "min", 0))
    assert anomalies.check("t", -1.5) is None
    assert anomalies.check("t", 0) == (RESOLVED, Anomaly("t", 0, "min", 0))
    assert anomalies.active == {}
    anomalies.check("t", 100)
    assert anomalies.check("t", 101) is None
    assert anomalies.clear() == [Anomaly("t", 101, "max", 40)]  # the rules changed
    assert anomalies.active == {}


@PROPERTY_SETTINGS
@given(
    low=st.floats(min_value=-1e6, max_value=1e6),
    width=st.floats(min_value=1e-3, max_value=1e6),
    shares=st.lists(st.floats(min_value=0, max_value=1), max_size=50),
)
def test_values_in_range_are_never_anomalous(low: float, width: float, shares: list[float]) -> None:
    """With only min and max, any value between them is never an anomaly."""
    anomalies = Anomalies({"t": Rule(low, low + width)})
    for share in shares:
        assert anomalies.check("t", min(low + share * width, low + width)) is None


@PROPERTY_SETTINGS
@given(st.lists(finite, max_size=60))
def test_detected_and_resolved_alternate(values: list[float]) -> None:
    """Whatever the readings: never two detections (or resolutions) in a row."""
    anomalies = Anomalies({"t": Rule(-10, 10, 3)})
    changes = [change[0] for v in values if (change := anomalies.check("t", v)) is not None]
    assert changes == [DETECTED, RESOLVED] * (len(changes) // 2) + [DETECTED] * (len(changes) % 2)
    assert bool(anomalies.active) == (len(changes) % 2 == 1)


# -- trends -----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(value=finite, step=steps, count=st.integers(MIN_POINTS, 400), horizon=steps)
def test_a_constant_series_predicts_itself(
    value: float, step: float, count: int, horizon: float
) -> None:
    """Flat readings: the prediction is the reading, and a different target is never reached."""
    trend = Trend(WINDOW)
    now = _series(trend, EPOCH, [value] * count, step)
    if (prediction := trend.predict(now + horizon * 60)) is None:
        assert len(trend) < MIN_POINTS or step * (len(trend) - 1) < WINDOW / 4
        return
    assert prediction == value
    assert trend.time_to(value, now) == 0.0
    assert trend.time_to(value + 1, now) is None


@PROPERTY_SETTINGS
@given(
    start=finite,
    slope=st.floats(min_value=-100, max_value=100),
    step=steps,
    count=st.integers(MIN_POINTS, 1000),
    horizon=st.floats(min_value=0, max_value=3600),
)
def test_a_linear_series_predicts_exactly(
    start: float, slope: float, step: float, count: int, horizon: float
) -> None:
    """Readings on a line: the prediction is on the line too (whatever the clock's origin)."""
    trend = Trend(WINDOW)
    t = EPOCH
    for i in range(count):
        trend.add(t, start + slope * i * step)
        t += step
    last = t - step
    prediction = trend.predict(last + horizon)
    if prediction is None:
        assert step * (min(len(trend), count) - 1) < WINDOW / 4
        return
    expected = start + slope * (last + horizon - EPOCH)
    assert math.isclose(prediction, expected, rel_tol=1e-6, abs_tol=1e-6 * (1 + abs(start)))


@PROPERTY_SETTINGS
@given(
    start=st.floats(min_value=-50, max_value=200),
    slope=st.floats(min_value=0.01, max_value=10),
    ahead=st.floats(min_value=0, max_value=MAX_TIME_TO - 1),
)
def test_time_to_target_of_a_rising_line(start: float, slope: float, ahead: float) -> None:
    """A line rising ``slope`` per second reaches ``target`` in (target - now) / slope."""
    trend = Trend(120.0)
    now = _series(trend, EPOCH, [start + slope * i for i in range(121)], 1.0)
    current = start + slope * (now - EPOCH)
    seconds = trend.time_to(current + slope * ahead, now)
    assert seconds is not None
    assert math.isclose(seconds, ahead, rel_tol=1e-6, abs_tol=1e-3)
    assert trend.time_to(current - 0.5 * slope, now) == 0.0  # reached half a second ago
    assert trend.time_to(current - 2 * slope, now) is None  # behind it: heading away
    assert trend.time_to(current + slope * (MAX_TIME_TO + 60), now) is None  # over a day


@PROPERTY_SETTINGS
@given(
    gaps=st.lists(st.floats(min_value=-5, max_value=700), min_size=1, max_size=2000),
    window=st.floats(min_value=1, max_value=3600),
)
def test_memory_is_bounded(gaps: list[float], window: float) -> None:
    """Any timing (bursts, gaps, a clock going back): at most MAX_POINTS, all in the window."""
    trend = Trend(window)
    t = EPOCH
    for i, gap in enumerate(gaps):
        t += gap
        trend.add(t, float(i))
        assert len(trend) <= MAX_POINTS
        newest = trend.newest()
        assert newest is not None
        assert all(newest - window < pt <= newest for pt, _ in trend._points)


def test_fifty_hertz_is_sampled_and_a_short_span_predicts_nothing() -> None:
    """At 50 Hz one reading per window/300 s is kept; under a quarter window, no line; with
    four readings, however spread, no line either."""
    sparse = Trend(WINDOW)
    _series(sparse, EPOCH, [1.0, 2.0, 3.0, 4.0], 150.0)
    assert sparse.predict(EPOCH + 600) is None
    sparse.add(EPOCH + 590, 5.0)
    assert sparse.predict(EPOCH + 600) is not None
    flat = Trend(WINDOW)
    _series(flat, EPOCH, [7.0] * 10, 60.0)
    assert flat.time_to(7.0, EPOCH + 540) == 0.0
    assert flat.time_to(8.0, EPOCH + 540) is None  # flat: never
    trend = Trend(WINDOW)
    assert trend.newest() is None and trend.predict(EPOCH) is None
    assert trend.time_to(1, EPOCH) is None
    for i in range(50 * 149):  # 149 s of readings
        trend.add(EPOCH + i / 50, 20.0 + i / 50)
    assert len(trend) == 75  # one per 2 s
    assert trend.predict(EPOCH + 209) is None  # 148 s < 150 s: too short a span
    trend.add(EPOCH + 150, 170.0)
    assert trend.predict(EPOCH + 210) == pytest.approx(230.0)
