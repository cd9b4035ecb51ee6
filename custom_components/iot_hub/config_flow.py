"""Config flow: one hub entry; devices are subentries with a token shown once; options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.network import NoURLAvailableError, get_url
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import probatio as vol

from .const import (
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_RESUME_GRACE,
    CONF_TOKEN_HASH,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_RESUME_GRACE,
    DOMAIN,
    SUBENTRY_DEVICE,
    WS_PATH,
    DeviceKind,
)
from .tokens import generate_token, hash_token

CONF_ROTATE_TOKEN = "rotate_token"
# Kinds a user can add. Chargers are offered once their entities and cards exist (issue 3).
ADDABLE_KINDS = (DeviceKind.OVEN,)
HUB_TITLE = "IoT Hub"


def _device_url(hass: HomeAssistant, token: str) -> str:
    """The URL a device's firmware connects to."""
    try:
        base = get_url(hass, allow_external=False)
    except NoURLAvailableError:
        base = "http://HOME_ASSISTANT_HOST:8123"
    return f"{base.replace('http', 'ws', 1)}{WS_PATH}?token={token}"


class IotHubConfigFlow(ConfigFlow, domain=DOMAIN):
    """Creates the single hub entry."""

    VERSION = 1
    MINOR_VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm adding the hub (it has nothing to connect to, so nothing to test)."""
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured()
        if user_input is not None:
            return self.async_create_entry(title=HUB_TITLE, data={})
        return self.async_show_form(step_id="user")

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> IotHubOptionsFlow:
        """Session options."""
        return IotHubOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Devices are added as subentries of the hub."""
        return {SUBENTRY_DEVICE: DeviceSubentryFlow}


class IotHubOptionsFlow(OptionsFlow):
    """History size and the restart grace period.

    A plain ``OptionsFlow``: the entry's update listener applies options in place, so no
    reload drops the connected devices.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options."""
        if user_input is not None:
            return self.async_create_entry(
                data={key: int(value) for key, value in user_input.items()}
            )
        options = self.config_entry.options
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_HISTORY_SIZE,
                    default=options.get(CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE),
                ): NumberSelector(
                    NumberSelectorConfig(min=1, max=100000, mode=NumberSelectorMode.BOX)
                ),
                vol.Required(
                    CONF_RESUME_GRACE,
                    default=options.get(CONF_RESUME_GRACE, DEFAULT_RESUME_GRACE),
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=0, max=86400, unit_of_measurement="s", mode=NumberSelectorMode.BOX
                    )
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)


class DeviceSubentryFlow(ConfigSubentryFlow):
    """Add a device (token generated and shown once), rename it or rotate its token."""

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._name = ""
        self._kind = DeviceKind.OVEN
        self._token = ""

    def _name_taken(self, name: str, except_id: str | None = None) -> bool:
        return any(
            sub.title.casefold() == name.casefold() and sub.subentry_id != except_id
            for sub in self._get_entry().subentries.values()
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name and kind of the new device."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_empty"
            elif self._name_taken(name):
                errors[CONF_NAME] = "name_exists"
            else:
                self._name, self._kind = name, DeviceKind(user_input[CONF_KIND])
                self._token = generate_token()
                return await self.async_step_token()
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                vol.Required(CONF_KIND, default=DeviceKind.OVEN.value): SelectSelector(
                    SelectSelectorConfig(
                        options=[kind.value for kind in ADDABLE_KINDS],
                        translation_key=CONF_KIND,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )

    async def async_step_token(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the token once; only its digest is stored."""
        if user_input is None:
            return self.async_show_form(
                step_id="token",
                description_placeholders={
                    "name": self._name,
                    "token": self._token,
                    "url": _device_url(self.hass, self._token),
                },
            )
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=self._name,
                data_updates={CONF_TOKEN_HASH: hash_token(self._token)},
            )
        return self.async_create_entry(
            title=self._name,
            data={CONF_KIND: self._kind.value, CONF_TOKEN_HASH: hash_token(self._token)},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename the device and, if asked, replace its token (the old one stops working)."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_empty"
            elif self._name_taken(name, except_id=subentry.subentry_id):
                errors[CONF_NAME] = "name_exists"
            elif user_input[CONF_ROTATE_TOKEN]:
                self._name = name
                self._token = generate_token()
                return await self.async_step_token()
            else:
                return self.async_update_and_abort(self._get_entry(), subentry, title=name)
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=subentry.title): TextSelector(),
                vol.Required(CONF_ROTATE_TOKEN, default=False): BooleanSelector(),
            }
        )
        return self.async_show_form(step_id="reconfigure", data_schema=schema, errors=errors)
