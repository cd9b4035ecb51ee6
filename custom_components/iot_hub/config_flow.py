"""Config flow: one hub entry; devices and cards are subentries; options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

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

from .const import (
    CONF_CARD_UID,
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_RESUME_GRACE,
    CONF_STATION_ID,
    CONF_TOKEN_HASH,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_RESUME_GRACE,
    DOMAIN,
    SUBENTRY_CARD,
    SUBENTRY_DEVICE,
    WS_PATH,
    DeviceKind,
)
from .hub import normalise_uid
from .protocol.charger import QUERY_ROLE, QUERY_STATION, ROLE_PUBLISHER
from .tokens import generate_token, hash_token

CONF_ROTATE_TOKEN = "rotate_token"
# Kinds a user can add.
ADDABLE_KINDS = (DeviceKind.OVEN, DeviceKind.CHARGER)
HUB_TITLE = "IoT Hub"
STATION_MAX_LENGTH = 32
UID_MAX_LENGTH = 64


def _device_url(hass: HomeAssistant, token: str, station: str | None = None) -> str:
    """The URL a device's firmware connects to; a charger names its station (seed 002)."""
    try:
        base = get_url(hass, allow_external=False)
    except NoURLAvailableError:
        base = "http://HOME_ASSISTANT_HOST:8123"
    query = f"?token={token}"
    if station is not None:
        station_param = quote(station, safe="")
        query = f"?{QUERY_ROLE}={ROLE_PUBLISHER}&{QUERY_STATION}={station_param}&token={token}"
    return f"{base.replace('http', 'ws', 1)}{WS_PATH}{query}"


def _valid_station(station: str) -> bool:
    """A station id: 1-32 printable characters, no blanks (it travels as ``?estacionId=``)."""
    return (
        0 < len(station) <= STATION_MAX_LENGTH
        and station.isprintable()
        and not any(char.isspace() for char in station)
    )


def _valid_uid(uid: str) -> bool:
    """A card uid: 1-64 printable ASCII characters."""
    return 0 < len(uid) <= UID_MAX_LENGTH and uid.isascii() and uid.isprintable()


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
        """Devices and authorised NFC cards are added as subentries of the hub."""
        return {SUBENTRY_DEVICE: DeviceSubentryFlow, SUBENTRY_CARD: CardSubentryFlow}


class IotHubOptionsFlow(OptionsFlow):
    """History size, the restart grace period and the energy price.

    A plain ``OptionsFlow``: the entry's update listener applies options in place, so no
    reload drops the connected devices. The price is read from the options when energy is
    costed, so a new price applies to the energy metered from then on.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options; a cleared optional field is removed."""
        if user_input is not None:
            options: dict[str, Any] = {
                CONF_HISTORY_SIZE: int(user_input[CONF_HISTORY_SIZE]),
                CONF_RESUME_GRACE: int(user_input[CONF_RESUME_GRACE]),
            }
            if (price := user_input.get(CONF_PRICE)) is not None:
                options[CONF_PRICE] = float(price)
            if price_entity := user_input.get(CONF_PRICE_ENTITY):
                options[CONF_PRICE_ENTITY] = str(price_entity)
            return self.async_create_entry(data=options)
        options = dict(self.config_entry.options)
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
                # Optional with a suggested value, not a default: a cleared field stays
                # cleared instead of coming back as the default.
                vol.Optional(
                    CONF_PRICE, description={"suggested_value": options.get(CONF_PRICE)}
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=-10,
                        max=100,
                        step="any",
                        unit_of_measurement=f"{self.hass.config.currency}/kWh",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
                vol.Optional(
                    CONF_PRICE_ENTITY,
                    description={"suggested_value": options.get(CONF_PRICE_ENTITY)},
                ): EntitySelector(EntitySelectorConfig(domain="sensor")),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)


class DeviceSubentryFlow(ConfigSubentryFlow):
    """Add a device (token generated and shown once), rename it or rotate its token.

    A charger also has a station id (``estacionId``), asked for in a step of its own.
    """

    def __init__(self) -> None:
        """Nothing chosen yet."""
        self._name = ""
        self._kind = DeviceKind.OVEN
        self._station: str | None = None
        self._token = ""

    def _devices(self) -> list[ConfigSubentry]:
        return self._get_entry().get_subentries_of_type(SUBENTRY_DEVICE)

    def _name_taken(self, name: str, except_id: str | None = None) -> bool:
        return any(
            sub.title.casefold() == name.casefold() and sub.subentry_id != except_id
            for sub in self._devices()
        )

    def _station_error(self, station: str, except_id: str | None = None) -> str | None:
        """Why a station id cannot be used, or None."""
        if not _valid_station(station):
            return "station_invalid"
        if any(
            sub.data.get(CONF_STATION_ID) == station and sub.subentry_id != except_id
            for sub in self._devices()
        ):
            return "station_exists"
        return None

    def _next_station(self) -> str:
        """The lowest number no charger uses yet: the suggested station id."""
        used = {sub.data.get(CONF_STATION_ID) for sub in self._devices()}
        number = 1
        while str(number) in used:
            number += 1
        return str(number)

    def _station_data(self) -> dict[str, str]:
        return {} if self._station is None else {CONF_STATION_ID: self._station}

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
                if self._kind is DeviceKind.CHARGER:
                    return await self.async_step_station()
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

    async def async_step_station(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """A charger's station id: what its firmware and dashboards send as ``estacionId``."""
        errors: dict[str, str] = {}
        if user_input is not None:
            station = user_input[CONF_STATION_ID].strip()
            if (error := self._station_error(station)) is not None:
                errors[CONF_STATION_ID] = error
            else:
                self._station = station
                self._token = generate_token()
                return await self.async_step_token()
        schema = vol.Schema({vol.Required(CONF_STATION_ID): TextSelector()})
        suggested: Mapping[str, Any] = user_input or {CONF_STATION_ID: self._next_station()}
        return self.async_show_form(
            step_id="station",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"name": self._name},
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
                    "url": _device_url(self.hass, self._token, self._station),
                },
            )
        token_data = {CONF_TOKEN_HASH: hash_token(self._token), **self._station_data()}
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=self._name,
                data_updates=token_data,
            )
        return self.async_create_entry(
            title=self._name, data={CONF_KIND: self._kind.value, **token_data}
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename the device, change a charger's station, and replace the token if asked.

        A new station id applies to the next connection; a new token closes the current one.
        """
        subentry = self._get_reconfigure_subentry()
        charger = subentry.data[CONF_KIND] == DeviceKind.CHARGER
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_empty"
            elif self._name_taken(name, except_id=subentry.subentry_id):
                errors[CONF_NAME] = "name_exists"
            station = user_input[CONF_STATION_ID].strip() if charger else None
            if station is not None and (
                error := self._station_error(station, except_id=subentry.subentry_id)
            ):
                errors[CONF_STATION_ID] = error
            if not errors:
                self._name, self._station = name, station
                if user_input[CONF_ROTATE_TOKEN]:
                    self._token = generate_token()
                    return await self.async_step_token()
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=name, data_updates=self._station_data()
                )
        fields: dict[Any, Any] = {vol.Required(CONF_NAME, default=subentry.title): TextSelector()}
        if charger:
            fields[
                vol.Required(CONF_STATION_ID, default=subentry.data.get(CONF_STATION_ID, ""))
            ] = TextSelector()
        fields[vol.Required(CONF_ROTATE_TOKEN, default=False)] = BooleanSelector()
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), user_input),
            errors=errors,
        )


class CardSubentryFlow(ConfigSubentryFlow):
    """Authorise an NFC card for a user (the title); rename the user or change the uid.

    A card is authorised as soon as it is added and rejected as soon as it is removed: the
    hub reloads its cards whenever the subentries change.
    """

    def _validate(
        self, user_input: dict[str, Any], except_id: str | None = None
    ) -> tuple[str, str, dict[str, str]]:
        """The stripped uid and name, and the errors of the form."""
        uid = user_input[CONF_CARD_UID].strip()
        name = user_input[CONF_NAME].strip()
        errors: dict[str, str] = {}
        if not _valid_uid(uid):
            errors[CONF_CARD_UID] = "uid_invalid"
        elif any(
            normalise_uid(sub.data[CONF_CARD_UID]) == normalise_uid(uid)
            and sub.subentry_id != except_id
            for sub in self._get_entry().get_subentries_of_type(SUBENTRY_CARD)
        ):
            errors[CONF_CARD_UID] = "card_exists"
        if not name:
            errors[CONF_NAME] = "name_empty"
        return uid, name, errors

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """The card's uid and its user's name."""
        errors: dict[str, str] = {}
        if user_input is not None:
            uid, name, errors = self._validate(user_input)
            if not errors:
                return self.async_create_entry(
                    title=name, data={CONF_CARD_UID: uid}, unique_id=normalise_uid(uid)
                )
        schema = vol.Schema(
            {
                vol.Required(CONF_CARD_UID): TextSelector(),
                vol.Required(CONF_NAME): TextSelector(),
            }
        )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Rename the card's user and, if needed, correct its uid."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            uid, name, errors = self._validate(user_input, except_id=subentry.subentry_id)
            if not errors:
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    title=name,
                    data_updates={CONF_CARD_UID: uid},
                    unique_id=normalise_uid(uid),
                )
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=subentry.title): TextSelector(),
                vol.Required(CONF_CARD_UID, default=subentry.data[CONF_CARD_UID]): TextSelector(),
            }
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(schema, user_input),
            errors=errors,
        )
