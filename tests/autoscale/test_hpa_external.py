"""The HPA's External metrics (AverageValue) and several metrics at once, as the Kubernetes
documentation and controller describe them; how Foresight's forecast reaches the pods."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.autoscale.hpa import (
    ExternalMetric,
    HpaBehavior,
    HpaPolicy,
    HpaSpec,
    HpaState,
    PodMetrics,
    external_replicas,
    hpa_step,
)
from foresight.autoscale.policy import Observation
from foresight.errors import ConfigError, InputError
from foresight.ports import Scale
from foresight.series import Series

LOAD = "ai_predicted_load"


def spec(target_rps: float = 10.0, **fields: object) -> HpaSpec:
    return HpaSpec.model_validate(
        {"max_replicas": 50, "target_utilisation_percent": 70,
         "external_metrics": [{"name": LOAD, "average_value": target_rps}], **fields}
    )


def steady(n: int) -> Scale:
    return Scale(desired=n, current=n, ready=n)


# --- one External metric with an AverageValue target ---------------------------------------------


def test_average_value_divides_the_metric_by_the_current_pods() -> None:
    # Documentation: with AverageValue "the value returned from the custom metrics API is divided by
    # the number of pods before being compared to the target" (External works "exactly the same").
    calc = external_replicas(4, LOAD, [100.0], 10.0, 0.1)
    assert calc.ratio == 100.0 / (10.0 * 4)
    assert calc.replicas == 10  # ceil(usage / target): each replica takes 10


def test_within_the_tolerance_the_replicas_stay() -> None:
    assert external_replicas(10, LOAD, [109.0], 10.0, 0.1).replicas == 10
    assert external_replicas(10, LOAD, [91.0], 10.0, 0.1).replicas == 10
    assert external_replicas(10, LOAD, [111.0], 10.0, 0.1).replicas == 12
    assert external_replicas(10, LOAD, [89.0], 10.0, 0.1).replicas == 9


def test_the_values_of_every_matched_series_are_summed_in_milli_units() -> None:
    assert external_replicas(1, LOAD, [30.0, 40.5], 10.0, 0.1).usage_milli == 70_500
    # a quantity's MilliValue rounds up: 1.0001 is 1001m, one replica more than 1000m would ask
    assert external_replicas(1, LOAD, [1.0001], 0.1, 0.1).replicas == 11
    assert external_replicas(1, LOAD, [0.3], 0.1, 0.1).replicas == 3  # 0.3 x 1000 is not 300.0000001


def test_a_bad_value_is_refused_naming_the_metric() -> None:
    with pytest.raises(InputError, match=f"{LOAD}.*finite and >= 0"):
        external_replicas(3, LOAD, [float("nan")], 10.0, 0.1)
    with pytest.raises(InputError, match=f"{LOAD}.*finite and >= 0"):
        external_replicas(3, LOAD, [-1.0], 10.0, 0.1)


def test_metric_names_must_be_unique_and_targets_positive() -> None:
    with pytest.raises(ConfigError, match="unique"):
        HpaSpec(max_replicas=5, external_metrics=(ExternalMetric(name=LOAD, average_value=1.0),) * 2)
    with pytest.raises(ValueError):
        ExternalMetric(name=LOAD, average_value=0.0)


# --- several metrics: the largest proposal wins ----------------------------------------------------


def test_the_largest_proposal_wins_whichever_metric_makes_it() -> None:
    # Documentation: "this calculation is done for each metric, and then the largest of the desired
    # replica counts is chosen".
    cpu_high = hpa_step(spec(), HpaState(), steady(4), PodMetrics((1.0,) * 4), 0.0, {LOAD: [30.0]})[0]
    assert (cpu_high.inputs[f"{LOAD}_replicas"], cpu_high.replicas) == (3, 6)  # cpu: ceil(100/70 x 4) = 6
    load_high = hpa_step(spec(), HpaState(), steady(4), PodMetrics((0.7,) * 4), 0.0, {LOAD: [95.0]})[0]
    assert (load_high.inputs["metric_replicas"], load_high.replicas) == (10, 8)  # then max(100%, 4 pods) per 15 s
    assert "largest 10" in load_high.reason


def test_a_missing_metric_never_lets_the_others_scale_down() -> None:
    # Documentation: if a metric cannot be read "and a scale down is suggested by the metrics which
    # can be fetched, scaling is skipped"; "the HPA is still capable of scaling up".
    idle = PodMetrics((0.1,) * 8)
    rec, state = hpa_step(spec(), HpaState(), steady(8), idle, 0.0, {})
    assert rec.replicas == 8 and f"no {LOAD} metric" in rec.reason and "no scale-down" in rec.reason
    assert state == HpaState()  # nothing is recorded, as when the controller returns an error
    busy = PodMetrics((1.0,) * 8)
    assert hpa_step(spec(), HpaState(), steady(8), busy, 0.0, {LOAD: []})[0].replicas == 12


def test_the_forecast_alone_scales_up_without_a_cpu_sample() -> None:
    rec, _ = hpa_step(spec(), HpaState(), steady(2), None, 0.0, {LOAD: [120.0]})
    assert (rec.inputs["metric_replicas"], rec.replicas) == (12, 6)  # max(100%, 4 pods) per 15 s allows 6
    assert "no cpu metric" in rec.reason
    assert hpa_step(spec(), HpaState(), steady(2), None, 0.0, {})[0].reason.endswith("keep 2")


def test_stabilisation_and_rate_limits_apply_after_the_largest() -> None:
    behavior = HpaBehavior.model_validate({"scale_up": {"policies": [{"type": "Pods", "value": 2, "period_s": 60}]}})
    s = spec(behavior=behavior)
    up, state = hpa_step(s, HpaState(), steady(4), PodMetrics((0.7,) * 4), 0.0, {LOAD: [100.0]})
    assert up.replicas == 6  # the forecast wants 10; two pods a minute
    # the forecast falls back: the scale-down waits out the default 300 s window
    calm, _ = hpa_step(s, state, steady(6), PodMetrics((0.3,) * 6), 60.0, {LOAD: [40.0]})
    assert calm.inputs["metric_replicas"] == 4 and calm.replicas == 6
    assert "scale-down stabilisation (300 s) holds 6" in calm.reason


@settings(max_examples=200, deadline=None)
@given(
    current=st.integers(1, 40),
    cpu=st.floats(0.0, 1.0),
    load=st.floats(0.0, 2000.0),
    target_rps=st.floats(0.5, 100.0),
)
def test_with_two_metrics_the_proposal_is_the_larger_single_metric_proposal(
    current: int, cpu: float, load: float, target_rps: float
) -> None:
    both = spec(target_rps, max_replicas=1000)
    only_cpu = both.model_copy(update={"external_metrics": ()})
    pods = PodMetrics((cpu,) * current)
    joint = hpa_step(both, HpaState(), steady(current), pods, 0.0, {LOAD: [load]})[0].inputs["metric_replicas"]
    by_cpu = hpa_step(only_cpu, HpaState(), steady(current), pods, 0.0)[0].inputs["metric_replicas"]
    by_load = external_replicas(current, LOAD, [load], target_rps, 0.1).replicas
    assert joint == max(by_cpu, by_load)
    if abs(1 - math.ceil(round(load * 1000, 6)) / (math.ceil(round(target_rps * 1000, 6)) * current)) > 0.1:
        assert by_load == math.ceil(math.ceil(round(load * 1000, 6)) / math.ceil(round(target_rps * 1000, 6)))


# --- the policy reads External metrics through its queries ---------------------------------------


def test_the_policy_queries_each_external_metric_and_sums_the_latest_values() -> None:
    policy = HpaPolicy(spec(), external_queries={LOAD: 'ai_predicted_load{workload="$workload"}'})
    assert policy.queries("api") == {
        "cpu": 'foresight_cpu_utilisation{service="api"}',
        LOAD: 'ai_predicted_load{workload="api"}',
    }
    series = {
        "cpu": [Series({}, [0.0], [0.7])],
        LOAD: [Series({"pod": "a"}, [-15.0, 0.0], [10.0, 60.0]), Series({"pod": "b"}, [0.0], [float("nan")]),
               Series({"pod": "c"}, [-15.0], [20.0])],
    }
    rec, _ = policy.decide(None, Observation("api", 0.0, steady(4), series))
    assert rec.inputs[f"{LOAD}_value"] == 80.0  # latest finite value of each series: 60 + 20
    assert rec.replicas == 8


def test_an_external_metric_without_a_query_is_refused() -> None:
    with pytest.raises(ConfigError, match=f"'{LOAD}'.*no query"):
        HpaPolicy(spec())
    with pytest.raises(ConfigError, match=r"\$workload"):
        HpaPolicy(spec(), external_queries={LOAD: "ai_predicted_load"})
