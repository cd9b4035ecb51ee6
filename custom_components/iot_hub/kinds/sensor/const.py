"""Keys and defaults of the sensor kind (seeds 001 and 004)."""

from __future__ import annotations

from typing import Final

KIND: Final = "sensor"

# Keys of a sensor device's subentry data.
CONF_SENSOR_ID: Final = "sensor_id"  # seed 001's integer id (``entity_id``, ``sensor_id``)
CONF_CONSUMER_ID: Final = "consumer_id"  # seed 004's ``consumidor_id`` (its stream key)
CONF_TIPO: Final = "tipo"  # seed 001's sensor type (``temperatura``)
CONF_MODELO: Final = "modelo"  # seed 001's model (``DHT22``)
