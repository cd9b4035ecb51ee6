"""Config flow of sensor devices: number, type, model, consumer id, anomaly rules, predictions.

Every refusal has its own form error; the rules given when reconfiguring bring the problem
sensor and the anomaly event entity with them, at once.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.const import CONF_KIND, CONF_TOKEN_HASH, SUBENTRY_DEVICE
from custom_components.iot_hub.device_flow import CONF_ROTATE_TOKEN
from custom_components.iot_hub.kinds.sensor.const import (
    CONF_ANOMALY_RULES,
    CONF_CONSUMER_ID,
    CONF_MODELO,
    CONF_PREDICTION_HORIZON,
    CONF_SENSOR_ID,
    CONF_TIPO,
    CONF_TREND_WINDOW,
)

from .sensor_tools import CONSUMER, ENV, ENV_ID, WEARABLE
from .test_config_flow import _defaults, _suggested

RULES = {"temperatura": {"min": 0, "max": 40, "jump": 5}}


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """Sensors 1 (environment) and 2 (the wearable of consumer 22)."""
    return [ENV, WEARABLE]


async def _details(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Greenhouse", CONF_KIND: "sensor"}
    )
    assert result["step_id"] == "details"
    return result


async def test_add_a_sensor_with_rules_and_predictions(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The next free number is suggested; rules, horizon and window are stored as numbers."""
    result = await _details(hass, init_integration)
    assert _suggested(result)[CONF_SENSOR_ID] == 3
    assert _defaults(result) == {CONF_PREDICTION_HORIZON: 15, CONF_TREND_WINDOW: 10}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_SENSOR_ID: 7,
            CONF_TIPO: " temperatura ",
            CONF_CONSUMER_ID: "casa_1",
            CONF_ANOMALY_RULES: RULES,
            CONF_PREDICTION_HORIZON: 30,
            CONF_TREND_WINDOW: 5,
        },
    )
    assert result["step_id"] == "token"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = dict(result["data"])
    assert data.pop(CONF_TOKEN_HASH)
    assert data == {
        CONF_KIND: "sensor",
        CONF_SENSOR_ID: 7,
        CONF_TIPO: "temperatura",
        CONF_MODELO: None,
        CONF_CONSUMER_ID: "casa_1",
        CONF_ANOMALY_RULES: {"temperatura": {"min": 0.0, "max": 40.0, "jump": 5.0}},
        CONF_PREDICTION_HORIZON: 30,
        CONF_TREND_WINDOW: 5,
        "record_interval": 10,  # the default, offered on the first form
    }


@pytest.mark.parametrize(
    ("entered", "errors"),
    [
        ({CONF_SENSOR_ID: 1.5}, {CONF_SENSOR_ID: "sensor_id_invalid"}),
        ({CONF_SENSOR_ID: 2}, {CONF_SENSOR_ID: "sensor_id_exists"}),
        ({CONF_TIPO: "two\nlines"}, {CONF_TIPO: "text_invalid"}),
        ({CONF_MODELO: "m" * 257}, {CONF_MODELO: "text_invalid"}),
        ({CONF_CONSUMER_ID: "not valid!"}, {CONF_CONSUMER_ID: "consumer_id_invalid"}),
        ({CONF_CONSUMER_ID: CONSUMER}, {CONF_CONSUMER_ID: "consumer_id_exists"}),
        ({CONF_ANOMALY_RULES: ["temperatura"]}, {CONF_ANOMALY_RULES: "anomaly_rules_invalid"}),
        (
            {CONF_ANOMALY_RULES: {"temperatura": {"max": "hot"}}},
            {CONF_ANOMALY_RULES: "anomaly_rules_invalid"},
        ),
        (
            {CONF_ANOMALY_RULES: {"temperatura": {"min": 40, "max": 0}}},
            {CONF_ANOMALY_RULES: "anomaly_rules_range"},
        ),
        (
            {CONF_ANOMALY_RULES: {"temperatura": {"jump": -1}}},
            {CONF_ANOMALY_RULES: "anomaly_rules_jump"},
        ),
    ],
)
async def test_add_refuses_bad_fields(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entered: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each bad field: the form again, with that field's error; nothing is created."""
    result = await _details(hass, init_integration)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_SENSOR_ID: 9, **entered}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "details"
    assert result["errors"] == errors
    assert len(init_integration.subentries) == 2


async def test_horizon_and_window_are_1_to_1440_minutes(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Out of range, the form itself refuses them."""
    result = await _details(hass, init_integration)
    for key, minutes in ((CONF_PREDICTION_HORIZON, 0), (CONF_TREND_WINDOW, 1441)):
        with pytest.raises(InvalidData):
            await hass.config_entries.subentries.async_configure(
                result["flow_id"], {CONF_SENSOR_ID: 9, key: minutes}
            )


async def test_reconfigure_adds_rules_and_their_entities(
    hass: HomeAssistant, init_integration: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """The saved values are shown; new rules bring the problem and anomaly entities at once."""
    assert (
        entity_registry.async_get_entity_id("binary_sensor", "iot_hub", f"{ENV_ID}_problem") is None
    )
    result = await init_integration.start_subentry_reconfigure_flow(hass, ENV_ID)
    assert result["step_id"] == "reconfigure"
    assert _suggested(result) == {CONF_SENSOR_ID: 1, CONF_TIPO: "temperatura", CONF_MODELO: "DHT22"}
    assert _defaults(result)[CONF_PREDICTION_HORIZON] == 15
    common = {CONF_NAME: "Environment", CONF_SENSOR_ID: 1, CONF_ROTATE_TOKEN: False}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**common, CONF_ANOMALY_RULES: {"temperatura": {"jump": 0}}}
    )
    assert result["errors"] == {CONF_ANOMALY_RULES: "anomaly_rules_jump"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**common, CONF_ANOMALY_RULES: RULES, CONF_PREDICTION_HORIZON: 60}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    data = init_integration.subentries[ENV_ID].data
    assert data[CONF_ANOMALY_RULES] == {"temperatura": {"min": 0.0, "max": 40.0, "jump": 5.0}}
    assert data[CONF_PREDICTION_HORIZON] == 60
    assert data[CONF_TREND_WINDOW] == 10
    assert hass.states.get("binary_sensor.environment_problem") is not None
    assert hass.states.get("event.environment_anomaly") is not None

    result = await init_integration.start_subentry_reconfigure_flow(hass, ENV_ID)
    assert _suggested(result)[CONF_ANOMALY_RULES] == data[CONF_ANOMALY_RULES]
    assert _defaults(result)[CONF_PREDICTION_HORIZON] == 60
