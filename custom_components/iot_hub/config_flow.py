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
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import slugify
import probatio as vol

from . import capacity, kinds
from .const import (
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER,
    CONF_MQTT_ID,
    CONF_MQTT_SILENCE,
    CONF_RESUME_GRACE,
    CONF_TOKEN_HASH,
    CONF_TRANSPORT,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    DEFAULT_MAX_CONNECTIONS_PER_USER,
    DEFAULT_MQTT_SILENCE,
    DEFAULT_RESUME_GRACE,
    DOMAIN,
    SUBENTRY_DEVICE,
    TRANSPORT_MQTT,
    TRANSPORT_WEBSOCKET,
    WS_PATH,
)
from .hub import Hub
from .kind import Kind
from .tokens import generate_token, hash_token
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
from .transport.mqtt.topics import valid_filter, valid_prefix, valid_topic_id

BROKER_KEYS = (
    CONF_MQTT_HOST,
    CONF_MQTT_PORT,
    CONF_MQTT_USERNAME,
    CONF_MQTT_PASSWORD,
    CONF_MQTT_TLS,
    CONF_MQTT_CLIENT_ID,
)

CONF_ROTATE_TOKEN = "rotate_token"
MAX_MQTT_ID = 64
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

    def __init__(self) -> None:
        """Nothing discovered yet."""
        self._discovered: dict[str, Any] = {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Confirm adding the hub (it has nothing to connect to, so nothing to test).

        One hub only; not by ``single_config_entry``, which would also abort the discovery
        flows of its devices.
        """
        if self._async_current_entries(include_ignore=False):
            return self.async_abort(reason="single_instance_allowed")
        await self.async_set_unique_id(DOMAIN)
        if user_input is not None:
            return self.async_create_entry(title=HUB_TITLE, data={})
        return self.async_show_form(step_id="user")

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """A device nobody added yet spoke over MQTT (an appliance's unknown serial).

        Its unique id makes *Ignore* remembered (HA keeps an ignored entry with it).
        """
        mqtt_id = str(discovery_info[CONF_MQTT_ID])
        await self.async_set_unique_id(f"{discovery_info[CONF_KIND]}:{mqtt_id}")
        self._abort_if_unique_id_configured()
        if (hub := self._hub()) is None or hub.device_by_mqtt_id(mqtt_id) is not None:
            return self.async_abort(reason="already_configured")
        self._discovered = dict(discovery_info)
        self.context["title_placeholders"] = {"name": mqtt_id}
        return await self.async_step_discovery_confirm()

    def _hub(self) -> Hub | None:
        entries = self.hass.config_entries.async_loaded_entries(DOMAIN)
        return entries[0].runtime_data if entries else None

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirming is claiming: name it and fill in what its kind asks; it is added."""
        kind = _kind(self._discovered[CONF_KIND])
        mqtt_id = str(self._discovered[CONF_MQTT_ID])
        errors: dict[str, str] = {}
        if (hub := self._hub()) is None or hub.device_by_mqtt_id(mqtt_id) is not None:
            return self.async_abort(reason="already_configured")
        fields = kind.fields
        assert fields is not None  # kinds that discover devices ask for their fields
        others = hub.entry.get_subentries_of_type(SUBENTRY_DEVICE)
        if user_input is not None:
            name = str(user_input.get(CONF_NAME, "")).strip()
            data, errors = fields.validate({**user_input, **self._discovered}, others)
            if not name:
                errors[CONF_NAME] = "name_empty"
            elif any(sub.title.casefold() == name.casefold() for sub in others):
                errors[CONF_NAME] = "name_exists"
            if not errors:
                hub.add_device(
                    name, {CONF_KIND: kind.key, CONF_TRANSPORT: TRANSPORT_MQTT, **data}, mqtt_id
                )
                return self.async_abort(reason="device_added")
        schema = {vol.Required(CONF_NAME, default=mqtt_id): TextSelector()}
        schema.update(
            (key, value)
            for key, value in fields.schema(None).items()
            if str(key) not in self._discovered
        )
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(schema), user_input),
            errors=errors,
            description_placeholders={"serial": mqtt_id, "kind": kind.key},
        )

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


class DeviceSubentryFlow(ConfigSubentryFlow):
    """Add a device, rename it, or rotate its token.

    A WebSocket device gets a token (generated and shown once); an MQTT device gets its topics
    (the broker authenticates it). A kind with fields of its own (a charger's station id, an
    appliance's serial) asks for them in the ``details`` step, and again when reconfigured.
    """

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._name = ""
        self._kind = kinds.registered()[0]
        self._transport = TRANSPORT_WEBSOCKET
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

    def _asks_mqtt_id(self) -> bool:
        """An MQTT device names its topic id here, unless its kind's fields name it (a serial)."""
        return self._transport == TRANSPORT_MQTT and len(self._kind.transports) > 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name, kind and transport of the new device."""
        registered = kinds.registered()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] | None = None
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            kind = _kind(user_input[CONF_KIND])
            if (error := self._name_error(name)) is not None:
                errors[CONF_NAME] = error
            elif (placeholders := self._past_cap(kind)) is not None:
                errors["base"] = "hub_full"
            else:
                self._name = name
                self._kind = kind
                wanted = user_input.get(CONF_TRANSPORT, TRANSPORT_WEBSOCKET)
                self._transport = wanted if wanted in kind.transports else kind.transports[0]
                if self._kind.fields is not None or self._asks_mqtt_id():
                    return await self.async_step_details()
                return await self._async_step_credentials()
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
                vol.Required(CONF_TRANSPORT, default=TRANSPORT_WEBSOCKET): SelectSelector(
                    SelectSelectorConfig(
                        options=[TRANSPORT_WEBSOCKET, TRANSPORT_MQTT],
                        translation_key=CONF_TRANSPORT,
                        mode=SelectSelectorMode.LIST,
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

    def _validate_mqtt_id(
        self, user_input: Mapping[str, Any], except_id: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        mqtt_id = str(user_input.get(CONF_MQTT_ID, "")).strip()
        if not valid_topic_id(mqtt_id) or len(mqtt_id) > MAX_MQTT_ID or not mqtt_id.isprintable():
            return {}, {CONF_MQTT_ID: "mqtt_id_invalid"}
        if any(sub.data.get(CONF_MQTT_ID) == mqtt_id for sub in self._devices(except_id)):
            return {}, {CONF_MQTT_ID: "mqtt_id_exists"}
        return {CONF_MQTT_ID: mqtt_id}, {}

    async def async_step_details(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The fields the device's kind needs (a charger's station id), and its MQTT id."""
        fields = self._kind.fields
        errors: dict[str, str] = {}
        if user_input is not None:
            self._kind_data = {}
            if self._asks_mqtt_id():
                self._kind_data, errors = self._validate_mqtt_id(user_input)
            if fields is not None and not errors:
                data, errors = fields.validate(user_input, self._devices())
                self._kind_data.update(data)
            if not errors:
                return await self._async_step_credentials()
        schema: dict[Any, Any] = {}
        if self._asks_mqtt_id():
            schema[vol.Required(CONF_MQTT_ID)] = TextSelector()
        suggested: dict[str, Any] = {CONF_MQTT_ID: slugify(self._name)}
        if fields is not None:
            schema.update(fields.schema(None))
            suggested.update(fields.suggested(self._devices()))
        return self.async_show_form(
            step_id="details",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(schema), user_input or suggested
            ),
            errors=errors,
            description_placeholders={"name": self._name},
        )

    async def _async_step_credentials(self) -> SubentryFlowResult:
        """A token for a WebSocket device; the topics for an MQTT one."""
        if self._transport == TRANSPORT_MQTT:
            return await self.async_step_topics()
        self._token = generate_token()
        return await self.async_step_token()

    async def async_step_topics(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show the topics the device uses; the broker, not a token, authenticates it."""
        mqtt_id = self._kind_data[CONF_MQTT_ID]
        if user_input is None:
            prefix = prefix_of(self._get_entry().options)
            return self.async_show_form(
                step_id="topics",
                description_placeholders={
                    "name": self._name,
                    "state": f"{prefix}/{mqtt_id}/state",
                    "command": f"{prefix}/{mqtt_id}/command",
                    "config": f"{prefix}/{mqtt_id}/config",
                    "status": f"{prefix}/{mqtt_id}/status",
                },
            )
        return self.async_create_entry(
            title=self._name,
            data={CONF_KIND: self._kind.key, CONF_TRANSPORT: TRANSPORT_MQTT, **self._kind_data},
            unique_id=mqtt_id,
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

        New kind fields apply to the next connection (an appliance's at once: its
        configuration is published); a new token closes the current connection.
        """
        subentry = self._get_reconfigure_subentry()
        self._kind = _kind(subentry.data[CONF_KIND])
        self._transport = subentry.data.get(CONF_TRANSPORT, TRANSPORT_WEBSOCKET)
        fields = self._kind.fields
        websocket = self._transport == TRANSPORT_WEBSOCKET
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if (error := self._name_error(name, except_id=subentry.subentry_id)) is not None:
                errors[CONF_NAME] = error
            if fields is not None:
                others = self._devices(except_id=subentry.subentry_id)
                self._kind_data, field_errors = fields.validate(user_input, others, subentry.data)
                errors.update(field_errors)
            if not errors:
                self._name = name
                if websocket and user_input[CONF_ROTATE_TOKEN]:
                    self._token = generate_token()
                    return await self.async_step_token()
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=name, data_updates=self._kind_data
                )
        schema: dict[Any, Any] = {vol.Required(CONF_NAME, default=subentry.title): TextSelector()}
        entered: Mapping[str, Any] | None = user_input
        if fields is not None:
            schema.update(fields.schema(subentry.data))
            entered = user_input or fields.current_values(subentry.data)
        if websocket:
            schema[vol.Required(CONF_ROTATE_TOKEN, default=False)] = BooleanSelector()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(schema), entered),
            errors=errors,
        )
