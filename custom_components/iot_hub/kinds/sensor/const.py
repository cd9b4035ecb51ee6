"""Keys and defaults of the sensor kind (seeds 001 and 004)."""

from __future__ import annotations

from typing import Final

KIND: Final = "sensor"

# Keys of a sensor device's subentry data.
CONF_SENSOR_ID: Final = "sensor_id"  # seed 001's integer id (``entity_id``, ``sensor_id``)
CONF_CONSUMER_ID: Final = "consumer_id"  # seed 004's ``consumidor_id`` (its stream key)
CONF_TIPO: Final = "tipo"  # seed 001's sensor type (``temperatura``)
CONF_MODELO: Final = "modelo"  # seed 001's model (``DHT22``)

# Anomalies and predictions (``analysis.py``), per device.
CONF_ANOMALY_RULES: Final = "anomaly_rules"  # {quantity: {"min", "max", "jump"}}
CONF_PREDICTION_HORIZON: Final = "prediction_horizon"  # minutes ahead
CONF_TREND_WINDOW: Final = "trend_window"  # minutes of readings the trend fits
DEFAULT_PREDICTION_HORIZON: Final = 15
DEFAULT_TREND_WINDOW: Final = 10
MAX_MINUTES: Final = 1440  # a day, for both
PREDICTION_INTERVAL: Final = 30.0  # seconds between two rounds of a device's predictions
ANOMALY_EVENT: Final = "anomaly"  # key of the event entity

# Readings per second one sensor may send (bursts of twice that), over a connection or POSTs:
# a 100 Hz IMU with its heart rate and a margin, 4 times what ovens and chargers may send.
MAX_RATE: Final = 200.0
