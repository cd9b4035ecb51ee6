"""An appliance in the UI: its serial, the seed's descriptive fields, its mode and schedule.

Adding one by hand is claiming it before it was seen (the seed's QR flow); confirming it in
*Discovered* is claiming one that was. Reconfiguring edits what the seed's ``PUT`` edits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import probatio as vol

from ...const import CONF_MQTT_ID
from ...protocol import ProtocolError
from .codec import Configuracion, Modo, serial_number
from .const import (
    CONF_CONFIGURACION,
    CONF_DESCRIPCION,
    CONF_LOG_SIZE,
    CONF_MODELO,
    CONF_SCHEDULE,
    CONF_SERIAL,
    CONF_TIPO,
    DEFAULT_LOG_SIZE,
    MAX_LOG_SIZE,
)
from .entities import MODES
from .records import configuracion_of

CONF_MODO: Final = "modo"
TEXTS: Final = (CONF_TIPO, CONF_MODELO, CONF_DESCRIPCION)
MAX_TEXT: Final = 256


class ApplianceFields:
    """The serial (when adding), type, model, description, mode and schedule helper."""

    def schema(self, current: Mapping[str, Any] | None) -> dict[Any, Any]:
        """The fields; the serial is fixed once the device exists (it names its topics)."""
        schema: dict[Any, Any] = {}
        if current is None:
            schema[vol.Required(CONF_SERIAL)] = TextSelector()
        for key in TEXTS:
            schema[vol.Optional(key)] = TextSelector()
        modo = configuracion_of(current or {}).modo
        schema[vol.Required(CONF_MODO, default=modo)] = SelectSelector(
            SelectSelectorConfig(
                options=MODES, translation_key=CONF_MODO, mode=SelectSelectorMode.LIST
            )
        )
        schema[vol.Optional(CONF_SCHEDULE)] = EntitySelector(
            EntitySelectorConfig(domain="schedule")
        )
        return schema

    def suggested(self, others: Sequence[ConfigSubentry]) -> dict[str, Any]:
        """Nothing to suggest (the serial is printed on the device or its QR code)."""
        return {}

    def current_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """What a reconfigure form shows as entered."""
        values = {key: data[key] for key in (*TEXTS, CONF_SCHEDULE) if data.get(key)}
        return {**values, CONF_MODO: configuracion_of(data).modo}

    def validate(
        self,
        user_input: Mapping[str, Any],
        others: Sequence[ConfigSubentry],
        current: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """A well-formed serial no other device has; texts within bounds."""
        data: dict[str, Any] = {}
        if current is None:
            try:
                serial = serial_number(str(user_input.get(CONF_SERIAL, "")).strip())
            except ProtocolError:
                return {}, {CONF_SERIAL: "serial_invalid"}
            if any(sub.data.get(CONF_MQTT_ID) == serial for sub in others):
                return {}, {CONF_SERIAL: "serial_exists"}
            data = {CONF_SERIAL: serial, CONF_MQTT_ID: serial}
        for key in TEXTS:
            text = str(user_input.get(key) or "").strip()
            if len(text) > MAX_TEXT or not text.isprintable():
                return {}, {key: "text_invalid"}
            data[key] = text or None
        before = configuracion_of(current or {})
        modo: Modo = "horario" if user_input.get(CONF_MODO) == "horario" else "manual"
        data[CONF_CONFIGURACION] = Configuracion(modo, before.encendido, before.horarios).as_dict()
        data[CONF_SCHEDULE] = user_input.get(CONF_SCHEDULE) or None
        return data, {}

    def device_query(self, data: Mapping[str, Any]) -> str:
        """Appliances do not use the WebSocket."""
        return ""


class ApplianceOptions:
    """Hub option of appliances: how many log rows each keeps (the seed's ``EstadoLog``)."""

    def schema(self, options: Mapping[str, Any], hass: HomeAssistant) -> dict[Any, Any]:
        """The log size, showing the saved one."""
        size = options.get(CONF_LOG_SIZE, DEFAULT_LOG_SIZE)
        return {
            vol.Required(CONF_LOG_SIZE, default=size): NumberSelector(
                NumberSelectorConfig(min=10, max=MAX_LOG_SIZE, mode=NumberSelectorMode.BOX)
            )
        }

    def clean(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """The size as an integer."""
        return {CONF_LOG_SIZE: int(user_input.get(CONF_LOG_SIZE, DEFAULT_LOG_SIZE))}
