"""An oven in the UI: its target temperature (optional), for the Time to target sensor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import UnitOfTemperature
from homeassistant.helpers.selector import NumberSelector, NumberSelectorConfig, NumberSelectorMode
import probatio as vol

CONF_TARGET_TEMPERATURE: Final = "target_temperature"
MAX_TARGET: Final = 1000  # °C: past any kitchen or kiln oven's thermostat


class OvenFields:
    """The temperature an oven heats towards; none: no Time to target sensor."""

    def schema(self, current: Mapping[str, Any] | None) -> dict[Any, Any]:
        """Optional, so it can be cleared (the saved one is shown as entered)."""
        return {
            vol.Optional(CONF_TARGET_TEMPERATURE): NumberSelector(
                NumberSelectorConfig(
                    min=0,
                    max=MAX_TARGET,
                    step="any",
                    unit_of_measurement=UnitOfTemperature.CELSIUS,
                    mode=NumberSelectorMode.BOX,
                )
            )
        }

    def suggested(self, others: Sequence[ConfigSubentry]) -> dict[str, Any]:
        """No target unless the user gives one."""
        return {}

    def current_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The saved target, if any."""
        target = data.get(CONF_TARGET_TEMPERATURE)
        return {} if target is None else {CONF_TARGET_TEMPERATURE: target}

    def validate(
        self,
        user_input: Mapping[str, Any],
        others: Sequence[ConfigSubentry],
        current: Mapping[str, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The selector bounds the number; a cleared field clears a saved target."""
        if (target := user_input.get(CONF_TARGET_TEMPERATURE)) is not None:
            return {CONF_TARGET_TEMPERATURE: float(target)}, {}
        if current is not None and current.get(CONF_TARGET_TEMPERATURE) is not None:
            return {CONF_TARGET_TEMPERATURE: None}, {}
        return {}, {}  # an oven without a target stores nothing (as before targets existed)

    def device_query(self, data: Mapping[str, Any]) -> str:
        """Ovens need nothing beyond their token."""
        return ""
