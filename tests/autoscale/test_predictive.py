"""The predictive policy: sizes for the forecast ahead, never below the reactive floor."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.autoscale.predictive import (
    PredictivePolicy,
    PredictiveSpec,
    PredictiveState,
    ServiceCapacity,
    predicted_replicas,
    reactive_floor,
    stabilise,
)
from foresight.capacity import SloModel, slo_replicas, slo_replicas_each
from foresight.autoscale.policy import Observation, Recommendation
from foresight.errors import ConfigError
from foresight.ports import Scale
from foresight.series import Series
from foresight.capacity import queueing

HOUR = 3600.0
API = ServiceCapacity(capacity_rps=10.0, startup_delay_s=120.0, target_utilisation_percent=80.0)


#: The mechanisms one at a time: these tests switch off the benchmark's defaults they do not test.
PLAIN: dict[str, object] = {"quantile": 0.9, "stabilisation_window_s": 300.0, "headroom": 0.0, "floor_trend_s": 0.0,
                            "floor_window_s": 0.0}


def spec(**changes: object) -> PredictiveSpec:
    settings: dict[str, object] = {
        "services": {"api": API}, "seasons_s": (HOUR,), "min_history_s": HOUR, "lookback_s": 6 * HOUR, **PLAIN
    }
    settings.update(changes)
    return PredictiveSpec(**settings)  # type: ignore[arg-type]


def wave(t: np.ndarray) -> np.ndarray:
    """An hourly cycle between 20 and 180 req/s, rising through 100 at each hour's start."""
    return 100.0 + 80.0 * np.sin(2 * np.pi * t / HOUR)


def observe(now: float, load: np.ndarray | None, cpu: float | None, ready: int = 10, start: float = 0.0,
            step: float = 15.0) -> Observation:
    t = np.arange(start, now + 1e-9, step)
    series: dict[str, list[Series]] = {"load": [], "cpu": []}
    if load is not None:
        series["load"] = [Series({"service": "api"}, t, load[: t.size])]
    if cpu is not None:
        series["cpu"] = [Series({"service": "api"}, [now], [cpu])]
    return Observation("api", now, Scale(ready, ready, ready), series)


def decide(
    policy: PredictivePolicy, obs: Observation, state: PredictiveState | None = None
) -> tuple[Recommendation, PredictiveState]:
    return policy.decide(state, obs)


def test_the_building_blocks() -> None:
    assert reactive_floor(10, 0.96, 80.0) == 12 and reactive_floor(10, 0.8, 80.0) == 10
    assert reactive_floor(0, 0.9, 80.0) == 0 and reactive_floor(3, None, 80.0) is None
    assert predicted_replicas(80.0, API) == 10 and predicted_replicas(80.1, API) == 11
    assert stabilise(100.0, 2, [(0.0, 9), (50.0, 4)], 60.0) == (4, ((50.0, 4), (100.0, 2)))
    assert stabilise(100.0, 7, [], 0.0) == (7, ((100.0, 7),))


def test_it_scales_up_ahead_of_a_rise_the_floor_cannot_see() -> None:
    now = 5 * HOUR  # the load is at 100 req/s and rising: 180 a quarter-hour on
    t = np.arange(0.0, now + 1, 15.0)
    rec, _ = decide(PredictivePolicy(spec()), observe(now, wave(t), cpu=1.0))  # 10 ready x 10 at 100%
    floor = reactive_floor(10, 1.0, 80.0)
    peak = wave(np.array([now + 135.0]))[0]  # the top of the lookahead: startup 120 s + sync 15 s
    assert rec.replicas >= math.ceil(peak / 8.0) > floor
    assert rec.inputs["reactive_floor"] == floor and rec.inputs["predicted"] == rec.replicas
    assert rec.reason.startswith("forecast q0.90 peak")


def test_the_floor_wins_when_the_forecast_misses() -> None:
    now = 5 * HOUR + HOUR / 2  # the wave is at its low point: ~100 req/s falling
    t = np.arange(0.0, now + 1, 15.0)
    rec, _ = decide(PredictivePolicy(spec()), observe(now, wave(t), cpu=1.0, ready=30))  # but CPU is saturated
    assert rec.replicas == reactive_floor(30, 1.0, 80.0) == 38
    assert rec.inputs["predicted"] < 38
    assert "reactive floor 38" in rec.reason


def test_the_quantile_is_the_cost_knob() -> None:
    now = 5 * HOUR
    t = np.arange(0.0, now + 1, 15.0)
    noisy = wave(t) * np.random.default_rng(0).gamma(25.0, 1 / 25.0, t.size)
    wanted = {}
    for q in (0.5, 0.9, 0.99):
        rec, _ = decide(PredictivePolicy(spec(quantile=q)), observe(now, noisy, cpu=0.1))
        wanted[q] = rec.replicas
        assert rec.inputs["quantile"] == q
    assert wanted[0.5] < wanted[0.9] < wanted[0.99]


def test_too_short_a_history_falls_back_to_reactive_and_says_so() -> None:
    now = 1800.0  # half an hour of load, an hour needed
    t = np.arange(0.0, now + 1, 15.0)
    rec, state = decide(PredictivePolicy(spec()), observe(now, wave(t), cpu=0.9, ready=4))
    assert rec.replicas == reactive_floor(4, 0.9, 80.0) == 5
    assert "history too short" in rec.reason and "need 3600 s" in rec.reason
    assert state.forecast is None and "peak_rps" not in rec.inputs


@pytest.mark.parametrize(
    ("load", "cpu", "replicas", "words"),
    [
        (None, 0.4, 5, "no forecast (no load samples)"),  # floor ceil(10 x 0.4 / 0.8) = 5
        (None, None, 10, "no cpu sample; keep 10"),
    ],
)
def test_missing_inputs(load: np.ndarray | None, cpu: float | None, replicas: int, words: str) -> None:
    rec, _ = decide(PredictivePolicy(spec()), observe(5 * HOUR, load, cpu))
    assert rec.replicas == replicas and words in rec.reason


def test_scale_down_waits_out_the_stabilisation_window() -> None:
    policy = PredictivePolicy(spec(stabilisation_window_s=300.0))
    now = 5 * HOUR + HOUR / 4  # the peak of the wave
    t = np.arange(0.0, now + 1, 15.0)
    high, state = decide(policy, observe(now, wave(t), cpu=0.5))
    t2 = np.arange(0.0, now + 200 + 1, 15.0)
    flat = wave(t2)
    flat[-4:] = 5.0  # load suddenly collapses; CPU follows
    held, state = decide(policy, observe(now + 200, flat, cpu=0.05), state)
    assert held.replicas == high.replicas and "stabilisation (300 s) holds" in held.reason
    t3 = np.arange(0.0, now + 400 + 1, 15.0)
    later = wave(t3)
    later[-12:] = 5.0
    low, _ = decide(policy, observe(now + 400, later, cpu=0.05), state)
    assert low.replicas < high.replicas


def test_a_longer_startup_delay_looks_further_ahead() -> None:
    now = 5 * HOUR - 600.0  # the low part of the wave; it rises from 5 h on
    t = np.arange(0.0, now + 1, 15.0)
    slow = ServiceCapacity(capacity_rps=10.0, startup_delay_s=900.0, target_utilisation_percent=80.0)
    fast_rec, _ = decide(PredictivePolicy(spec()), observe(now, wave(t), cpu=0.3))
    slow_rec, _ = decide(PredictivePolicy(spec(services={"api": slow})), observe(now, wave(t), cpu=0.3))
    assert slow_rec.inputs["lookahead_s"] == 915.0
    assert slow_rec.replicas > fast_rec.replicas


def test_state_is_kept_updated_refitted_and_never_mutated() -> None:
    policy = PredictivePolicy(spec(refit_every_s=HOUR))
    t = np.arange(0.0, 3 * HOUR + 1, 15.0)
    _, first = decide(policy, observe(3 * HOUR, wave(t), cpu=0.5))
    assert first.fitted_at == 3 * HOUR and first.learned_until == 3 * HOUR
    frozen = pickle.dumps(first)
    t2 = np.arange(0.0, 3 * HOUR + 600 + 1, 15.0)
    _, second = decide(policy, observe(3 * HOUR + 600, wave(t2), cpu=0.5), first)
    assert pickle.dumps(first) == frozen
    assert second.fitted_at == first.fitted_at  # updated online, not refitted
    assert second.learned_until == 3 * HOUR + 600
    assert second.forecast.steps == first.forecast.steps + 10
    t3 = np.arange(0.0, 4 * HOUR + 1, 15.0)
    _, third = decide(policy, observe(4 * HOUR, wave(t3), cpu=0.5), second)
    assert third.fitted_at == 4 * HOUR  # an hour on: refitted


def test_a_forecast_carries_on_while_the_load_series_is_missing() -> None:
    policy = PredictivePolicy(spec())
    t = np.arange(0.0, 5 * HOUR + 1, 15.0)
    _, state = decide(policy, observe(5 * HOUR, wave(t), cpu=0.5))
    rec, later = decide(policy, observe(5 * HOUR + 300, None, cpu=0.5), state)  # the scrape target vanished
    assert later.learned_until == 5 * HOUR + 300 and later.fitted_at == state.fitted_at
    assert rec.reason.startswith("forecast q0.90") and rec.inputs["peak_rps"] > 100.0


def test_a_clock_that_went_back_refits() -> None:
    policy = PredictivePolicy(spec())
    t = np.arange(0.0, 5 * HOUR + 1, 15.0)
    _, state = decide(policy, observe(5 * HOUR, wave(t), cpu=0.5))
    _, again = decide(policy, observe(4 * HOUR, wave(t), cpu=0.5), state)
    assert again.fitted_at == 4 * HOUR and again.learned_until == 4 * HOUR


def test_gaps_in_the_load_still_forecast() -> None:
    now = 5 * HOUR
    t = np.arange(0.0, now + 1, 15.0)
    load = wave(t)
    load[-200:-100] = np.nan  # 25 minutes of missing scrapes
    load[::7] = np.nan
    rec, state = decide(PredictivePolicy(spec()), observe(now, load, cpu=1.0))
    assert state.forecast is not None and rec.inputs["peak_rps"] > 100.0


def test_a_counter_with_resets_is_read_as_its_rate() -> None:
    now = 5 * HOUR
    t = np.arange(0.0, now + 1, 15.0)
    rate = wave(t)
    counter = np.concatenate([[0.0], np.cumsum(rate[1:] * 15.0)])
    counter[800:] -= counter[800] - rate[800] * 15.0  # the process restarted: counting from 0
    as_rate, _ = decide(PredictivePolicy(spec()), observe(now, rate, cpu=0.2))
    as_counter, _ = decide(PredictivePolicy(spec(load_is_counter=True)), observe(now, counter, cpu=0.2))
    assert as_counter.replicas == as_rate.replicas
    assert as_counter.inputs["peak_rps"] == pytest.approx(as_rate.inputs["peak_rps"], rel=0.02)


def test_queries_and_config_errors() -> None:
    policy = PredictivePolicy(spec())
    assert policy.queries("api") == {
        "load": 'foresight_offered_rps{service="api"}',
        "cpu": 'foresight_cpu_utilisation{service="api"}',
    }
    assert policy.lookback_s == 6 * HOUR
    with pytest.raises(ConfigError, match="no capacity for workload 'web'; known: \\['api'\\]"):
        policy.decide(None, Observation("web", 0.0, Scale(1, 1, 1), {}))
    with pytest.raises(ConfigError, match="must contain \\$workload"):
        spec(load_query="sum(rate(requests_total[1m]))")
    with pytest.raises(ConfigError, match="exceeds lookback_s"):
        spec(min_history_s=7 * HOUR)
    with pytest.raises(ConfigError, match="twice the longest lookahead"):
        spec(min_history_s=300.0)


# --- sizing for the SLO (one capacity definition with the benchmark's oracle) -------------------------

SLO = SloModel(base_latency_s=0.2, slo_latency_p95_s=0.4)
SLO_API = ServiceCapacity(capacity_rps=40.0, startup_delay_s=90.0, slo=SLO)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0.0, 2000.0), min_size=1, max_size=20))
def test_slo_replicas_are_the_fewest_that_meet_the_slo(loads: list[float]) -> None:
    load = np.array(loads)
    need = slo_replicas(load, 40.0, SLO)

    def meets(replicas: np.ndarray) -> np.ndarray:
        one = np.ones_like(load)
        q = queueing.queue(load, queueing.servers(replicas * one, 40.0 * one, 0.2 * one, one, 2.0 * one))
        error = np.where(load > 0, q.dropped / np.where(load > 0, load, 1.0), 0.0)
        return (q.latency_p95 <= 0.4) & (error <= 0.01)

    assert meets(need.astype(float)).all()
    assert not meets(np.maximum(need - 1, 0).astype(float))[need > 1].any()
    assert (np.diff(need[np.argsort(load)]) >= 0).all()  # more load never needs fewer replicas


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 5000.0), st.floats(1.0, 200.0), st.sampled_from([0.01, 0.1, 0.5]),
                          st.floats(1.2, 4.0), st.sampled_from([0.001, 0.01, 0.05])), min_size=1, max_size=12))
def test_slo_replicas_of_many_workloads_at_once_are_each_ones_alone(rows: list[tuple[float, ...]]) -> None:
    slos = [SloModel(base_latency_s=b, slo_latency_p95_s=b * p95, slo_error_ratio=e) for _, _, b, p95, e in rows]
    loads, capacities = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    each = slo_replicas_each(loads, capacities, slos, max_replicas=200)
    for load, capacity, slo, n in zip(loads, capacities, slos, each):
        if n == 0:  # not met within the bound: alone, the same error
            with pytest.raises(ConfigError, match="200 replicas cannot meet"):
                slo_replicas(np.array([load]), capacity, slo, max_replicas=200)
        else:
            assert n == slo_replicas(np.array([load]), capacity, slo, max_replicas=200)[0]


def test_slo_sizing_is_busier_for_larger_services_and_bounded() -> None:
    need = slo_replicas(np.array([60.0, 560.0]), 40.0, SLO)
    busy = np.array([60.0, 560.0]) / (need * 40.0)
    assert busy[0] < 0.8 < 0.9 < busy[1]  # a fixed 70% target over-provisions the large one
    with pytest.raises(ConfigError, match="10 replicas cannot meet the SLO at 900.0 req/s"):
        slo_replicas(np.array([100.0, 900.0]), 40.0, SLO, max_replicas=10)
    with pytest.raises(ConfigError, match="cannot be met with a service time"):
        SloModel(base_latency_s=0.5, slo_latency_p95_s=0.4)


def test_the_slo_floor_sizes_the_load_seen_now_and_its_rise() -> None:
    policy = PredictivePolicy(spec(services={"api": SLO_API}))
    now = 1800.0  # too little history: the floor alone
    t = np.arange(0.0, now + 1, 15.0)
    flat, _ = decide(policy, observe(now, np.full(t.size, 560.0), cpu=0.5, ready=20))
    assert flat.replicas == 15 and "560.0 req/s now from load, sized for the SLO" in flat.reason
    rising = np.full(t.size, 400.0)
    rising[-5:] = [400.0, 440.0, 480.0, 520.0, 560.0]  # +160 req/s over the last minute
    trend = PredictivePolicy(spec(services={"api": SLO_API}, floor_trend_s=60.0))
    ahead, _ = decide(trend, observe(now, rising, cpu=0.5, ready=20))
    assert ahead.inputs["load_now_rps"] == pytest.approx(720.0) and ahead.replicas == decide(
        policy, observe(now, np.full(t.size, 720.0), cpu=0.5, ready=20))[0].replicas
    busy, _ = decide(policy, observe(now, None, cpu=1.0, ready=10))  # no load series: what the pods serve
    assert busy.inputs["load_now_rps"] == 400.0 and "from cpu 100% of 10 ready" in busy.reason
    nothing, _ = decide(policy, observe(now, None, cpu=None, ready=7))
    assert nothing.replicas == 7 and "no load or cpu sample; keep 7" in nothing.reason


def test_the_slo_floor_window_keeps_the_capacity_of_a_recent_burst() -> None:
    now = 1800.0  # too little history: the floor alone
    t = np.arange(0.0, now + 1, 15.0)
    burst = np.full(t.size, 300.0)
    burst[-30] = 560.0  # 7.25 minutes ago
    plain, _ = decide(PredictivePolicy(spec(services={"api": SLO_API})), observe(now, burst, cpu=0.3, ready=20))
    held, _ = decide(PredictivePolicy(spec(services={"api": SLO_API}, floor_window_s=600.0)),
                     observe(now, burst, cpu=0.3, ready=20))
    short, _ = decide(PredictivePolicy(spec(services={"api": SLO_API}, floor_window_s=300.0)),
                      observe(now, burst, cpu=0.3, ready=20))
    assert plain.inputs["load_now_rps"] == short.inputs["load_now_rps"] == 300.0
    assert held.inputs["load_now_rps"] == 560.0 and held.replicas == 15 > plain.replicas


# --- bad input: a source that stops answering -----------------------------------------------------------


def test_a_silent_load_series_carries_the_forecast_for_the_hold_then_falls_back_to_the_floor() -> None:
    policy = PredictivePolicy(spec(load_hold_s=600.0))
    t = np.arange(0.0, 5 * HOUR + 1, 15.0)
    _, state = decide(policy, observe(5 * HOUR, wave(t), cpu=0.5))
    stale = [Series({"service": "api"}, t, wave(t))]  # what a caching source serves while Prometheus is down

    def later(dt: float, cpu_at: float) -> Observation:
        return Observation("api", 5 * HOUR + dt, Scale(10, 10, 10),
                           {"load": stale, "cpu": [Series({"service": "api"}, [cpu_at], [0.5])]})

    held, state = decide(policy, later(300.0, 5 * HOUR + 300), state)
    assert held.reason.startswith("forecast q0.90") and "no load sample for 300 s (hold 600 s)" in held.reason
    dropped, state = decide(policy, later(900.0, 5 * HOUR + 900), state)
    assert "no load sample for 900 s, over the 600 s hold: forecast set aside" in dropped.reason
    assert "peak_rps" not in dropped.inputs and dropped.replicas == reactive_floor(10, 0.5, 80.0) == 7
    blind, _ = decide(policy, later(1800.0, 5 * HOUR), state)  # the cpu sample is as stale: nothing to go on
    assert "no cpu sample" in blind.reason and blind.replicas == 10


def test_headroom_sizes_the_slo_for_more_load_and_leaves_a_target_alone() -> None:
    now = 1800.0
    t = np.arange(0.0, now + 1, 15.0)
    plain = PredictivePolicy(spec(services={"api": SLO_API}))
    roomy = PredictivePolicy(spec(services={"api": SLO_API}, headroom=0.2))
    at_560, _ = decide(roomy, observe(now, np.full(t.size, 560.0), cpu=0.5, ready=20))
    at_672, _ = decide(plain, observe(now, np.full(t.size, 672.0), cpu=0.5, ready=20))
    assert at_560.replicas == at_672.replicas > 15
    target = PredictivePolicy(spec(headroom=0.2))  # API sizes at its 80% target: headroom is not added twice
    assert decide(target, observe(now, None, cpu=0.9, ready=10))[0].replicas == reactive_floor(10, 0.9, 80.0)


# --- online calibration: the forecast's own recent misses size its margin --------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.1, 5.0), min_size=1, max_size=80), st.floats(0.05, 0.95))
def test_calibrated_margin_covers_its_quantile_of_the_misses_within_bounds(ratios: list[float], q: float) -> None:
    from foresight.autoscale.predictive import calibrated_margin

    margin = calibrated_margin(ratios, q, (0.5, 3.0))
    assert 0.5 <= margin <= 3.0
    unclipped = calibrated_margin(ratios, q, (0.0 + 1e-9, 1e9))
    assert np.mean(np.asarray(ratios) <= unclipped) >= min(1.0, q)  # conformal: at least q of them covered
    assert calibrated_margin(ratios, min(q + 0.04, 0.99), (1e-9, 1e9)) >= unclipped  # monotone in the quantile


def _run_minutes(policy: PredictivePolicy, load: np.ndarray, start: float, minutes: int) -> Recommendation:
    state, rec = None, None
    for k in range(minutes):
        now = start + 60.0 * k
        rec, state = decide(policy, observe(now, load, cpu=0.1), state)
    assert rec is not None and state is not None
    pickle.loads(pickle.dumps(state))  # the calibration memory stays plain, serialisable data
    return rec


def test_a_volatile_workload_earns_a_wider_calibrated_margin_than_a_smooth_one() -> None:
    calibrated = PredictivePolicy(spec(calibration_window=120, calibration_min=20, calibration_quantile=0.9,
                                       calibration_bounds=(0.8, 3.0)))
    start, minutes = 5 * HOUR, 45
    t = np.arange(0.0, start + 60.0 * minutes + 1, 15.0)
    smooth = _run_minutes(calibrated, wave(t), start, minutes)
    bursts = wave(t) * np.where(np.random.default_rng(3).random(t.size // 8 + 1) < 0.2, 1.6, 1.0).repeat(8)[: t.size]
    bursts[t < start - HOUR] = wave(t[t < start - HOUR])  # bursts the history never showed
    volatile = _run_minutes(calibrated, bursts, start, minutes)
    assert "misses" in smooth.reason and "misses" in volatile.reason
    assert smooth.inputs["margin"] < 1.1 < volatile.inputs["margin"]
    fixed = _run_minutes(PredictivePolicy(spec()), bursts, start, minutes)  # off: no margin from misses
    assert fixed.inputs["margin"] == 1.0 and "misses" not in fixed.reason


def test_calibration_needs_enough_misses_and_sane_bounds() -> None:
    young = PredictivePolicy(spec(calibration_window=120, calibration_min=1000))
    t = np.arange(0.0, 5 * HOUR + 1200 + 1, 15.0)
    rec = _run_minutes(young, wave(t), 5 * HOUR, 20)
    assert "misses" not in rec.reason  # too few yet: the fixed headroom decides
    with pytest.raises(ConfigError, match="calibration_bounds"):
        spec(calibration_bounds=(1.5, 1.2))


def test_deciding_many_at_once_is_deciding_each_alone() -> None:
    slow = ServiceCapacity(capacity_rps=8.0, startup_delay_s=600.0, target_utilisation_percent=70.0)
    slo = ServiceCapacity(capacity_rps=12.0, startup_delay_s=60.0, slo=SloModel(base_latency_s=0.1,
                                                                                 slo_latency_p95_s=0.3))
    names = ["a", "b", "c", "d", "e", "f"]
    services = {"a": API, "b": slow, "c": slo, "d": API, "e": slo, "f": API}
    policy = PredictivePolicy(spec(services=services, calibration_window=20, calibration_min=3))

    def observations(now: float) -> list[Observation]:
        t = np.arange(0.0, now + 1e-9, 15.0)
        out = []
        for k, name in enumerate(names):
            load = wave(t + 600.0 * k) * (1 + k)
            if name == "d":
                load[-12:] = np.nan  # its newest three minutes are missing
            if name == "f":
                load[80:-40] = np.nan  # half an hour of load in all: too short a history
            series = {"load": [Series({"service": name}, t, load)], "cpu": [Series({"service": name}, [now], [0.6])]}
            out.append(Observation(name, now, Scale(4, 4, 4), series))
        out.append(Observation("unknown", now, Scale(1, 1, 1), {"load": [], "cpu": []}))  # no capacity: its error
        return out

    together: list[PredictiveState | None] = [None] * 7
    alone: list[PredictiveState | None] = [None] * 7
    sizes: list[int] = []
    fitted: list[int] = []
    update, fit = policy.forecaster.update, policy.forecaster.fit
    policy.forecaster.update = lambda state, new: (sizes.append(len(new)), update(state, new))[1]  # type: ignore[method-assign]
    policy.forecaster.fit = lambda history: (fitted.append(len(history)), fit(history))[1]  # type: ignore[method-assign]
    reasons = []
    for now in np.arange(3 * HOUR, 3 * HOUR + 40 * 60, 45.0):  # fits, updates of one or more steps, current
        obs = observations(float(now))
        answers = policy.decide_many(list(zip(together, obs)))
        assert isinstance(answers[-1], ConfigError)
        for i, (o, answer) in enumerate(zip(obs[:-1], answers[:-1])):
            assert not isinstance(answer, Exception)
            rec, state = policy.decide(alone[i], o)
            assert (answer[0].replicas, answer[0].reason, dict(answer[0].inputs)) == (
                rec.replicas, rec.reason, dict(rec.inputs))
            assert answer[1].ratios == state.ratios and answer[1].pending == state.pending
            alone[i], together[i] = state, answer[1]
            reasons.append(rec.reason)
    assert max(sizes) == 5 and fitted[:3] == [6, 5, 1]  # five with history fitted, and learned, in one call
    assert any("misses)" in r for r in reasons) and any("no load sample" in r for r in reasons)
    assert any("history too short" in r for r in reasons)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-5.0, 500.0), st.just(float("nan")), st.just(-0.0)), min_size=1, max_size=80),
       st.floats(-100.0, 1500.0), st.integers(0, 25))
def test_the_load_grid_of_one_series_is_that_of_many_with_it(values: list[float], start: float, steps: int) -> None:
    from foresight.autoscale.predictive import _load_grid

    load = Series({"service": "api"}, 20.0 * np.arange(len(values)), values)
    silent = Series({"service": "api", "pod": "gone"}, [], [])  # a second series without a sample
    one = _load_grid([load], 60.0, start, start + 60.0 * steps, False)
    many = _load_grid([load, silent], 60.0, start, start + 60.0 * steps, False)
    assert np.array_equal(one, many, equal_nan=True) and np.array_equal(np.signbit(one), np.signbit(many))
