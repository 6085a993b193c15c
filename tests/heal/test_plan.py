"""The remediation planner: policies, the action each failure takes, one at a time, rate limits, pause."""

from __future__ import annotations

import pytest

from foresight.heal.plan import Action, Planner, Prediction, Rules, Target, resize_fits
from foresight.heal.signals import Failure, Resource


def pred(pod: str, failure: Failure = Failure.OOM_KILL, ttf: float = 600.0, workload: str = "cart",
         namespace: str = "shop", node: str = "node-a") -> Prediction:
    return Prediction(Target(namespace, workload, pod, node, "app"), failure, ttf, ttf - 60, ttf + 60, "evidence")


def test_nothing_is_done_without_a_policy_covering_the_workload() -> None:
    planner = Planner([Rules("shop", workloads=frozenset({"web"}))])
    (step,) = planner.plan([pred("cart-1")], 0.0).steps
    assert not step.act and step.action is None and "no HealingPolicy covers shop/cart" in step.reason
    (step,) = planner.plan([pred("x-1", namespace="other")], 0.0).steps
    assert not step.act


def test_each_failure_takes_the_first_allowed_remedy() -> None:
    planner = Planner([Rules("shop", actions=frozenset({Action.RESIZE, Action.DRAIN}), dry_run=False, per_workload=9)])
    steps = planner.plan([pred("a", Failure.OOM_KILL, workload="a"), pred("b", Failure.SLO_BREACH, workload="b"),
                          pred("c", Failure.EVICTION, workload="c", node="node-c"),
                          pred("d", Failure.CRASH_LOOP, workload="d")], 0.0).steps
    by_pod = {s.prediction.target.pod: s for s in steps}
    assert by_pod["a"].action is Action.RESIZE and by_pod["a"].resource is Resource.MEMORY  # restart not allowed
    assert by_pod["b"].action is Action.RESIZE and by_pod["b"].resource is Resource.CPU
    assert by_pod["c"].action is Action.DRAIN and by_pod["c"].act and not by_pod["c"].dry_run
    assert by_pod["d"].action is None and "allows no action for crash_loop (it would take: restart)" in by_pod["d"].reason


def test_one_action_per_workload_per_round_most_urgent_first_and_a_node_drained_once() -> None:
    planner = Planner([Rules("shop", per_workload=5, per_namespace=9)], pause_at=10)
    steps = planner.plan([pred("cart-1", ttf=800.0), pred("cart-2", ttf=300.0),
                          pred("n1", Failure.NOT_READY, workload="w1", node="n"),
                          pred("n2", Failure.NOT_READY, workload="w2", node="n")], 0.0).steps
    acting = [(s.prediction.target.pod, s.act) for s in steps]
    assert acting[0] == ("cart-2", True) and ("cart-1", False) in acting
    assert [s.act for s in steps if s.action is Action.DRAIN].count(True) == 1
    assert any("node n is drained this round" in s.reason for s in steps)


def test_rate_limits_per_workload_namespace_and_cluster_over_a_sliding_window() -> None:
    planner = Planner([Rules("shop", per_workload=1, per_namespace=2), Rules("ops", per_namespace=9)],
                      cluster_per_window=3, window_s=3600.0)
    assert planner.plan([pred("cart-1")], 0.0).steps[0].act
    assert "rate limit of workload shop/cart" in planner.plan([pred("cart-2")], 10.0).steps[0].reason
    assert planner.plan([pred("web-1", workload="web")], 20.0).steps[0].act
    assert "rate limit of namespace shop" in planner.plan([pred("db-1", workload="db")], 30.0).steps[0].reason
    assert planner.plan([pred("o-1", workload="o", namespace="ops")], 40.0).steps[0].act
    assert "rate limit of cluster: 3 action(s)" in planner.plan([pred("p-1", workload="p", namespace="ops")],
                                                                50.0).steps[0].reason
    assert planner.plan([pred("cart-3")], 3601.0).steps[0].act  # the first action left the window


def test_dry_run_steps_count_against_the_limits() -> None:
    planner = Planner([Rules("shop")])
    first = planner.plan([pred("cart-1")], 0.0).steps[0]
    assert first.act and first.dry_run
    assert not planner.plan([pred("cart-1")], 60.0).steps[0].act


def test_many_predictions_at_once_pause_everything() -> None:
    planner = Planner([Rules("shop", per_workload=9, per_namespace=99)], pause_at=3)
    plan = planner.plan([pred(f"p{i}", workload=f"w{i}") for i in range(3)], 0.0)
    assert plan.paused is not None and "3 predictions at once" in plan.paused
    assert not any(s.act for s in plan.steps)
    held = planner.plan([pred("p0", workload="w0")], 60.0)
    assert held.paused is not None and "held until 15 min after" in held.paused and not held.steps[0].act
    assert planner.plan([pred("p0", workload="w0")], 960.0).steps[0].act  # a pause spends no rate limit


@pytest.mark.parametrize(("allocatable", "requested", "fits"), [(8.0, 6.0, True), (8.0, 7.6, False), (8.0, 7.5, True)])
def test_a_resize_fits_when_the_node_has_the_extra_request_free(allocatable: float, requested: float,
                                                               fits: bool) -> None:
    assert resize_fits(allocatable, requested, 1.0, 1.5)[0] is fits
