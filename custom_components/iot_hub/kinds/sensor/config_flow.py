"""A sensor device in the UI: seed 001's id, type and model, seed 004's consumer id.

Seed 001 numbers its sensors (``sensor_id`` in a reading, ``entity_id`` in its events); a new
device gets the next free number unless the user keeps the one its firmware already sends.
Seed 004 keys its live streams by ``consumidor_id`` (``/ws/sensor_data/22/``). Anomaly rules
(``analysis.py``) are a YAML mapping, as HA users write elsewhere
(``temperatura: {min: 0, max: 40, jump: 5}``); the prediction horizon and trend window are
minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import re
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    ObjectSelector,
    TextSelector,
)
import probatio as vol

from ...analysis import RuleError, parse_rules
from ...const import CONF_KIND
from .channels import CONF_MAX_EVENT_CLIENTS, DEFAULT_MAX_EVENT_CLIENTS
from .const import (
    CONF_ANOMALY_RULES,
    CONF_CONSUMER_ID,
    CONF_MODELO,
    CONF_PREDICTION_HORIZON,
    CONF_SENSOR_ID,
    CONF_TIPO,
    CONF_TREND_WINDOW,
    DEFAULT_PREDICTION_HORIZON,
    DEFAULT_TREND_WINDOW,
    KIND,
    MAX_MINUTES,
)

CONSUMER_ID: Final = re.compile(r"\w{1,64}", re.ASCII)  # seed 004's route: (?P<consumidor_id>\w+)
MAX_SENSOR_ID: Final = 2**31 - 1
MAX_TEXT: Final = 256
TEXTS: Final = (CONF_TIPO, CONF_MODELO)
MINUTES: Final = NumberSelector(
    NumberSelectorConfig(
        min=1, max=MAX_MINUTES, step=1, unit_of_measurement="min", mode=NumberSelectorMode.BOX
    )
)
MAX_EVENT_CLIENTS: Final = 10_000


def _sensors(others: Sequence[ConfigSubentry]) -> list[ConfigSubentry]:
    return [sub for sub in others if sub.data.get(CONF_KIND) == KIND]


def next_sensor_id(others: Sequence[ConfigSubentry]) -> int:
    """The number after the highest one in use."""
    used = [sub.data.get(CONF_SENSOR_ID) for sub in _sensors(others)]
    return max((n for n in used if isinstance(n, int)), default=0) + 1


class SensorFields:
    """Seed 001's number, type and model; seed 004's consumer id; anomalies and predictions."""

    def schema(self, current: Mapping[str, Any] | None) -> dict[Any, Any]:
        """The fields (the number is kept when reconfiguring unless changed)."""
        saved = current or {}
        horizon = saved.get(CONF_PREDICTION_HORIZON, DEFAULT_PREDICTION_HORIZON)
        window = saved.get(CONF_TREND_WINDOW, DEFAULT_TREND_WINDOW)
        return {
            vol.Required(CONF_SENSOR_ID): NumberSelector(
                NumberSelectorConfig(min=1, max=MAX_SENSOR_ID, mode=NumberSelectorMode.BOX)
            ),
            vol.Optional(CONF_TIPO): TextSelector(),
            vol.Optional(CONF_MODELO): TextSelector(),
            vol.Optional(CONF_CONSUMER_ID): TextSelector(),
            vol.Optional(CONF_ANOMALY_RULES): ObjectSelector(),
            vol.Required(CONF_PREDICTION_HORIZON, default=horizon): MINUTES,
            vol.Required(CONF_TREND_WINDOW, default=window): MINUTES,
        }

    def suggested(self, others: Sequence[ConfigSubentry]) -> dict[str, Any]:
        """The next free number."""
        return {CONF_SENSOR_ID: next_sensor_id(others)}

    def current_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """What a reconfigure form shows as entered."""
        keys = (CONF_SENSOR_ID, *TEXTS, CONF_CONSUMER_ID, CONF_ANOMALY_RULES)
        return {key: data[key] for key in keys if data.get(key) is not None}

    def validate(
        self,
        user_input: Mapping[str, Any],
        others: Sequence[ConfigSubentry],
        current: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """A number and a consumer id no other sensor has; short printable texts; rules."""
        del current
        sensors = _sensors(others)
        number = user_input.get(CONF_SENSOR_ID)
        if (
            not isinstance(number, int | float)
            or number != int(number)
            or not 1 <= number <= MAX_SENSOR_ID
        ):
            return {}, {CONF_SENSOR_ID: "sensor_id_invalid"}
        if any(sub.data.get(CONF_SENSOR_ID) == int(number) for sub in sensors):
            return {}, {CONF_SENSOR_ID: "sensor_id_exists"}
        data: dict[str, Any] = {CONF_SENSOR_ID: int(number)}
        for key in TEXTS:
            text = str(user_input.get(key) or "").strip()
            if len(text) > MAX_TEXT or not text.isprintable():
                return {}, {key: "text_invalid"}
            data[key] = text or None
        consumer = str(user_input.get(CONF_CONSUMER_ID) or "").strip()
        if consumer and not CONSUMER_ID.fullmatch(consumer):
            return {}, {CONF_CONSUMER_ID: "consumer_id_invalid"}
        if consumer and any(sub.data.get(CONF_CONSUMER_ID) == consumer for sub in sensors):
            return {}, {CONF_CONSUMER_ID: "consumer_id_exists"}
        data[CONF_CONSUMER_ID] = consumer or None
        try:
            rules = parse_rules(user_input.get(CONF_ANOMALY_RULES) or None)
        except RuleError as err:
            return {}, {CONF_ANOMALY_RULES: err.key}
        data[CONF_ANOMALY_RULES] = {name: rule.as_data() for name, rule in rules.items()}
        for key, default in (
            (CONF_PREDICTION_HORIZON, DEFAULT_PREDICTION_HORIZON),
            (CONF_TREND_WINDOW, DEFAULT_TREND_WINDOW),
        ):
            data[key] = int(user_input.get(key, default))
        return data, {}

    def device_query(self, data: Mapping[str, Any]) -> str:
        """Sensors need nothing beyond their token."""
        return ""


class SensorOptions:
    """Hub option of sensors: how many seed-001 event channel clients may listen at once."""

    def schema(self, options: Mapping[str, Any], hass: HomeAssistant) -> dict[Any, Any]:
        """The cap, showing the saved one."""
        cap = options.get(CONF_MAX_EVENT_CLIENTS, DEFAULT_MAX_EVENT_CLIENTS)
        return {
            vol.Required(CONF_MAX_EVENT_CLIENTS, default=cap): NumberSelector(
                NumberSelectorConfig(min=1, max=MAX_EVENT_CLIENTS, mode=NumberSelectorMode.BOX)
            )
        }

    def clean(self, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """The cap as an integer."""
        cap = user_input.get(CONF_MAX_EVENT_CLIENTS, DEFAULT_MAX_EVENT_CLIENTS)
        return {CONF_MAX_EVENT_CLIENTS: int(cap)}
