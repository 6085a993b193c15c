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


def node_pred(node: str = "node-a", failure: Failure = Failure.EVICTION,
              pods: tuple[tuple[str, str, str], ...] = (("shop", "cart", "cart-1"), ("shop", "web", "web-1"))) -> Prediction:
    evicts = tuple(Target(ns, workload, pod, node) for ns, workload, pod in pods)
    return Prediction(Target("", "", "", node), failure, 600.0, 540.0, 660.0, "memory.available falling", evicts=evicts)


def test_a_node_is_drained_only_when_every_pod_it_evicts_is_under_a_policy_allowing_drains() -> None:
    drains = frozenset({Action.DRAIN})
    planner = Planner([Rules("shop", actions=drains, dry_run=False, name="shop/heal")])
    (step,) = planner.plan([node_pred()], 0.0).steps
    assert step.act and step.action is Action.DRAIN and not step.dry_run and step.policy == "shop/heal"
    assert step.reason.startswith("drain node node-a (2 pods): eviction predicted in 10 min")
    mixed = node_pred("node-b", pods=(("shop", "cart", "cart-2"), ("billing", "ledger", "ledger-0")))
    (step,) = Planner([Rules("shop", actions=drains, dry_run=False)]).plan([mixed], 0.0).steps
    assert not step.act and step.action is None
    assert "would evict pods no HealingPolicy lets Foresight drain: billing/ledger-0" in step.reason
    restarts_only = Planner([Rules("shop", actions=frozenset({Action.RESTART}), dry_run=False)])
    assert not restarts_only.plan([node_pred()], 0.0).steps[0].act
    (step,) = Planner([Rules("shop", actions=drains)]).plan([node_pred("node-c", pods=())], 0.0).steps
    assert not step.act and "runs no pod under a HealingPolicy" in step.reason


def test_a_node_drain_is_dry_run_if_any_policy_it_needs_is_and_counts_in_each_namespace() -> None:
    drains = frozenset({Action.DRAIN})
    both = (("shop", "cart", "cart-1"), ("billing", "ledger", "ledger-0"))
    planner = Planner([Rules("shop", actions=drains, dry_run=False, per_namespace=1, name="shop/heal"),
                       Rules("billing", actions=drains, dry_run=True, name="billing/heal")])
    (step,) = planner.plan([node_pred(pods=both)], 0.0).steps
    assert step.act and step.dry_run and step.policy == "billing/heal, shop/heal"
    (step,) = planner.plan([node_pred("node-z", pods=(("shop", "web", "web-3"),))], 60.0).steps
    assert not step.act and "rate limit of namespace shop: 1 action(s)" in step.reason


def test_a_node_with_a_busy_workload_waits_and_is_drained_once_a_round() -> None:
    planner = Planner([Rules("shop", dry_run=False, per_workload=5, per_namespace=9)], pause_at=9)
    steps = planner.plan([pred("cart-1", ttf=60.0), node_pred(), node_pred()], 0.0).steps
    assert steps[0].act and steps[0].action is Action.RESTART
    assert [s.act for s in steps[1:]] == [False, False]
    assert all("waiting: one action at a time per workload (shop/cart" in s.reason for s in steps[1:])
    steps = planner.plan([node_pred(), node_pred()], 60.0).steps
    assert [s.act for s in steps] == [True, False] and "node node-a is drained this round" in steps[1].reason
