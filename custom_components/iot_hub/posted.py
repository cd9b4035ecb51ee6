"""Devices that only POST their readings (seed 001's firmware): present while they post.

Such a device holds no connection, yet its entities should show its readings, and the event
channels should say when it stops. Each POST makes it connected through a ``PostedLink``; it is
lost after the silence timeout with no POST (the same hub option as for MQTT devices without a
last will). A real connection (WebSocket, MQTT) replaces the posted presence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

if TYPE_CHECKING:
    from .device import DeviceRuntime


class PostedLink:
    """A device's presence by POSTs: nothing can be sent to it (its POST has its response)."""

    def __init__(self) -> None:
        """Open until the silence timeout or a real connection closes it."""
        self._closed = False

    @property
    def peer(self) -> str:
        """For log lines."""
        return "http"

    @property
    def closing(self) -> bool:
        """Whether the presence ended."""
        return self._closed

    def send_text(self, text: str) -> None:
        """Nothing reaches a device that only posts."""

    def close(self, code: int, reason: str) -> None:
        """End the presence (a real connection replaced it, or the device was removed)."""
        self._closed = True


class PostedDevices:
    """Presence of the devices that post, with a timer each."""

    def __init__(
        self,
        hass: HomeAssistant,
        attach: Callable[[DeviceRuntime, Any], None],
        detach: Callable[[DeviceRuntime, Any], None],
    ) -> None:
        """``attach``/``detach`` are the hub's, as for any connection."""
        self._hass = hass
        self._attach = attach
        self._detach = detach
        self._timers: dict[str, Callable[[], None]] = {}

    @callback
    def heard(self, device: DeviceRuntime, silence: float) -> None:
        """The device posted: connected now, lost after ``silence`` seconds without a POST."""
        link = device.link
        if link is not None and not isinstance(link, PostedLink):
            return  # connected for real: that connection says when it goes
        if link is None or link.closing:
            link = PostedLink()
            self._attach(device, link)
        if (cancel := self._timers.pop(device.id, None)) is not None:
            cancel()

        @callback
        def silent(_now: Any) -> None:
            self._timers.pop(device.id, None)
            link.close(0, "silent")
            self._detach(device, link)

        self._timers[device.id] = async_call_later(self._hass, silence, silent)

    @callback
    def stop(self) -> None:
        """Cancel every timer (unload)."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
