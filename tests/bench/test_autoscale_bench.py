"""``foresight bench autoscale``: the oracle is violation-free and minimal, static never scales,
policies read no future, the forecast reaches the HPA one period late, the report's shape."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import foresight.cli.autoscale  # noqa: F401  (registers the command until the CLI imports it)
from foresight.autoscale.hpa import ExternalMetric, HpaPolicy, HpaSpec
from foresight.autoscale.predictive import PredictivePolicy, PredictiveSpec, ServiceCapacity
from foresight.bench.autoscale import (
    DESIRED_REPLICAS,
    HistoryBackedSource,
    PolicyResult,
    PredictiveThroughHpa,
    Scenario,
    SchedulePolicy,
    StaticPolicy,
    TraceResult,
    bench_autoscale,
    oracle_schedule,
    oracle_replicas,
)
from foresight.cli.app import app
from foresight.control.audit import AuditRecord
from foresight.control.loop import Reconciler
from foresight.autoscale.policy import Observation, ReplicaPolicy
from foresight.control.safety import SafetyLimits
from foresight.ports import Scale
from foresight.series import Series
from foresight.sim import ClusterSpec, NodePoolSpec, Simulator

SCENARIO = Scenario(startup_delay_s=45.0, replicas_at_peak=10)  # a pod serves 3 steps after it is asked for
START = 1_000_000.0


class Kept:
    """Audit sink keeping every record."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


def simulate(policy: ReplicaPolicy, load: np.ndarray, initial: int) -> tuple[Simulator, Kept]:
    """One service under ``policy`` through the reconcile loop, every step."""
    service = SCENARIO.service("api", initial)
    nodes = NodePoolSpec(name="pool", count=2, cpu_cores=64, memory_mib=65536)
    sim = Simulator(ClusterSpec(services=(service,), node_pools=(nodes,)), load, step_s=15.0,
                    duration_s=load.size * 15.0, start=START)
    sink = Kept()
    limits = {"api": SafetyLimits(min_replicas=SCENARIO.min_replicas, max_replicas=SCENARIO.max_replicas)}
    loop = Reconciler(policy, sim, sim, limits, sink, sim.clock, period_s=15.0)
    while not sim.done:
        loop.reconcile_once()
        sim.step()
    return sim, sink


def hand_made_load() -> np.ndarray:
    """Quiet, a ramp, a plateau, a drop, a short spike and a dip shorter than the start-up delay."""
    return np.concatenate([np.full(10, 40.0), np.linspace(40.0, 500.0, 12), np.full(10, 500.0), np.full(10, 120.0),
                           np.full(2, 380.0), np.full(10, 120.0), np.full(2, 20.0), np.full(14, 200.0)])


# --- the oracle ------------------------------------------------------------------------------------


def test_the_oracle_meets_the_slo_at_every_step() -> None:
    load = hand_made_load()
    schedule = oracle_schedule(oracle_replicas(load, SCENARIO), SCENARIO.startup_steps)
    sim, _ = simulate(SchedulePolicy(schedule, START, 15.0), load, int(schedule[0]))
    assert sim.history["foresight_slo_violation"].sum() == 0
    assert sim.history["foresight_replicas_current"][:, 0].tolist() == schedule.tolist()


def test_the_oracle_needs_are_the_fewest_replicas_meeting_the_slo() -> None:
    load = hand_made_load()
    need = oracle_replicas(load, SCENARIO)
    assert need.min() == SCENARIO.min_replicas and need.max() > SCENARIO.min_replicas
    for k in np.flatnonzero(need > SCENARIO.min_replicas)[::6]:
        fewer = int(need[k]) - 1
        sim, _ = simulate(StaticPolicy(fewer), np.full(4, load[k]), fewer)
        assert sim.history["foresight_slo_violation"].all(), (load[k], fewer)


def test_one_pod_fewer_at_any_step_of_the_oracle_violates_the_slo() -> None:
    # A pod serving at step j must exist from j - startup; keeping one through a dip shorter than the
    # start-up delay costs no more than a new one: any schedule below the oracle's at any step fails.
    load = hand_made_load()
    need = oracle_replicas(load, SCENARIO)
    schedule = oracle_schedule(need, SCENARIO.startup_steps)
    assert need[54] < need[56] and schedule[54:56].tolist() == [need[56]] * 2  # kept through the 2-step dip
    for k in [k for k in range(1, load.size) if schedule[k] > SCENARIO.min_replicas][::5]:
        cut = schedule.copy()
        cut[k] -= 1
        sim, _ = simulate(SchedulePolicy(cut, START, 15.0), load, int(cut[0]))
        assert sim.history["foresight_slo_violation"].sum() > 0, k


def test_the_schedule_starts_each_pod_one_start_up_delay_ahead() -> None:
    need = np.array([2, 2, 2, 2, 6, 6, 2, 2, 2, 2, 2, 2])
    assert oracle_schedule(need, 3).tolist() == [2, 6, 6, 6, 6, 6, 2, 2, 2, 2, 2, 2]
    assert oracle_schedule(need, 0).tolist() == need.tolist()


# --- static and the loop -----------------------------------------------------------------------------


def test_static_never_scales_whatever_the_load() -> None:
    sim, sink = simulate(StaticPolicy(10), hand_made_load(), 10)
    assert set(sim.history["foresight_replicas_desired"][:, 0].tolist()) == {10}
    assert not any(r.applied for r in sink.records)


# --- no look-ahead ---------------------------------------------------------------------------------


def test_the_history_source_joins_the_trace_before_the_window_and_never_looks_ahead() -> None:
    load, history = np.arange(100.0, 140.0), np.arange(40.0)
    nodes = NodePoolSpec(name="pool", count=1, cpu_cores=64, memory_mib=65536)
    sim = Simulator(ClusterSpec(services=(SCENARIO.service("api", 4),), node_pools=(nodes,)), load, step_s=15.0,
                    duration_s=load.size * 15.0, start=START)
    source = HistoryBackedSource(sim, history)
    assert [s.values.tolist() for s in source.query_range('foresight_offered_rps{service="api"}', START - 60, START, 15)] \
        == [[35.0, 36.0, 37.0, 38.0, 39.0]]  # history[k] is stamped at its step's end: the last one at START
    sim.run_until(START + 10 * 15)
    (load_series,) = source.query_range('foresight_offered_rps{service="api"}', START - 45, sim.now, 15)
    assert load_series.values.tolist() == [36.0, 37.0, 38.0, 39.0, *load[:10].tolist()]
    # asked beyond now, a source repeats the latest sample (Prometheus' staleness): nothing of the future
    (ahead,) = source.query_range('foresight_offered_rps{service="api"}', START - 45, START + 3600, 15)
    assert set(ahead.values[ahead.timestamps > sim.now].tolist()) == {load[9]}
    (cpu,) = source.query_range('foresight_cpu_utilisation{service="api"}', START - 3600, sim.now, 15)
    assert cpu.timestamps.min() == START + 15 and cpu.timestamps.max() == sim.now
    assert source.query_range('foresight_offered_rps{service="other"}', START - 60, START, 15) == []


# --- the production path: the forecast through the HPA -------------------------------------------


def test_the_hpa_reads_the_decision_published_one_period_earlier() -> None:
    api = ServiceCapacity(capacity_rps=50, startup_delay_s=120, target_utilisation_percent=75)
    predictive = PredictivePolicy(PredictiveSpec(services={"api": api}, min_history_s=3600, seasons_s=(1800,),
                                                quantile=0.9))
    hpa = HpaPolicy(
        HpaSpec(max_replicas=30, target_utilisation_percent=90,
                external_metrics=(ExternalMetric(name=DESIRED_REPLICAS, average_value=1.0),)),
        external_queries={DESIRED_REPLICAS: f'{DESIRED_REPLICAS}{{workload="$workload"}}'},
    )
    policy = PredictiveThroughHpa(predictive, hpa, cpu=True)
    t = np.arange(0.0, 4 * 3600.0 + 15, 15.0)
    load = 200.0 + 100.0 * np.sin(2 * np.pi * t / 1800.0)

    def observe(now: float) -> Observation:
        seen = t <= now
        return Observation("api", now, Scale(6, 6, 6), {"load": [Series({}, t[seen], load[seen])],
                                                         "cpu": [Series({}, [now], [0.67])]})

    first, state = policy.decide(None, observe(4 * 3600.0 - 15))
    assert f"no {DESIRED_REPLICAS} metric" in first.reason and first.replicas == 6
    assert state.published is not None and state.published[0] == 4 * 3600.0 - 15
    assert state.published[1] == first.inputs["foresight_desired_replicas"] and "Foresight: forecast q0.90" in first.reason
    second, _ = policy.decide(state, observe(4 * 3600.0))
    assert second.inputs[f"{DESIRED_REPLICAS}_value"] == state.published[1]
    assert second.replicas == state.published[1] > 6  # the HPA follows the published decision


# --- the report ----------------------------------------------------------------------------------


def test_matched_violations_read_the_hpa_cost_curve() -> None:
    def r(violations: float, cost: float) -> PolicyResult:
        return PolicyResult(violations, cost, 0, cost / 2)

    sweep = {50: r(1.0, 1000.0), 60: r(1.0, 1100.0), 70: r(5.0, 800.0), 80: r(6.0, 900.0), 90: r(25.0, 600.0)}
    result = TraceResult("t", 1.0, 1.0, 1.0, {"predictive": r(3.0, 700.0), "hpa": sweep[70], "oracle": r(0, 500.0),
                                              "static": r(0, 2000.0), "predictive-direct": r(2.0, 750.0)}, sweep, {})
    assert result.hpa_at_matched_violations() == 900.0
    assert result.targets() == {"violations <= 30% of hpa": False, "replica-minutes <= hpa": True,
                                "replica-minutes <= 1.2 x oracle": False}
    for outside in (0.5, 30.0):  # no HPA target in the sweep violates this little, or this much
        beyond = TraceResult("t", 1.0, 1.0, 1.0, {**result.policies, "predictive": r(outside, 700.0)}, sweep, {})
        assert beyond.hpa_at_matched_violations() is None
    at_point = TraceResult("t", 1.0, 1.0, 1.0, {**result.policies, "predictive": r(1.0, 700.0)}, sweep, {})
    assert at_point.hpa_at_matched_violations() == 1000.0  # the cheaper of the two targets violating 1 minute


def test_violations_at_the_hpa_cost_read_the_predictive_cost_curve() -> None:
    def r(violations: float, cost: float) -> PolicyResult:
        return PolicyResult(violations, cost, 0, cost / 2)

    hpa = r(10.0, 800.0)
    headrooms = {0.0: r(8.0, 600.0), 0.1: r(4.0, 700.0), 0.2: r(5.0, 750.0), 0.3: r(1.0, 900.0)}
    policies = {"predictive": headrooms[0.1], "hpa": hpa, "oracle": r(0, 500.0)}
    result = TraceResult("t", 1.0, 1.0, 1.0, policies, {70: hpa}, headrooms)
    # the front skips 0.2 (dearer and worse than 0.1): 800 lies between 700 (4) and 900 (1)
    assert result.predictive_at_hpa_cost() == pytest.approx(2.5)
    cheaper = TraceResult("t", 1.0, 1.0, 1.0, {**policies, "hpa": r(10.0, 500.0)}, {70: hpa}, headrooms)
    assert cheaper.predictive_at_hpa_cost() is None  # no headroom costs as little
    dearer = TraceResult("t", 1.0, 1.0, 1.0, {**policies, "hpa": r(10.0, 1000.0)}, {70: hpa}, headrooms)
    assert dearer.predictive_at_hpa_cost() == 1.0  # the dearest headroom's, bought with less


@pytest.fixture
def synthetic_trace(tmp_path: Path) -> Path:
    """1.2 days of a noisy daily cycle with a morning ramp, at one-minute steps."""
    rng = np.random.default_rng(7)
    minutes = np.arange(int(1.2 * 1440))
    rate = 100.0 + 80.0 * np.sin(2 * np.pi * (minutes - 420) / 1440) + rng.normal(0.0, 5.0, minutes.size)
    path = tmp_path / "synthetic.csv"
    rows = "\n".join(f"{1_600_000_000 + 60 * m},{max(v, 0.0):.3f}" for m, v in zip(minutes, rate))
    path.write_text("timestamp,requests\n" + rows + "\n")
    return path


def test_the_bench_reports_every_policy_on_a_short_trace(synthetic_trace: Path) -> None:
    scenario = Scenario(days=0.1, replicas_at_peak=10)
    report = bench_autoscale([synthetic_trace], scenario)
    assert set(report) == {"pooled", "pooled_held_out", "split", "traces", "setup"}
    assert "no look-ahead" in report["setup"]["look_ahead"]
    trace = report["traces"]["synthetic"]
    for policy in ("hpa", "predictive", "oracle", "static", "predictive-direct"):
        assert set(trace[policy]) == {"slo_violation_minutes", "replica_minutes", "requested_core_minutes",
                                      "scaling_actions", "up_down_up", "reversed_downs"}
        assert trace[policy]["requested_core_minutes"] == pytest.approx(0.5 * trace[policy]["replica_minutes"], abs=0.1)
    assert set(trace["hpa_sweep"]) == {"40", "50", "60", "70", "80", "90"}
    assert trace["hpa_sweep"]["70"] == trace["hpa"]
    assert set(trace["predictive_sweep"]) == {"0", "0.1", "0.2", "0.3"}
    assert trace["predictive_sweep"]["0.1"] == trace["predictive"]
    costs = [trace["predictive_sweep"][h]["replica_minutes"] for h in ("0", "0.1", "0.2", "0.3")]
    assert costs == sorted(costs)  # more headroom never buys fewer replicas
    assert "predictive_violation_minutes_at_hpa_cost" in trace
    window_minutes = 0.1 * 1440
    assert trace["static"] == {"slo_violation_minutes": 0.0, "replica_minutes": 10 * window_minutes,
                               "requested_core_minutes": 5 * window_minutes, "scaling_actions": 0, "up_down_up": 0, "reversed_downs": 0}
    assert trace["oracle"]["slo_violation_minutes"] == 0.0
    cheapest = min(trace[p]["replica_minutes"] for p in ("hpa", "predictive", "predictive-direct"))
    assert trace["oracle"]["replica_minutes"] < cheapest
    assert trace["evaluated_days"] == 0.1 and trace["history_days"] == pytest.approx(1.1, abs=0.01)
    assert set(trace["targets"]) == {"violations <= 30% of hpa", "replica-minutes <= hpa", "replica-minutes <= 1.2 x oracle"}


def test_the_command_prints_json_and_names_a_missing_trace(synthetic_trace: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["bench", "autoscale", "--trace", str(synthetic_trace), "--days", "0.05",
                               "--replicas-at-peak", "8", "--json"])
    assert done.exit_code == 0, done.output
    figures = json.loads(done.output)["traces"]["synthetic"]
    assert figures["static"]["replica_minutes"] == 8 * 0.05 * 1440
    missing = runner.invoke(app, ["bench", "autoscale", "--trace", str(tmp_path / "nope.csv")])
    assert missing.exit_code != 0 and "nope.csv" in str(missing.exception or missing.output)
    bad = runner.invoke(app, ["bench", "autoscale", "--trace", str(synthetic_trace), "--calibration-quantile", "1.5"])
    assert bad.exit_code != 0 and "--calibration-quantile" in str(bad.exception or bad.output)


def test_the_calibrated_policy_is_one_setting_for_every_trace_and_says_so() -> None:
    from foresight.bench.autoscale import _cluster, describe

    scenario = Scenario(calibration_window=240, calibration_quantile=0.95)
    _, loops, _, headrooms = _cluster(scenario, np.full(40, 100.0), np.full(200, 100.0), 0.0)
    assert headrooms == {0.0: "predictive-h0", 0.1: "predictive", 0.2: "predictive-h20", 0.3: "predictive-h30"}
    spec = loops["predictive-direct"][0].spec  # type: ignore[attr-defined]
    assert (spec.calibration_window, spec.calibration_quantile) == (240, 0.95)
    assert "q0.95 of its own last 240 misses" in describe(scenario)["predictive"]
    assert "misses" not in describe(Scenario(calibration_window=0))["predictive"]


def test_the_predictive_loops_share_each_forecaster_answer() -> None:
    from foresight.bench.autoscale import _SharedForecasts
    from foresight.forecast import SeasonalNaive

    class Counting(SeasonalNaive):
        def __init__(self, **settings: int) -> None:
            super().__init__(**settings)
            self.calls: list[str] = []

        def fit(self, history: np.ndarray):  # type: ignore[no-untyped-def]
            self.calls.append("fit")
            return super().fit(history)

        def update(self, state, new):  # type: ignore[no-untyped-def]
            self.calls.append("update")
            return super().update(state, new)

        def predict(self, state, horizon_steps, quantiles):  # type: ignore[no-untyped-def]
            self.calls.append("predict")
            return super().predict(state, horizon_steps, quantiles)

    inner = Counting(season_steps=4, max_horizon_steps=3)
    shared = _SharedForecasts(inner)
    history = np.arange(40.0)[None, :] % 7
    states = [shared.fit(history) for _ in range(3)]
    assert states[0] is states[1] is states[2]
    updated = [shared.update(states[0], np.array([[3.0]])) for _ in range(3)]
    other = shared.update(states[0], np.array([[4.0]]))  # other points: learned anew
    answers = [shared.predict(updated[0], 2, [0.5, 0.9]) for _ in range(3)]
    assert inner.calls == ["fit", "update", "update", "predict"]
    direct = SeasonalNaive(season_steps=4, max_horizon_steps=3)
    expected = direct.predict(direct.update(direct.fit(history), np.array([[3.0]])), 2, [0.5, 0.9])
    assert np.array_equal(answers[0], expected) and not answers[0].flags.writeable
    assert other is not updated[0]


def _trace(name: str, predictive: tuple[float, float], hpa: tuple[float, float], actions: tuple[int, int]) -> TraceResult:
    """A trace whose HPA sweep is 60/70/80 around ``hpa`` and whose predictive sweep is 0/0.1/0.2
    around ``predictive`` (violation minutes, core-minutes), with ``actions`` (predictive, hpa)."""
    def r(v: float, cost: float, n: int = 10) -> PolicyResult:
        return PolicyResult(v, 2 * cost, n, cost)

    (pv, pc), (hv, hc) = predictive, hpa
    sweep = {60: r(hv / 2, 1.2 * hc), 70: r(hv, hc, actions[1]), 80: r(2 * hv, 0.8 * hc)}
    headrooms = {0.0: r(2 * pv, 0.9 * pc), 0.1: r(pv, pc, actions[0]), 0.2: r(pv / 2, 1.1 * pc)}
    policies = {"predictive": headrooms[0.1], "hpa": sweep[70], "oracle": r(0.0, 0.5 * hc), "static": r(0.0, 3 * hc),
                "predictive-direct": r(pv, pc)}
    return TraceResult(name, 7.0, 7.0, 560.0, policies, sweep, headrooms)


def test_pooling_sums_each_setting_over_the_traces_and_reads_the_pooled_fronts() -> None:
    from foresight.bench.autoscale import pool, pooled_json

    good = _trace("good", predictive=(5.0, 800.0), hpa=(10.0, 1000.0), actions=(12, 10))
    bad = _trace("bad", predictive=(10.0, 1100.0), hpa=(10.0, 1000.0), actions=(20, 10))
    assert good.pareto()["never_worse_than_hpa"] is True and bad.pareto()["never_worse_than_hpa"] is False
    assert bad.pareto()["cost_ratio_at_matched_slo"] == 1.1 and bad.pareto()["violation_ratio_at_hpa_cost"] > 1
    both = pool([good, bad])
    assert both.sweep[70].slo_violation_minutes == 20.0 and both.headroom_sweep[0.2].requested_core_minutes == 2090.0
    assert both.policies["predictive"].scaling_actions == 32
    # pooled: the predictive headline violates 15 minutes at 1,900 core-minutes; the HPA front reaches 15
    # minutes half-way between its 60% (10 min, 2,400) and 70% (20 min, 2,000) totals: 2,200
    figures = pooled_json([good, bad], "pooled")
    assert figures["cost_ratio_at_matched_slo"] == round(1900 / 2200, 3)
    assert figures["cost_ratio_to_oracle"] == 1.9
    assert figures["worse_than_hpa"] == ["bad"] and figures["over_1_5x_hpa_actions"] == ["bad"]
    assert figures["max_actions_ratio_to_hpa"] == 2.0 and figures["traces"] == ["bad", "good"]
    with pytest.raises(Exception, match="same policies"):
        pool([good, TraceResult("other", 1.0, 1.0, 1.0, good.policies, {70: good.sweep[70]}, good.headroom_sweep)])


def test_the_pooled_report_names_the_held_out_traces(synthetic_trace: Path) -> None:
    from foresight.bench.autoscale import FIT_TRACES, report

    result = _trace("crane-input0", predictive=(5.0, 800.0), hpa=(10.0, 1000.0), actions=(12, 10))
    held = _trace("synthetic", predictive=(4.0, 700.0), hpa=(10.0, 1000.0), actions=(9, 10))
    assert "crane-input0" in FIT_TRACES
    out = report([result, held], SCENARIO)
    assert out["split"]["fit"] == ["crane-input0"] and out["split"]["held_out"] == ["synthetic"]
    assert out["pooled_held_out"]["traces"] == ["synthetic"] and out["pooled"]["traces"] == ["crane-input0", "synthetic"]
    assert out["traces"]["synthetic"]["held_out"] and not out["traces"]["crane-input0"]["held_out"]
    assert out["pooled_held_out"]["cost_ratio_at_matched_slo"] == out["traces"]["synthetic"]["cost_ratio_at_matched_slo"]


def test_the_command_prints_the_pooled_figures(synthetic_trace: Path) -> None:
    done = CliRunner().invoke(app, ["bench", "autoscale", "--trace", str(synthetic_trace), "--days", "0.05",
                                    "--replicas-at-peak", "8"])
    assert done.exit_code == 0, done.output
    assert "pooled" in done.output and "held out: synthetic" in done.output
