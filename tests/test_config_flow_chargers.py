"""Config flow for chargers (seed 002): station ids, authorised NFC cards and the energy price."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientWebSocketResponse
from homeassistant.config_entries import SOURCE_USER, ConfigSubentry, ConfigSubentryData
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.iot_hub.const import (
    CONF_HISTORY_SIZE,
    CONF_KIND,
    CONF_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER,
    CONF_RECORD_INTERVAL,
    CONF_RESUME_GRACE,
    CONF_TOKEN_HASH,
    DEFAULT_HISTORY_SIZE,
    DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    DEFAULT_MAX_CONNECTIONS_PER_USER,
    DEFAULT_RECORD_INTERVAL,
    DEFAULT_RESUME_GRACE,
    SUBENTRY_DEVICE,
    WS_PATH,
    CloseCode,
)
from custom_components.iot_hub.device_flow import CONF_ROTATE_TOKEN, _device_url
from custom_components.iot_hub.hub import Hub
from custom_components.iot_hub.kinds.charger import CHARGER
from custom_components.iot_hub.kinds.charger.const import (
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
from custom_components.iot_hub.tokens import hash_token

from .conftest import (
    APPLIANCE_OPTIONS,
    MQTT_FIELDS,
    MQTT_OPTIONS,
    OVEN_ID,
    OVEN_TOKEN,
    WsConnect,
    closed_with,
    oven_subentry,
)
from .test_charger import (
    CARD,
    CHARGER_ID,
    CHARGER_TOKEN,
    _publisher,
    card_subentry,
    card_subentry_id,
    charger_subentry,
)
from .test_config_flow import _defaults, _suggested

CARD_ID = card_subentry_id(CARD)
REJECTED = {"type": "error", "message": "card not authorised", "code": "CARD_REJECTED"}
DEFAULT_CAPS = {
    CONF_MAX_CONNECTIONS_PER_ADDRESS: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
    CONF_MAX_CONNECTIONS_PER_USER: DEFAULT_MAX_CONNECTIONS_PER_USER,
}
STORED_MQTT = {**MQTT_OPTIONS, "mqtt_legacy_filter": "", **APPLIANCE_OPTIONS}


@pytest.fixture
def subentries() -> list[ConfigSubentryData]:
    """An oven, a charger on station 1 and Juan's card."""
    return [
        oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN),
        charger_subentry(CHARGER_ID, "Charger", CHARGER_TOKEN, "1"),
        card_subentry(CARD, "Juan Pérez"),
    ]


def _fields(result: Any) -> list[str]:
    schema = result["data_schema"]
    assert schema is not None
    return [str(key) for key in schema.schema]


def _subentry_titled(entry: MockConfigEntry, title: str) -> ConfigSubentry:
    (subentry,) = (s for s in entry.subentries.values() if s.title == title)
    return subentry


async def _scan(ws: ClientWebSocketResponse, uid: str) -> dict[str, Any]:
    await ws.send_json({"type": "nfc_scan", "nfc_uid": uid})
    reply: dict[str, Any] = await ws.receive_json(timeout=5)
    return reply


async def _start_device_flow(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_DEVICE), context={"source": SOURCE_USER}
    )


async def _start_card_flow(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CARD), context={"source": SOURCE_USER}
    )


# -- adding a charger -------------------------------------------------------------------------


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_add_charger_asks_for_its_station(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """Kind charger: a station step (validated), then the token with the publisher URL."""
    await async_process_ha_core_config(hass, {"internal_url": "http://ha.local:8123"})
    result = await _start_device_flow(hass, init_integration)
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: " Garage charger ", CONF_KIND: "charger"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "details"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": "Garage charger"}
    assert _fields(result) == [CONF_STATION_ID, CONF_MAX_POWER]
    assert _suggested(result) == {CONF_STATION_ID: "2"}  # station 1 is taken
    assert _defaults(result) == {CONF_MAX_POWER: DEFAULT_MAX_POWER_KW}

    for station, error in (
        ("   ", "station_invalid"),
        ("station 2", "station_invalid"),
        ("a\tb", "station_invalid"),
        ("x" * 33, "station_invalid"),
        (" 1 ", "station_exists"),
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {CONF_STATION_ID: station}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "details"
        assert result["errors"] == {CONF_STATION_ID: error}, station
        # The input is kept (the rating as the schema's default filled it in).
        assert _suggested(result) == {CONF_STATION_ID: station, CONF_MAX_POWER: 22.0}
    assert len(init_integration.subentries) == 3

    with pytest.raises(InvalidData):  # a rating within what a reading may hold
        await hass.config_entries.subentries.async_configure(
            result["flow_id"], {CONF_STATION_ID: " 7 ", CONF_MAX_POWER: 0.5}
        )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_STATION_ID: " 7 ", CONF_MAX_POWER: 150}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "token"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    token = placeholders["token"]
    assert placeholders["name"] == "Garage charger"
    assert placeholders["url"] == (
        f"ws://ha.local:8123{WS_PATH}?role=publisher&estacionId=7&token={token}"
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    subentry = _subentry_titled(init_integration, "Garage charger")
    assert dict(subentry.data) == {
        CONF_KIND: "charger",
        CONF_TOKEN_HASH: hash_token(token),
        CONF_STATION_ID: "7",
        CONF_MAX_POWER: 150.0,
        CONF_RECORD_INTERVAL: DEFAULT_RECORD_INTERVAL,
    }
    hub: Hub = init_integration.runtime_data
    assert hub.devices[subentry.subentry_id].handler.station == "7"
    assert hub.devices[subentry.subentry_id].handler.max_power_kw == 150.0
    # It works at once, next to the charger that was already there.
    first = await _publisher(ws_connect, "1", CHARGER_TOKEN)
    await _publisher(ws_connect, "7", token)
    assert not first.closed


@pytest.mark.parametrize("subentries", [[]])
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_add_charger_station_with_reserved_characters(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """The first charger is offered station 1; any printable id works, escaped in the URL."""
    await async_process_ha_core_config(hass, {"internal_url": "http://ha.local:8123"})
    result = await _start_device_flow(hass, init_integration)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Charger", CONF_KIND: "charger"}
    )
    assert _suggested(result) == {CONF_STATION_ID: "1"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_STATION_ID: "Nº&5"}
    )
    placeholders = result["description_placeholders"]
    token = placeholders["token"]
    url = placeholders["url"]
    assert url == f"ws://ha.local:8123{WS_PATH}?role=publisher&estacionId=N%C2%BA%265&token={token}"
    await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    await hass.async_block_till_done()
    # The firmware uses the URL as shown.
    ws = await ws_connect(url.removeprefix(f"ws://ha.local:8123{WS_PATH}"))
    assert (await ws.receive_json(timeout=5))["estacionId"] == "Nº&5"


async def test_oven_url_has_no_station(hass: HomeAssistant) -> None:
    """Ovens keep the plain token URL; chargers name role and station."""
    await async_process_ha_core_config(hass, {"internal_url": "https://ha.example:8443"})
    assert _device_url(hass, "abc") == f"wss://ha.example:8443{WS_PATH}?token=abc"
    query = CHARGER.fields.device_query({CONF_STATION_ID: "12"}) if CHARGER.fields else ""
    assert _device_url(hass, "abc", query) == (
        f"wss://ha.example:8443{WS_PATH}?role=publisher&estacionId=12&token=abc"
    )


@pytest.mark.usefixtures("init_integration")
async def test_device_may_share_a_card_users_name(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Device names are unique among devices only; cards' titles are people."""
    result = await _start_device_flow(hass, init_integration)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Juan Pérez", CONF_KIND: "oven"}
    )
    assert result["step_id"] == "details"


# -- reconfiguring a charger ------------------------------------------------------------------


@pytest.mark.parametrize(
    "subentries",
    [
        [
            oven_subentry(OVEN_ID, "Oven", OVEN_TOKEN),
            charger_subentry(CHARGER_ID, "Charger", CHARGER_TOKEN, "1"),
            charger_subentry("charger2subentry", "Charger 2", "charger-2-token-xxxxxxxx", "2"),
        ]
    ],
)
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_reconfigure_charger_station(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A charger's station can change (validated, itself excluded); new connections use it."""
    hub: Hub = init_integration.runtime_data
    connected = await _publisher(ws_connect, "1", CHARGER_TOKEN)
    result = await init_integration.start_subentry_reconfigure_flow(hass, CHARGER_ID)
    assert result["step_id"] == "reconfigure"
    assert _fields(result) == [
        CONF_NAME,
        CONF_STATION_ID,
        CONF_MAX_POWER,
        CONF_RECORD_INTERVAL,
        CONF_ROTATE_TOKEN,
    ]
    assert _defaults(result) == {
        CONF_NAME: "Charger",
        CONF_STATION_ID: "1",
        CONF_MAX_POWER: DEFAULT_MAX_POWER_KW,  # a charger added before the rating existed
        CONF_RECORD_INTERVAL: DEFAULT_RECORD_INTERVAL,  # and before the record budget
        CONF_ROTATE_TOKEN: False,
    }

    for user_input, errors in (
        (
            {CONF_NAME: "Charger", CONF_STATION_ID: "2", CONF_ROTATE_TOKEN: False},
            {CONF_STATION_ID: "station_exists"},
        ),
        (
            {CONF_NAME: "oven", CONF_STATION_ID: "", CONF_ROTATE_TOKEN: False},
            {CONF_NAME: "name_exists", CONF_STATION_ID: "station_invalid"},
        ),
        (
            {CONF_NAME: " ", CONF_STATION_ID: "5", CONF_ROTATE_TOKEN: False},
            {CONF_NAME: "name_empty"},
        ),
    ):
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors
        assert _suggested(result) == {
            **user_input,
            CONF_MAX_POWER: DEFAULT_MAX_POWER_KW,
            CONF_RECORD_INTERVAL: DEFAULT_RECORD_INTERVAL,
        }
    assert init_integration.subentries[CHARGER_ID].data[CONF_STATION_ID] == "1"

    # Its own station is no clash; renaming alone keeps it.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Garage", CONF_STATION_ID: " 1", CONF_ROTATE_TOKEN: False},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert init_integration.subentries[CHARGER_ID].title == "Garage"
    assert init_integration.subentries[CHARGER_ID].data[CONF_STATION_ID] == "1"

    result = await init_integration.start_subentry_reconfigure_flow(hass, CHARGER_ID)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_NAME: "Garage",
            CONF_STATION_ID: "9",
            CONF_MAX_POWER: 7.4,
            CONF_RECORD_INTERVAL: 0,
            CONF_ROTATE_TOKEN: False,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert dict(init_integration.subentries[CHARGER_ID].data) == {
        CONF_KIND: "charger",
        CONF_TOKEN_HASH: hash_token(CHARGER_TOKEN),
        CONF_STATION_ID: "9",
        CONF_MAX_POWER: 7.4,
        CONF_RECORD_INTERVAL: 0,
    }
    assert hub.devices[CHARGER_ID].record_interval == 0  # at once too
    assert hub.devices[CHARGER_ID].handler.station == "9"
    assert hub.devices[CHARGER_ID].handler.max_power_kw == 7.4  # at once, no reload
    result = await init_integration.start_subentry_reconfigure_flow(hass, CHARGER_ID)
    assert _defaults(result)[CONF_MAX_POWER] == 7.4
    assert init_integration.runtime_data is hub

    # The connection made under the old station stays; a new one must use the new station.
    assert not connected.closed
    await closed_with(
        await ws_connect(f"?role=publisher&estacionId=1&token={CHARGER_TOKEN}"),
        CloseCode.UNKNOWN_DEVICE,
    )
    await _publisher(ws_connect, "9", CHARGER_TOKEN)  # replaces the older connection
    await closed_with(connected, CloseCode.REPLACED)


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_reconfigure_charger_station_and_token(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A new station and a new token together: the URL shown has both; both are stored."""
    old = await _publisher(ws_connect, "1", CHARGER_TOKEN)
    result = await init_integration.start_subentry_reconfigure_flow(hass, CHARGER_ID)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Charger", CONF_STATION_ID: "4", CONF_ROTATE_TOKEN: True},
    )
    assert result["step_id"] == "token"
    placeholders = result["description_placeholders"]
    token = placeholders["token"]
    assert placeholders["url"].endswith(f"{WS_PATH}?role=publisher&estacionId=4&token={token}")
    assert init_integration.subentries[CHARGER_ID].data[CONF_STATION_ID] == "1"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert dict(init_integration.subentries[CHARGER_ID].data) == {
        CONF_KIND: "charger",
        CONF_TOKEN_HASH: hash_token(token),
        CONF_STATION_ID: "4",
        CONF_MAX_POWER: DEFAULT_MAX_POWER_KW,
        CONF_RECORD_INTERVAL: DEFAULT_RECORD_INTERVAL,
    }
    await closed_with(old, CloseCode.INVALID_TOKEN)
    await _publisher(ws_connect, "4", token)


@pytest.mark.usefixtures("init_integration")
async def test_reconfigure_oven_has_no_station(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Ovens keep their form: name, target temperature, record budget and token only."""
    result = await init_integration.start_subentry_reconfigure_flow(hass, OVEN_ID)
    assert _fields(result) == [
        CONF_NAME,
        "target_temperature",
        CONF_RECORD_INTERVAL,
        CONF_ROTATE_TOKEN,
    ]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Bread oven", CONF_ROTATE_TOKEN: True}
    )
    placeholders = result["description_placeholders"]
    assert placeholders["url"].endswith(f"{WS_PATH}?token={placeholders['token']}")
    await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert dict(init_integration.subentries[OVEN_ID].data) == {
        CONF_KIND: "oven",
        CONF_TOKEN_HASH: hash_token(placeholders["token"]),
        CONF_RECORD_INTERVAL: DEFAULT_RECORD_INTERVAL,
    }


# -- cards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_add_card_authorises_at_once(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """A new card is validated, stored under its normalised uid and accepted at once."""
    charger = await _publisher(ws_connect, "1", CHARGER_TOKEN)
    assert await _scan(charger, "04:a3:2b:9c") == REJECTED

    result = await _start_card_flow(hass, init_integration)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    assert _fields(result) == [CONF_CARD_UID, CONF_NAME]
    for user_input, errors in (
        ({CONF_CARD_UID: "  ", CONF_NAME: "Ana"}, {CONF_CARD_UID: "uid_invalid"}),
        ({CONF_CARD_UID: "x" * 65, CONF_NAME: "Ana"}, {CONF_CARD_UID: "uid_invalid"}),
        ({CONF_CARD_UID: "CARTÓN-1", CONF_NAME: "Ana"}, {CONF_CARD_UID: "uid_invalid"}),
        ({CONF_CARD_UID: "04\x0012", CONF_NAME: "Ana"}, {CONF_CARD_UID: "uid_invalid"}),
        (
            {CONF_CARD_UID: f" {CARD.lower()} ", CONF_NAME: " "},
            {CONF_CARD_UID: "card_exists", CONF_NAME: "name_empty"},
        ),
    ):
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], user_input)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors, user_input
        assert _suggested(result) == user_input
    assert len(init_integration.get_subentries_of_type(SUBENTRY_CARD)) == 1

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_CARD_UID: " 04:a3:2b:9c ", CONF_NAME: " Ana López "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    card = _subentry_titled(init_integration, "Ana López")
    assert card.subentry_type == SUBENTRY_CARD
    assert dict(card.data) == {CONF_CARD_UID: "04:a3:2b:9c"}
    assert card.unique_id == "04:A3:2B:9C"
    hub: Hub = init_integration.runtime_data
    assert hub.devices[CHARGER_ID].handler.cards() == {
        CARD: "Juan Pérez",
        "04:A3:2B:9C": "Ana López",
    }

    start = await _scan(charger, "04:A3:2B:9C")
    assert (start["type"], start["user_name"]) == ("start", "Ana López")
    assert init_integration.runtime_data is hub


@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_removed_card_is_rejected_at_once(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """Removing a card subentry (as HA's UI does) takes the card's authorisation away."""
    charger = await _publisher(ws_connect, "1", CHARGER_TOKEN)
    assert hass.config_entries.async_remove_subentry(init_integration, CARD_ID)
    await hass.async_block_till_done()
    assert await _scan(charger, CARD) == REJECTED
    assert init_integration.runtime_data.devices[CHARGER_ID].handler.cards() == {}
    assert not charger.closed


@pytest.mark.parametrize(
    "subentries",
    [
        [
            charger_subentry(CHARGER_ID, "Charger", CHARGER_TOKEN, "1"),
            card_subentry(CARD, "Juan Pérez"),
            card_subentry("CARD-2", "Ana"),
        ]
    ],
)
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_reconfigure_card(
    hass: HomeAssistant, init_integration: MockConfigEntry, ws_connect: WsConnect
) -> None:
    """Rename the user; change the uid (checked against the other cards, not itself)."""
    charger = await _publisher(ws_connect, "1", CHARGER_TOKEN)
    result = await init_integration.start_subentry_reconfigure_flow(hass, CARD_ID)
    assert result["step_id"] == "reconfigure"
    assert _defaults(result) == {CONF_NAME: "Juan Pérez", CONF_CARD_UID: CARD}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Juan", CONF_CARD_UID: " card-2"}
    )
    assert result["errors"] == {CONF_CARD_UID: "card_exists"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "", CONF_CARD_UID: ""}
    )
    assert result["errors"] == {CONF_CARD_UID: "uid_invalid", CONF_NAME: "name_empty"}
    # Its own uid, in another case, is no clash.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: " Juan P. ", CONF_CARD_UID: CARD.lower()}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    card = init_integration.subentries[CARD_ID]
    assert card.title == "Juan P."
    assert card.unique_id == CARD
    assert (await _scan(charger, CARD))["user_name"] == "Juan P."
    await charger.send_json({"type": "stop"})
    assert (await charger.receive_json(timeout=5))["type"] == "stop"

    result = await init_integration.start_subentry_reconfigure_flow(hass, CARD_ID)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Juan P.", CONF_CARD_UID: "NEW-CARD-77"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    card = init_integration.subentries[CARD_ID]
    assert dict(card.data) == {CONF_CARD_UID: "NEW-CARD-77"}
    assert card.unique_id == "NEW-CARD-77"
    assert await _scan(charger, CARD) == REJECTED
    assert (await _scan(charger, "new-card-77"))["user_name"] == "Juan P."


# -- the energy price -------------------------------------------------------------------------


async def test_options_price_applies_to_the_running_hub(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A fixed price, then a live price sensor that wins over it; both can be cleared."""
    hub: Hub = init_integration.runtime_data
    assert hub.devices[CHARGER_ID].handler.price_now() is None
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert _fields(result) == [
        CONF_HISTORY_SIZE,
        CONF_RESUME_GRACE,
        *DEFAULT_CAPS,
        *MQTT_FIELDS,
        CONF_PRICE,
        CONF_PRICE_ENTITY,
        CONF_NEW_TAGS_PER_HOUR,
        *APPLIANCE_OPTIONS,
    ]
    assert _suggested(result) == {
        "mqtt_legacy_filter": "",
        CONF_PRICE: None,
        CONF_PRICE_ENTITY: None,
        CONF_NEW_TAGS_PER_HOUR: DEFAULT_NEW_TAGS_PER_HOUR,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_HISTORY_SIZE: 50, CONF_RESUME_GRACE: 60, CONF_PRICE: 1}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert init_integration.options == {
        CONF_HISTORY_SIZE: 50,
        CONF_RESUME_GRACE: 60,
        **DEFAULT_CAPS,
        **STORED_MQTT,
        CONF_PRICE: 1.0,
    }
    assert isinstance(init_integration.options[CONF_PRICE], float)
    assert hub.devices[CHARGER_ID].handler.price_now() == 1.0

    hass.states.async_set("sensor.spot", "0.31")
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert _suggested(result) == {
        "mqtt_legacy_filter": "",
        CONF_PRICE: 1.0,
        CONF_PRICE_ENTITY: None,
        CONF_NEW_TAGS_PER_HOUR: DEFAULT_NEW_TAGS_PER_HOUR,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_HISTORY_SIZE: 50,
            CONF_RESUME_GRACE: 60,
            CONF_PRICE: 0.25,
            CONF_PRICE_ENTITY: "sensor.spot",
        },
    )
    await hass.async_block_till_done()
    assert init_integration.options[CONF_PRICE_ENTITY] == "sensor.spot"
    assert hub.devices[CHARGER_ID].handler.price_now() == 0.31  # the live price wins
    hass.states.async_set("sensor.spot", "0.12")
    assert hub.devices[CHARGER_ID].handler.price_now() == 0.12
    hass.states.async_set("sensor.spot", "unavailable")
    assert hub.devices[CHARGER_ID].handler.price_now() is None  # that energy stays uncosted
    assert init_integration.runtime_data is hub

    # Clearing the sensor falls back to the fixed price; clearing both leaves no price.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert _suggested(result) == {
        "mqtt_legacy_filter": "",
        CONF_PRICE: 0.25,
        CONF_PRICE_ENTITY: "sensor.spot",
        CONF_NEW_TAGS_PER_HOUR: DEFAULT_NEW_TAGS_PER_HOUR,
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_HISTORY_SIZE: 50, CONF_RESUME_GRACE: 60, CONF_PRICE: -0.5}
    )
    await hass.async_block_till_done()
    assert (
        hub.devices[CHARGER_ID].handler.price_now() == -0.5
    )  # negative spot-like prices are allowed
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_HISTORY_SIZE: 50, CONF_RESUME_GRACE: 60}
    )
    await hass.async_block_till_done()
    assert init_integration.options == {
        CONF_HISTORY_SIZE: 50,
        CONF_RESUME_GRACE: 60,
        **DEFAULT_CAPS,
        **STORED_MQTT,
    }
    assert hub.devices[CHARGER_ID].handler.price_now() is None

    # The hourly allowance of new tags: saved as a whole number, shown again.
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_HISTORY_SIZE: 50, CONF_RESUME_GRACE: 60, CONF_NEW_TAGS_PER_HOUR: 5.0},
    )
    await hass.async_block_till_done()
    assert init_integration.options[CONF_NEW_TAGS_PER_HOUR] == 5
    assert isinstance(init_integration.options[CONF_NEW_TAGS_PER_HOUR], int)
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert _suggested(result)[CONF_NEW_TAGS_PER_HOUR] == 5


@pytest.mark.usefixtures("init_integration")
async def test_options_price_is_validated(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Out-of-range prices and non-sensor entities are refused by the selectors."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    base = {CONF_HISTORY_SIZE: DEFAULT_HISTORY_SIZE, CONF_RESUME_GRACE: DEFAULT_RESUME_GRACE}
    for bad in (
        {CONF_PRICE: 100.5},
        {CONF_PRICE: -11},
        {CONF_PRICE_ENTITY: "light.kitchen"},
        {CONF_NEW_TAGS_PER_HOUR: -1},
        {CONF_NEW_TAGS_PER_HOUR: 10_001},
    ):
        with pytest.raises(InvalidData):
            await hass.config_entries.options.async_configure(result["flow_id"], base | bad)
    assert init_integration.options == {}
