"""The scale-to-zero policy: learned keep-alive, forecast-driven scale-ahead, warm pools, bounds, reasons."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from foresight.autoscale.scale_to_zero import (
    GAP_EDGES_S,
    LoadTimes,
    ScaleToZeroSpec,
    ScaleToZeroState,
    arrival_probability,
    decide,
    gap_hazard,
    keep_alive_s,
    observe,
)
from foresight.errors import InputError

LOADS = LoadTimes.from_samples([30.0, 40.0, 50.0, 60.0])
SPEC = ScaleToZeroSpec(capacity_rps=0.35, concurrency=2, period_s=10.0, keep_probability=0.05, min_gaps=5)

gap_lists = st.lists(st.floats(0.1, 20000.0), min_size=5, max_size=200)


def learned(gaps: list[float]) -> ScaleToZeroState:
    return observe(SPEC, ScaleToZeroState(), np.cumsum([0.0, *gaps]).tolist())


def test_a_workload_with_requests_every_minute_stays_warm_between_them_and_goes_to_zero_after_a_long_silence():
    state = learned([60.0] * 100)
    assert decide(SPEC, state, LOADS, now=state.last_arrival_s + 50, in_flight=0, forecast_rps=[]).mode == "warm"
    late = decide(SPEC, state, LOADS, now=state.last_arrival_s + 3 * 3600, in_flight=0, forecast_rps=[])
    assert (late.mode, late.replicas) == ("zero", 0)
    assert late.reason.startswith("zero: P(request within") and "idle 10800 s" in late.reason


def test_a_forecast_rise_starts_a_replica_ahead_of_the_first_request():
    state = learned([60.0] * 100)
    now = state.last_arrival_s + 6 * 3600
    quiet = decide(SPEC, state, LOADS, now=now, in_flight=0, forecast_rps=[0.0, 0.0])
    rising = decide(SPEC, state, LOADS, now=now, in_flight=0, forecast_rps=[0.01, 0.02])
    assert (quiet.mode, quiet.replicas) == ("zero", 0)
    assert (rising.mode, rising.replicas) == ("ahead", 1) and "forecast 0." in rising.reason


def test_a_forecast_burst_asks_for_a_warm_pool_sized_for_the_arrivals_within_a_cold_start():
    state = learned([1.0] * 100)
    decision = decide(SPEC, state, LOADS, now=state.last_arrival_s + 1, in_flight=1, forecast_rps=[2.0, 2.0])
    # ~2 req/s x ~65 s horizon at 0.35 req/s per replica: about 6 replicas, capped at max_replicas 10
    assert decision.mode == "serve" and 5 <= decision.replicas <= 8 and "warm pool of" in decision.reason


def test_the_last_minutes_rate_sizes_the_pool_when_the_forecast_missed_the_burst():
    state = learned([1.0] * 100)
    blind = decide(SPEC, state, LOADS, now=state.last_arrival_s + 1, in_flight=1, forecast_rps=[])
    seen = decide(SPEC, state, LOADS, now=state.last_arrival_s + 1, in_flight=1, forecast_rps=[], recent_rps=2.0)
    assert blind.replicas == 1 and seen.mode == "serve" and 5 <= seen.replicas <= 8
    # the rate sizes the pool only: it does not keep an idle workload warm
    state = learned([60.0] * 100)
    late = decide(SPEC, state, LOADS, now=state.last_arrival_s + 3 * 3600, in_flight=0, forecast_rps=[],
                  recent_rps=0.001)
    assert late.replicas == 0


def test_requests_in_flight_are_never_left_without_a_replica_and_the_bounds_hold():
    state = learned([3600.0] * 50)
    decision = decide(SPEC, state, LOADS, now=state.last_arrival_s + 1e6, in_flight=50, forecast_rps=[])
    assert (decision.mode, decision.replicas) == ("serve", 3)
    floor = SPEC.model_copy(update={"min_replicas": 2})
    held = decide(floor, state, LOADS, now=state.last_arrival_s + 1e6, in_flight=0, forecast_rps=[])
    assert held.replicas == 2 and "held within [2, 10]" in held.reason


def test_before_any_request_zero_and_with_too_few_gaps_warm():
    assert decide(SPEC, ScaleToZeroState(), LOADS, now=0.0, in_flight=0, forecast_rps=[]).mode == "zero"
    young = observe(SPEC, ScaleToZeroState(), [0.0, 10.0])
    decision = decide(SPEC, young, LOADS, now=5000.0, in_flight=0, forecast_rps=[])
    assert decision.mode == "warm" and "1 idle gaps seen (< 5)" in decision.reason


def test_observe_rejects_time_going_backwards_and_load_times_need_samples():
    state = observe(SPEC, ScaleToZeroState(), [10.0])
    with pytest.raises(InputError, match="sorted"):
        observe(SPEC, state, [5.0])
    with pytest.raises(InputError, match="sorted"):
        observe(SPEC, ScaleToZeroState(), [5.0, 1.0])
    with pytest.raises(InputError, match="at least one"):
        LoadTimes.from_samples([])
    with pytest.raises(InputError, match="non-negative"):
        LoadTimes.from_samples([1.0, -2.0])
    with pytest.raises(ValidationError):
        ScaleToZeroSpec(capacity_rps=0.0)


@settings(max_examples=60, deadline=None)
@given(gap_lists, st.floats(0.0, 1e5), st.floats(1.0, 600.0))
def test_the_hazard_is_a_probability(gaps, idle, horizon):
    hazard = gap_hazard(learned(gaps).gap_counts, np.array([idle]), horizon)
    assert np.all((hazard >= 0.0) & (hazard <= 1.0))


@settings(max_examples=60, deadline=None)
@given(gap_lists, st.floats(10.0, 300.0), st.floats(0.005, 0.5), st.floats(0.005, 0.5))
def test_a_lower_keep_probability_never_shortens_the_keep_alive(gaps, horizon, p, q):
    counts = learned(gaps).gap_counts
    low, high = sorted((p, q))
    assert keep_alive_s(counts, horizon, low) >= keep_alive_s(counts, horizon, high)


@settings(max_examples=60, deadline=None)
@given(gap_lists, st.integers(1, 199))
def test_learning_in_pieces_equals_learning_at_once_and_never_changes_the_old_state(gaps, cut):
    times = np.cumsum([0.0, *gaps]).tolist()
    cut = min(cut, len(times) - 1)
    first = observe(SPEC, ScaleToZeroState(), times[:cut])
    before = first.gap_counts
    assert observe(SPEC, first, times[cut:]) == observe(SPEC, ScaleToZeroState(), times)
    assert first.gap_counts == before
    assert sum(observe(SPEC, ScaleToZeroState(), times).gap_counts) == len(times) - 1


@settings(max_examples=80, deadline=None)
@given(gap_lists, st.floats(0.0, 1e5), st.integers(0, 30), st.lists(st.floats(0.0, 5.0), max_size=3),
       st.integers(0, 3), st.integers(1, 12))
def test_decisions_stay_within_bounds_serve_requests_in_flight_and_give_a_reason(gaps, idle, in_flight, rates,
                                                                                    floor, ceiling):
    spec = SPEC.model_copy(update={"min_replicas": min(floor, ceiling), "max_replicas": ceiling})
    state = learned(gaps)
    decision = decide(spec, state, LOADS, now=state.last_arrival_s + idle, in_flight=in_flight, forecast_rps=rates)
    assert spec.min_replicas <= decision.replicas <= spec.max_replicas
    if in_flight:
        assert decision.replicas >= 1 and decision.mode == "serve"
    assert decision.reason.startswith(decision.mode) and 0.0 <= decision.arrival_probability <= 1.0
    assert decision.horizon_s == pytest.approx(LOADS.quantile(spec.cold_start_quantile) + spec.period_s)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=5), st.floats(0.0, 2.0), st.floats(1.0, 600.0))
def test_more_forecast_load_means_a_higher_arrival_probability(rates, extra, horizon):
    more = [r + extra for r in rates]
    assert arrival_probability(more, 60.0, horizon) >= arrival_probability(rates, 60.0, horizon)
    assert 0.0 <= arrival_probability(rates, 60.0, horizon) <= 1.0


def test_the_idle_gap_histogram_covers_seconds_to_days():
    assert GAP_EDGES_S[0] == 0.0 and GAP_EDGES_S[1] == 1.0 and GAP_EDGES_S[-1] == pytest.approx(8 * 86400.0)
    assert math.isinf(keep_alive_s([0] * len(GAP_EDGES_S), 60.0, 0.5))  # nothing learned: nothing to release on
