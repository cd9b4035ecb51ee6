"""Charger metering: session energy, session cost and a lifetime energy total.

Pure arithmetic (stdlib only, no Home Assistant imports, no I/O) so every rule below is
testable on its own. The charger (seed 002) sends ``metrics {session_id, v, a, w, ts}`` about
every 3 s, ``ts`` in Unix seconds from the *device's* clock. Intervals are measured on that
clock (samples queue up and arrive in bursts after a reconnect: their spacing on arrival says
nothing of when they were measured), but credited only as far as HA's clock allows: callers
pass ``now``, HA's monotonic arrival time, and ``clock.ClockGuard`` bounds the device seconds
credited by the time HA saw pass (``clock``; ``now=None`` leaves the device clock unchecked).

Energy from power samples (``EnergyMeter.add_power_sample``):

* **Integration**: trapezoid between consecutive *accepted* samples, ``(w_prev + w) / 2 * dt``
  (``dt`` as far as HA's clock grants it). Exact for constant power and linear ramps (a
  charger's current ramp-up and taper), unbiased where a held value (rectangle) is not.
* **Duplicates** (``ts`` equal to the last accepted one) are ignored, whatever their power:
  the first sample for an instant wins. Counted in ``ignored``.
* **Out of order** (``ts`` before the last accepted one, by at most ``MAX_CLOCK_JUMP_S``) is
  ignored and counted in ``ignored``. A late sample is not re-inserted: that would mean taking
  back energy already reported, and the session total must never go down. Consequence: a
  dropped late sample leaves the trapezoid to bridge its interval, which for a dip in power
  can count *more* than the in-order series would (bounded by ``max_power_w * dt`` for that
  interval; in-order delivery, the normal case, is exact).
* **Gaps** longer than ``MAX_GAP_S`` (60 s, 20x the 3 s cadence) are *skipped*: the sample
  after the gap starts a new time base and no energy is counted for the gap (counted in
  ``gaps`` and ``gap_s``). Over a minute without data the charger may have been paused by the
  car, unplugged, tripped or cut off by the link itself; the alternatives (trapezoid, or the
  lower of the two powers for up to ``MAX_GAP_S``) would bill energy nobody observed, and a
  bill must only contain energy the samples show. Devices that need gaps covered report an
  energy counter, which does exactly that (below).
* **Clock jumps**: ``ts`` more than ``MAX_CLOCK_JUMP_S`` (1 day) after *or before* the last
  accepted sample is a new device clock (NTP sync after boot, a clock reset to 1970 at
  reboot). The sample is accepted as a new time base without integrating (``clock_resets``).
  Without the backward rule a device whose clock restarts would be ignored as "out of order"
  until its clock caught up. A single stray timestamp therefore costs at most the two
  intervals around it and never adds energy.
* **Absurd samples** are rejected and counted in ``rejected``: non-finite ``ts`` or ``watts``,
  negative ``watts``, or ``watts`` above ``max_power_w`` (constructor parameter, default
  ``MAX_POWER_W`` = 350 kW, the fastest DC chargers; set it to the charger's rating for a
  tighter check). A rejected sample changes nothing else: its neighbours bridge it.
* **w vs v x a**: not cross-checked. ``w`` is real power; ``v * a`` is apparent power of one
  phase (``w`` is below it with a power factor under 1, about 3x above it on three-phase
  chargers reporting phase values). A mismatch can't say which is wrong: ``w`` is trusted,
  ``v * a`` only the fallback when ``w`` is missing (the codec's ``Metrics.power``).

Energy from a device counter (``EnergyMeter.add_energy_reading``): once a device has reported a
cumulative kWh counter, the counter is the energy source and power samples only keep
``peak_w`` (mixing both would count the same energy twice). The first reading is a baseline:
the counter's absolute value is the device's history, not this session's energy. Then:

* delta = new - previous counter, same duplicate/out-of-order/clock-jump rules as above
  (a late, lower reading must not look like a reset);
* a drop to at least ``COUNTER_DIP_RATIO`` (90 %) of the previous value is a glitch (HA's own
  rule for ``total_increasing`` sensors): rejected, the previous baseline kept;
* a larger drop is a device reset: the new value is the energy since the reset (never a
  negative delta);
* a delta above ``max_power_w * dt + COUNTER_SLACK_KWH`` (10 Wh, for counters with coarse
  resolution), or above what ``max_power_w`` delivers in the seconds HA's clock still grants,
  is implausible: rejected, and the counter re-baselined at the new value so a counter that
  stays jumped is never counted later. A glitch thus costs at most one interval's energy.

Cost (``CostMeter``) is kept apart from energy: energy is the device's business, the price
HA's (fixed, or a live spot-price sensor), and the lifetime total has no price at all. Each
energy increment is costed at the price in force when it arrives (for a live price, the
sensor's state then), so a price change mid-session costs each increment at its own price.
A missing price leaves that increment uncosted and the cost incomplete (``cost_complete``);
negative prices (spot markets) are allowed. Nothing is rounded here: round on output.

``LifetimeTotal`` is the per-charger energy for HA's Energy dashboard (``total_increasing``):
it only ever adds the (never negative) session increments, so a device counter reset can't
lower it, and it is stored (``as_dict``) so an HA restart can't either; ``raise_to`` lets a
restored sensor take back a higher value HA had already shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
from typing import Any, Final

from .clock import ClockGuard

WATT_SECONDS_PER_KWH: Final = 3_600_000.0

MAX_POWER_W: Final = 350_000.0
"""Default upper bound of plausible power: the fastest DC chargers (350 kW)."""

MAX_GAP_S: Final = 60.0
"""Longest interval (device seconds) integrated; longer ones are skipped (20x the 3 s cadence)."""

MAX_CLOCK_JUMP_S: Final = 86_400.0
"""A jump of the device clock beyond this (either way) starts a new time base."""

COUNTER_DIP_RATIO: Final = 0.9
"""A counter drop to at least this fraction of its previous value is a glitch, not a reset."""

COUNTER_SLACK_KWH: Final = 0.01
"""Allowance over ``max_power_w * dt`` for a counter step (coarse counter resolution)."""


def _finite(value: float) -> bool:
    return math.isfinite(value)


def _opt_float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    return None if value is None else float(value)


@dataclass(slots=True, kw_only=True)
class EnergyMeter:
    """The energy of one charging session, from power samples or from a device counter."""

    max_power_w: float = MAX_POWER_W
    kwh: float = 0.0
    peak_w: float = 0.0
    samples: int = 0  # accepted power samples and counter readings
    rejected: int = 0  # absurd values, counter glitches and implausible jumps
    ignored: int = 0  # duplicates and out-of-order samples
    gaps: int = 0  # intervals longer than MAX_GAP_S, not integrated
    gap_s: float = 0.0  # device seconds in those gaps
    sampled_s: float = 0.0  # device seconds bridged by consecutive power samples
    clock_resets: int = 0
    first_ts: float | None = None  # first accepted ts (on the clock the device had then)
    last_ts: float | None = None  # time base of power samples
    last_w: float | None = None
    counter_ts: float | None = None  # time base of counter readings
    counter_kwh: float | None = None  # last counter value; not None = counter mode
    clock: ClockGuard = field(default_factory=ClockGuard)  # HA's clock over the device's

    def __post_init__(self) -> None:
        """Refuse a power limit no sample could meet."""
        if not (_finite(self.max_power_w) and self.max_power_w > 0):
            raise ValueError(f"max_power_w must be a positive number, not {self.max_power_w!r}")

    @property
    def uses_counter(self) -> bool:
        """Whether energy comes from the device's counter (power samples only keep the peak)."""
        return self.counter_kwh is not None

    def _accept(self, ts: float) -> None:
        self.samples += 1
        if self.first_ts is None:
            self.first_ts = ts

    def add_power_sample(self, ts: float, watts: float, now: float | None = None) -> float:
        """Fold one power sample that arrived at ``now`` in; return the kWh it added."""
        self.clock.tick(now)
        if not (_finite(ts) and _finite(watts)) or watts < 0 or watts > self.max_power_w:
            self.rejected += 1
            return 0.0
        last_ts, last_w = self.last_ts, self.last_w
        added = 0.0
        if last_ts is not None and last_w is not None:
            dt = ts - last_ts
            if abs(dt) > MAX_CLOCK_JUMP_S:
                self.clock_resets += 1
            elif dt <= 0:
                self.ignored += 1
                return 0.0
            elif dt > MAX_GAP_S:
                self.gaps += 1
                self.gap_s += dt
            else:
                self.sampled_s += dt
                if not self.uses_counter:
                    added = (last_w + watts) / 2 * self.clock.grant(dt) / WATT_SECONDS_PER_KWH
                    self.kwh += added
        self._accept(ts)
        self.last_ts, self.last_w = ts, watts
        self.peak_w = max(self.peak_w, watts)
        return added

    def add_energy_reading(self, ts: float, kwh_counter: float, now: float | None = None) -> float:
        """Fold one counter reading (kWh, cumulative) that arrived at ``now`` in; the kWh added."""
        self.clock.tick(now)
        if not (_finite(ts) and _finite(kwh_counter)) or kwh_counter < 0:
            self.rejected += 1
            return 0.0
        last_ts, last_kwh = self.counter_ts, self.counter_kwh
        added = 0.0
        if last_ts is not None and last_kwh is not None:
            dt = ts - last_ts
            if abs(dt) > MAX_CLOCK_JUMP_S:
                self.clock_resets += 1
            elif dt <= 0:
                self.ignored += 1
                return 0.0
            else:
                delta = kwh_counter - last_kwh
                if delta < 0:
                    if kwh_counter >= COUNTER_DIP_RATIO * last_kwh:
                        self.rejected += 1  # a dip: keep the higher baseline
                        return 0.0
                    delta = kwh_counter  # a reset: counted from zero
                limit = self.max_power_w * dt / WATT_SECONDS_PER_KWH + COUNTER_SLACK_KWH
                need_s = delta * WATT_SECONDS_PER_KWH / self.max_power_w  # at max_power_w
                if delta > limit or not self.clock.covers(need_s):
                    self.rejected += 1
                    self.counter_ts, self.counter_kwh = ts, kwh_counter
                    return 0.0
                self.clock.grant(need_s)
                added = delta
                self.kwh += added
        self._accept(ts)
        self.counter_ts, self.counter_kwh = ts, kwh_counter
        return added

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored in the Store (all numbers finite)."""
        return {
            "max_power_w": self.max_power_w,
            "kwh": self.kwh,
            "peak_w": self.peak_w,
            "samples": self.samples,
            "rejected": self.rejected,
            "ignored": self.ignored,
            "gaps": self.gaps,
            "gap_s": self.gap_s,
            "sampled_s": self.sampled_s,
            "clock_resets": self.clock_resets,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "last_w": self.last_w,
            "counter_ts": self.counter_ts,
            "counter_kwh": self.counter_kwh,
            "clock": self.clock.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnergyMeter:
        """Inverse of ``as_dict``; keys missing from older stored data take their defaults."""
        return cls(
            max_power_w=float(data.get("max_power_w", MAX_POWER_W)),
            kwh=float(data.get("kwh", 0.0)),
            peak_w=float(data.get("peak_w", 0.0)),
            samples=int(data.get("samples", 0)),
            rejected=int(data.get("rejected", 0)),
            ignored=int(data.get("ignored", 0)),
            gaps=int(data.get("gaps", 0)),
            gap_s=float(data.get("gap_s", 0.0)),
            sampled_s=float(data.get("sampled_s", 0.0)),
            clock_resets=int(data.get("clock_resets", 0)),
            first_ts=_opt_float(data, "first_ts"),
            last_ts=_opt_float(data, "last_ts"),
            last_w=_opt_float(data, "last_w"),
            counter_ts=_opt_float(data, "counter_ts"),
            counter_kwh=_opt_float(data, "counter_kwh"),
            clock=ClockGuard.from_dict(data.get("clock")),
        )


@dataclass(slots=True, kw_only=True)
class CostMeter:
    """The cost of one session: each energy increment at the price in force when it arrived."""

    cost: float = 0.0
    priced_kwh: float = 0.0
    unpriced_kwh: float = 0.0  # energy that arrived while no price was known

    @property
    def cost_complete(self) -> bool:
        """Whether every kWh so far had a price (an uncosted 0 kWh increment costs nothing)."""
        return self.unpriced_kwh == 0.0

    def add(self, kwh_delta: float, price_per_kwh: float | None) -> float:
        """Cost ``kwh_delta`` at ``price_per_kwh``; return the cost added.

        A negative or non-finite ``kwh_delta`` is ignored (energy increments never are). A
        ``None`` or non-finite price (or a cost overflowing a float) leaves the increment
        uncosted. Negative prices count.
        """
        if not _finite(kwh_delta) or kwh_delta <= 0:
            return 0.0
        added = math.nan if price_per_kwh is None else kwh_delta * price_per_kwh
        if not (_finite(added) and _finite(self.cost + added)):
            self.unpriced_kwh += kwh_delta
            return 0.0
        self.cost += added
        self.priced_kwh += kwh_delta
        return added

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored in the Store (``cost_complete`` for readers; derived on load)."""
        return {
            "cost": self.cost,
            "priced_kwh": self.priced_kwh,
            "unpriced_kwh": self.unpriced_kwh,
            "cost_complete": self.cost_complete,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostMeter:
        """Inverse of ``as_dict``."""
        return cls(
            cost=float(data.get("cost", 0.0)),
            priced_kwh=float(data.get("priced_kwh", 0.0)),
            unpriced_kwh=float(data.get("unpriced_kwh", 0.0)),
        )


@dataclass(slots=True)
class LifetimeTotal:
    """A charger's energy over its whole life, for ``total_increasing``: it never decreases."""

    value: float = 0.0

    def __post_init__(self) -> None:
        """Start from a sane value whatever was stored."""
        if not (_finite(self.value) and self.value > 0):
            self.value = 0.0

    def add(self, kwh_delta: float) -> float:
        """Add an energy increment; return what was added (0.0 for negative or non-finite)."""
        if not _finite(kwh_delta) or kwh_delta <= 0 or not _finite(self.value + kwh_delta):
            return 0.0
        self.value += kwh_delta
        return kwh_delta

    def raise_to(self, kwh: float) -> float:
        """Take a higher known value (the state HA last showed, on restore); never lower it."""
        if not _finite(kwh) or kwh <= self.value:
            return 0.0
        added = kwh - self.value
        self.value = kwh
        return added

    def as_dict(self) -> dict[str, Any]:
        """JSON form stored in the Store."""
        return {"value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LifetimeTotal:
        """Inverse of ``as_dict``."""
        return cls(float(data.get("value", 0.0)))
