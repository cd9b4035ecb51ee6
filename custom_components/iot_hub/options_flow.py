"""Options of the hub: sessions, app connection caps, MQTT (and its broker), each kind's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol

from . import kinds
from .const import (
    CONF_HISTORY_SIZE,
    CONF_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER,
    CONF_MQTT_SILENCE,
    CONF_RESUME_GRACE,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    DEFAULT_MAX_CONNECTIONS_PER_USER,
    DEFAULT_MQTT_SILENCE,
    DEFAULT_RESUME_GRACE,
)
from .transport.mqtt.settings import (
    CONF_MQTT_CLIENT_ID,
    CONF_MQTT_HOST,
    CONF_MQTT_LEGACY_FILTER,
    CONF_MQTT_PASSWORD,
    CONF_MQTT_PORT,
    CONF_MQTT_PREFIX,
    CONF_MQTT_TLS,
    CONF_MQTT_TRANSPORT,
    CONF_MQTT_USERNAME,
    DEFAULT_MQTT_PORT,
    TRANSPORT_DEDICATED,
    TRANSPORTS,
    async_check_broker,
    legacy_filter_of,
    prefix_of,
    transport_of,
)
from .transport.mqtt.topics import valid_filter, valid_prefix

BROKER_KEYS = (
    CONF_MQTT_HOST,
    CONF_MQTT_PORT,
    CONF_MQTT_USERNAME,
    CONF_MQTT_PASSWORD,
    CONF_MQTT_TLS,
    CONF_MQTT_CLIENT_ID,
)


# App/dashboard connections one address or one HA user may hold at once (the WebSocket's).
_CONNECTION_CAPS: dict[str, int] = {
    CONF_MAX_CONNECTIONS_PER_ADDRESS: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER: DEFAULT_MAX_CONNECTIONS_PER_USER,
}


class IotHubOptionsFlow(OptionsFlow):
    """Sessions, app connection caps, MQTT, then each kind's options (price, log size).

    A plain ``OptionsFlow``: the entry's update listener applies options in place, so no
    reload drops the connected devices. Kinds read their options when they use them. A
    dedicated MQTT broker is asked for, and tried, in a second step.
    """

    def __init__(self) -> None:
        """Nothing entered yet."""
        self._options: dict[str, Any] = {}

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options; a cleared optional field is removed."""
        option_fields = [kind.options for kind in kinds.registered() if kind.options]
        errors: dict[str, str] = {}
        current = dict(self.config_entry.options)
        if user_input is not None:
            options: dict[str, Any] = {
                CONF_HISTORY_SIZE: int(user_input[CONF_HISTORY_SIZE]),
                CONF_RESUME_GRACE: int(user_input[CONF_RESUME_GRACE]),
                **{key: int(user_input[key]) for key in _CONNECTION_CAPS},
                CONF_MQTT_TRANSPORT: user_input[CONF_MQTT_TRANSPORT],
                CONF_MQTT_PREFIX: str(user_input[CONF_MQTT_PREFIX]).strip(),
                CONF_MQTT_LEGACY_FILTER: str(user_input.get(CONF_MQTT_LEGACY_FILTER) or "").strip(),
                CONF_MQTT_SILENCE: int(user_input[CONF_MQTT_SILENCE]),
            }
            for fields in option_fields:
                options.update(fields.clean(user_input))
            if not valid_prefix(options[CONF_MQTT_PREFIX]):
                errors[CONF_MQTT_PREFIX] = "prefix_invalid"
            legacy = options[CONF_MQTT_LEGACY_FILTER]
            if legacy and not valid_filter(legacy):
                errors[CONF_MQTT_LEGACY_FILTER] = "filter_invalid"
            if not errors:
                # The broker's settings stay until the broker step replaces them.
                self._options = {**_broker_options(current), **options}
                if options[CONF_MQTT_TRANSPORT] == TRANSPORT_DEDICATED:
                    return await self.async_step_broker()
                return self.async_create_entry(data=self._options)
        schema: dict[Any, Any] = {
            vol.Required(
                CONF_HISTORY_SIZE, default=current.get(CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE)
            ): NumberSelector(NumberSelectorConfig(min=1, max=100000, mode=NumberSelectorMode.BOX)),
            vol.Required(
                CONF_RESUME_GRACE, default=current.get(CONF_RESUME_GRACE, DEFAULT_RESUME_GRACE)
            ): _seconds(86400),
        }
        for key, default in _CONNECTION_CAPS.items():
            schema[vol.Required(key, default=current.get(key, default))] = NumberSelector(
                NumberSelectorConfig(min=1, max=10000, mode=NumberSelectorMode.BOX)
            )
        schema.update(
            {
                vol.Required(CONF_MQTT_TRANSPORT, default=transport_of(current)): SelectSelector(
                    SelectSelectorConfig(
                        options=list(TRANSPORTS),
                        translation_key=CONF_MQTT_TRANSPORT,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                vol.Required(CONF_MQTT_PREFIX, default=prefix_of(current)): TextSelector(),
                vol.Optional(CONF_MQTT_LEGACY_FILTER): TextSelector(),
                vol.Required(
                    CONF_MQTT_SILENCE, default=current.get(CONF_MQTT_SILENCE, DEFAULT_MQTT_SILENCE)
                ): _seconds(86400, minimum=30),
            }
        )
        for fields in option_fields:
            schema.update(fields.schema(current, self.hass))
        suggested = user_input or {CONF_MQTT_LEGACY_FILTER: legacy_filter_of(current) or ""}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(schema), suggested),
            errors=errors,
        )

    async def async_step_broker(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """The dedicated broker: tried once before it is saved."""
        errors: dict[str, str] = {}
        if user_input is not None:
            broker = {
                CONF_MQTT_HOST: str(user_input[CONF_MQTT_HOST]).strip(),
                CONF_MQTT_PORT: int(user_input[CONF_MQTT_PORT]),
                CONF_MQTT_USERNAME: user_input.get(CONF_MQTT_USERNAME) or "",
                CONF_MQTT_PASSWORD: user_input.get(CONF_MQTT_PASSWORD) or "",
                CONF_MQTT_TLS: bool(user_input.get(CONF_MQTT_TLS, False)),
                CONF_MQTT_CLIENT_ID: str(user_input.get(CONF_MQTT_CLIENT_ID) or "").strip(),
            }
            options = {**self._options, **broker}
            if (error := await async_check_broker(self.hass, options)) is None:
                return self.async_create_entry(data=options)
            errors["base"] = error
        current = {**self._options, **(user_input or {})}
        schema = {
            vol.Required(CONF_MQTT_HOST, default=current.get(CONF_MQTT_HOST, "")): TextSelector(),
            vol.Required(
                CONF_MQTT_PORT, default=current.get(CONF_MQTT_PORT, DEFAULT_MQTT_PORT)
            ): NumberSelector(NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)),
            vol.Optional(CONF_MQTT_USERNAME): TextSelector(),
            vol.Optional(CONF_MQTT_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            vol.Required(CONF_MQTT_TLS, default=current.get(CONF_MQTT_TLS, False)): (
                BooleanSelector()
            ),
            vol.Optional(CONF_MQTT_CLIENT_ID): TextSelector(),
        }
        suggested = {
            key: current[key]
            for key in (CONF_MQTT_USERNAME, CONF_MQTT_PASSWORD, CONF_MQTT_CLIENT_ID)
            if current.get(key)
        }
        return self.async_show_form(
            step_id="broker",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(schema), suggested),
            errors=errors,
        )


def _seconds(maximum: int, minimum: int = 0) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum, max=maximum, unit_of_measurement="s", mode=NumberSelectorMode.BOX
        )
    )


def _broker_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The saved dedicated broker's settings (kept when HA's MQTT is chosen meanwhile)."""
    return {key: options[key] for key in BROKER_KEYS if key in options}
