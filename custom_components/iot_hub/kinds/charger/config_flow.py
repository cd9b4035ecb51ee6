"""The charger in the UI: its station id and rating, the authorised NFC cards, the price."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import quote

from homeassistant.config_entries import ConfigSubentry, ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)
import probatio as vol

from .cards import normalise_uid
from .codec import QUERY_ROLE, QUERY_STATION, READING_RANGES, ROLE_PUBLISHER
from .const import (
    CONF_CARD_UID,
    CONF_MAX_POWER,
    CONF_NEW_TAGS_PER_HOUR,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_STATION_ID,
    DEFAULT_MAX_POWER_KW,
    DEFAULT_NEW_TAGS_PER_HOUR,
    SUBENTRY_CARD,
)

STATION_MAX_LENGTH: Final = 32
UID_MAX_LENGTH: Final = 64
MAX_NEW_TAGS_PER_HOUR: Final = 10_000
MAX_POWER_SELECTOR: Final = NumberSelector(
    NumberSelectorConfig(
        min=1,
        max=READING_RANGES["w"][1] / 1000,  # the codec's bound of any reading
        step="any",
        unit_of_measurement="kW",
        mode=NumberSelectorMode.BOX,
    )
)


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


class StationFields:
    """A charger's station id (its firmware's and dashboards' ``estacionId``) and its rating.

    The rating (maximum power, kW) bounds what its meter credits: readings above it are
    refused, and no interval is credited more than the rating for the time HA saw pass.
    """

    def schema(self, current: Mapping[str, Any] | None) -> dict[Any, Any]:
        """The station and the rating; reconfiguring shows the saved ones."""
        rating = (current or {}).get(CONF_MAX_POWER, DEFAULT_MAX_POWER_KW)
        station_field = (
            vol.Required(CONF_STATION_ID)
            if current is None
            else vol.Required(CONF_STATION_ID, default=current.get(CONF_STATION_ID, ""))
        )
        return {
            station_field: TextSelector(),
            vol.Required(CONF_MAX_POWER, default=rating): MAX_POWER_SELECTOR,
        }

    def suggested(self, others: Sequence[ConfigSubentry]) -> dict[str, Any]:
        """The lowest number no charger uses yet."""
        used = {sub.data.get(CONF_STATION_ID) for sub in others}
        number = 1
        while str(number) in used:
            number += 1
        return {CONF_STATION_ID: str(number)}

    def validate(
        self,
        user_input: Mapping[str, Any],
        others: Sequence[ConfigSubentry],
        current: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Well formed, and not another charger's."""
        station = str(user_input[CONF_STATION_ID]).strip()
        if not _valid_station(station):
            return {}, {CONF_STATION_ID: "station_invalid"}
        if any(sub.data.get(CONF_STATION_ID) == station for sub in others):
            return {}, {CONF_STATION_ID: "station_exists"}
        rating = float(user_input.get(CONF_MAX_POWER, DEFAULT_MAX_POWER_KW))
        return {CONF_STATION_ID: station, CONF_MAX_POWER: rating}, {}

    def current_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Nothing: the schema's defaults show the saved station and rating."""
        return {}

    def device_query(self, data: Mapping[str, Any]) -> str:
        """``role=publisher&estacionId=N&``: the seed's URL."""
        station = quote(str(data[CONF_STATION_ID]), safe="")
        return f"{QUERY_ROLE}={ROLE_PUBLISHER}&{QUERY_STATION}={station}&"


class ChargerOptions:
    """Hub options of chargers: the energy price and the hourly allowance of new tags.

    The price costs charging sessions (fixed, or a live price sensor); the allowance is how
    many unknown cards one charger may register with HA's tag integration per hour.
    """

    def schema(self, options: Mapping[str, Any], hass: HomeAssistant) -> dict[Any, Any]:
        """Optional with a suggested value, not a default: a cleared field stays cleared.

        A cleared allowance is the default one.
        """
        new_tags = options.get(CONF_NEW_TAGS_PER_HOUR, DEFAULT_NEW_TAGS_PER_HOUR)
        return {
            vol.Optional(
                CONF_PRICE, description={"suggested_value": options.get(CONF_PRICE)}
            ): NumberSelector(
                NumberSelectorConfig(
                    min=-10,
                    max=100,
                    step="any",
                    unit_of_measurement=f"{hass.config.currency}/kWh",
                    mode=NumberSelectorMode.BOX,
                )
            ),
            vol.Optional(
                CONF_PRICE_ENTITY,
                description={"suggested_value": options.get(CONF_PRICE_ENTITY)},
            ): EntitySelector(EntitySelectorConfig(domain="sensor")),
            vol.Optional(
                CONF_NEW_TAGS_PER_HOUR, description={"suggested_value": new_tags}
            ): NumberSelector(
                NumberSelectorConfig(
                    min=0, max=MAX_NEW_TAGS_PER_HOUR, step=1, mode=NumberSelectorMode.BOX
                )
            ),
        }

    def clean(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """The options to save; a cleared field is left out."""
        options: dict[str, Any] = {}
        if (price := user_input.get(CONF_PRICE)) is not None:
            options[CONF_PRICE] = float(price)
        if price_entity := user_input.get(CONF_PRICE_ENTITY):
            options[CONF_PRICE_ENTITY] = str(price_entity)
        if (new_tags := user_input.get(CONF_NEW_TAGS_PER_HOUR)) is not None:
            options[CONF_NEW_TAGS_PER_HOUR] = int(new_tags)
        return options


class CardSubentryFlow(ConfigSubentryFlow):
    """Authorise an NFC card for a user (the title); rename the user or change the uid.

    A card is authorised as soon as it is added and rejected as soon as it is removed:
    chargers read the cards from the subentries at every scan.
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
