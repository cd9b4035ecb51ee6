"""A charger's state and operations: cards, price, metering, emergency latch, frames out.

What HA's side does with a charger, whoever asked (the charger, a dashboard, an action, a
button). ``handler.py`` adds what its frames in mean. The lifetime totals and the emergency
latch are kept with the sessions, so a restart loses neither.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.components import persistent_notification, tag
from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, Actor, SessionStatus
from ...errors import ErrorKey, IotHubError
from ...kind import KindContext, KindHandler
from ...sessions import ActorRef, Session
from ...signals import Update
from .codec import Metrics
from .const import (
    CARD_SCAN,
    CONF_CARD_UID,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_STATION_ID,
    EVENT_AUTHORISED,
    EVENT_EMERGENCY,
    EVENT_NFC_SCAN,
    EVENT_REJECTED,
    SUBENTRY_CARD,
)
from .encode import ChargerStatus, encode_emergency, encode_start, encode_stop
from .measure import ChargeMeasure
from .metering import LifetimeTotal

_LOGGER = logging.getLogger(__name__)


def normalise_uid(uid: str) -> str:
    """Card uids compare without case or surrounding blanks (readers differ in both)."""
    return uid.strip().upper()


def emergency_notification_id(device_id: str) -> str:
    """The persistent notification of a device's emergency stop."""
    return f"{DOMAIN}_emergency_{device_id}"


class ChargerCore(KindHandler):
    """One charger's live state and what HA does with it."""

    def __init__(self, device: KindContext) -> None:
        """Take back what was kept with the sessions (lifetime totals, emergency latch)."""
        super().__init__(device)
        kept = device.stored_state()
        self.kept_found = bool(kept)  # False: lost (or new): restored states may fill in
        self.lifetime = (
            LifetimeTotal.from_dict(kept["lifetime"]) if "lifetime" in kept else LifetimeTotal()
        )
        self.lifetime_cost: float = kept.get("lifetime_cost", 0.0)  # may fall: negative prices
        self.emergency: bool = bool(kept.get("emergency", False))
        # The lifetime energy as written to disk: what its sensor shows, so that no crash can
        # bring back a lower total than HA showed (readings reach it within SAVE_DELAY).
        self.shown_lifetime = self.lifetime.value
        self.voltage: float | None = None  # the last metrics
        self.current: float | None = None
        self.power: float | None = None
        # Sessions told to stop on the current connection (emptied on each connect).
        self.stops_sent: set[int] = set()
        device.keep_state(self._kept, self._saved)

    def _kept(self) -> dict[str, Any]:
        return {
            "lifetime": self.lifetime.as_dict(),
            "lifetime_cost": self.lifetime_cost,
            "emergency": self.emergency,
        }

    @callback
    def _saved(self, state: dict[str, Any]) -> None:
        kwh = LifetimeTotal.from_dict(state.get("lifetime", {})).value
        if kwh > self.shown_lifetime:
            self.shown_lifetime = kwh
            self.device.notify(Update.READING)

    @property
    def station(self) -> str:
        """The charger's ``estacionId`` (its name when none was set)."""
        station: str | None = self.device.data.get(CONF_STATION_ID)
        return station or self.device.name

    @property
    def status(self) -> ChargerStatus:
        """What the charger is doing, as the dashboard's ``init`` and the state sensor tell it."""
        if self.emergency:
            return "emergency"
        if not self.device.connected:
            return "offline"
        return "charging" if self.device.active_session else "available"

    def charge(self, session: Session | None = None) -> ChargeMeasure | None:
        """What the running (or the given) session measured so far."""
        session = session or self.device.active_session
        if session is not None and isinstance(session.measure, ChargeMeasure):
            return session.measure
        return None

    # -- cards -----------------------------------------------------------------------------

    def cards(self) -> dict[str, str]:
        """Authorised cards: normalised uid -> the card user's name (hub subentries)."""
        return {
            normalise_uid(sub.data[CONF_CARD_UID]): sub.title
            for sub in self.device.subentries(SUBENTRY_CARD)
        }

    def card_actor(self, uid: str) -> ActorRef:
        """The actor for an authorised card; ``IotHubError`` for any other (default reject)."""
        if (user := self.cards().get(normalise_uid(uid))) is None:
            raise IotHubError(ErrorKey.CARD_REJECTED, self.device.name)
        return ActorRef(Actor.CARD, None, user, uid)

    def starter(self, actor: ActorRef, user_name: str | None, card: str | None) -> ActorRef:
        """Who an action's session is for: a card (checked like a scan), or a named user."""
        if card is not None:
            return self.card_actor(card)
        return super().starter(actor, user_name, card)

    @callback
    def card_scanned(self, uid: str) -> None:
        """Every scan, repeats included: an HA event, the event entity, HA's tag integration."""
        device = self.device
        user = self.cards().get(normalise_uid(uid))
        ha_device_id = device.ha_device_id()
        device.hass.bus.async_fire(
            EVENT_NFC_SCAN,
            {
                "device_id": ha_device_id,
                "device_name": device.name,
                "uid": uid,
                "authorised": user is not None,
                "user_name": user,
            },
        )
        device.fire_entity_event(
            CARD_SCAN,
            EVENT_AUTHORISED if user is not None else EVENT_REJECTED,
            {"uid": uid, "user_name": user},
        )
        if "tag" in device.hass.config.components:
            device.create_task(
                tag.async_scan_tag(device.hass, uid, ha_device_id), f"{DOMAIN} tag scan"
            )

    # -- metering --------------------------------------------------------------------------

    def price_now(self) -> float | None:
        """The energy price in force: the live price sensor's state, else the fixed price."""
        options: Mapping[str, Any] = self.device.options
        if (entity_id := options.get(CONF_PRICE_ENTITY)) is not None:
            state = self.device.hass.states.get(entity_id)
            try:
                return float(state.state) if state is not None else None
            except ValueError:
                return None  # unknown/unavailable: that energy stays uncosted
        price = options.get(CONF_PRICE)
        return float(price) if price is not None else None

    @callback
    def meter(self, measure: ChargeMeasure, ts: float, metrics: Metrics) -> None:
        """Fold a charger's metrics into its session: energy, cost, and the lifetime totals."""
        added = 0.0
        if metrics.energy_kwh is not None:
            added += measure.energy.add_energy_reading(ts, metrics.energy_kwh)
        # In counter mode a power sample only keeps the peak; otherwise it adds energy.
        added += measure.energy.add_power_sample(ts, metrics.power)
        if added > 0:
            cost = measure.add(added, self.price_now())
            self.lifetime.add(added)
            self.lifetime_cost += cost
            self.device.state_changed()

    # -- emergency -------------------------------------------------------------------------

    def check_start(self) -> None:
        """A latched emergency stop forbids charging until the user clears it."""
        if self.emergency:
            raise IotHubError(ErrorKey.EMERGENCY_ACTIVE, self.device.name)

    @callback
    def emergency_stop(self) -> None:
        """Emergency stop: end the session, stop the charger, latch, alert the user."""
        device = self.device
        session = device.active_session
        if session is not None:
            device.sessions.stop(
                device.id, device.name, ActorRef(Actor.DEVICE), None, SessionStatus.EMERGENCY
            )
        self.emergency = True
        device.state_changed(now=True)
        session_id = session.id if session else None
        self.send_stop(session_id)
        device.broadcast(encode_emergency(self.station, session_id, dt_util.utcnow()))
        _LOGGER.warning("Emergency stop on %s", device.name)
        device.hass.bus.async_fire(
            EVENT_EMERGENCY,
            {
                "device_id": device.ha_device_id(),
                "device_name": device.name,
                "session_id": session_id,
            },
        )
        persistent_notification.async_create(
            device.hass,
            f"{device.name} reported an emergency stop. It cannot charge again until you clear"
            " the emergency (its Clear emergency button or the iot_hub.clear_emergency action).",
            f"Emergency stop: {device.name}",
            emergency_notification_id(device.id),
        )
        device.notify(Update.SESSION)

    @callback
    def clear_emergency(self) -> None:
        """The user checked the charger: it may charge again."""
        if not self.emergency:
            raise IotHubError(ErrorKey.NO_EMERGENCY, self.device.name)
        self.emergency = False
        self.device.state_changed(now=True)
        persistent_notification.async_dismiss(
            self.device.hass, emergency_notification_id(self.device.id)
        )
        _LOGGER.info("Emergency of %s cleared", self.device.name)
        self.device.notify(Update.SESSION)

    @callback
    def restore_latch(self) -> None:
        """HA showed this charger's emergency latched before the restart: latch it again.

        The safe side when the stores and HA's restored states disagree: latched.
        """
        if not self.emergency:
            _LOGGER.warning("Emergency of %s restored from its last known state", self.device.name)
            self.emergency = True
            self.device.state_changed(now=True)
            self.device.notify(Update.SESSION)

    @callback
    def restore_totals(self, kwh: float | None = None, cost: float | None = None) -> None:
        """The lifetime totals HA showed before the restart: never go below them.

        Energy only increases, so the higher value wins. Cost may fall (negative prices): the
        restored one is taken only when the stored state was lost.
        """
        changed = kwh is not None and self.lifetime.raise_to(kwh) > 0
        # HA showed it already: shown at once (a lower first state would read as a reset).
        self.shown_lifetime = max(self.shown_lifetime, self.lifetime.value)
        if cost is not None and not self.kept_found and cost > self.lifetime_cost:
            self.lifetime_cost = cost
            changed = True
        if changed:
            self.device.state_changed(now=True)

    # -- frames out ------------------------------------------------------------------------

    def new_measure(self, by: ActorRef) -> ChargeMeasure:
        """A charging session measures energy and cost, and knows who charges."""
        return ChargeMeasure(user_name=by.name, card=by.card)

    @callback
    def send_session_command(self, start: bool) -> None:
        """``start {session_id, user_name}`` or ``stop {session_id}`` to the charger."""
        if start and (session := self.device.active_session) is not None:
            self.device.send(encode_start(session.id, user_name_of(session)))
        elif not start:
            last = self.device.last_session
            self.send_stop(last.id if last else None)

    def send_stop(self, session_id: int | None) -> None:
        """``stop`` to the charger, remembered so a straggling session is told only once."""
        if self.device.send(encode_stop(session_id)) and session_id is not None:
            self.stops_sent.add(session_id)


def user_name_of(session: Session) -> str:
    """Who the charger shows: the card's or HA user's name (the seed always sends one)."""
    if isinstance(session.measure, ChargeMeasure) and session.measure.user_name:
        return session.measure.user_name
    return session.started_by.name or "Home Assistant"
