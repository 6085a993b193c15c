"""LiveCanaries' bookkeeping without a cluster: which ModelDeployments run a release, named as render names
them; who acts; what happens on a restart, a leader change, a malformed or vanished resource."""

from __future__ import annotations

from typing import Any

import pytest

from foresight.clock import ManualClock
from foresight.control.audit import AuditRecord
from foresight.errors import ConfigError, ServiceUnavailable
from foresight.gitops.render import render
from foresight.rollout.router import Weights, check_router
from foresight.series import Series
from foresight.serve.canaries import CanaryTarget, LiveCanaries, canary_target
from foresight.specs import ModelDeployment


def _body(name: str, version: str | None = "v2", canary_weight: int = 10) -> dict[str, Any]:
    spec: dict[str, Any] = {"model": {"uri": "s3://m/v1", "version": "v1"}, "framework": "sklearn"}
    if version is not None:
        spec["canary"] = {"model": {"uri": f"s3://m/{version}", "version": version},
                          "traffic": {"stable": 100 - canary_weight, "canary": canary_weight}}
    return {"apiVersion": "foresight.ai/v1alpha1", "kind": "ModelDeployment",
            "metadata": {"name": name, "namespace": "shop"}, "spec": spec}


class Routes:
    """In-memory routes, one per target, counting writes."""

    def __init__(self) -> None:
        self.weights: dict[str, Weights] = {}
        self.writes = 0
        self.missing = False

    def __call__(self, target: CanaryTarget) -> Any:
        routes = self

        class Route:
            def get_weights(self) -> Weights:
                return routes.weights.setdefault(target.name, Weights(100 - target.git_canary_weight,
                                                                      target.git_canary_weight))

            def set_weights(self, stable: int, canary: int) -> None:
                routes.weights[target.name] = Weights(stable, canary)
                routes.writes += 1

        return Route()


class Lister:
    def __init__(self, *bodies: dict[str, Any]) -> None:
        self.bodies: list[dict[str, Any]] = list(bodies)
        self.down = False

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        assert (api_version, kind) == ("foresight.ai/v1alpha1", "ModelDeployment")
        if self.down:
            raise ServiceUnavailable("connection refused", retry_after_s=5.0)
        return self.bodies


class Silent:
    """Prometheus without the mesh's metrics: every release holds and says so."""

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        return []


class ActingGate:
    role = "leader"

    def __init__(self) -> None:
        self.leading = True

    def acting(self) -> bool:
        return self.leading


class Audit:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


def _canaries(lister: Lister, routes: Routes, clock: ManualClock, gate: ActingGate | None = None) -> tuple[LiveCanaries, Audit]:
    audit = Audit()
    return LiveCanaries(lister, Silent(), routes, clock, gate or ActingGate(), namespace=None, period_s=30.0, audit=audit,
                        require_approval=False), audit


def test_the_target_is_named_as_render_names_the_objects() -> None:
    md = ModelDeployment.model_validate(_body("fraud"))
    target = canary_target(md)
    assert target is not None
    names = {(d["kind"], d["metadata"]["name"]) for d in render(md)}
    assert {("Deployment", target.stable_workload), ("Deployment", target.canary_workload),
            ("VirtualService", target.name)} <= names
    assert (target.host, target.route, target.stable_subset, target.canary_subset) == (
        "fraud.shop.svc.cluster.local", "model", "stable", "canary")
    assert target.release_id == "shop.fraud.v2"
    assert canary_target(ModelDeployment.model_validate(_body("plain", version=None))) is None


def test_the_in_memory_routes_of_these_tests_are_routers() -> None:
    target = canary_target(ModelDeployment.model_validate(_body("fraud")))
    assert target is not None
    check_router(Routes()(target))


def test_each_canary_runs_one_release_audited_against_its_model_deployment() -> None:
    routes, clock = Routes(), ManualClock(0.0)
    canaries, audit = _canaries(Lister(_body("fraud"), _body("plain", version=None)), routes, clock)
    canaries.step(0.0)
    for minute in range(1, 4):
        clock.sleep_until(60.0 * minute)
        canaries.step(clock.now())
    [view] = canaries.views()
    assert (view["id"], view["outcome"], view["weight"], len(view["steps"])) == ("shop.fraud.v2", "in progress", 10, 3)
    assert routes.writes == 0  # no metrics: the policy holds
    assert {r.target for r in audit.records} == {"shop/fraud"}
    assert all("returned no data" in r.reason for r in audit.records)


@pytest.mark.parametrize("weight, outcome", [(100, "promoted"), (0, "rolled back")])
def test_a_verdict_already_on_the_route_is_adopted_not_undone(weight: int, outcome: str) -> None:
    routes, clock = Routes(), ManualClock(0.0)
    routes.weights["fraud"] = Weights(100 - weight, weight)  # what a previous leader left
    canaries, audit = _canaries(Lister(_body("fraud")), routes, clock)
    canaries.step(0.0)
    clock.sleep_until(600.0)
    canaries.step(600.0)
    [view] = canaries.views()
    assert view["outcome"] == outcome and view["weight"] == weight
    assert routes.writes == 0 and routes.weights["fraud"].canary == weight
    [record] = audit.records
    assert record.reason.startswith(f"hold: the route sends {weight}% to v2 while Git says 10%")


def test_a_standby_runs_nothing_and_a_new_leader_starts_from_the_route() -> None:
    routes, clock, gate = Routes(), ManualClock(0.0), ActingGate()
    gate.leading = False
    canaries, audit = _canaries(Lister(_body("fraud")), routes, clock, gate)
    for t in (0.0, 60.0, 120.0):
        clock.sleep_until(t)
        canaries.step(t)
    assert canaries.views() == [] and audit.records == [] and "fraud" not in routes.weights
    gate.leading = True
    routes.weights["fraud"] = Weights(60, 40)  # the old leader's last step
    canaries.step(120.0)
    clock.sleep_until(180.0)
    canaries.step(180.0)
    [view] = canaries.views()
    assert view["outcome"] == "in progress" and view["weight"] == 40 and view["started_at"] == 120.0


def test_malformed_vanished_and_replaced_canaries() -> None:
    routes, clock = Routes(), ManualClock(0.0)
    bad = _body("broken")
    bad["spec"]["canary"]["traffic"] = {"stable": 90, "canary": 20}
    lister = Lister(_body("fraud"), bad)
    canaries, _ = _canaries(lister, routes, clock)
    canaries.step(0.0)
    assert [v["id"] for v in canaries.views()] == ["shop.fraud.v2"]
    assert len(canaries.problems) == 1 and "broken" in canaries.problems[0]

    lister.down = True  # a failed listing keeps the last set
    canaries.step(30.0)
    assert canaries.error is not None and "connection refused" in canaries.error
    assert [v["id"] for v in canaries.views()] == ["shop.fraud.v2"]

    lister.down = False
    lister.bodies = [_body("fraud", version="v3")]  # a new canary version: a new release
    canaries.step(60.0)
    assert canaries.error is None and [v["id"] for v in canaries.views()] == ["shop.fraud.v3"]
    lister.bodies = [_body("fraud", version=None)]  # promoted in Git: nothing left to analyse
    canaries.step(90.0)
    assert canaries.views() == []


def test_a_missing_virtualservice_holds_the_release_back_and_is_tried_again_each_period() -> None:
    class NoRoute(Routes):
        def __call__(self, target: CanaryTarget) -> Any:
            if not self.missing:
                return super().__call__(target)
            missing = ConfigError(f"VirtualService shop/{target.name} not found")

            class Missing:
                def get_weights(self) -> Weights:
                    raise missing

                def set_weights(self, stable: int, canary: int) -> None:
                    raise missing

            return Missing()

    routes, clock = NoRoute(), ManualClock(0.0)
    routes.missing = True
    canaries, _ = _canaries(Lister(_body("fraud")), routes, clock)
    canaries.step(0.0)
    assert canaries.views() == [] and "not found" in canaries.waiting[("shop", "fraud")]
    routes.missing = False  # someone applies the rendered VirtualService
    canaries.step(10.0)
    assert canaries.views() == []  # not before the next period
    canaries.step(30.0)
    assert [v["started_at"] for v in canaries.views()] == [30.0] and not canaries.waiting
