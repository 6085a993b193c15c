"""Live canaries end to end: a ModelDeployment's canary in the Kubernetes emulator, Istio's metrics in a
real Prometheus, ``foresight serve`` (live) moving the VirtualService that ``foresight render`` wrote.

The mesh is played by the canary simulator: each simulated minute it serves requests at the weights
the VirtualService has *in the emulator* (read back, as Envoy would), and its counts are added to
Istio's standard counters, remote-written to Prometheus at the simulated time. ``serve`` reads them
with its default PromQL (``increase(istio_requests_total{...}[60s])``) on an injected clock.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kube_emulator import Cluster

from foresight.bench.live_sim import CanaryCounters, RemoteWrite
from foresight.clock import ManualClock
from foresight.config import load_settings
from foresight.gitops.render import render
from foresight.serve.service import Service, build_service
from foresight.sim.canary import (
    DEFAULT_BUCKETS_MS,
    CanaryScenario,
    CanarySimulator,
    VersionBehaviour,
)
from foresight.specs import ModelDeployment

pytestmark = pytest.mark.integration

VS_PATH = "networking.istio.io/v1/virtualservices"
MD_PATH = "foresight.ai/v1alpha1/modeldeployments"


def _model_deployment(name: str, canary_version: str = "v2") -> dict[str, Any]:
    return {"apiVersion": "foresight.ai/v1alpha1", "kind": "ModelDeployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"model": {"uri": "s3://models/fraud/v1", "version": "v1"}, "framework": "sklearn",
                     "canary": {"model": {"uri": f"s3://models/fraud/{canary_version}", "version": canary_version},
                                "traffic": {"stable": 90, "canary": 10}}}}


class Mesh:
    """One ModelDeployment in the emulator, served by a simulated mesh whose counters go to Prometheus."""

    def __init__(self, cluster: Cluster, prometheus_url: str, name: str, canary: VersionBehaviour, start_s: float,
                 seed: int) -> None:
        self.cluster, self.name = cluster, name
        body = _model_deployment(name)
        cluster.put(MD_PATH, "default", body)
        [vs] = [d for d in render(ModelDeployment.model_validate(body)) if d["kind"] == "VirtualService"]
        cluster.put(VS_PATH, "default", vs)
        workloads = (f"{name}-stable", f"{name}-canary")
        self.sim = CanarySimulator(CanaryScenario(canary=canary, rate_rps=40.0), seed=seed, start_s=start_s,
                                   workloads=workloads)
        self.counters = CanaryCounters("default", *workloads, np.array(DEFAULT_BUCKETS_MS))
        self.writer = RemoteWrite(prometheus_url)
        self.writer.push(self.counters.zero(start_s))

    def route(self) -> tuple[int, int]:
        """(stable, canary) weights of the VirtualService, as stored in the emulator."""
        vs = self.cluster.get(VS_PATH, "default", self.name)
        assert vs is not None
        route = {d["destination"]["subset"]: d["weight"] for d in vs["spec"]["http"][0]["route"]}
        return route["stable"], route["canary"]

    def serve_one_minute(self) -> float:
        """Requests for one minute at the route's weights, counted into Prometheus; returns the minute's end."""
        self.sim.set_weights(*self.route())
        obs = self.sim.advance()
        self.writer.push(self.counters.add(obs))
        return obs.end


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    yield c
    c.close()


def _service(cluster: Cluster, prometheus_url: str, tmp_path: Path, clock: ManualClock, **controllers: Any) -> Service:
    settings = load_settings(None, audit_url=str(tmp_path / "audit.db"), live={"prometheus_url": prometheus_url},
                             cluster={"policies": True, "policy_period_s": 30.0},
                             controllers={"forecast": False, "autoscale": False, "anomaly": False, **controllers})
    return build_service(settings, simulate=False, kube_client=cluster.api_client(), clock=clock)


def _release(mesh: Mesh, service: Service, clock: ManualClock, minutes: int = 120) -> list[int]:
    """Serve and step minute by minute until the release ends; the canary weights read back each minute."""
    platform: Any = service.runtime.platform
    platform.step(())  # lists the ModelDeployments, starts the release at the route's weights
    weights = []
    for _ in range(minutes):
        clock.sleep_until(mesh.serve_one_minute())
        platform.step(())
        weights.append(mesh.route()[1])
        if platform.rollout_views()[0]["outcome"] != "in progress":
            break
    return weights


@pytest.mark.parametrize("canary, verdict, route", [
    (VersionBehaviour(latency_median_ms=118.0), "promoted", (0, 100)),
    (VersionBehaviour(error_rate=0.01), "rolled back", (100, 0)),
    (VersionBehaviour(latency_median_ms=135.0), "rolled back", (100, 0)),
], ids=["good", "errors", "latency"])
def test_the_virtualservice_follows_the_canary_policy_to_its_verdict(
    cluster: Cluster, prometheus: Any, tmp_path: Path, canary: VersionBehaviour, verdict: str,
    route: tuple[int, int],
) -> None:
    start = math.floor(time.time() / 60) * 60 - 3 * 3600.0  # within Prometheus' out-of-order window
    name = f"fraud-{verdict.split()[0]}-{int(canary.latency_median_ms)}"
    mesh = Mesh(cluster, prometheus.url, name, canary, start, seed=7)
    clock = ManualClock(start)
    service = _service(cluster, prometheus.url, tmp_path, clock)
    try:
        platform: Any = service.runtime.platform
        rollout = platform.controllers["rollout"]
        assert rollout.enabled and "VirtualService" in rollout.detail, rollout
        weights = _release(mesh, service, clock)
        [view] = platform.rollout_views()
        assert view["outcome"] == verdict and view["version"] == "v2", view["steps"][-3:]
        assert mesh.route() == route and weights[-1] == route[1]
        analysed = weights[:-1]  # the route, minute by minute, before the verdict
        assert analysed and all(0 < w <= 50 for w in analysed), weights  # never beyond the max weight
        if verdict == "promoted":  # raised step by step (at most doubling), never straight to all traffic
            assert analysed[0] == 10 and len(set(analysed)) >= 3, weights
            assert all(b <= 2 * a for a, b in itertools.pairwise(analysed)), weights
        else:  # a bad version is studied on little traffic until the evidence convicts it
            assert max(analysed) <= 20, weights
        service.audit.flush()
        records = service.audit.query(controller="rollout/foresight")
        assert {r.target for r in records} == {f"default/{name}"}
        assert len(records) == len(weights)  # one audited decision per analysed minute
        assert records[-1].reason.startswith("promote" if verdict == "promoted" else "rollback")
        assert records[-1].applied and records[-1].decision["applied"] == route[1]

        # ended: the final weights stay, the release is not started again for the same version
        for _ in range(3):
            clock.sleep_until(mesh.serve_one_minute())
            platform.step(())
        assert mesh.route() == route
        service.audit.flush()
        assert len(service.audit.query(controller="rollout/foresight")) == len(records)
    finally:
        service.runtime.stop()
        mesh.writer.close()


def test_a_new_canary_version_starts_a_new_release_and_a_held_promotion_waits_for_approval(
    cluster: Cluster, prometheus: Any, tmp_path: Path,
) -> None:
    start = math.floor(time.time() / 60) * 60 - 2 * 3600.0
    mesh = Mesh(cluster, prometheus.url, "ranker", VersionBehaviour(), start, seed=3)
    clock = ManualClock(start)
    service = _service(cluster, prometheus.url, tmp_path, clock, require_approval=True)
    try:
        platform: Any = service.runtime.platform
        _release(mesh, service, clock)
        [view] = platform.rollout_views()
        assert view["outcome"] == "awaiting approval" and view["awaiting_approval"], view["steps"][-3:]
        held = mesh.route()
        assert 0 < held[1] < 100  # the policy would promote; the gate keeps the canary where it was
        record = service.runtime.approve(view["id"])
        assert record.controller == "rollout/gate" and record.applied and mesh.route() == (0, 100)

        # Git moves on: a new canary version, rendered at 90/10 again; the new release starts there
        body = _model_deployment("ranker", canary_version="v3")
        cluster.put(MD_PATH, "default", body)
        [vs] = [d for d in render(ModelDeployment.model_validate(body)) if d["kind"] == "VirtualService"]
        cluster.put(VS_PATH, "default", vs)
        clock.sleep_until(clock.now() + 30.0)  # the next listing is due
        platform.step(())
        [view] = platform.rollout_views()
        assert view["version"] == "v3" and view["outcome"] == "in progress" and view["weight"] == 10
    finally:
        service.runtime.stop()
        mesh.writer.close()
