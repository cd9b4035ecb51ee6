"""One sensor device: its readings in (WebSocket, MQTT, the legacy REST), its live values out.

A reading is an object of named numbers (``codec.decode_reading``). Each accepted one updates
the values, creates the sensor of a name seen the first time, and goes to the hub's feed, from
which the event channels and live streams serve it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
import json
import logging
from typing import Any, Final

from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...descriptions import IotHubEntityDescription
from ...errors import ErrorKey
from ...feed import FeedKind
from ...kind import Inbound, KindContext, KindHandler, Source
from ...protocol import ProtocolError
from ...signals import Update
from ...transport.limits import FailureThrottle, TokenBucket
from .analysis import SensorAnalysis
from .codec import MAX_VALUES, Reading, decode_reading
from .const import CONF_CONSUMER_ID, CONF_MODELO, CONF_SENSOR_ID, CONF_TIPO, MAX_RATE
from .entities import ANOMALY, PROBLEM, measurement_description, prediction_description

_LOGGER = logging.getLogger(__name__)

MAX_NAMES: Final = MAX_VALUES  # value names (and so sensors) one device may create


def wire_error(_source: Source, key: ErrorKey) -> str:
    """The error frame of a sensor device or client: ``{"type":"error","error":...}``."""
    return encode_error(key.value.replace("_", " "))


def encode_error(message: str) -> str:
    """An error frame (every frame of these protocols carries ``type``)."""
    return json.dumps({"type": "error", "error": message})


class SensorHandler(KindHandler):
    """A sensor's last values and the names it has reported."""

    def __init__(self, device: KindContext) -> None:
        """Restore the names seen before, so their sensors exist from the start."""
        super().__init__(device)
        self.values: dict[str, float] = {}
        self.reading_at: datetime | None = None
        stored = device.stored_state().get("names", [])
        self._names: list[str] = [name for name in stored if isinstance(name, str)][:MAX_NAMES]
        self._bad = FailureThrottle()
        self._post_bucket = TokenBucket.for_rate(MAX_RATE)
        self.analysis = SensorAnalysis(device)
        device.keep_state(lambda: {"names": list(self._names)})

    @property
    def sensor_id(self) -> int | None:
        """Seed 001's integer id of this sensor."""
        value = self.device.data.get(CONF_SENSOR_ID)
        return value if isinstance(value, int) else None

    @property
    def consumer_id(self) -> str | None:
        """Seed 004's ``consumidor_id`` of this sensor's wearer, if it has one."""
        value = self.device.data.get(CONF_CONSUMER_ID)
        return value if isinstance(value, str) and value else None

    def legacy_record(self) -> dict[str, Any]:
        """Seed 001's sensor object (``id, tipo, modelo``; ``created_at`` is the caller's)."""
        return {
            "id": self.sensor_id,
            "tipo": self.device.data.get(CONF_TIPO),
            "modelo": self.device.data.get(CONF_MODELO),
        }

    @callback
    def receive(self, inbound: Inbound) -> None:
        """A reading from the device; sensors take no frames from apps."""
        if inbound.source is not Source.DEVICE:
            inbound.link.send_text(encode_error("sensors take no commands"))
            return
        try:
            reading = decode_reading(inbound.text)
        except ProtocolError as err:
            self._refuse(inbound, str(err))
            return
        self.accept(reading)

    def _refuse(self, inbound: Inbound, why: str) -> None:
        if self._bad.should_report(self.device.id):
            _LOGGER.warning("%s sent a reading that cannot be read: %s", self.device.name, why)
            # Seed 001's system_event "error", as often as the log line (once a minute).
            self.device.publish(FeedKind.ERROR, {"message": f"Lectura rechazada: {why}"})
        inbound.link.send_text(encode_error(why))

    @callback
    def accept(self, reading: Reading, at: datetime | None = None) -> int:
        """Apply a reading (from any transport, or posted to the legacy REST routes); its id."""
        received = at or dt_util.utcnow()
        values = self.values
        unseen = False
        for name, value in reading.values.items():
            # Only the names that have a sensor are kept: a device inventing names forever
            # must not grow the hub's memory (the feed still carries the whole reading).
            if name in values:
                values[name] = value
            else:
                unseen = True
        if unseen:  # one loop, no generator per reading; learning sets the new names' values
            self._learn(reading.values)
        self.reading_at = received
        self.device.reading(received)
        self.device.notify(Update.READING)
        reading_id: int = self.device.kind_hub().reading_id()
        self.device.publish(
            FeedKind.READING,
            {
                "id": reading_id,
                "values": reading.values,
                "taken_at": reading.taken_at or received,
            },
            received,
        )
        # After the reading's event: channels show the reading, then what it revealed.
        self.analysis.reading(reading.values, received)
        return reading_id

    def may_post(self) -> bool:
        """Whether another POSTed reading is within the kind's rate (else answer 429).

        The same rate as over a connection (``Kind.max_rate``); a refusal is logged once a
        minute per device.
        """
        if self._post_bucket.allow():
            return True
        if self._bad.should_report(f"{self.device.id}:post"):
            _LOGGER.warning("%s posts readings too fast; refusing some", self.device.name)
        return False

    @callback
    def posted(self, reading: Reading, at: datetime | None = None) -> int:
        """A reading POSTed to a legacy route: the device is present while it posts."""
        self.device.kind_hub().hub.heard_by_post(self.device)
        return self.accept(reading, at)

    def _learn(self, values: Mapping[str, float]) -> None:
        """Names not seen in this run: remembered (up to the cap), with a sensor if new."""
        unseen = [name for name in values if name not in self._names]
        added = unseen[: MAX_NAMES - len(self._names)]
        self._names.extend(added)
        for name in values:
            if name in self._names:
                self.values.setdefault(name, values[name])
        if added:
            self.device.state_changed()
            self.device.new_entities()

    def dynamic_descriptions(self, platform: Platform) -> Sequence[IotHubEntityDescription]:
        """Per value name seen, its sensor and its prediction; with rules, the anomalies'."""
        if platform is Platform.SENSOR:
            return [
                description
                for name in self._names
                for description in (measurement_description(name), prediction_description(name))
            ]
        if self.analysis.settings.rules:
            return {Platform.BINARY_SENSOR: (PROBLEM,), Platform.EVENT: (ANOMALY,)}.get(
                platform, ()
            )
        return ()

    @callback
    def config_changed(self) -> None:
        """New rules, horizon or window; the anomaly entities appear with the first rules."""
        if self.analysis.config_changed():
            self.device.new_entities()

    def registry_info(self) -> dict[str, str | None]:
        """The model the user gave (seed 001's ``modelo``)."""
        modelo = self.device.data.get(CONF_MODELO)
        return {"model": modelo if isinstance(modelo, str) and modelo else None}

    def diagnostics(self) -> dict[str, Any]:
        """Live values."""
        return {
            "values": dict(self.values),
            "names": list(self._names),
            "reading_at": self.reading_at.isoformat() if self.reading_at else None,
            "sensor_id": self.sensor_id,
            "consumer_id": self.consumer_id,
            "analysis": self.analysis.diagnostics(),
        }
