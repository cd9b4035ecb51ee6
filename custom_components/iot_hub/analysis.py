"""Anomalies and trends of a device's readings: simple methods a user can check by hand.

Pure (no Home Assistant imports, no I/O); used by sensors and ovens.

- Anomaly rules, per quantity: ``min`` and ``max`` (a reading below or above is anomalous)
  and ``jump`` (the largest allowed change between two consecutive readings). An anomaly
  starts at the first reading that breaks a rule and ends at the first reading that breaks
  none (back in range, and no jump from the reading before). No hysteresis: a value hovering
  at a limit turns on and off, so set limits with a margin.
- Trend: the least-squares line through the readings of the last ``window`` seconds. Running
  sums make each reading O(1); at most ``MAX_POINTS`` readings are kept per quantity (one per
  ``window / MAX_POINTS`` seconds: at 50 Hz most readings are not sampled). A prediction is
  the line's value ``horizon`` seconds after the latest reading; the time to a target is when
  the line reaches it, counted from the latest reading. Neither exists with fewer than ``MIN_POINTS`` readings, or readings
  spanning less than a quarter of the window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
import math
from typing import Any, Final, Literal

RULE_KEYS: Final = ("min", "max", "jump")
MAX_RULES: Final = 64  # quantities with a rule, per device (a reading has at most 64)
MAX_NAME_CHARS: Final = 64
MAX_LIMIT: Final = 1e9  # the sensor codec's bound of any value
MAX_POINTS: Final = 300  # readings one trend keeps
MIN_POINTS: Final = 5  # readings a trend needs
MIN_SPAN_SHARE: Final = 0.25  # ...spanning at least this share of its window
MAX_TIME_TO: Final = 86_400.0  # a target further than a day away: the trend does not go there
DETECTED: Final = "anomaly_detected"
RESOLVED: Final = "anomaly_resolved"

type RuleName = Literal["min", "max", "jump"]
type Change = Literal["anomaly_detected", "anomaly_resolved"]


class RuleError(ValueError):
    """Rules that cannot be used; ``key`` is the form's error (a translation key)."""

    def __init__(self, key: str) -> None:
        """Say which error."""
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Rule:
    """What one quantity must respect; None: not checked."""

    minimum: float | None = None
    maximum: float | None = None
    jump: float | None = None

    def broken_by(self, value: float, previous: float | None) -> tuple[RuleName, float] | None:
        """The first rule ``value`` breaks (min, max, then jump) and its limit, if any."""
        if self.minimum is not None and value < self.minimum:
            return "min", self.minimum
        if self.maximum is not None and value > self.maximum:
            return "max", self.maximum
        if self.jump is not None and previous is not None and abs(value - previous) > self.jump:
            return "jump", self.jump
        return None

    def as_data(self) -> dict[str, float]:
        """Stored form: ``{"min": 0, "max": 40, "jump": 5}`` (unset ones left out)."""
        limits = {"min": self.minimum, "max": self.maximum, "jump": self.jump}
        return {key: value for key, value in limits.items() if value is not None}


def _limit(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise RuleError("anomaly_rules_invalid")
    value = float(raw)
    if not math.isfinite(value) or abs(value) > MAX_LIMIT:
        raise RuleError("anomaly_rules_invalid")
    return value


def parse_rule(raw: object) -> Rule:
    """One quantity's rule: a mapping of ``min``/``max``/``jump`` to numbers (one at least)."""
    if not isinstance(raw, Mapping) or not raw or not set(raw) <= set(RULE_KEYS):
        raise RuleError("anomaly_rules_invalid")
    limits = {key: _limit(value) for key, value in raw.items() if value is not None}
    rule = Rule(limits.get("min"), limits.get("max"), limits.get("jump"))
    if rule.minimum is not None and rule.maximum is not None and rule.minimum >= rule.maximum:
        raise RuleError("anomaly_rules_range")
    if rule.jump is not None and rule.jump <= 0:
        raise RuleError("anomaly_rules_jump")
    if rule == Rule():
        raise RuleError("anomaly_rules_invalid")
    return rule


def parse_rules(raw: object) -> dict[str, Rule]:
    """Rules by quantity name (``{"temperatura": {"min": 0, "max": 40, "jump": 5}}``).

    Empty (or None) is no rule. Raises ``RuleError``.
    """
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or len(raw) > MAX_RULES:
        raise RuleError("anomaly_rules_invalid")
    rules: dict[str, Rule] = {}
    for name, rule in raw.items():
        if (
            not isinstance(name, str)
            or not 0 < len(name) <= MAX_NAME_CHARS
            or not name.isprintable()
        ):
            raise RuleError("anomaly_rules_invalid")
        rules[name] = parse_rule(rule)
    return rules


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A rule broken by a quantity's reading (or, once resolved, the reading that ended it)."""

    quantity: str
    value: float
    rule: RuleName
    limit: float

    def as_data(self) -> dict[str, Any]:
        """What events carry: quantity, value, rule, limit."""
        return {
            "quantity": self.quantity,
            "value": self.value,
            "rule": self.rule,
            "limit": self.limit,
        }


class Anomalies:
    """Which quantities of one device are anomalous now; O(1) per value."""

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        """Start with no anomaly and no reading."""
        self.rules = dict(rules)
        self.active: dict[str, Anomaly] = {}
        self._previous: dict[str, float] = {}

    def check(self, quantity: str, value: float) -> tuple[Change, Anomaly] | None:
        """A new reading of ``quantity``: an anomaly detected or resolved by it, if any."""
        if (rule := self.rules.get(quantity)) is None:
            return None
        previous = self._previous.get(quantity)
        self._previous[quantity] = value
        broken = rule.broken_by(value, previous)
        active = self.active.get(quantity)
        if broken is not None:
            if active is not None:
                return None  # still the same anomaly: told once
            anomaly = Anomaly(quantity, value, *broken)
            self.active[quantity] = anomaly
            return DETECTED, anomaly
        if active is None:
            return None
        del self.active[quantity]
        return RESOLVED, Anomaly(quantity, value, active.rule, active.limit)

    def clear(self) -> list[Anomaly]:
        """End every active anomaly (the rules changed), each with its last value."""
        ended = [
            Anomaly(quantity, self._previous[quantity], active.rule, active.limit)
            for quantity, active in self.active.items()
        ]
        self.active.clear()
        return ended


class Trend:
    """The least-squares line through one quantity's recent readings.

    Times are seconds (any origin). Sums are kept relative to the first kept reading, so
    epoch times and large values lose no precision, and are recomputed now and then so
    removals leave no rounding behind.
    """

    def __init__(self, window: float, max_points: int = MAX_POINTS) -> None:
        """A window in seconds; at most ``max_points`` readings kept."""
        self.window = window
        self.max_points = max_points
        self._spacing = window / max_points
        self._points: deque[tuple[float, float]] = deque()
        self._t0 = 0.0
        self._v0 = 0.0
        self._st = self._sv = self._stt = self._stv = 0.0

    def __len__(self) -> int:
        """Readings kept."""
        return len(self._points)

    def _sum(self, t: float, v: float, sign: float) -> None:
        x, y = t - self._t0, v - self._v0
        self._st += sign * x
        self._sv += sign * y
        self._stt += sign * x * x
        self._stv += sign * x * y

    def add(self, t: float, value: float) -> None:
        """A reading at ``t``; sampled (closer than the spacing to the last one: skipped)."""
        points = self._points
        if points and t - points[-1][0] < self._spacing:
            return
        if not points:
            self._t0, self._v0 = t, value
        elif len(points) >= self.max_points:
            self._sum(*points.popleft(), -1.0)
        points.append((t, value))
        self._sum(t, value, 1.0)
        while points[0][0] <= t - self.window:
            self._sum(*points.popleft(), -1.0)
        if t - self._t0 > 2 * self.window:
            self._rebase()

    def _rebase(self) -> None:
        """Sums again from scratch, relative to the oldest kept reading (amortised O(1))."""
        self._t0, self._v0 = self._points[0]
        self._st = self._sv = self._stt = self._stv = 0.0
        for t, v in self._points:
            self._sum(t, v, 1.0)

    def line(self) -> tuple[float, float] | None:
        """Slope (per second) and the line's value at the newest reading, if there is a line."""
        points = self._points
        n = len(points)
        if n < MIN_POINTS or points[-1][0] - points[0][0] < self.window * MIN_SPAN_SHARE:
            return None
        denominator = n * self._stt - self._st * self._st
        if denominator <= 0:
            return None
        slope = (n * self._stv - self._st * self._sv) / denominator
        intercept = (self._sv - slope * self._st) / n  # at t0, relative to v0
        newest = points[-1][0]
        return slope, self._v0 + intercept + slope * (newest - self._t0)

    def newest(self) -> float | None:
        """The time of the newest reading kept."""
        return self._points[-1][0] if self._points else None

    def predict(self, at: float) -> float | None:
        """The line's value at time ``at`` (a reading's time plus the horizon)."""
        if (line := self.line()) is None:
            return None
        slope, newest = line
        return newest + slope * (at - self._points[-1][0])

    def time_to(self, target: float, now: float) -> float | None:
        """Seconds from ``now`` until the line reaches ``target``.

        None when it never does (flat, or heading away), or not within ``MAX_TIME_TO``; 0
        when it did less than a second ago.
        """
        if (line := self.line()) is None:
            return None
        slope, newest = line
        current = newest + slope * (now - self._points[-1][0])
        if current == target:
            return 0.0
        if slope == 0:
            return None
        seconds = (target - current) / slope
        if -1.0 < seconds < 0:
            return 0.0  # reached within the last second (or rounding): there now
        return seconds if 0 <= seconds <= MAX_TIME_TO else None
