"""The charger's own keys: subentry data, options, card subentries and bus events."""

from __future__ import annotations

from typing import Final

KIND: Final = "charger"

CONF_STATION_ID: Final = "station_id"  # a charger's estacionId (seed 002), unique per hub
SUBENTRY_CARD: Final = "card"  # an authorised NFC card: uid in data, the user's name as title
CONF_CARD_UID: Final = "uid"
CONF_MAX_POWER: Final = "max_power_kw"  # a charger's rating: more is never metered
DEFAULT_MAX_POWER_KW: Final = 22.0  # the most an AC wallbox delivers (3 x 32 A at 230 V)
CONF_PRICE: Final = "price_per_kwh"  # a fixed energy price (currency per kWh)
CONF_PRICE_ENTITY: Final = "price_entity"  # or a live price sensor (spot price)

EVENT_NFC_SCAN: Final = "iot_hub_nfc_scan"  # every scan, repeats included
EVENT_EMERGENCY: Final = "iot_hub_emergency"

# The card scan event entity's key and its event types.
CARD_SCAN: Final = "card_scan"
EVENT_AUTHORISED: Final = "authorised"
EVENT_REJECTED: Final = "rejected"
CONF_NEW_TAGS_PER_HOUR: Final = "new_tags_per_hour"
DEFAULT_NEW_TAGS_PER_HOUR: Final = 20
