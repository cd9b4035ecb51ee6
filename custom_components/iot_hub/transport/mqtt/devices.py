"""MQTT devices on the hub's bus: topics in, frames to their kind, commands and config out.

Every MQTT device has a topic id ``<id>``: it publishes its frames on ``<prefix>/<id>/state``
and its availability (birth and last will) on ``<prefix>/<id>/status``; the hub publishes
what it would send over a WebSocket on ``<prefix>/<id>/command`` and a configuration, retained,
on ``<prefix>/<id>/config``. Unmodified legacy firmware publishes on a topic of its own (a hub
option): the kind reads the serial from the payload. A message from an id no device has goes
to the kinds that discover devices. This module moves messages only; it knows no kind.

Payloads are checked like WebSocket frames before any kind sees them: a size limit, UTF-8, and
a rate per id; what is refused is logged at most once a minute per id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
import logging
import time
from typing import TYPE_CHECKING, Final

from homeassistant.core import HomeAssistant, callback

from ..limits import FailureThrottle, TokenBucket
from .bus import MqttBus, Unsubscribe
from .topics import STATE, STATUS, STATUS_OFFLINE, STATUS_ONLINE, leaf_filter, topic_id

if TYPE_CHECKING:
    from ...device import DeviceRuntime

_LOGGER = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES: Final = 16 * 1024  # like a WebSocket frame: far above any device's message
LOG_INTERVAL: Final = 60.0  # seconds between two log lines about one id's refused messages
MAX_THROTTLED_IDS: Final = 1024  # ids remembered for rate and log throttling


@dataclass(slots=True)
class _Throttle:
    """Per id: the inbound rate and when a refusal was last logged."""

    bucket: TokenBucket = field(default_factory=TokenBucket)


class MqttLink:
    """An MQTT device as the hub's ``Link``: frames to it go to its command topic."""

    def __init__(self, devices: MqttDevices, mqtt_id: str) -> None:
        """The link of the device with topic id ``mqtt_id``."""
        self._devices = devices
        self.mqtt_id = mqtt_id
        self._closed = False

    @property
    def peer(self) -> str:
        """The device's topic id, for log lines."""
        return f"mqtt:{self.mqtt_id}"

    @property
    def closing(self) -> bool:
        """Whether the hub let go of this link (the device went offline or was removed)."""
        return self._closed

    def send_text(self, text: str) -> None:
        """Publish a frame on the device's command topic (QoS 1, not retained)."""
        if not self._closed:
            self._devices.publish(self.mqtt_id, "command", text, retain=False)

    def close(self, code: int, reason: str) -> None:
        """Nothing to close on MQTT: the link only stops carrying frames."""
        self._closed = True


class MqttDevices:
    """The hub's MQTT devices on one bus (HA's MQTT or a dedicated connection)."""

    def __init__(
        self,
        hass: HomeAssistant,
        bus: MqttBus,
        prefix: str,
        legacy_filter: str,
        *,
        device_for: Callable[[str], DeviceRuntime | None],
        id_from_payload: Callable[[str], str | None],
        unknown: Callable[[str | None, str], None],
        attach: Callable[[DeviceRuntime, MqttLink], None],
        detach: Callable[[DeviceRuntime, MqttLink], None],
        deliver: Callable[[DeviceRuntime, MqttLink, str], None],
    ) -> None:
        """Route by topic id; the callables are the hub's."""
        self.hass = hass
        self.bus = bus
        self.prefix = prefix
        self.legacy_filter = legacy_filter
        self._device_for = device_for
        self._id_from_payload = id_from_payload
        self._unknown = unknown
        self._attach = attach
        self._detach = detach
        self._deliver = deliver
        self._links: dict[str, MqttLink] = {}
        self._last_heard: dict[str, float] = {}
        self._status: dict[str, str] = {}  # what each id last said on its status topic
        self._throttles: dict[str, _Throttle] = {}
        self._refusals = FailureThrottle(LOG_INTERVAL)
        self._unsubscribes: list[Unsubscribe] = []

    async def async_start(self) -> None:
        """Connect and subscribe to every device's state and status, and the legacy topic."""
        await self.bus.async_start()
        subscriptions: list[tuple[str, Callable[[str, bytes], None]]] = [
            (leaf_filter(self.prefix, STATE), self._on_state),
            (leaf_filter(self.prefix, STATUS), self._on_status),
        ]
        if self.legacy_filter:
            subscriptions.append((self.legacy_filter, self._on_legacy))
        for topic_filter, handler in subscriptions:
            self._unsubscribes.append(await self.bus.async_subscribe(topic_filter, handler))
        self._unsubscribes.append(self.bus.on_connection_change(self._on_connection))

    async def async_stop(self) -> None:
        """Unsubscribe and disconnect."""
        for unsubscribe in self._unsubscribes:
            unsubscribe()
        self._unsubscribes.clear()
        await self.bus.async_stop()

    @property
    def connected(self) -> bool:
        """Whether the broker is reachable."""
        return self.bus.connected

    def publish(self, mqtt_id: str, leaf: str, payload: str, retain: bool) -> None:
        """Publish to one device's topic (in a task: callers are callbacks)."""
        self.hass.async_create_task(
            self.bus.async_publish(f"{self.prefix}/{mqtt_id}/{leaf}", payload, 1, retain),
            f"iot_hub publish {leaf} to {mqtt_id}",
            eager_start=True,
        )

    def link(self, mqtt_id: str) -> MqttLink:
        """The device's link (one per id while the device is online)."""
        if (link := self._links.get(mqtt_id)) is None or link.closing:
            link = self._links[mqtt_id] = MqttLink(self, mqtt_id)
        return link

    # -- inbound ---------------------------------------------------------------------------

    @callback
    def _on_state(self, name: str, payload: bytes) -> None:
        if (mqtt_id := topic_id(self.prefix, name)) is None:
            return
        if (text := self._admit(mqtt_id, payload)) is not None:
            self._frame(mqtt_id, text)

    @callback
    def _on_legacy(self, name: str, payload: bytes) -> None:
        if (text := self._admit(name, payload)) is None:
            return
        if (mqtt_id := self._id_from_payload(text)) is None:
            self._log_refused(name, "no serial_number in the payload")
            return
        self._frame(mqtt_id, text, legacy=True)

    def _frame(self, mqtt_id: str, text: str, legacy: bool = False) -> None:
        self._heard(mqtt_id)
        if (device := self._device_for(mqtt_id)) is None:
            self._unknown(None if legacy else mqtt_id, text)
            return
        link = self.link(mqtt_id)
        if device.link is not link:
            self._attach(device, link)  # heard from: online, even without a status topic
        self._deliver(device, link, text)

    @callback
    def _on_status(self, name: str, payload: bytes) -> None:
        if (mqtt_id := topic_id(self.prefix, name)) is None:
            return
        if not payload:
            return  # a retained status being cleared
        status = payload.decode(errors="replace").strip().casefold()
        if status not in (STATUS_ONLINE, STATUS_OFFLINE):
            self._log_refused(mqtt_id, f"status must be {STATUS_ONLINE} or {STATUS_OFFLINE}")
            return
        self._heard(mqtt_id)
        self._status[mqtt_id] = status
        if (device := self._device_for(mqtt_id)) is not None:
            self._apply_status(device, mqtt_id)

    def _heard(self, mqtt_id: str) -> None:
        if mqtt_id not in self._last_heard and len(self._last_heard) >= MAX_THROTTLED_IDS:
            # Ids nobody added come and go (a flood of random ones): forget the oldest.
            forgotten = next(iter(self._last_heard))
            del self._last_heard[forgotten]
            self._status.pop(forgotten, None)
        self._last_heard[mqtt_id] = time.monotonic()

    def _apply_status(self, device: DeviceRuntime, mqtt_id: str) -> None:
        if self._status.get(mqtt_id) == STATUS_OFFLINE:
            self.went_offline(device, mqtt_id)
            return
        link = self.link(mqtt_id)
        if device.link is not link:
            self._attach(device, link)

    def adopt(self, device: DeviceRuntime, silence: float) -> None:
        """A device just added (a claim): online if its status says so, or if it spoke lately.

        What it published before it was added counts: a device claimed from *Discovered* is
        not unavailable until it happens to speak again.
        """
        if (mqtt_id := device.mqtt_id) is None or mqtt_id not in self._last_heard:
            return
        if mqtt_id in self._status or time.monotonic() - self._last_heard[mqtt_id] < silence:
            self._apply_status(device, mqtt_id)

    def went_offline(self, device: DeviceRuntime, mqtt_id: str) -> None:
        """The device is offline (its last will, silence, or the broker is gone)."""
        if (link := self._links.pop(mqtt_id, None)) is not None:
            link.close(0, "offline")
            self._detach(device, link)

    @callback
    def _on_connection(self, connected: bool) -> None:
        if connected:
            _LOGGER.info("MQTT broker connected")
            return
        # Without the broker nothing can be known of MQTT devices: they are unavailable
        # until they are heard from again.
        _LOGGER.warning(
            "MQTT broker connection lost; MQTT devices are unavailable until it is back"
        )
        for mqtt_id in list(self._links):
            if (device := self._device_for(mqtt_id)) is not None:
                self.went_offline(device, mqtt_id)

    @callback
    def check_silence(self, devices: Iterable[DeviceRuntime], timeout: float) -> None:
        """Devices with no last will and silent for ``timeout`` seconds go offline."""
        now = time.monotonic()
        for device in devices:
            mqtt_id = device.mqtt_id
            if mqtt_id is None or mqtt_id in self._status or mqtt_id not in self._links:
                continue
            if now - self._last_heard.get(mqtt_id, now) >= timeout:
                _LOGGER.info("%s is silent for %.0f s: offline", device.name, timeout)
                self.went_offline(device, mqtt_id)

    def _admit(self, key: str, payload: bytes) -> str | None:
        """The payload as text, or None (logged) when it is too big, not UTF-8 or too fast."""
        throttle = self._throttle(key)
        if not throttle.bucket.allow():
            self._log_refused(key, "messages arrive faster than allowed; dropping")
            return None
        if len(payload) > MAX_PAYLOAD_BYTES:
            self._log_refused(key, f"payload of {len(payload)} bytes is over {MAX_PAYLOAD_BYTES}")
            return None
        try:
            return payload.decode()
        except UnicodeDecodeError:
            self._log_refused(key, "payload is not UTF-8")
            return None

    def _throttle(self, key: str) -> _Throttle:
        if (throttle := self._throttles.get(key)) is None:
            if len(self._throttles) >= MAX_THROTTLED_IDS:
                # Random ids must not grow the table without end; forgetting one only resets
                # its rate and its log line.
                self._throttles.pop(next(iter(self._throttles)))
            device = self._device_for(key)
            rate = device.kind.max_rate if device is not None else None
            throttle = self._throttles[key] = _Throttle(TokenBucket.for_rate(rate))
        return throttle

    def _log_refused(self, key: str, why: str) -> None:
        """Log a refused message once a minute per id: a broken device must not fill the log."""
        if self._refusals.should_report(key):
            _LOGGER.warning("MQTT message from %s refused: %s", key, why)
