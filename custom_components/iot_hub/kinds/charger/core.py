"""A charger's state and operations: price, metering, emergency latch, frames out.

What HA's side does with a charger, whoever asked (the charger, a dashboard, an action, a
button); its cards are ``cards.py``'s. ``handler.py`` adds what its frames in mean. The lifetime totals and the emergency
latch are kept with the sessions, so a restart loses neither.
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
import math
from typing import Any, Final

from homeassistant.components import persistent_notification
from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from ...const import DOMAIN, Actor, SessionStatus
from ...errors import ErrorKey, IotHubError
from ...kind import KindContext
from ...sessions import ActorRef, Session
from ...signals import Update
from .cards import ChargerCards
from .codec import Metrics
from .const import (
    CONF_MAX_POWER,
    CONF_PRICE,
    CONF_PRICE_ENTITY,
    CONF_STATION_ID,
    DEFAULT_MAX_POWER_KW,
    EVENT_EMERGENCY,
)
from .encode import ChargerStatus, encode_emergency, encode_start, encode_stop
from .measure import ChargeMeasure
from .metering import LifetimeTotal
from .tag_allowance import TagAllowance

_LOGGER = logging.getLogger(__name__)

REFUSAL_LOG_WINDOW_S: Final = 3600.0  # one warning per charger per hour of refused metering


def _read_kept(kept: dict[str, Any]) -> tuple[LifetimeTotal, float, bool] | None:
    """Lifetime energy, lifetime cost and the latch as kept, or None if they are unreadable."""
    try:
        lifetime = LifetimeTotal.from_dict(kept.get("lifetime", {}))
        cost = float(kept.get("lifetime_cost", 0.0))
    except AttributeError, TypeError, ValueError:
        return None
    emergency = kept.get("emergency", False)
    if not isinstance(emergency, bool) or not math.isfinite(cost + lifetime.value):
        return None
    return lifetime, cost, emergency


def emergency_notification_id(device_id: str) -> str:
    """The persistent notification of a device's emergency stop."""
    return f"{DOMAIN}_emergency_{device_id}"


class ChargerCore(ChargerCards):
    """One charger's live state and what HA does with it."""

    def __init__(self, device: KindContext) -> None:
        """Take back what was kept with the sessions (lifetime totals, emergency latch)."""
        super().__init__(device)
        kept = device.stored_state()
        self.kept_found = bool(kept)  # False: lost (or new): restored states may fill in
        if (read := _read_kept(kept)) is None:
            # Valid JSON, wrong content (edited by hand, a bug): take the safe side, as for a
            # lost file: latched until the user checks, totals from HA's restored states.
            _LOGGER.error(
                "The kept state of %s is unreadable (%r): its emergency stop is latched;"
                " check the charger, then clear it",
                device.name,
                kept,
            )
            self.kept_found = False
            read = (LifetimeTotal(), 0.0, True)
        self.lifetime, self.lifetime_cost, self.emergency = read  # cost may fall: negative prices
        # The lifetime energy as written to disk: what its sensor shows, so that no crash can
        # bring back a lower total than HA showed (readings reach it within SAVE_DELAY).
        self.shown_lifetime = self.lifetime.value
        self.voltage: float | None = None  # the last metrics
        self.current: float | None = None
        self.power: float | None = None
        # Sessions told to stop on the current connection (emptied on each connect).
        self.stops_sent: set[int] = set()
        self.tags = TagAllowance()  # unknown uids it registered as HA tags this hour
        self._tag_issue_at: float | None = None
        # Metering refused since HA started (readings, intervals cut to HA's clock, seconds).
        self.refused: dict[str, float] = {"readings": 0, "intervals": 0, "device_seconds": 0.0}
        self._refusal_logged_at: float | None = None
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

    @property
    def max_power_kw(self) -> float:
        """The charger's rating (its subentry's): power above it is never metered."""
        rating = self.device.data.get(CONF_MAX_POWER)
        if isinstance(rating, bool) or not isinstance(rating, int | float):
            return DEFAULT_MAX_POWER_KW  # none yet (added before ratings), or not a number
        return float(rating) if math.isfinite(rating) and rating > 0 else DEFAULT_MAX_POWER_KW

    @callback
    def meter(self, measure: ChargeMeasure, ts: float, metrics: Metrics, now: float) -> None:
        """Fold a charger's metrics into its session: energy, cost, the lifetime totals.

        ``now`` is HA's monotonic clock at arrival: energy is credited within the charger's
        rating and the time HA saw pass (``clock.py``); what is refused is counted and logged.
        """
        energy = measure.energy
        energy.max_power_w = self.max_power_kw * 1000
        before = (energy.rejected, energy.clock.clipped, energy.clock.clipped_s)
        added = 0.0
        if metrics.energy_kwh is not None:
            added += energy.add_energy_reading(ts, metrics.energy_kwh, now)
        # In counter mode a power sample only keeps the peak; otherwise it adds energy.
        added += energy.add_power_sample(ts, metrics.power, now)
        after = (energy.rejected, energy.clock.clipped, energy.clock.clipped_s)
        if after != before:
            self._refused(after[0] - before[0], after[1] - before[1], after[2] - before[2], now)
        if added > 0:
            cost = measure.add(added, self.price_now())
            self.lifetime.add(added)
            self.lifetime_cost += cost
            self.device.state_changed()

    def _refused(self, readings: int, intervals: int, seconds: float, now: float) -> None:
        """Count what the meter refused; warn once per window per charger."""
        self.refused["readings"] += readings
        self.refused["intervals"] += intervals
        self.refused["device_seconds"] += seconds
        if self._refusal_logged_at is not None and now - self._refusal_logged_at < (
            REFUSAL_LOG_WINDOW_S
        ):
            return
        self._refusal_logged_at = now
        _LOGGER.warning(
            "Refused part of the metering of %s: readings above its %s kW rating, counter"
            " jumps, or device time beyond what Home Assistant's clock saw pass (so far:"
            " %d readings, %d intervals, %.0f device seconds; see its diagnostics). Next"
            " warning in an hour at the earliest",
            self.device.name,
            self.max_power_kw,
            self.refused["readings"],
            self.refused["intervals"],
            self.refused["device_seconds"],
        )

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
