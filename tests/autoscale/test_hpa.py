"""The reactive HPA baseline: the Kubernetes documentation's worked examples, the controller's
handling of not-ready pods and missing metrics, behavior policies over time, and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from foresight.autoscale.hpa import (
    HpaBehavior,
    HpaPolicy,
    HpaScalingRules,
    HpaSpec,
    HpaState,
    PodMetrics,
    calculate_replicas,
    hpa_step,
    rate_limit,
    stabilise,
)
from foresight.autoscale.policy import Observation, ReplicaPolicy
from foresight.errors import ConfigError, InputError
from foresight.ports import Scale
from foresight.series import Series


def rules(window_s: int, *policies: tuple[str, int, int], select: str = "Max") -> HpaScalingRules:
    return HpaScalingRules.model_validate(
        {
            "stabilisation_window_s": window_s,
            "select_policy": select,
            "policies": [{"type": k, "value": v, "period_s": p} for k, v, p in policies],
        }
    )


def steady(n: int) -> Scale:
    return Scale(desired=n, current=n, ready=n)


# --- the replica calculation (documentation: "Algorithm details") ------------------------------


def test_metric_twice_the_target_doubles_the_replicas() -> None:
    # "if the current metric value is 200m, and the desired value is 100m, the number of replicas
    # will be doubled, since 200.0 / 100.0 == 2.0"
    spec = HpaSpec(max_replicas=20, target_utilisation_percent=50)
    rec, _ = hpa_step(spec, HpaState(), steady(3), PodMetrics((1.0,) * 3), now=0.0)
    assert rec.replicas == 6
    assert rec.inputs["ratio"] == 2.0


def test_metric_half_the_target_halves_the_replicas() -> None:
    # "If the current value is instead 50m, you'll scale down the number of replicas by half"
    spec = HpaSpec(max_replicas=20, target_utilisation_percent=50)
    rec, _ = hpa_step(spec, HpaState(), steady(8), PodMetrics((0.25,) * 8), now=0.0)
    assert rec.replicas == 4


@pytest.mark.parametrize(
    ("utilisation", "expected"),
    [
        (0.54, 10),  # ratio 1.08: within tolerance
        (0.55, 10),  # ratio 1.10: on the edge, still within
        (0.56, 12),  # ratio 1.12: ceil(1.12 * 10)
        (0.46, 10),  # ratio 0.92: within
        (0.45, 10),  # ratio 0.90: on the edge, still within
        (0.44, 9),  # ratio 0.88: ceil(0.88 * 10)
        (0.5599, 10),  # 55.99% is reported as 55%: the controller truncates to whole percent
    ],
)
def test_tolerance_band_around_the_target(utilisation: float, expected: int) -> None:
    calc = calculate_replicas(10, PodMetrics((utilisation,) * 10), target_percent=50, tolerance=0.1)
    assert calc.replicas == expected


def test_zero_tolerance_scales_on_any_difference() -> None:
    assert calculate_replicas(10, PodMetrics((0.51,) * 10), 50, 0.0).replicas == 11


def test_each_direction_may_set_its_own_tolerance() -> None:
    """behavior.scaleUp.tolerance / scaleDown.tolerance (Kubernetes 1.33+) replace the cluster-wide one per direction."""
    spec = HpaSpec(max_replicas=20, target_utilisation_percent=50,
                   behavior={"scale_up": {"tolerance": 0.0}, "scale_down": {"tolerance": 0.2}})
    assert spec.band == (0.8, 1.0)
    assert calculate_replicas(10, PodMetrics((0.53,) * 10), 50, spec.band).replicas == 11  # 1.06: up at once
    assert calculate_replicas(10, PodMetrics((0.42,) * 10), 50, spec.band).replicas == 10  # 0.84: held
    assert calculate_replicas(10, PodMetrics((0.38,) * 10), 50, spec.band).replicas == 8  # 0.76: down
    assert HpaSpec(max_replicas=20).band == (0.9, 1.1)  # unset: the cluster-wide 10% both ways
    with pytest.raises(ValidationError):
        HpaSpec(max_replicas=20, behavior={"scale_up": {"tolerance": -0.1}})


def test_utilisation_is_the_mean_over_ready_pods() -> None:
    calc = calculate_replicas(3, PodMetrics((0.2, 0.5, 1.1)), target_percent=40, tolerance=0.1)
    assert calc.utilisation_percent == 60
    assert calc.replicas == math.ceil(1.5 * 3)


# --- not-ready pods and missing metrics --------------------------------------------------------


def test_not_ready_pods_at_zero_reverse_a_scale_up() -> None:
    # 2 ready pods at 90% of a 50% target want 4; counting 2 not-ready pods at 0% gives 45% (0.9):
    # within tolerance, so no scale-up while they start
    calc = calculate_replicas(4, PodMetrics((0.9, 0.9), unready=2), 50, 0.1)
    assert (calc.replicas, calc.adjusted_ratio) == (4, 0.9)
    three_unready = calculate_replicas(5, PodMetrics((0.9, 0.9), unready=3), 50, 0.1)
    assert three_unready.replicas == 5
    assert "reverses the direction" in three_unready.reason


def test_not_ready_pods_do_not_block_a_clear_scale_up() -> None:
    calc = calculate_replicas(3, PodMetrics((1.0, 1.0), unready=1), 50, 0.1)
    assert calc.adjusted_ratio == pytest.approx(1.32)
    assert calc.replicas == 4  # ceil(1.32 * 3)


def test_not_ready_pods_are_left_out_of_a_scale_down() -> None:
    calc = calculate_replicas(5, PodMetrics((0.2,) * 3, unready=2), 50, 0.1)
    assert (calc.replicas, calc.adjusted_ratio) == (2, None)  # ceil(0.4 * 3)


def test_missing_pods_count_as_their_full_request_on_a_scale_down() -> None:
    # 6 pods at 10% and 2 without a sample at 100%: 32% of a 50% target (0.64): ceil(5.12) = 6,
    # where ignoring them would give 2 and counting them at the target 4
    calc = calculate_replicas(8, PodMetrics((0.1,) * 6, missing=2), 50, 0.1)
    assert (calc.utilisation_percent, calc.adjusted_ratio, calc.replicas) == (10, 0.64, 6)


def test_missing_pods_count_as_the_target_when_it_is_above_100_percent() -> None:
    calc = calculate_replicas(4, PodMetrics((0.3, 0.3), missing=2), 150, 0.1)
    assert calc.adjusted_ratio == pytest.approx(90 / 150)  # (30 + 30 + 150 + 150) / 4 = 90%
    assert calc.replicas == 3  # ceil(0.6 * 4)


def test_missing_pods_count_as_zero_on_a_scale_up() -> None:
    calc = calculate_replicas(4, PodMetrics((1.0, 1.0), missing=2), 50, 0.1)
    assert (calc.adjusted_ratio, calc.replicas) == (1.0, 4)  # 50% of 50%: within tolerance


def test_recomputed_ratio_that_reverses_the_direction_keeps_the_replicas() -> None:
    # a scale-down signal (0.8) turns into a scale-up one with the missing pods at 100%
    calc = calculate_replicas(2, PodMetrics((0.4,), missing=2), 50, 0.1)
    assert calc.adjusted_ratio == pytest.approx(1.6)  # (40 + 100 + 100) / 3 = 80% of 50%
    assert calc.replicas == 2 and calc.reason.endswith("= 1.60 reverses the direction: 2")


def test_recomputed_count_that_reverses_the_direction_keeps_the_replicas() -> None:
    # a scale-down signal (0.75) over more pods than the status reports (4 vs 2) would give 3
    calc = calculate_replicas(2, PodMetrics((0.5, 0.5), missing=2), 100, 0.1)
    assert calc.adjusted_ratio == 0.75
    assert calc.replicas == 2 and calc.reason.endswith(": 3 reverses the direction: 2")


# --- guards before the metric ------------------------------------------------------------------


def test_target_scaled_to_zero_disables_autoscaling() -> None:
    state = HpaState(recommendations=((0.0, 3),))
    rec, after = hpa_step(HpaSpec(max_replicas=5), state, Scale(0, 0, 0), PodMetrics((1.0,)), 10.0)
    assert rec.replicas == 0 and after is state
    assert "disabled" in rec.reason


def test_replicas_outside_min_max_move_to_the_bound_without_a_metric() -> None:
    spec = HpaSpec(min_replicas=2, max_replicas=5)
    high, state = hpa_step(spec, HpaState(), steady(9), None, 0.0)
    assert high.replicas == 5 and "above max 5" in high.reason
    assert state.scale_down_events == ((0.0, 4),) and state.recommendations == ()
    low, _ = hpa_step(spec, HpaState(), steady(1), None, 0.0)
    assert low.replicas == 2


def test_metric_gap_keeps_the_replicas_and_the_state() -> None:
    state = HpaState(recommendations=((0.0, 3),))
    rec, after = hpa_step(HpaSpec(max_replicas=10), state, steady(3), None, 15.0)
    assert rec.replicas == 3 and after is state
    assert rec.reason == "no cpu metric: keep 3"
    none_ready, _ = hpa_step(HpaSpec(max_replicas=10), state, Scale(3, 3, 0), PodMetrics((), unready=3), 15.0)
    assert none_ready.replicas == 3 and "no ready pod" in none_ready.reason


def test_no_change_from_the_pod_count_leaves_the_spec_alone() -> None:
    # spec 5, 4 pods exist and are on target: the HPA wants 4 == status, so it does not write
    spec = HpaSpec(max_replicas=10, target_utilisation_percent=50)
    rec, _ = hpa_step(spec, HpaState(), Scale(5, 4, 4), PodMetrics((0.5,) * 4), 0.0)
    assert rec.replicas == 5
    assert rec.reason == "cpu 50% / target 50% = 1.00 within [0.90, 1.10]: 4: keep 5 (4 pods exist)"


# --- behavior: stabilisation and rate limits (documentation: "Configurable scaling behavior") --


def test_default_behavior_is_kubernetes_default() -> None:
    b = HpaBehavior()
    assert b.scale_up.stabilisation_window_s == 0 and b.scale_down.stabilisation_window_s == 300
    up = [(p.type, p.value, p.period_s) for p in b.scale_up.policies]
    down = [(p.type, p.value, p.period_s) for p in b.scale_down.policies]
    assert up == [("Percent", 100, 15), ("Pods", 4, 15)] and down == [("Percent", 100, 15)]
    assert b.scale_up.select_policy == b.scale_down.select_policy == "Max"


def test_partial_behavior_takes_kubernetes_defaults_per_direction() -> None:
    four_a_minute = {"policies": [{"type": "Pods", "value": 4, "period_s": 60}]}
    spec = HpaSpec.model_validate({"max_replicas": 10, "behavior": {"scale_down": four_a_minute}})
    assert spec.behavior.scale_down.stabilisation_window_s == 300
    assert spec.behavior.scale_up == HpaBehavior().scale_up


def test_scale_down_percent_or_pods_per_minute_picks_the_larger_change() -> None:
    # "The first policy (Pods) allows at most 4 replicas to be scaled down in one minute. The
    # second policy (Percent) allows at most 10% ... the second policy will only be used when the
    # number of pod replicas is more than 40."
    down = rules(0, ("Pods", 4, 60), ("Percent", 10, 60))
    assert [rate_limit(down, False, n, HpaState(), 0.0) for n in (80, 41, 40, 30)] == [72, 36, 36, 26]


def test_scale_down_ten_percent_per_minute_from_80() -> None:
    # "if there are 80 replicas and the target has to be scaled down to 10 replicas then during
    # the first step 8 replicas will be reduced. In the next iteration when the number of replicas
    # is 72, 10% of the pods is 7.2 but the number is rounded up to 8."
    ten_percent_a_minute = HpaBehavior(scale_down=rules(0, ("Percent", 10, 60)))
    spec = HpaSpec(max_replicas=100, target_utilisation_percent=100, behavior=ten_percent_a_minute)
    state, n, seen = HpaState(), 80, []
    for t in range(0, 600, 15):  # the HPA syncs every 15 s; the policy allows one step a minute
        rec, state = hpa_step(spec, state, steady(n), PodMetrics((10 / n,) * n), float(t))
        n = rec.replicas
        seen.append(n)
    assert seen[:9] == [72, 72, 72, 72, 64, 64, 64, 64, 57]
    assert seen[::4] == [72, 64, 57, 51, 45, 40, 36, 32, 28, 25]


def test_select_policy_min_caps_the_scale_down_at_5_pods_per_minute() -> None:
    # "To ensure that no more than 5 Pods are removed per minute, you can add a second scale-down
    # policy with a fixed size of 5, and set selectPolicy to minimum."
    down = rules(0, ("Percent", 10, 60), ("Pods", 5, 60), select="Min")
    assert rate_limit(down, False, 80, HpaState(), 0.0) == 75
    assert rate_limit(down, False, 30, HpaState(), 0.0) == 27


def test_disabled_scale_down_never_scales_down() -> None:
    no_scale_down = HpaBehavior(scale_down=rules(0, ("Percent", 100, 15), select="Disabled"))
    spec = HpaSpec(max_replicas=10, target_utilisation_percent=50, behavior=no_scale_down)
    rec, state = hpa_step(spec, HpaState(), steady(8), PodMetrics((0.1,) * 8), 0.0)
    assert rec.replicas == 8 and "scale-down disabled" in rec.reason
    up, _ = hpa_step(spec, state, steady(8), PodMetrics((1.0,) * 8), 15.0)
    assert up.replicas == 10  # scaling up still works (capped at max)


def test_scale_down_stabilisation_keeps_the_highest_recommendation_of_5_minutes() -> None:
    spec = HpaSpec(max_replicas=20, target_utilisation_percent=50)
    loads = {0: 0.5, 60: 0.4, 120: 0.2, 180: 0.2, 240: 0.2}  # want 10, 8, 4, 4, 4
    state, n = HpaState(), 10
    for t, u in loads.items():
        rec, state = hpa_step(spec, state, steady(n), PodMetrics((u,) * n), float(t))
        assert rec.replicas == 10, t
    rec, state = hpa_step(spec, state, steady(10), PodMetrics((0.2,) * 10), 300.0)
    assert rec.replicas == 8  # the 10 of t=0 left the window; 8 (t=60) is the highest left
    assert "scale-down stabilisation (300 s) holds 8" in rec.reason
    rec, state = hpa_step(spec, state, steady(8), PodMetrics((0.25,) * 8), 360.0)
    assert rec.replicas == 4


def test_stabilisation_windows_bound_the_current_replicas() -> None:
    history = ((0.0, 3), (30.0, 9), (50.0, 5))
    both = HpaBehavior(scale_up=rules(60, ("Pods", 4, 15)), scale_down=rules(60, ("Pods", 4, 15)))
    assert stabilise(7, 4, history, 55.0, both) == 4  # lowest of the window is 3: no scale-up
    assert stabilise(7, 4, history, 65.0, both) == 5  # 3 left the window: up to min(5, 7, 9)
    assert stabilise(2, 6, history, 65.0, both) == 6  # highest is 9: no scale-down


def test_scale_up_from_1_doubles_or_adds_4_pods_per_15s() -> None:
    spec = HpaSpec(max_replicas=50, target_utilisation_percent=10)
    state, n, seen = HpaState(), 1, []
    for t in (0.0, 15.0, 30.0):  # a load of 1.0 pod-requests wants 10 pods at a 10% target
        rec, state = hpa_step(spec, state, steady(n), PodMetrics((1.0 / n,) * n), t)
        n = rec.replicas
        seen.append(n)
    assert seen == [5, 10, 10]  # +4 pods beats +100% of 1; then +100% of 5 beats +4


def test_pods_per_minute_counts_what_was_added_in_the_period() -> None:
    four_a_minute = HpaBehavior(scale_up=rules(0, ("Pods", 4, 60)))
    spec = HpaSpec(max_replicas=50, target_utilisation_percent=50, behavior=four_a_minute)
    state, n, seen = HpaState(), 10, []
    for t in range(0, 75, 15):  # a constant load of 10 pod-requests wants 20 pods
        rec, state = hpa_step(spec, state, steady(n), PodMetrics((10 / n,) * n), float(t))
        n = rec.replicas
        seen.append(n)
    assert seen == [14, 14, 14, 14, 18]


def test_scale_up_stabilisation_keeps_the_lowest_recommendation() -> None:
    slow_up = HpaBehavior(scale_up=rules(60, ("Percent", 100, 15)))
    spec = HpaSpec(max_replicas=50, target_utilisation_percent=50, behavior=slow_up)
    rec, state = hpa_step(spec, HpaState(), steady(4), PodMetrics((0.5,) * 4), 0.0)  # wants 4
    rec, state = hpa_step(spec, state, steady(4), PodMetrics((1.0,) * 4), 30.0)  # wants 8
    assert rec.replicas == 4
    rec, state = hpa_step(spec, state, steady(4), PodMetrics((1.0,) * 4), 60.0)  # 4 of t=0 gone
    assert rec.replicas == 8


def test_events_of_both_directions_move_the_period_start() -> None:
    up = rules(0, ("Pods", 4, 60))
    state = HpaState(scale_up_events=((10.0, 4),), scale_down_events=((20.0, 2),))
    # start of period = 10 - 4 added + 2 removed = 8: at most 12
    assert rate_limit(up, True, 10, state, 30.0) == 12
    assert rate_limit(up, True, 10, state, 71.0) == 16  # only the scale-down is still in the period
    assert rate_limit(up, True, 10, state, 81.0) == 14


def test_rate_limit_and_max_appear_in_the_reason() -> None:
    spec = HpaSpec(max_replicas=6, target_utilisation_percent=50)
    rec, _ = hpa_step(spec, HpaState(), steady(2), PodMetrics((2.0, 2.0)), 0.0)  # wants 8
    assert rec.replicas == 6
    assert rec.reason.endswith("allows 6: 2 -> 6")  # max(+100%, +4 pods)
    rec, _ = hpa_step(spec, HpaState(), steady(4), PodMetrics((1.0,) * 4), 0.0)
    assert rec.reason.endswith("allows 8, capped at max 6: 4 -> 6")
    assert rec.inputs["rate_limit"] == 8 and rec.inputs["metric_replicas"] == 8


# --- spec validation ---------------------------------------------------------------------------


def test_min_above_max_is_a_config_error_naming_both() -> None:
    with pytest.raises(ConfigError, match=r"min_replicas \(5\).*max_replicas \(3\)"):
        HpaSpec(min_replicas=5, max_replicas=3)


@pytest.mark.parametrize(
    "bad",
    [
        {"stabilisation_window_s": 0, "policies": []},
        {"stabilisation_window_s": 0, "policies": [{"type": "Pods", "value": 1, "period_s": 1801}]},
        {"stabilisation_window_s": 3601, "policies": [{"type": "Pods", "value": 1, "period_s": 15}]},
        {"stabilisation_window_s": 0, "policies": [{"type": "Percent", "value": 0, "period_s": 15}]},
        {"stabilisation_window_s": 0, "policies": [{"type": "Cores", "value": 1, "period_s": 15}]},
    ],
)
def test_impossible_scaling_rules_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        HpaScalingRules.model_validate(bad)


# --- the ReplicaPolicy adapter -----------------------------------------------------------------


def cpu(*points: tuple[float, float]) -> dict[str, list[Series]]:
    return {"cpu": [Series({"service": "api"}, [t for t, _ in points], [v for _, v in points])]}


def test_policy_implements_the_scaling_policy_protocol() -> None:
    policy: ReplicaPolicy = HpaPolicy(HpaSpec(max_replicas=10, sync_period_s=30))
    assert policy.name == "hpa" and policy.lookback_s == 30
    assert policy.queries("api") == {"cpu": 'foresight_cpu_utilisation{service="api"}'}


def test_policy_reads_the_latest_finite_sample_and_counts_starting_pods() -> None:
    policy = HpaPolicy(HpaSpec(max_replicas=10, target_utilisation_percent=50))
    obs = Observation("api", 30.0, Scale(4, 4, 2), cpu((15.0, 0.2), (30.0, float("nan"))))
    rec, _ = policy.decide(None, obs)  # 20% of 50% over the 2 ready pods; 2 still starting
    assert rec.replicas == 1
    assert (rec.inputs["ready_pods"], rec.inputs["unready_pods"], rec.inputs["cpu_percent"]) == (2, 2, 20)


def test_policy_keeps_the_replicas_through_a_gap() -> None:
    policy = HpaPolicy(HpaSpec(max_replicas=10))
    gaps: tuple[dict[str, list[Series]], ...] = ({"cpu": []}, {}, cpu((15.0, float("nan"))))
    for series in gaps:
        rec, state = policy.decide(None, Observation("api", 30.0, steady(3), series))
        assert rec.replicas == 3 and "no cpu metric" in rec.reason
        assert state == HpaState()


def test_policy_uses_each_workloads_spec_and_query_template() -> None:
    policy = HpaPolicy(
        HpaSpec(max_replicas=10),
        per_workload={"db": HpaSpec(max_replicas=2, sync_period_s=60)},
        query_template='avg(rate(cpu_seconds{app="$workload"}[1m])) / $$request',
    )
    assert policy.queries("db") == {"cpu": 'avg(rate(cpu_seconds{app="db"}[1m])) / $request'}
    assert policy.lookback_s == 60
    rec, _ = policy.decide(None, Observation("db", 0.0, steady(2), cpu((0.0, 1.0))))
    assert rec.replicas == 2


@pytest.mark.parametrize("template", ["cpu", "cpu{svc=$service}", "cpu{svc=$workload} $"])
def test_query_template_without_exactly_workload_is_a_config_error(template: str) -> None:
    with pytest.raises(ConfigError, match=r"\$workload"):
        HpaPolicy(HpaSpec(max_replicas=3), query_template=template)


def test_several_series_for_one_workload_are_an_input_error() -> None:
    two = {"cpu": [Series({"pod": "a"}, [0.0], [0.5]), Series({"pod": "b"}, [0.0], [0.5])]}
    with pytest.raises(InputError, match="'api' returned 2 series"):
        HpaPolicy(HpaSpec(max_replicas=3)).decide(None, Observation("api", 0.0, steady(2), two))


def test_negative_utilisation_is_an_input_error() -> None:
    with pytest.raises(InputError, match="finite and >= 0"):
        HpaPolicy(HpaSpec(max_replicas=3)).decide(None, Observation("api", 0.0, steady(2), cpu((0.0, -0.1))))


@pytest.mark.parametrize("ready", [(0.5, float("nan")), (float("inf"),), (float("-inf"), float("inf"))])
def test_non_finite_utilisation_is_an_input_error(ready: tuple[float, ...]) -> None:
    with pytest.raises(InputError, match="finite and >= 0"):
        PodMetrics(ready)


def test_state_survives_a_json_round_trip() -> None:
    policy = HpaPolicy(HpaSpec(max_replicas=10, target_utilisation_percent=50))
    _, state = policy.decide(None, Observation("api", 0.0, steady(4), cpu((0.0, 1.0))))
    restored = HpaState.model_validate_json(state.model_dump_json())
    assert restored == state
    calm = Observation("api", 15.0, steady(8), cpu((15.0, 0.1)))
    assert policy.decide(restored, calm) == policy.decide(state, calm)


# --- properties --------------------------------------------------------------------------------

history = st.lists(
    st.tuples(st.floats(min_value=-600, max_value=0, exclude_max=True), st.integers(0, 300)), max_size=8
).map(tuple)
states = st.builds(HpaState, recommendations=history, scale_up_events=history, scale_down_events=history)
scaling_rules = st.builds(
    rules,
    st.integers(0, 600),
    st.tuples(st.sampled_from(["Pods", "Percent"]), st.integers(1, 300), st.integers(1, 1800)),
    select=st.sampled_from(["Max", "Min", "Disabled"]),
)


@st.composite
def specs(draw: st.DrawFn) -> HpaSpec:
    lo = draw(st.integers(1, 50))
    return HpaSpec(
        min_replicas=lo,
        max_replicas=draw(st.integers(lo, 100)),
        target_utilisation_percent=draw(st.integers(1, 200)),
        tolerance=draw(st.sampled_from([0.0, 0.05, 0.1, 0.3])),
        behavior=HpaBehavior(scale_up=draw(scaling_rules), scale_down=draw(scaling_rules)),
    )


@st.composite
def pod_pictures(draw: st.DrawFn, current: int) -> PodMetrics | None:
    if draw(st.booleans()) and current > 0:
        ready = draw(st.integers(0, current))
        missing = draw(st.integers(0, current - ready))
        u = st.floats(0, 3, allow_nan=False)
        utilisations = tuple(draw(st.lists(u, min_size=ready, max_size=ready)))
        return PodMetrics(utilisations, unready=current - ready - missing, missing=missing)
    return None


@settings(max_examples=300, deadline=None)
@given(spec=specs(), state=states, current=st.integers(1, 150), data=st.data())
def test_result_always_within_min_and_max(
    spec: HpaSpec, state: HpaState, current: int, data: st.DataObject
) -> None:
    pods = data.draw(pod_pictures(current))
    rec, _ = hpa_step(spec, state, steady(current), pods, 0.0)
    assert spec.min_replicas <= rec.replicas <= spec.max_replicas


@settings(max_examples=200, deadline=None)
@given(spec=specs(), state=states, scale=st.tuples(st.integers(0, 150), st.integers(0, 150)), data=st.data())
def test_replicas_the_hpa_writes_are_within_min_and_max(
    spec: HpaSpec, state: HpaState, scale: tuple[int, int], data: st.DataObject
) -> None:
    desired, current = scale
    rec, _ = hpa_step(spec, state, Scale(desired, current, current), data.draw(pod_pictures(current)), 0.0)
    assert rec.replicas == desired or spec.min_replicas <= rec.replicas <= spec.max_replicas


@settings(max_examples=200, deadline=None)
@given(spec=specs(), state=states, data=st.data())
def test_within_tolerance_nothing_changes(spec: HpaSpec, state: HpaState, data: st.DataObject) -> None:
    current = data.draw(st.integers(spec.min_replicas, spec.max_replicas))
    t, tol = spec.target_utilisation_percent, spec.tolerance
    percent = data.draw(st.integers(math.floor(t * (1 - tol)), math.ceil(t * (1 + tol))))
    assume(1 - tol <= percent / t <= 1 + tol)
    rec, _ = hpa_step(spec, state, steady(current), PodMetrics((percent / 100,) * current), 0.0)
    assert rec.replicas == current


@settings(max_examples=200, deadline=None)
@given(spec=specs(), state=states, current=st.integers(1, 150), data=st.data())
def test_decide_never_changes_its_state(
    spec: HpaSpec, state: HpaState, current: int, data: st.DataObject
) -> None:
    pods = data.draw(pod_pictures(current))
    before = state.model_dump()
    first = hpa_step(spec, state, steady(current), pods, 0.0)
    assert state.model_dump() == before
    assert hpa_step(spec, state, steady(current), pods, 0.0) == first
