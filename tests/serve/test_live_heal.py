"""``foresight serve`` (live) with a HealingPolicy in the cluster: it lists the policy from the Kubernetes API
(kmock), reads the pods' memory (the simulator's twin as its Prometheus) and replaces the leaking pod
before its OOMKill; dry-run by default; a malformed policy is named, not applied."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kube_emulator import Cluster

from foresight.adapters.exporter import PredictionExporter
from foresight.adapters.kubernetes import KubernetesObjects
from foresight.clock import ManualClock
from foresight.config import load_settings
from foresight.control.audit import AuditRecord
from foresight.serve.live import LivePlatform
from foresight.sim.healing import MIB, HealingCluster


class Audit:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


class Alerts:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send(self, alerts: Any) -> None:
        self.sent.extend(alerts)


@pytest.fixture
def kube() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.close()


def healing_policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "foresight.ai/v1alpha1", "kind": "HealingPolicy",
            "metadata": {"name": name, "namespace": "shop"}, "spec": spec}


def platform(kube: Cluster, sim: HealingCluster, audit: Audit, alerts: Alerts) -> tuple[LivePlatform, ManualClock]:
    settings = load_settings(None, live={"prometheus_url": "http://prometheus.invalid:9090"},
                             cluster={"policies": True, "policy_period_s": 60.0, "policy_namespace": None},
                             controllers={"forecast": False, "autoscale": False, "anomaly": False, "incidents": False,
                                          "rollout": False, "period_s": 60.0})
    clock = ManualClock(sim.now)
    live = LivePlatform(settings, PredictionExporter(), source=sim, clock=clock, policies=KubernetesObjects(
        kube.api_client()), audit=audit, alert_sink=alerts, remediator=sim)
    return live, clock


def leaking() -> HealingCluster:
    sim = HealingCluster(seed=3)
    sim.add_workload("shop", "cart", replicas=3, node="node-a", limit=1024 * MIB, base=0.35, leak_per_min=(0.012,))
    return sim


def run(live: LivePlatform, clock: ManualClock, sim: HealingCluster, minutes: int) -> None:
    for _ in range(minutes):
        sim.advance(60.0)
        clock.sleep_until(sim.now)
        live.step(())


def test_serve_with_an_acting_healing_policy_replaces_the_leaking_pod_before_its_oomkill(kube: Cluster) -> None:
    kube.put("v1/namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube.put("foresight.ai/v1alpha1/healingpolicies", "shop", healing_policy("heal", {"dryRun": False}))
    sim, audit, alerts = leaking(), Audit(), Alerts()
    live, clock = platform(kube, sim, audit, alerts)
    run(live, clock, sim, 75)
    assert live.controllers["heal"].enabled and "1 acting" in live.controllers["heal"].detail
    assert sim.oomkills == 0 and [pod for _, pod in sim.evictions] == ["cart-0"]
    acted = [r for r in audit.records if r.controller == "heal" and r.applied]
    assert len(acted) == 1 and acted[0].inputs["failure"] == "oom_kill" and acted[0].inputs["ttf_s"] > 60
    assert live.policy_status()["healing"] == 1
    live.close()


def test_serve_is_dry_run_by_default_and_names_a_malformed_policy(kube: Cluster) -> None:
    kube.put("v1/namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube.put("foresight.ai/v1alpha1/healingpolicies", "shop", healing_policy("heal", {}))
    kube.put("foresight.ai/v1alpha1/healingpolicies", "shop", healing_policy("bad", {"actions": ["reboot"]}))
    sim, audit, alerts = leaking(), Audit(), Alerts()
    live, clock = platform(kube, sim, audit, alerts)
    run(live, clock, sim, 75)
    assert sim.evictions == [] and sim.oomkills == 1
    heal = [r for r in audit.records if r.controller == "heal"]
    assert heal and heal[0].dry_run and "dry run: nothing changed" in heal[0].reason
    (problem,) = live.policy_status()["problems"]
    assert problem.startswith("HealingPolicy shop/bad:") and "spec.actions.0" in problem


def test_a_cluster_without_the_healingpolicy_crd_still_reads_the_other_policies(kube: Cluster) -> None:
    class NoHealing(KubernetesObjects):
        def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
            if kind == "HealingPolicy":
                from foresight.errors import ConfigError

                raise ConfigError("HealingPolicy list in all namespaces: not found (list); is its CRD installed?")
            return super().list_objects(api_version, kind, namespace)

    sim, audit, alerts = leaking(), Audit(), Alerts()
    live, clock = platform(kube, sim, audit, alerts)
    live.policies = NoHealing(kube.api_client())
    run(live, clock, sim, 2)
    status = live.policy_status()
    assert status["error"] is None and "HealingPolicies not read" in status["problems"][0]


def test_the_dashboard_api_shows_the_prediction_with_its_time_to_failure(kube: Cluster) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from foresight.api.heal import add_heal

    kube.put("v1/namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube.put("foresight.ai/v1alpha1/healingpolicies", "shop", healing_policy("heal", {}))
    sim, audit, alerts = leaking(), Audit(), Alerts()
    live, clock = platform(kube, sim, audit, alerts)
    app = FastAPI()
    add_heal(app, live)
    client = TestClient(app)
    assert client.get("/api/v1/heal").json()["steps"] == []
    run(live, clock, sim, 55)  # the leaking pod is predicted about 14 min ahead of its limit at ~57 min
    while not live.heal.last:
        run(live, clock, sim, 1)
    view = client.get("/api/v1/heal").json()
    assert view["enabled"] and "1 dry-run" in view["note"]
    (step,) = view["steps"]
    assert step["target"] == "shop/cart-0" and step["failure"] == "oom_kill" and step["dry_run"]
    assert step["ttf_low_s"] <= step["ttf_s"] <= step["ttf_high_s"] and step["action"] == "restart"
    empty = FastAPI()
    add_heal(empty, object())
    assert TestClient(empty).get("/api/v1/heal").json() == {
        "enabled": False, "steps": [],
        "note": "the heal controller runs in live serve under HealingPolicies; `foresight heal-demo` shows it on a "
                "simulated cluster"}
