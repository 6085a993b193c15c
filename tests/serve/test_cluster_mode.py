"""Live serve in cluster mode against the Kubernetes emulator: the Lease gates every action, and the
managed workloads come from the ScalingPolicy / AnomalyPolicy resources (the simulator stands in
for Prometheus)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kube_emulator import Cluster

from foresight.adapters.kubernetes import (
    KubernetesLease,
    KubernetesObjects,
    KubernetesScaleTarget,
    LeaderElector,
)
from foresight.api.app import create_app
from foresight.adapters.exporter import PredictionExporter
from foresight.clock import ManualClock, SystemClock
from foresight.config import load_settings
from foresight.adapters.audit_log import AuditLog
from foresight.adapters.control_metrics import PrometheusControlMetrics
from foresight.serve.leader import LeaderGate
from foresight.serve.live import LivePlatform
from foresight.serve.stepper import Stepper
from foresight.errors import ConfigError
from foresight.serve.service import Service, build_service
from foresight.series import Series
from foresight.sim import Simulator, default_cluster

LOAD = 'foresight_offered_rps{service="$workload"}'
POLICIES = "foresight.ai/v1alpha1/scalingpolicies"


class LockedSource:
    """The simulator read by two runtimes' threads, one call at a time."""

    def __init__(self, sim: Simulator) -> None:
        self.sim, self.lock = sim, threading.Lock()

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        with self.lock:
            return self.sim.query_range(query, start, end, step_s)


@pytest.fixture(scope="module")
def sim() -> Simulator:
    sim = Simulator(default_cluster(4, seed=1, duration_s=6 * 3600.0), duration_s=6 * 3600.0, seed=1)
    sim.run_until(3 * 3600.0)
    return sim


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.close()


def _wait(what: str, ok: Callable[[], Any], timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (got := ok()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return got


def _policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "foresight.ai/v1alpha1", "kind": "ScalingPolicy",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _deployment(name: str, replicas: int) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas}, "status": {"replicas": replicas, "readyReplicas": replicas}}


def _settings(**cluster: Any) -> Any:
    return load_settings(None, live={"load_query": LOAD}, controllers={"forecast_horizon_s": 900.0},
                         cluster={"policies": True, "policy_period_s": 30.0, **cluster})


def _replica(cluster: Cluster, who: str, source: LockedSource, clock: ManualClock, tmp: Path) -> Stepper:
    client = cluster.api_client()
    elector = LeaderElector(KubernetesLease(client, "default", "foresight-serve-leader"), who,
                            lease_duration_s=3.0, renew_deadline_s=2.0, clock=SystemClock())
    gate = LeaderGate(elector, "default/foresight-serve-leader", retry_period_s=0.2)
    audit = AuditLog(str(tmp / f"audit-{who}.db"), max_delay_s=0.0)
    platform = LivePlatform(_settings(), PredictionExporter(), source=source, clock=clock, gate=gate,
                            policies=KubernetesObjects(client),
                            scale_targets=lambda ns, kind: KubernetesScaleTarget(client, ns, kind), audit=audit)
    return Stepper(platform, audit, idle_s=0.02, gate=gate)


def _service(rt: Stepper) -> Service:
    p: Any = rt.platform
    return Service(p.settings, rt, PrometheusControlMetrics(), p.exporter, rt.audit)


def _exported(rt: Stepper) -> float | None:
    return rt.platform.exporter.registry.get_sample_value(  # type: ignore[attr-defined]
        "ai_predicted_load", {"namespace": "default", "workload": "gateway"})


def _scalings(rt: Stepper) -> list[Any]:
    return rt.read(lambda: [r for r in rt.audit.query(controller="predictive") if r.applied])


def test_two_replicas_only_the_leader_acts_and_the_standby_takes_over(cluster: Cluster, sim: Simulator,
                                                                       tmp_path: Path) -> None:
    cluster.put("apps/v1/deployments", "default", _deployment("gateway", 1))
    cluster.put(POLICIES, "default", _policy("gateway", {"targetRef": {"name": "gateway"}, "mode": "direct",
                                                          "capacityRps": 1, "maxReplicas": 40, "maxStep": 4,
                                                          "cooldownSeconds": 0}))
    clock, source = ManualClock(sim.now - 600.0), LockedSource(sim)
    a, b = _replica(cluster, "a", source, clock, tmp_path), _replica(cluster, "b", source, clock, tmp_path)
    try:
        a.start()
        _wait("a to lead", lambda: a.gate.role == "leader")
        b.start()
        _wait("both to forecast", lambda: all(r.platform.forecast_watch() is not None  # type: ignore[attr-defined]
                                              and r.platform.forecast_watch().latest for r in (a, b)))
        assert b.gate.role == "standby"
        # only the leader acts: it scaled the Deployment (+maxStep) and exports; the standby forecasts only
        _wait("a to scale", lambda: _scalings(a))
        assert cluster.get("apps/v1/deployments", "default", "gateway")["spec"]["replicas"] == 5
        # the benchmarked policy decided, through the one reconcile loop: its name, inputs and reason are audited
        first = _scalings(a)[0]
        assert first.controller == "predictive" and first.inputs["policy"]["quantile"] == 0.95
        assert first.inputs["policy"]["predicted"] >= 5 and first.reason.startswith("forecast q0.95 peak")
        assert "step limited to +4" in first.reason and first.decision["applied"] == 5
        assert _exported(a) is not None and _exported(b) is None and not _scalings(b)
        assert b.platform.predictions.latest("default", "gateway") is not None  # type: ignore[attr-defined]
        # the standby serves the API and says what it is
        with TestClient(create_app(_service(b), manage_runtime=False)) as api:
            ready = api.get("/readyz")
            assert ready.status_code == 200 and ready.json()["role"] == "standby"
            status = api.get("/api/v1/status").json()
            assert status["role"] == "standby" and status["leader_election"]["identity"] == "b"
            assert status["leader_election"]["note"].startswith("a holds the Lease")
            assert status["policies"] == {"scaling": 1, "anomaly": 0, "healing": 0, "problems": [], "error": None,
                                          "last_read_at": status["policies"]["last_read_at"]}
            assert api.get("/api/v1/workloads/gateway").status_code == 200
            assert "foresight_leader 0" in api.get("/metrics").text

        a.stop()  # releases the Lease: b takes over at once, not after the lease duration
        _wait("b to lead", lambda: b.gate.role == "leader", timeout_s=2.0)
        clock.advance(60.0)  # the next forecast step
        _wait("b to scale", lambda: _scalings(b))
        assert cluster.get("apps/v1/deployments", "default", "gateway")["spec"]["replicas"] == 9
        assert _exported(b) is not None
        lease = cluster.get("coordination.k8s.io/v1/leases", "default", "foresight-serve-leader")
        assert lease is not None and lease["spec"]["holderIdentity"] == "b"
    finally:
        b.stop()
        a.stop() if not a.stopping else None


def test_a_malformed_policy_is_reported_and_the_others_still_run(cluster: Cluster, sim: Simulator) -> None:
    cluster.put(POLICIES, "default", _policy("broken", {"targetRef": {"name": "search"}}))
    cluster.put(POLICIES, "default", _policy("gateway", {"targetRef": {"name": "gateway"}, "capacityRps": 50,
                                                          "mode": "hpa"}))
    clock = ManualClock(sim.now - 600.0)
    exporter = PredictionExporter()
    live = LivePlatform(_settings(), exporter, source=sim, clock=clock, policies=KubernetesObjects(cluster.api_client()))
    assert live.workloads() == ()
    assert live.step(()) is True
    assert live.workloads() == ("gateway",)
    status = live.policy_status()
    assert status is not None and status["scaling"] == 1
    assert status["problems"] == ["ScalingPolicy default/broken: spec.capacityRps: Field required"]
    desired = exporter.registry.get_sample_value("foresight_desired_replicas",
                                                 {"namespace": "default", "workload": "gateway"})
    load = exporter.registry.get_sample_value("ai_predicted_load", {"namespace": "default", "workload": "gateway"})
    assert load is not None and desired == max(1, -(-load // (50 * 0.7)))

    # level-based: the next read sees the fixed policy and the deleted one
    cluster.put(POLICIES, "default", _policy("broken", {"targetRef": {"name": "search"}, "capacityRps": 20}))
    assert KubernetesObjects(cluster.api_client()).delete("foresight.ai/v1alpha1", "ScalingPolicy", "default", "gateway")
    clock.advance(30.0)
    live.step(())
    assert live.workloads() == ("search",) and live.policy_status()["problems"] == []  # type: ignore[index]
    assert exporter.registry.get_sample_value("ai_predicted_load",
                                              {"namespace": "default", "workload": "gateway"}) is None


def test_policies_unreadable_keep_the_last_set_and_say_why(sim: Simulator) -> None:
    class Down:
        def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
            from foresight.errors import ConfigError

            raise ConfigError("ScalingPolicy list in all namespaces: not found (list); is its CRD installed?")

    live = LivePlatform(_settings(), PredictionExporter(), source=sim, clock=ManualClock(sim.now), policies=Down())
    live.step(())
    [k8s] = [s for s in live.sources() if s.name == "kubernetes"]
    assert not k8s.ok and "is its CRD installed?" in (k8s.error or "")
    assert live.policy_status()["error"].startswith("policies not read")  # type: ignore[index]


def test_build_service_wires_the_lease_from_the_chart_environment(cluster: Cluster, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The variables the chart sets (deploy/helm/foresight/templates/deployment.yaml) reach the Lease."""
    for name, value in {"FORESIGHT_LEADER_ELECTION__ENABLED": "true",
                        "FORESIGHT_LEADER_ELECTION__LEASE_NAME": "fs-serve",
                        "FORESIGHT_LEADER_ELECTION__LEASE_NAMESPACE": "default",
                        "FORESIGHT_LEADER_ELECTION__LEASE_DURATION_S": "15",
                        "FORESIGHT_LEADER_ELECTION__RENEW_DEADLINE_S": "10",
                        "FORESIGHT_CLUSTER__POLICIES": "true",
                        "POD_NAME": "foresight-abc"}.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(None, audit_url=str(tmp_path / "audit.db"),
                             live={"prometheus_url": "http://127.0.0.1:9"})
    with pytest.raises(ConfigError, match="leader_election.enabled"):
        build_service(settings, simulate=True)
    service = build_service(settings, simulate=False, kube_client=cluster.api_client())
    service.runtime.start()
    try:
        assert service.runtime.gate.role == "leader"  # the first read happens before the first step
        lease = cluster.get("coordination.k8s.io/v1/leases", "default", "fs-serve")
        assert lease is not None and lease["spec"]["holderIdentity"] == "foresight-abc"
    finally:
        service.runtime.stop()
    lease = cluster.get("coordination.k8s.io/v1/leases", "default", "fs-serve")
    assert lease is not None and lease["spec"]["holderIdentity"] is None  # released on shutdown


def test_the_scaling_loop_is_rebuilt_only_when_its_policies_change_and_keeps_what_it_learned(
        cluster: Cluster, sim: Simulator, tmp_path: Path) -> None:
    client = cluster.api_client()
    cluster.put("apps/v1/deployments", "default", _deployment("gateway", 2))
    direct = {"targetRef": {"name": "gateway"}, "mode": "direct", "capacityRps": 50, "maxReplicas": 40}
    cluster.put(POLICIES, "default", _policy("gateway", direct))
    clock = ManualClock(sim.now - 600.0)
    live = LivePlatform(_settings(), PredictionExporter(), source=sim, clock=clock, policies=KubernetesObjects(client),
                        scale_targets=lambda ns, kind: KubernetesScaleTarget(client, ns, kind),
                        audit=AuditLog(str(tmp_path / "audit.db"), max_delay_s=0.0))
    live.step(())
    first = live.autoscaler
    assert first is not None and set(first.states) == {"gateway"}  # it reconciled once and remembers the workload
    # another workload under a keda policy changes the managed set, not the direct loop
    cluster.put(POLICIES, "default", _policy("search", {"targetRef": {"name": "search"}, "capacityRps": 20}))
    clock.advance(30.0)
    live.step(())
    assert live.workloads() == ("gateway", "search") and live.autoscaler is first
    # a changed direct policy rebuilds the loop, which resumes the workload's state
    cluster.put(POLICIES, "default", _policy("gateway", {**direct, "maxReplicas": 30}))
    clock.advance(30.0)
    live.step(())
    assert live.autoscaler is not first and live.autoscaler is not None
    assert live.autoscaler.limits["gateway"].max_replicas == 30 and "gateway" in live.autoscaler.states


def test_a_mode_hpa_policy_gets_the_predictive_policys_replicas_published_every_period_never_its_scale(
        cluster: Cluster, sim: Simulator, tmp_path: Path) -> None:
    """The benchmark's headline path live: the predictive policy reads the HPA's /scale and publishes
    foresight_desired_replicas for it every period (at equilibrium too, or the HPA's metric would go
    stale); the forecast still publishes ai_predicted_load but no longer writes the replicas."""
    client = cluster.api_client()
    cluster.put("apps/v1/deployments", "default", _deployment("gateway", 3))
    cluster.put(POLICIES, "default", _policy("gateway", {"targetRef": {"name": "gateway"}, "mode": "hpa",
                                                          "capacityRps": 50, "maxReplicas": 40}))
    clock, exporter = ManualClock(sim.now - 600.0), PredictionExporter()
    audit = AuditLog(str(tmp_path / "audit.db"), max_delay_s=0.0)
    live = LivePlatform(_settings(), exporter, source=sim, clock=clock, policies=KubernetesObjects(client),
                        scale_targets=lambda ns, kind: KubernetesScaleTarget(client, ns, kind), audit=audit)
    labels = {"namespace": "default", "workload": "gateway"}

    def published() -> float | None:
        return exporter.registry.get_sample_value("foresight_desired_replicas", labels)

    live.step(())  # reads the policies, forecasts, reconciles
    assert live.controllers["autoscale"].enabled and "1 ScalingPolicies in mode hpa" in live.controllers["autoscale"].detail
    [first] = audit.query(controller="predictive")
    assert first.target == "gateway" and first.applied and first.inputs["policy"]["quantile"] == 0.95
    assert first.decision["previous"] == 3 and published() == first.decision["applied"]
    assert exporter.registry.get_sample_value("ai_predicted_load", labels) is not None

    period = live.settings.controllers.period_s
    for _ in range(4):
        # the HPA follows the metric: the Deployment now has the published replicas (equilibrium)
        cluster.put("apps/v1/deployments", "default", _deployment("gateway", int(published() or 0)))
        exporter.forget("default", "gateway")  # whatever is on /metrics now was written this period
        clock.advance(period)
        live.step(())
        record = audit.query(controller="predictive")[-1]
        assert record.applied and record.error is None and published() == record.decision["applied"]
    records = audit.query(controller="predictive")
    assert len(records) == 5 and any(r.decision["previous"] == r.decision["applied"] for r in records[1:])
    # never written to /scale: the Deployment holds what the "HPA" last set
    assert cluster.get("apps/v1/deployments", "default", "gateway")["spec"]["replicas"] == records[-1].decision["previous"]
    assert live.autoscaler is None and live.publisher is not None
