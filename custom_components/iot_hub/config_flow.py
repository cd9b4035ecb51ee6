"""Config flow: one hub entry; devices (and a kind's own things, like cards) are subentries.

Kinds add what is theirs: extra device fields (a charger's station id), subentry types (its
cards) and hub options (its energy price). This module names no kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
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

from . import capacity, kinds
from .const import (
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER,
    CONF_RESUME_GRACE,
    CONF_TOKEN_HASH,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    DEFAULT_MAX_CONNECTIONS_PER_USER,
    DEFAULT_RESUME_GRACE,
    DOMAIN,
    SUBENTRY_DEVICE,
    WS_PATH,
)
from .kind import Kind
from .tokens import generate_token, hash_token

CONF_ROTATE_TOKEN = "rotate_token"
HUB_TITLE = "IoT Hub"


def _device_url(hass: HomeAssistant, token: str, query: str = "") -> str:
    """The URL a device's firmware connects to; ``query`` is what its kind adds."""
    try:
        base = get_url(hass, allow_external=False)
    except NoURLAvailableError:
        base = "http://HOME_ASSISTANT_HOST:8123"
    return f"{base.replace('http', 'ws', 1)}{WS_PATH}?{query}token={token}"


def _kind(key: str) -> Kind:
    """The registered kind stored as ``key`` (the form only offers registered ones)."""
    return next(kind for kind in kinds.registered() if kind.key == key)


class IotHubConfigFlow(ConfigFlow, domain=DOMAIN):
    """Creates the single hub entry (``single_config_entry`` in the manifest)."""

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
        """Session options, and the kinds' own."""
        return IotHubOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Devices, and what kinds add (a charger's authorised NFC cards)."""
        types: dict[str, type[ConfigSubentryFlow]] = {SUBENTRY_DEVICE: DeviceSubentryFlow}
        for kind in kinds.registered():
            types.update(kind.subentry_flows)
        return types


# App/dashboard connections one address or one HA user may hold at once (the WebSocket's).
_CONNECTION_CAPS: dict[str, int] = {
    CONF_MAX_CONNECTIONS_PER_ADDRESS: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER: DEFAULT_MAX_CONNECTIONS_PER_USER,
}


class IotHubOptionsFlow(OptionsFlow):
    """History size, restart grace, app connection caps, then each kind's options (price).

    A plain ``OptionsFlow``: the entry's update listener applies options in place, so no
    reload drops the connected devices. Kinds read their options when they use them.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options; a cleared optional field is removed."""
        option_fields = [kind.options for kind in kinds.registered() if kind.options]
        if user_input is not None:
            options: dict[str, Any] = {
                CONF_HISTORY_SIZE: int(user_input[CONF_HISTORY_SIZE]),
                CONF_RESUME_GRACE: int(user_input[CONF_RESUME_GRACE]),
                **{key: int(user_input[key]) for key in _CONNECTION_CAPS},
            }
            for fields in option_fields:
                options.update(fields.clean(user_input))
            return self.async_create_entry(data=options)
        current = dict(self.config_entry.options)
        schema: dict[Any, Any] = {
            vol.Required(
                CONF_HISTORY_SIZE, default=current.get(CONF_HISTORY_SIZE, DEFAULT_HISTORY_SIZE)
            ): NumberSelector(NumberSelectorConfig(min=1, max=100000, mode=NumberSelectorMode.BOX)),
            vol.Required(
                CONF_RESUME_GRACE, default=current.get(CONF_RESUME_GRACE, DEFAULT_RESUME_GRACE)
            ): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=86400, unit_of_measurement="s", mode=NumberSelectorMode.BOX
                )
            ),
        }
        for key, default in _CONNECTION_CAPS.items():
            schema[vol.Required(key, default=current.get(key, default))] = NumberSelector(
                NumberSelectorConfig(min=1, max=10000, mode=NumberSelectorMode.BOX)
            )
        for fields in option_fields:
            schema.update(fields.schema(current, self.hass))
        return self.async_show_form(step_id="init", data_schema=vol.Schema(schema))


class DeviceSubentryFlow(ConfigSubentryFlow):
    """Add a device (token generated and shown once), rename it or rotate its token.

    A kind with fields of its own (a charger's station id) asks for them in the ``details``
    step, and again when the device is reconfigured.
    """

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._name = ""
        self._kind = kinds.registered()[0]
        self._kind_data: dict[str, Any] = {}
        self._token = ""

    def _devices(self, except_id: str | None = None) -> list[ConfigSubentry]:
        return [
            sub
            for sub in self._get_entry().get_subentries_of_type(SUBENTRY_DEVICE)
            if sub.subentry_id != except_id
        ]

    def _name_error(self, name: str, except_id: str | None = None) -> str | None:
        if not name:
            return "name_empty"
        if any(sub.title.casefold() == name.casefold() for sub in self._devices(except_id)):
            return "name_exists"
        return None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name and kind of the new device."""
        registered = kinds.registered()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] | None = None
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if (error := self._name_error(name)) is not None:
                errors[CONF_NAME] = error
            elif (placeholders := self._past_cap(_kind(user_input[CONF_KIND]))) is not None:
                errors["base"] = "hub_full"
            else:
                self._name = name
                self._kind = _kind(user_input[CONF_KIND])
                if self._kind.fields is not None:
                    return await self.async_step_details()
                self._token = generate_token()
                return await self.async_step_token()
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME): TextSelector(),
                vol.Required(CONF_KIND, default=registered[0].key): SelectSelector(
                    SelectSelectorConfig(
                        options=[kind.key for kind in registered],
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
            description_placeholders=placeholders,
        )

    def _past_cap(self, kind: Kind) -> dict[str, str] | None:
        """The refusal's placeholders when a device of ``kind`` would pass HA's entity cap.

        HA would create it without all its entities (a log line only): refuse it here.
        """
        known = {known.key: known for known in kinds.registered()}
        count = capacity.wanted_entities(self.hass, self._get_entry(), known)
        count += capacity.enabled_by_default(kind)
        if count <= (cap := capacity.max_enabled()):
            return None
        return {"count": str(count), "max": str(cap)}

    async def async_step_details(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The fields the device's kind needs (a charger's station id)."""
        fields = self._kind.fields
        assert fields is not None  # only kinds with fields come here
        errors: dict[str, str] = {}
        if user_input is not None:
            self._kind_data, errors = fields.validate(user_input, self._devices())
            if not errors:
                self._token = generate_token()
                return await self.async_step_token()
        suggested: Mapping[str, Any] = user_input or fields.suggested(self._devices())
        return self.async_show_form(
            step_id="details",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(fields.schema(None)), suggested
            ),
            errors=errors,
            description_placeholders={"name": self._name},
        )

    async def async_step_token(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the token once; only its digest is stored."""
        if user_input is None:
            fields = self._kind.fields
            query = fields.device_query(self._kind_data) if fields else ""
            return self.async_show_form(
                step_id="token",
                description_placeholders={
                    "name": self._name,
                    "token": self._token,
                    "url": _device_url(self.hass, self._token, query),
                },
            )
        token_data = {CONF_TOKEN_HASH: hash_token(self._token), **self._kind_data}
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=self._name,
                data_updates=token_data,
            )
        return self.async_create_entry(
            title=self._name, data={CONF_KIND: self._kind.key, **token_data}
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename the device, change its kind's fields, and replace the token if asked.

        New kind fields apply to the next connection; a new token closes the current one.
        """
        subentry = self._get_reconfigure_subentry()
        self._kind = _kind(subentry.data[CONF_KIND])
        fields = self._kind.fields
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if (error := self._name_error(name, except_id=subentry.subentry_id)) is not None:
                errors[CONF_NAME] = error
            if fields is not None:
                others = self._devices(except_id=subentry.subentry_id)
                self._kind_data, field_errors = fields.validate(user_input, others)
                errors.update(field_errors)
            if not errors:
                self._name = name
                if user_input[CONF_ROTATE_TOKEN]:
                    self._token = generate_token()
                    return await self.async_step_token()
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=name, data_updates=self._kind_data
                )
        schema: dict[Any, Any] = {vol.Required(CONF_NAME, default=subentry.title): TextSelector()}
        if fields is not None:
            schema.update(fields.schema(subentry.data))
        schema[vol.Required(CONF_ROTATE_TOKEN, default=False)] = BooleanSelector()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(schema), user_input),
            errors=errors,
        )
