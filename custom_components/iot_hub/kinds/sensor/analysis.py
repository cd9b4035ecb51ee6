"""A sensor device's anomalies and predictions: ``analysis.py`` applied to its readings.

Every reading is checked against the device's rules (O(1) per value); an anomaly detected or
resolved fires the device's event entity, refreshes its problem sensor, fires the bus event
``iot_hub_anomaly`` and goes to the hub's feed. Predictions are computed at most once per
``PREDICTION_INTERVAL`` seconds of readings (none while the device is silent: there is nothing
new to predict from), refresh the predicted sensors and go to the feed, one event per quantity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...analysis import DETECTED, RESOLVED, Anomalies, Anomaly, Change, Rule, Trend, parse_rules
from ...const import EVENT_ANOMALY
from ...feed import FeedKind
from ...kind import KindContext
from ...signals import Update
from .codec import MAX_VALUES
from .const import (
    ANOMALY_EVENT,
    CONF_ANOMALY_RULES,
    CONF_PREDICTION_HORIZON,
    CONF_TREND_WINDOW,
    DEFAULT_PREDICTION_HORIZON,
    DEFAULT_TREND_WINDOW,
    PREDICTION_INTERVAL,
)

METHOD: Final = "linear_trend"
MAX_TRENDS: Final = MAX_VALUES  # quantities one device is predicted for


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    """A device's rules, prediction horizon and trend window (seconds)."""

    rules: Mapping[str, Rule]
    horizon: float
    window: float


def settings_of(data: Mapping[str, Any]) -> AnalysisSettings:
    """The settings in a sensor's subentry data (validated by its form; defaults if unset)."""
    return AnalysisSettings(
        parse_rules(data.get(CONF_ANOMALY_RULES) or None),
        60.0 * data.get(CONF_PREDICTION_HORIZON, DEFAULT_PREDICTION_HORIZON),
        60.0 * data.get(CONF_TREND_WINDOW, DEFAULT_TREND_WINDOW),
    )


class SensorAnalysis:
    """Anomalies now and the latest predictions of one sensor device."""

    def __init__(self, device: KindContext) -> None:
        """Start with the device's settings, no reading and no prediction."""
        self.device = device
        self.settings = settings_of(device.data)
        self.anomalies = Anomalies(self.settings.rules)
        self.trends: dict[str, Trend] = {}
        self.predictions: dict[str, float] = {}
        self.predicted_for: datetime | None = None
        self._next_round = 0.0  # timestamp of the next round of predictions

    @callback
    def reading(self, values: Mapping[str, float], at: datetime) -> None:
        """Check and fold in one reading (kept cheap: wearables send 50 a second)."""
        now = at.timestamp()
        for name, value in values.items():
            if (change := self.anomalies.check(name, value)) is not None:
                self._tell(*change, at)
            if (trend := self.trends.get(name)) is None:
                if len(self.trends) >= MAX_TRENDS:
                    continue
                trend = self.trends[name] = Trend(self.settings.window)
            trend.add(now, value)
        if now >= self._next_round:
            self._next_round = now + PREDICTION_INTERVAL
            self._predict(at, now)

    def _tell(self, change: Change, anomaly: Anomaly, at: datetime) -> None:
        device = self.device
        data = anomaly.as_data()
        device.fire_entity_event(ANOMALY_EVENT, change, data)
        device.notify(Update.ANOMALY)
        device.hass.bus.async_fire(
            EVENT_ANOMALY,
            {
                "device_id": device.ha_device_id(),
                "device_name": device.name,
                "event_type": change,
                **data,
            },
        )
        kind = FeedKind.ANOMALY if change == DETECTED else FeedKind.ANOMALY_RESOLVED
        device.publish(kind, data, at)

    def _predict(self, at: datetime, now: float) -> None:
        horizon = self.settings.horizon
        had = bool(self.predictions)
        self.predictions = {}
        self.predicted_for = at + timedelta(seconds=horizon)
        for name, trend in self.trends.items():
            if (value := trend.predict(now + horizon)) is None:
                continue
            self.predictions[name] = value
            self.device.publish(
                FeedKind.PREDICTION,
                {
                    "quantity": name,
                    "value": value,
                    "horizon_s": horizon,
                    "predicted_for": self.predicted_for,
                    "method": METHOD,
                    "window_s": self.settings.window,
                    "points": len(trend),
                },
                at,
            )
        if had or self.predictions:
            self.device.notify(Update.PREDICTION)

    @callback
    def config_changed(self) -> bool:
        """Apply new settings; True when the device has rules now and had none before.

        New rules start afresh: an anomaly active under the old ones is resolved (with the
        quantity's last value). A new window drops the trends.
        """
        settings = settings_of(self.device.data)
        if settings == self.settings:
            return False
        now = dt_util.utcnow()
        for ended in self.anomalies.clear():
            self._tell(RESOLVED, ended, now)
        if settings.window != self.settings.window:
            self.trends = {}
        had_rules = bool(self.settings.rules)
        self.settings = settings
        self.anomalies = Anomalies(settings.rules)
        self.device.notify(Update.ANOMALY)
        return bool(settings.rules) and not had_rules

    def diagnostics(self) -> dict[str, Any]:
        """Rules, active anomalies and latest predictions."""
        return {
            "rules": {name: rule.as_data() for name, rule in self.settings.rules.items()},
            "anomalies": [anomaly.as_data() for anomaly in self.anomalies.active.values()],
            "predictions": dict(self.predictions),
            "trend_points": {name: len(trend) for name, trend in self.trends.items()},
        }
