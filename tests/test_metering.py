"""Charger metering on its own: session energy, cost and the lifetime total, over any input."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
import json
import math
from random import Random

from hypothesis import given, strategies as st
import pytest

from custom_components.iot_hub.kinds.charger.clock import CLOCK_SLACK_S, ClockGuard
from custom_components.iot_hub.kinds.charger.metering import (
    COUNTER_DIP_RATIO,
    COUNTER_SLACK_KWH,
    MAX_CLOCK_JUMP_S,
    MAX_GAP_S,
    MAX_POWER_W,
    WATT_SECONDS_PER_KWH,
    CostMeter,
    EnergyMeter,
    LifetimeTotal,
)

type Sample = tuple[float, float]

# -- strategies -------------------------------------------------------------------------------

watts = st.floats(0, MAX_POWER_W)
starts = st.floats(0, 2e9)  # device clocks: seconds since boot up to Unix time in 2033
steps = st.floats(0.5, 90)  # in-order spacing, some of it beyond MAX_GAP_S


@st.composite
def in_order(draw: st.DrawFn, max_size: int = 60) -> list[Sample]:
    """Samples with strictly increasing ts, all within a day (no clock resets)."""
    ts = draw(starts)
    samples = []
    for step, w in draw(st.lists(st.tuples(steps, watts), min_size=1, max_size=max_size)):
        samples.append((ts, w))
        ts += step
    return samples


any_float = st.floats(allow_nan=True, allow_infinity=True)
wild_ts = st.one_of(starts, any_float, st.floats(-1e10, 1e10))
wild_w = st.one_of(watts, any_float, st.floats(-1e3, 2 * MAX_POWER_W))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("power"), wild_ts, wild_w),
        st.tuples(st.just("counter"), wild_ts, st.one_of(st.floats(0, 1e4), any_float)),
    ),
    max_size=60,
)


def feed(meter: EnergyMeter, samples: Sequence[Sample]) -> EnergyMeter:
    for ts, w in samples:
        meter.add_power_sample(ts, w)
    return meter


def apply(meter: EnergyMeter, ops: Sequence[tuple[str, float, float]]) -> list[float]:
    return [
        meter.add_power_sample(ts, value)
        if kind == "power"
        else meter.add_energy_reading(ts, value)
        for kind, ts, value in ops
    ]


def trapezoids(samples: Sequence[Sample]) -> float:
    """The reference: trapezoids between in-order neighbours at most MAX_GAP_S apart."""
    return math.fsum(
        (w0 + w1) / 2 * (t1 - t0) / WATT_SECONDS_PER_KWH
        for (t0, w0), (t1, w1) in pairwise(samples)
        if t1 - t0 <= MAX_GAP_S
    )


# -- the seed's charger -----------------------------------------------------------------------


def test_seed_session() -> None:
    """The seed's sample (220.5 V x 16.2 A = 3572.1 W) every 3 s for its 1200 s session."""
    meter = EnergyMeter()
    added = [meter.add_power_sample(1699276425 + 3 * i, 3572.1) for i in range(401)]
    assert added[0] == 0.0  # the first sample only starts the time base
    assert meter.kwh == pytest.approx(3572.1 * 1200 / 3.6e6, rel=1e-12)
    assert meter.peak_w == 3572.1
    assert meter.samples == 401
    assert meter.sampled_s == 1200
    assert (meter.first_ts, meter.last_ts) == (1699276425, 1699277625)
    assert (meter.rejected, meter.ignored, meter.gaps, meter.clock_resets) == (0, 0, 0, 0)


# -- integration ------------------------------------------------------------------------------


@given(watts, starts, st.integers(1, 500), st.floats(0.5, MAX_GAP_S - 1))
def test_constant_power(power: float, start: float, count: int, step: float) -> None:
    """P over T seconds is P x T / 3.6e6 kWh, whatever the cadence up to MAX_GAP_S."""
    meter = EnergyMeter()
    stamps = [start + i * step for i in range(count + 1)]
    total = math.fsum(meter.add_power_sample(ts, power) for ts in stamps)
    expected = power * (stamps[-1] - stamps[0]) / WATT_SECONDS_PER_KWH
    assert meter.kwh == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert total == pytest.approx(meter.kwh, rel=1e-12, abs=1e-15)
    assert meter.peak_w == power


@given(watts, watts, st.integers(1, 400))
def test_linear_ramp_is_exact(start_w: float, end_w: float, count: int) -> None:
    """The trapezoid is exact for a ramp (current ramp-up, taper), where a held value is not."""
    meter = EnergyMeter()
    for i in range(count + 1):
        ramp = start_w + (end_w - start_w) * i / count  # may round an ulp outside [0, max]
        assert meter.add_power_sample(3.0 * i, min(MAX_POWER_W, max(0.0, ramp))) >= 0
    assert meter.rejected == 0
    expected = (start_w + end_w) / 2 * 3.0 * count / WATT_SECONDS_PER_KWH
    assert meter.kwh == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert meter.peak_w == pytest.approx(max(start_w, end_w))


@given(in_order())
def test_in_order_matches_reference(samples: list[Sample]) -> None:
    """In order, the meter is the trapezoid rule with gaps over MAX_GAP_S skipped."""
    meter = feed(EnergyMeter(), samples)
    assert meter.kwh == pytest.approx(trapezoids(samples), rel=1e-9, abs=1e-12)
    pairs = list(pairwise(samples))
    assert meter.gaps == sum(t1 - t0 > MAX_GAP_S for (t0, _), (t1, _) in pairs)
    assert meter.samples == len(samples)
    assert meter.peak_w == max(w for _, w in samples)


def test_gap_is_skipped() -> None:
    """Up to MAX_GAP_S is integrated; beyond, the next sample starts afresh without energy."""
    meter = EnergyMeter()
    meter.add_power_sample(0, 3600)
    assert meter.add_power_sample(MAX_GAP_S, 3600) == pytest.approx(3600 * MAX_GAP_S / 3.6e6)
    assert meter.add_power_sample(2 * MAX_GAP_S + 0.5, 3600) == 0.0  # 60.5 s without data
    assert meter.add_power_sample(2 * MAX_GAP_S + 3.5, 3600) == pytest.approx(3600 * 3 / 3.6e6)
    assert (meter.gaps, meter.gap_s, meter.sampled_s) == (1, MAX_GAP_S + 0.5, MAX_GAP_S + 3)
    assert meter.kwh == pytest.approx(3600 * (MAX_GAP_S + 3) / 3.6e6)


def test_clock_jumps_start_a_new_time_base() -> None:
    """More than a day either way is a new device clock: no energy across it, then on as usual."""
    meter = EnergyMeter()
    meter.add_power_sample(1000, 7000)
    assert meter.add_power_sample(1000 + MAX_CLOCK_JUMP_S + 1, 7000) == 0.0  # NTP sync
    assert meter.add_power_sample(1003 + MAX_CLOCK_JUMP_S + 1, 7000) > 0
    assert meter.add_power_sample(5, 7000) == 0.0  # rebooted, clock back at zero
    assert meter.add_power_sample(8, 7000) == pytest.approx(7000 * 3 / 3.6e6)
    assert meter.clock_resets == 2
    assert meter.ignored == 0
    # Less than a day back is only a late sample: ignored, the time base stays.
    assert meter.add_power_sample(8 - MAX_CLOCK_JUMP_S, 7000) == 0.0
    assert (meter.ignored, meter.last_ts) == (1, 8)
    assert meter.gaps == 0
    assert meter.kwh == pytest.approx(7000 * 6 / 3.6e6)


# -- robustness -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1.0, -1e-9, math.nan, math.inf, -math.inf, MAX_POWER_W + 1, 1e12])
def test_absurd_power_rejected(bad: float) -> None:
    """Negative, non-finite or above max_power_w: rejected, counted, nothing else changes."""
    meter = EnergyMeter()
    meter.add_power_sample(0, 1000)
    before = meter.as_dict()
    assert meter.add_power_sample(3, bad) == 0.0
    assert meter.rejected == 1
    assert meter.as_dict() == {**before, "rejected": 1}
    # Its neighbours bridge it.
    assert meter.add_power_sample(6, 1000) == pytest.approx(1000 * 6 / 3.6e6)


@pytest.mark.parametrize("bad_ts", [math.nan, math.inf, -math.inf])
def test_absurd_timestamp_rejected(bad_ts: float) -> None:
    meter = EnergyMeter()
    assert meter.add_power_sample(bad_ts, 1000) == 0.0
    assert meter.add_energy_reading(bad_ts, 10) == 0.0
    assert (meter.rejected, meter.samples, meter.first_ts) == (2, 0, None)


def test_max_power_is_a_parameter() -> None:
    meter = EnergyMeter(max_power_w=7400)
    meter.add_power_sample(0, 7400)
    assert meter.add_power_sample(3, 7400.5) == 0.0
    assert (meter.rejected, meter.peak_w) == (1, 7400)
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match="max_power_w"):
            EnergyMeter(max_power_w=bad)


@given(in_order(), st.data())
def test_duplicates_change_nothing(samples: list[Sample], data: st.DataObject) -> None:
    """A copy of an earlier sample, anywhere after it, is ignored: the energy is unchanged."""
    stream = list(samples)
    copies = data.draw(st.integers(0, 20))
    for _ in range(copies):
        index = data.draw(st.integers(0, len(samples) - 1))
        position = data.draw(st.integers(stream.index(samples[index]) + 1, len(stream)))
        stream.insert(position, samples[index])
    meter, reference = feed(EnergyMeter(), stream), feed(EnergyMeter(), samples)
    assert meter.kwh == reference.kwh
    assert meter.ignored == copies
    assert meter.as_dict() == {**reference.as_dict(), "ignored": copies}


def test_duplicate_timestamp_first_wins() -> None:
    meter = EnergyMeter()
    meter.add_power_sample(0, 1000)
    meter.add_power_sample(3, 1000)
    assert meter.add_power_sample(3, 200_000) == 0.0
    assert (meter.ignored, meter.last_w, meter.peak_w) == (1, 1000, 1000)


@given(in_order(), st.randoms(use_true_random=False))
def test_shuffled_samples(samples: list[Sample], rnd: Random) -> None:
    """Out of order, late samples leave no trace: the energy is that of the in-order samples
    that were accepted, never negative, and bounded by the peak over the span."""
    shuffled = list(samples)
    rnd.shuffle(shuffled)
    meter = feed(EnergyMeter(), shuffled)
    accepted: list[Sample] = []
    for ts, w in shuffled:
        if not accepted or ts > accepted[-1][0]:
            accepted.append((ts, w))
    assert meter.kwh == feed(EnergyMeter(), accepted).kwh
    assert meter.ignored == len(samples) - len(accepted)
    assert meter.kwh >= 0
    span = samples[-1][0] - samples[0][0]
    bound = max(w for _, w in samples) * span / WATT_SECONDS_PER_KWH
    # Relative slack for rounding, and an absolute one for subnormal energies (hypothesis
    # found 2e-311 W over 34 s: near 1e-316 a float has only a few significant digits).
    assert meter.kwh <= bound * (1 + 1e-9) + 1e-300


@given(in_order(), watts, st.randoms(use_true_random=False))
def test_shuffling_constant_power_never_adds(
    samples: list[Sample], power: float, rnd: Random
) -> None:
    """At constant power, no order of delivery counts more than the in-order series."""
    samples = [(ts, power) for ts, _ in samples]
    shuffled = list(samples)
    rnd.shuffle(shuffled)
    in_order_kwh = feed(EnergyMeter(), samples).kwh
    assert 0 <= feed(EnergyMeter(), shuffled).kwh <= in_order_kwh * (1 + 1e-9) + 1e-15


def test_late_dip_is_bridged() -> None:
    """Documented limit: a late sample is dropped, not re-inserted (that would take energy
    back), so a late dip in power is bridged by the trapezoid of its neighbours."""
    in_order = feed(EnergyMeter(), [(0, 1000), (3, 0), (6, 1000)])
    late = feed(EnergyMeter(), [(0, 1000), (6, 1000), (3, 0)])
    assert in_order.kwh == pytest.approx(3000 / 3.6e6)
    assert late.kwh == pytest.approx(6000 / 3.6e6)
    assert late.kwh - in_order.kwh <= 1000 * 6 / 3.6e6  # at most the bridged interval


@given(operations)
def test_energy_never_decreases(ops: list[tuple[str, float, float]]) -> None:
    """Over any mix of samples and counter readings, garbage included, every increment is
    finite, non-negative and bounded, and the total is their sum."""
    meter = EnergyMeter()
    running = 0.0
    for kind, ts, value in ops:
        before = meter.kwh
        added = apply(meter, [(kind, ts, value)])[0]
        running += added
        assert math.isfinite(added)
        assert added >= 0
        assert meter.kwh >= before
        assert meter.kwh == running
        limit = MAX_GAP_S if kind == "power" else MAX_CLOCK_JUMP_S
        assert added <= MAX_POWER_W * limit / WATT_SECONDS_PER_KWH + COUNTER_SLACK_KWH
    assert meter.samples + meter.rejected + meter.ignored == len(ops)
    assert 0 <= meter.peak_w <= MAX_POWER_W
    json.dumps(meter.as_dict(), allow_nan=False)


# -- HA's clock over the device's (issue 7) ----------------------------------------------------

arrivals = st.lists(
    st.tuples(st.floats(0, 30), st.sampled_from(["power", "counter"]), wild_ts, wild_w),
    max_size=60,
)


@given(arrivals, st.sampled_from([MAX_POWER_W, 22_000.0, 7_400.0]), st.floats(0, 1e6))
def test_energy_never_outruns_has_clock(
    ops: list[tuple[float, str, float, float]], limit: float, start: float
) -> None:
    """Whatever the device stamps and sends (garbage, clock jumps, counters, power), the
    energy credited never exceeds the rating times the time HA saw pass, plus the slack."""
    meter = EnergyMeter(max_power_w=limit)
    now = start
    for wait, kind, ts, value in ops:
        now += wait
        if kind == "power":
            meter.add_power_sample(ts, value, now)
        else:
            meter.add_energy_reading(ts, abs(value) / 1000, now)
        bound = limit * (now - start + CLOCK_SLACK_S) / WATT_SECONDS_PER_KWH
        assert meter.kwh <= bound * (1 + 1e-9) + 1e-12
    json.dumps(meter.as_dict(), allow_nan=False)


def test_the_issues_attacks_are_bounded() -> None:
    """100 samples within 2 s stamped 60 s apart at 350 kW; a counter 1 -> 8000 kWh over
    86,000 device seconds within 1 s."""
    meter = EnergyMeter()
    for i in range(100):
        meter.add_power_sample(1_700_000_000 + 60 * i, MAX_POWER_W, now=0.02 * i)
    assert meter.kwh == pytest.approx(MAX_POWER_W * (1.98 + CLOCK_SLACK_S) / WATT_SECONDS_PER_KWH)
    assert meter.clock.clipped == 99
    counter = EnergyMeter()
    counter.add_energy_reading(1_700_000_000, 1.0, now=0.0)
    assert counter.add_energy_reading(1_700_086_000, 8000.0, now=1.0) == 0.0
    assert (counter.kwh, counter.rejected) == (0.0, 1)
    assert counter.add_energy_reading(1_700_086_003, 8000.01, now=4.0) == pytest.approx(0.01)


@given(st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=200), watts)
def test_an_honest_charger_is_credited_exactly(jitter: list[float], power: float) -> None:
    """A 3 s cadence arriving with up to 1 s of jitter each way loses nothing to the guard."""
    meter = EnergyMeter()
    for i, late in enumerate(jitter):
        meter.add_power_sample(3.0 * i, power, now=1000 + 3.0 * i + late)
    assert meter.kwh == pytest.approx(power * 3 * (len(jitter) - 1) / WATT_SECONDS_PER_KWH)
    assert meter.clock.clipped == 0


def test_a_backlog_is_credited_and_a_fast_clock_is_not() -> None:
    """40 s offline then 13 queued samples at once: all credited. A device clock running 2x
    HA's: credited at HA's pace once the slack is spent."""
    meter = EnergyMeter()
    meter.add_power_sample(0, 3600, now=0.0)
    for i in range(1, 14):
        meter.add_power_sample(3.0 * i, 3600, now=40.0)
    assert meter.kwh == pytest.approx(3600 * 39 / WATT_SECONDS_PER_KWH)
    fast = EnergyMeter()
    for i in range(101):
        fast.add_power_sample(6.0 * i, 3600, now=3.0 * i)
    assert fast.kwh == pytest.approx(3600 * (300 + CLOCK_SLACK_S) / WATT_SECONDS_PER_KWH)
    assert fast.clock.clipped_s == pytest.approx(600 - 300 - CLOCK_SLACK_S)


def test_a_coarse_counter_is_paid_from_the_time_ha_saw_pass() -> None:
    """A counter in 10 Wh steps on a 3.7 kW charger: each step needs 9.7 s at full power; the
    time between steps covers it, a burst of steps does not."""
    meter = EnergyMeter(max_power_w=3700)
    meter.add_energy_reading(0, 5.0, now=0.0)
    for i in range(1, 11):
        assert meter.add_energy_reading(10.0 * i, 5.0 + 0.01 * i, now=10.0 * i) > 0
    assert meter.kwh == pytest.approx(0.1)
    for i in range(11, 16):  # five steps within a second: the budget runs dry
        meter.add_energy_reading(100.0 + i, 5.0 + 0.01 * i, now=100.0 + 0.1 * i)
    assert meter.kwh <= 3700 * (101.5 + CLOCK_SLACK_S) / WATT_SECONDS_PER_KWH
    assert meter.rejected >= 1


def test_the_budget_survives_a_restart_but_not_the_downtime() -> None:
    """Stored: the budget; not: HA's monotonic reference (it restarts with the machine). The
    time HA was down is never credited."""
    meter = EnergyMeter()
    meter.add_power_sample(0, 3600, now=500.0)
    meter.add_power_sample(3, 3600, now=503.0)
    data = json.loads(json.dumps(meter.as_dict(), allow_nan=False))
    assert data["clock"] == {"budget_s": CLOCK_SLACK_S, "clipped": 0, "clipped_s": 0.0}
    restored = EnergyMeter.from_dict(data)
    assert restored.clock.arrival is None
    # Back after a restart: the monotonic clock starts again near zero.
    restored.add_power_sample(33, 3600, now=2.0)  # 30 device seconds: the stored budget only
    restored.add_power_sample(36, 3600, now=2.5)  # then what HA saw pass: 0.5 s
    restored.add_power_sample(39, 3600, now=3.0)
    credited = restored.kwh - meter.kwh
    assert credited == pytest.approx(3600 * (CLOCK_SLACK_S + 1) / WATT_SECONDS_PER_KWH)
    assert restored.clock.clipped_s == pytest.approx(30 - CLOCK_SLACK_S + 2 * 2.5)
    assert ClockGuard.from_dict({"budget_s": math.nan}).budget_s == 0.0
    assert ClockGuard.from_dict(None) == ClockGuard()


# -- device counters --------------------------------------------------------------------------


def test_counter_readings() -> None:
    """Baseline, deltas, a reset counted from zero, a dip and a jump rejected."""
    meter = EnergyMeter()
    assert meter.add_energy_reading(0, 1234.5) == 0.0  # the device's history, not the session's
    assert meter.add_energy_reading(3, 1234.506) == pytest.approx(0.006)
    assert meter.add_energy_reading(6, 0.004) == pytest.approx(0.004)  # reset: 0.004 since
    assert meter.add_energy_reading(9, 0.0038) == 0.0  # a dip (>= 90 %): glitch, baseline kept
    assert meter.add_energy_reading(12, 0.010) == pytest.approx(0.006)  # from the kept baseline
    assert meter.add_energy_reading(15, 900.0) == 0.0  # 900 kWh in 3 s: implausible
    assert meter.add_energy_reading(18, 900.005) == pytest.approx(0.005)  # re-baselined at 900
    assert meter.add_energy_reading(18, 901.0) == 0.0  # duplicate ts
    assert meter.add_energy_reading(17, 0.0) == 0.0  # late: must not look like a reset
    assert meter.kwh == pytest.approx(0.006 + 0.004 + 0.006 + 0.005)
    assert (meter.samples, meter.rejected, meter.ignored) == (5, 2, 2)
    assert meter.uses_counter


def test_counter_covers_gaps_and_survives_spikes() -> None:
    """A counter covers time without samples; a spike costs an interval and adds nothing."""
    meter = EnergyMeter()
    meter.add_energy_reading(0, 10.0)
    assert meter.add_energy_reading(3600, 17.0) == pytest.approx(7.0)  # an hour offline at 7 kW
    assert meter.add_energy_reading(3603, 5000.0) == 0.0  # spike
    assert meter.add_energy_reading(3606, 17.01) == 0.0  # back: implausible reset from 5000
    assert meter.add_energy_reading(3609, 17.02) == pytest.approx(0.01)
    assert meter.add_energy_reading(10 * 3600, 5000.0) == 0.0  # and a lasting jump
    assert meter.add_energy_reading(10 * 3600 + 3, 5000.01) == pytest.approx(0.01)
    assert meter.kwh == pytest.approx(7.02)


def test_counter_rules_power_samples() -> None:
    """Once a counter is reported, power samples keep the peak but add no energy."""
    meter = EnergyMeter()
    meter.add_power_sample(0, 7000)
    assert meter.add_power_sample(3, 7000) > 0
    before = meter.kwh
    meter.add_energy_reading(3, 100.0)
    assert meter.add_power_sample(6, 11000) == 0.0
    assert meter.add_energy_reading(6, 100.008) == pytest.approx(0.008)
    assert meter.kwh == pytest.approx(before + 0.008)
    assert meter.peak_w == 11000


@given(starts, st.lists(st.tuples(st.floats(0.5, 600), st.floats(0, 1e5)), max_size=60))
def test_counter_never_negative(start: float, readings: list[tuple[float, float]]) -> None:
    """Whatever a counter does (resets, glitches, jumps), no delta is negative, and none is
    more than max_power_w allows for the time since the baseline."""
    meter = EnergyMeter()
    ts = start
    for step, counter in readings:
        ts += step
        since = None if meter.counter_ts is None else ts - meter.counter_ts
        added = meter.add_energy_reading(ts, counter)
        assert added >= 0
        if since is None:
            assert added == 0
        else:
            assert added <= MAX_POWER_W * since / WATT_SECONDS_PER_KWH + COUNTER_SLACK_KWH


@given(starts, st.floats(0, 1e6), st.lists(st.floats(0, 0.29), max_size=60))
def test_plausible_counter_is_exact(start: float, base: float, increments: list[float]) -> None:
    """A counter rising plausibly every 3 s is counted exactly: last minus first."""
    meter = EnergyMeter()
    counter = base
    meter.add_energy_reading(start, counter)
    for i, increment in enumerate(increments, 1):
        counter += increment
        meter.add_energy_reading(start + 3 * i, counter)
    assert meter.kwh == pytest.approx(counter - base, rel=1e-9, abs=1e-9)
    assert meter.rejected == 0


def test_counter_dip_ratio() -> None:
    meter = EnergyMeter()
    meter.add_energy_reading(0, 0.1)
    assert meter.add_energy_reading(3, 0.1 * COUNTER_DIP_RATIO) == 0.0  # dip
    assert meter.rejected == 1
    assert meter.add_energy_reading(6, 0.1 * COUNTER_DIP_RATIO - 1e-6) > 0  # reset


# -- cost -------------------------------------------------------------------------------------

prices = st.one_of(st.none(), st.floats(-0.5, 5.0))


@given(st.lists(st.tuples(st.floats(0, 1.0), prices), max_size=100))
def test_cost_is_sum_of_increments(increments: list[tuple[float, float | None]]) -> None:
    """Each increment at its own price (negative ones too); unpriced energy marks it incomplete."""
    meter = CostMeter()
    added = [meter.add(kwh, price) for kwh, price in increments]
    priced = [(kwh, price) for kwh, price in increments if price is not None]
    expected = math.fsum(kwh * price for kwh, price in priced)
    assert meter.cost == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert math.fsum(added) == pytest.approx(meter.cost, rel=1e-9, abs=1e-9)
    unpriced = math.fsum(kwh for kwh, price in increments if price is None)
    assert meter.unpriced_kwh == pytest.approx(unpriced, rel=1e-9, abs=1e-12)
    assert meter.priced_kwh == pytest.approx(math.fsum(k for k, _ in priced), rel=1e-9, abs=1e-12)
    assert meter.cost_complete == (unpriced == 0)


def test_cost_ignores_bad_increments() -> None:
    meter = CostMeter()
    for kwh in (-1.0, math.nan, math.inf, 0.0):
        assert meter.add(kwh, 0.3) == 0.0
        assert meter.add(kwh, None) == 0.0
    assert meter == CostMeter()
    assert meter.add(1.0, math.nan) == 0.0  # a sensor state that is no price: unknown
    assert not meter.cost_complete
    assert meter.add(2.0, -0.05) == pytest.approx(-0.1)  # spot markets go negative
    assert meter.cost == pytest.approx(-0.1)


def test_spot_price_changing_mid_session() -> None:
    """3.6 kW for 40 min: the first 20 at 0.10/kWh, the next 20 at 0.30/kWh."""
    energy, cost = EnergyMeter(), CostMeter()
    for i in range(801):
        ts = 3.0 * i
        price = 0.10 if ts <= 1200 else 0.30  # an increment is costed at its arrival price
        cost.add(energy.add_power_sample(ts, 3600), price)
    assert energy.kwh == pytest.approx(2.4)
    assert cost.cost == pytest.approx(1.2 * 0.10 + 1.2 * 0.30)
    assert cost.cost_complete
    assert cost.priced_kwh == pytest.approx(energy.kwh)


# -- lifetime total ---------------------------------------------------------------------------


@given(st.lists(st.one_of(st.floats(), st.floats(-10, 10)), max_size=100))
def test_lifetime_never_decreases(deltas: list[float]) -> None:
    """Negative, non-finite or overflowing deltas are refused; the value only ever rises."""
    total = LifetimeTotal()
    for delta in deltas:
        before = total.value
        added = total.add(delta)
        assert total.value >= before
        assert total.value == before + added
        assert added == (delta if added else 0.0)
        assert added >= 0
        assert math.isfinite(total.value)
    if all(abs(d) < 1e300 for d in deltas if math.isfinite(d)):
        valid = [d for d in deltas if math.isfinite(d) and d > 0]
        assert total.value == pytest.approx(math.fsum(valid), rel=1e-9)


def test_lifetime_survives_device_reset_and_restart() -> None:
    """Fed with session increments, the total rises through a counter reset and a restart."""
    total, meter = LifetimeTotal(), EnergyMeter()
    meter.add_energy_reading(0, 500.0)
    for ts, counter in [(3, 500.01), (6, 0.002), (9, 0.012)]:  # the device reset at 6
        total.add(meter.add_energy_reading(ts, counter))
    assert total.value == pytest.approx(0.01 + 0.002 + 0.01)
    stored = json.loads(json.dumps(total.as_dict()))
    restored = LifetimeTotal.from_dict(stored)
    assert restored == total
    # HA's last state was higher than the stored value (a save lost): take it, never lower.
    assert restored.raise_to(total.value + 0.5) == pytest.approx(0.5)
    assert restored.raise_to(0.0) == 0.0
    assert restored.raise_to(math.nan) == 0.0
    assert restored.value == pytest.approx(total.value + 0.5)


@pytest.mark.parametrize("stored", [{}, {"value": -3.0}, {"value": math.nan}, {"value": math.inf}])
def test_lifetime_from_bad_store(stored: dict[str, float]) -> None:
    assert LifetimeTotal.from_dict(stored).value == 0.0


# -- stored form ------------------------------------------------------------------------------


@given(operations, operations, st.sampled_from([MAX_POWER_W, 22_000.0, 7_400.0]))
def test_energy_meter_survives_restart(
    first: list[tuple[str, float, float]], then: list[tuple[str, float, float]], limit: float
) -> None:
    """Stored and restored mid-session, the meter ends exactly where an unbroken one does."""
    unbroken = EnergyMeter(max_power_w=limit)
    apply(unbroken, first + then)
    meter = EnergyMeter(max_power_w=limit)
    apply(meter, first)
    restored = EnergyMeter.from_dict(json.loads(json.dumps(meter.as_dict(), allow_nan=False)))
    assert restored == meter
    apply(restored, then)
    assert restored == unbroken


@given(st.lists(st.tuples(st.floats(0, 1.0), prices), max_size=30))
def test_cost_meter_round_trip(increments: list[tuple[float, float | None]]) -> None:
    meter = CostMeter()
    for kwh, price in increments:
        meter.add(kwh, price)
    data = json.loads(json.dumps(meter.as_dict(), allow_nan=False))
    assert data["cost_complete"] == meter.cost_complete
    assert CostMeter.from_dict(data) == meter


def test_from_older_store() -> None:
    """Keys missing from stored data take their defaults."""
    assert EnergyMeter.from_dict({}) == EnergyMeter()
    assert EnergyMeter.from_dict({"kwh": 1.5}).kwh == 1.5
    assert CostMeter.from_dict({}) == CostMeter()
