"""Adding and reconfiguring a device: name, kind, transport, record budget; token or topics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigSubentry, ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
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
from homeassistant.util import slugify
import probatio as vol

from . import capacity, kinds
from .const import (
    CONF_KIND,
    CONF_MQTT_ID,
    CONF_RECORD_INTERVAL,
    CONF_TOKEN_HASH,
    CONF_TRANSPORT,
    DEFAULT_RECORD_INTERVAL,
    MAX_RECORD_INTERVAL,
    SUBENTRY_DEVICE,
    TRANSPORT_MQTT,
    TRANSPORT_WEBSOCKET,
    WS_PATH,
)
from .kind import Kind
from .tokens import generate_token, hash_token
from .transport.mqtt.settings import prefix_of
from .transport.mqtt.topics import valid_topic_id

CONF_ROTATE_TOKEN = "rotate_token"
MAX_MQTT_ID = 64


def _device_url(hass: HomeAssistant, token: str, query: str = "") -> str:
    """The URL a device's firmware connects to; ``query`` is what its kind adds."""
    try:
        base = get_url(hass, allow_external=False)
    except NoURLAvailableError:
        base = "http://HOME_ASSISTANT_HOST:8123"
    return f"{base.replace('http', 'ws', 1)}{WS_PATH}?{query}token={token}"


# Seconds; the schema refuses what is outside (an invalid-data error on the field).
RECORD_INTERVAL_SELECTOR = NumberSelector(
    NumberSelectorConfig(
        min=0,
        max=MAX_RECORD_INTERVAL,
        step=1,
        unit_of_measurement="s",
        mode=NumberSelectorMode.BOX,
    )
)


def _record_interval(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The record budget as stored: whole seconds (the selector gives a float)."""
    return {CONF_RECORD_INTERVAL: int(user_input[CONF_RECORD_INTERVAL])}


def kind_named(key: str) -> Kind:
    """The registered kind stored as ``key`` (the form only offers registered ones)."""
    return next(kind for kind in kinds.registered() if kind.key == key)


class DeviceSubentryFlow(ConfigSubentryFlow):
    """Add a device, rename it, or rotate its token.

    A WebSocket device gets a token (generated and shown once); an MQTT device gets its topics
    (the broker authenticates it). A kind with fields of its own (a charger's station id, an
    appliance's serial) asks for them in the ``details`` step, and again when reconfigured.
    Every device has a record budget (``record_interval``), asked first and when reconfigured.
    """

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._name = ""
        self._kind = kinds.registered()[0]
        self._transport = TRANSPORT_WEBSOCKET
        self._kind_data: dict[str, Any] = {}
        self._settings: dict[str, Any] = {}  # what every kind stores: the record budget
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
            kind = kind_named(user_input[CONF_KIND])
            if (error := self._name_error(name)) is not None:
                errors[CONF_NAME] = error
            elif (placeholders := self._past_cap(kind)) is not None:
                errors["base"] = "hub_full"
            else:
                self._name = name
                self._kind = kind
                self._settings = _record_interval(user_input)
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
                vol.Required(
                    CONF_RECORD_INTERVAL, default=DEFAULT_RECORD_INTERVAL
                ): RECORD_INTERVAL_SELECTOR,
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
            data={
                CONF_KIND: self._kind.key,
                CONF_TRANSPORT: TRANSPORT_MQTT,
                **self._kind_data,
                **self._settings,
            },
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
        token_data = {CONF_TOKEN_HASH: hash_token(self._token), **self._kind_data, **self._settings}
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
        """Rename the device, change its kind's fields and budget, replace the token if asked.

        New kind fields apply to the next connection (an appliance's at once: its
        configuration is published); a new budget from the next interval of each entity; a
        new token closes the current connection.
        """
        subentry = self._get_reconfigure_subentry()
        self._kind = kind_named(subentry.data[CONF_KIND])
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
                self._settings = _record_interval(user_input)
                if websocket and user_input[CONF_ROTATE_TOKEN]:
                    self._token = generate_token()
                    return await self.async_step_token()
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=name,
                    data_updates={**self._kind_data, **self._settings},
                )
        schema: dict[Any, Any] = {vol.Required(CONF_NAME, default=subentry.title): TextSelector()}
        entered: Mapping[str, Any] | None = user_input
        if fields is not None:
            schema.update(fields.schema(subentry.data))
            entered = user_input or fields.current_values(subentry.data)
        schema[
            vol.Required(
                CONF_RECORD_INTERVAL,
                default=subentry.data.get(CONF_RECORD_INTERVAL, DEFAULT_RECORD_INTERVAL),
            )
        ] = RECORD_INTERVAL_SELECTOR
        if websocket:
            schema[vol.Required(CONF_ROTATE_TOKEN, default=False)] = BooleanSelector()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(schema), entered),
            errors=errors,
        )
