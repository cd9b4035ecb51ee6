"""Config flow: one hub entry; devices (and a kind's own things, like cards) are subentries.

Kinds add what is theirs: extra device fields (a charger's station id), subentry types (its
cards) and hub options (its energy price). This module names no kind.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.helpers.selector import TextSelector
import probatio as vol

from . import kinds
from .const import CONF_KIND, CONF_MQTT_ID, CONF_TRANSPORT, DOMAIN, SUBENTRY_DEVICE, TRANSPORT_MQTT
from .device_flow import DeviceSubentryFlow, kind_named
from .hub import Hub
from .options_flow import IotHubOptionsFlow

HUB_TITLE = "IoT Hub"


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
        kind = kind_named(self._discovered[CONF_KIND])
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


__all__ = ["DeviceSubentryFlow", "IotHubConfigFlow", "IotHubOptionsFlow"]
