"""The EV charger (seed 002): NFC cards, metered kWh, cost and time per charging session.

The charger connects with ``?role=publisher&estacionId=N`` and its device token; dashboards
with ``?role=client&estacionId=N`` and an HA token. Cards are hub subentries of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ...const import TRANSPORT_MQTT, TRANSPORT_WEBSOCKET, CloseCode
from ...errors import ErrorKey
from ...kind import Kind, KindContext, Route
from .codec import CLOSE_MISSING_STATION, QUERY_ROLE, QUERY_STATION, ROLE_CLIENT, ROLE_PUBLISHER
from .config_flow import CardSubentryFlow, ChargerOptions, StationFields
from .const import CONF_CARD_UID, CONF_STATION_ID, KIND, SUBENTRY_CARD
from .entities import ENTITIES
from .handler import ChargerHandler, wire_error
from .measure import ChargeMeasure, logbook_summary


def route(query: Mapping[str, str]) -> Route | None:
    """Seed 002's ``role``/``estacionId``: a charger, or a dashboard of one station."""
    if (role := query.get(QUERY_ROLE)) is None:
        return None
    station = query.get(QUERY_STATION) or None

    def at_station(device: KindContext) -> bool:
        return device.data.get(CONF_STATION_ID) == station

    if role == ROLE_PUBLISHER:
        if station is None:
            return Route(kind=KIND, refusal=(CLOSE_MISSING_STATION, "publisher without estacionId"))
        # A charger authenticates with its own device token, never an HA user's.
        return Route(
            kind=KIND, clients=False, admits=at_station, mismatch="token belongs to another station"
        )
    if role == ROLE_CLIENT:
        if station is None:
            return Route(
                kind=KIND, refusal=(CloseCode.DEVICE_NOT_CHOSEN, "client without estacionId")
            )
        return Route(kind=KIND, devices=False, chooses=at_station)
    return Route(kind=KIND, refusal=(CloseCode.POLICY, "unknown role"))


def _clear_emergency(charger: ChargerHandler) -> None:
    charger.clear_emergency()


CHARGER: Final = Kind(
    key=KIND,
    model="EV charger (ESP32)",
    create=ChargerHandler,
    load_measure=ChargeMeasure.from_dict,
    entities=ENTITIES,
    route=route,
    transports=(TRANSPORT_WEBSOCKET, TRANSPORT_MQTT),
    fields=StationFields(),
    options=ChargerOptions(),
    subentry_flows={SUBENTRY_CARD: CardSubentryFlow},
    actions={"clear_emergency": _clear_emergency},
    wire_error=wire_error,
    errors=frozenset({ErrorKey.EMERGENCY_ACTIVE, ErrorKey.CARD_REJECTED}),
    logbook_summary=logbook_summary,
    redact=frozenset({CONF_CARD_UID, "card"}),
)

__all__ = ["CHARGER"]
