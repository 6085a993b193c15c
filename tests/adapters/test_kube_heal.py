"""Self-healing actions against a Kubernetes API (the kmock emulator, plus the API server's Eviction and
pods/resize rules it lacks): restart only after the replacement is Ready, 429 from a PDB waited out
and never forced, resize in place where the node has room else scale out, cordon and drain one pod
at a time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonpatch
import kmock
import pytest
from kube_emulator import Cluster

from foresight.adapters.kube_heal import KubeRemediator
from foresight.heal.plan import Action, Target
from foresight.heal.signals import Resource

NS = "shop"


def pod(name: str, node: str, *, owner: tuple[str, str] | None = ("ReplicaSet", "cart-7d9f"),
        memory: str = "512Mi", cpu: str = "500m", labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS, "labels": labels or {"app": "cart"}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": node, "containers": [
                {"name": "sidecar", "image": "proxy:1", "resources": {"requests": {"memory": "64Mi", "cpu": "100m"}}},
                {"name": "app", "image": "cart:1", "resources": {"requests": {"memory": memory, "cpu": cpu},
                                                                "limits": {"memory": memory, "cpu": cpu}}}]},
            "status": {"phase": "Running"}}


class ApiServer:
    """What the API server and the controllers do that kmock does not: the Eviction API's PDB check
    (429 while ``disruptionsAllowed`` is 0), pods/resize, and a Deployment that gets its surge
    replica Ready a few polls after it asked for it (the PDB then allows one disruption)."""

    def __init__(self, cluster: Cluster, ready_after: int = 2) -> None:
        self.cluster, self.ready_after = cluster, ready_after
        self.evicted: list[tuple[str, int]] = []  # (pod, ready replicas when it was evicted)
        self.refused = 0
        self.sleeps: list[float] = []
        self._waiting = 0
        objects = lambda: cluster.emulator.objects  # noqa: E731

        def evict(request: Any) -> Any:
            key = (kmock.resource("v1/pods"), request.namespace, request.name)
            if key not in objects() or objects()[key].deleted:
                return kmock.KubernetesError(status=404, reason="NotFound", message=f"pods {request.name!r} not found")
            labels = objects()[key].raw["metadata"].get("labels") or {}
            for pdb_key, pdb in list(objects().items()):
                if pdb_key[0] != kmock.resource("policy/v1/poddisruptionbudgets") or pdb.deleted:
                    continue
                body = dict(pdb.raw)
                wanted = body["spec"]["selector"]["matchLabels"]
                if pdb_key[1] == request.namespace and all(labels.get(k) == v for k, v in wanted.items()):
                    if body["status"]["disruptionsAllowed"] < 1:
                        self.refused += 1
                        return kmock.KubernetesError(status=429, reason="TooManyRequests",
                                                     message="Cannot evict pod as it would violate the pod's disruption budget.")
                    body["status"] = {**body["status"], "disruptionsAllowed": body["status"]["disruptionsAllowed"] - 1}
                    objects()[pdb_key] = body
            deployment = objects()[(kmock.resource("apps/v1/deployments"), NS, "cart")].raw  # on the server's loop
            ready = int(deployment["status"].get("readyReplicas", 0))
            self.evicted.append((request.name, ready))
            del objects()[key]
            return {"apiVersion": "v1", "kind": "Status", "status": "Success", "code": 201}

        def resize(request: Any) -> Any:
            key = (kmock.resource("v1/pods"), request.namespace, request.name)
            if key not in objects() or objects()[key].deleted:
                return kmock.KubernetesError(status=404, reason="NotFound", message=f"pods {request.name!r} not found")
            try:
                objects()[key] = jsonpatch.apply_patch(dict(objects()[key].raw), request.data)
            except jsonpatch.JsonPatchTestFailed as exc:
                return kmock.KubernetesError(status=422, reason="Invalid", message=str(exc))
            return objects()[key].raw

        def register() -> None:
            cluster.emulator[re.compile(r"^/api/v1/namespaces/[^/]+/pods/[^/]+/eviction$")] << evict
            cluster.emulator[re.compile(r"^/api/v1/namespaces/[^/]+/pods/[^/]+/resize$")] << resize

        cluster._run(register)

    def sleep(self, seconds: float) -> None:
        """Time passes: the Deployment controller brings a surge replica up after ``ready_after`` polls."""
        self.sleeps.append(seconds)
        d = self.cluster.get("apps/v1/deployments", NS, "cart")
        if d is None:
            return
        ready = int(d["status"].get("readyReplicas", 0))
        if d["spec"]["replicas"] > ready:
            self._waiting += 1
            if self._waiting >= self.ready_after:
                self._waiting = 0
                d["status"] = {**d["status"], "readyReplicas": ready + 1}
                self.cluster.put("apps/v1/deployments", NS, d)
                self.cluster.put("v1/pods", NS, pod(f"cart-new-{ready + 1}", "node-b"))
                self.allow(1)

    def allow(self, disruptions: int) -> None:
        pdb = self.cluster.get("policy/v1/poddisruptionbudgets", NS, "cart")
        if pdb is not None:
            pdb["status"] = {**pdb["status"], "disruptionsAllowed": disruptions}
            self.cluster.put("policy/v1/poddisruptionbudgets", NS, pdb)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    c.put("v1/namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    for name, memory in (("node-a", "4Gi"), ("node-b", "64Gi")):
        c.put("v1/nodes", None, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                                 "spec": {}, "status": {"allocatable": {"cpu": "4", "memory": memory}}})
    c.put("apps/v1/replicasets", NS, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {
        "name": "cart-7d9f", "namespace": NS, "ownerReferences": [{"kind": "Deployment", "name": "cart",
                                                                   "controller": True}]}})
    c.put("apps/v1/deployments", NS, {"apiVersion": "apps/v1", "kind": "Deployment",
                                      "metadata": {"name": "cart", "namespace": NS},
                                      "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 3}})
    c.put("policy/v1/poddisruptionbudgets", NS, {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "cart", "namespace": NS},
        "spec": {"minAvailable": 3, "selector": {"matchLabels": {"app": "cart"}}},
        "status": {"disruptionsAllowed": 0}})
    for name, node in (("cart-1", "node-a"), ("cart-2", "node-a"), ("cart-3", "node-b")):
        c.put("v1/pods", NS, pod(name, node))
    yield c
    c.close()


def target(name: str = "cart-1", node: str = "node-a") -> Target:
    return Target(NS, "cart", name, node, "app")


def test_restart_evicts_only_after_the_replacement_is_ready_and_takes_the_surge_back(cluster: Cluster) -> None:
    api = ApiServer(cluster, ready_after=2)
    out = KubeRemediator(cluster.api_client(), sleep=api.sleep, poll_s=5.0).restart(target())
    assert out.done and out.action is Action.RESTART, out.detail
    assert api.evicted == [("cart-1", 4)]  # evicted while 4 replicas were Ready: the surge one was up
    assert cluster.get("v1/pods", NS, "cart-1") is None
    assert cluster.get("apps/v1/deployments", NS, "cart")["spec"]["replicas"] == 3
    assert "replacement Ready after 10 s" in out.detail


def test_a_pdb_refusal_is_waited_out_and_retried(cluster: Cluster) -> None:
    api = ApiServer(cluster, ready_after=1)
    calls = {"n": 0}

    def sleep(seconds: float) -> None:  # the PDB's controller is slow: it allows the eviction two retries late
        api.sleep(seconds)
        calls["n"] += 1
        api.allow(1 if calls["n"] >= 3 else 0)

    out = KubeRemediator(cluster.api_client(), sleep=sleep, retry_s=10.0, poll_s=5.0).restart(target())
    assert out.done, out.detail
    assert api.refused == 2 and "after 2 refusal(s)" in out.detail
    assert cluster.get("v1/pods", NS, "cart-1") is None


def test_a_pdb_that_never_allows_it_is_never_forced(cluster: Cluster) -> None:
    api = ApiServer(cluster, ready_after=1)

    def sleep(seconds: float) -> None:
        api.sleep(seconds)
        api.allow(0)  # someone else keeps the budget spent

    out = KubeRemediator(cluster.api_client(), sleep=sleep, retry_s=10.0, pdb_timeout_s=60.0).restart(target())
    assert not out.done and "not forced" in out.detail and "429" in out.detail
    assert cluster.get("v1/pods", NS, "cart-1") is not None  # still there: no delete behind the PDB's back
    assert api.refused == 7
    assert cluster.get("apps/v1/deployments", NS, "cart")["spec"]["replicas"] == 3


def test_a_replacement_that_never_gets_ready_leaves_the_pod_alone(cluster: Cluster) -> None:
    api = ApiServer(cluster, ready_after=1000)
    out = KubeRemediator(cluster.api_client(), sleep=api.sleep, ready_timeout_s=30.0, poll_s=5.0).restart(target())
    assert not out.done and "not Ready within 30 s" in out.detail
    assert api.evicted == [] and cluster.get("v1/pods", NS, "cart-1") is not None
    assert cluster.get("apps/v1/deployments", NS, "cart")["spec"]["replicas"] == 3


def test_resize_raises_memory_in_place_where_the_node_has_room(cluster: Cluster) -> None:
    ApiServer(cluster)
    out = KubeRemediator(cluster.api_client()).resize(target("cart-3", "node-b"), Resource.MEMORY, 1.5)
    assert out.done and out.action is Action.RESIZE, out.detail
    app = cluster.get("v1/pods", NS, "cart-3")["spec"]["containers"][1]
    assert app["resources"]["limits"]["memory"] == str(768 * 2**20)
    assert app["resources"]["requests"]["memory"] == str(768 * 2**20)
    assert app["resources"]["limits"]["cpu"] == "500m"  # CPU untouched
    assert cluster.get("v1/pods", NS, "cart-3")["spec"]["containers"][0]["resources"]["requests"]["memory"] == "64Mi"


def test_resize_on_a_full_node_scales_out_and_says_why(cluster: Cluster) -> None:
    ApiServer(cluster)
    cluster.put("v1/pods", NS, pod("big", "node-a", owner=None, memory="2900Mi", labels={"app": "other"}))
    out = KubeRemediator(cluster.api_client()).resize(target(), Resource.MEMORY, 1.5)
    assert out.done and out.action is Action.SCALE_OUT
    assert "no room to resize memory on node node-a" in out.detail and "scale out instead" in out.detail
    assert cluster.get("apps/v1/deployments", NS, "cart")["spec"]["replicas"] == 4
    assert cluster.get("v1/pods", NS, "cart-1")["spec"]["containers"][1]["resources"]["limits"]["memory"] == "512Mi"


def test_an_infeasible_resize_falls_back_to_scaling_out(cluster: Cluster) -> None:
    ApiServer(cluster)
    p = pod("cart-3", "node-b")
    p["status"]["conditions"] = [{"type": "PodResizePending", "reason": "Infeasible", "message": "Node didn't have "
                                  "enough capacity"}]
    cluster.put("v1/pods", NS, p)
    out = KubeRemediator(cluster.api_client()).resize(target("cart-3", "node-b"), Resource.CPU, 2.0)
    assert out.action is Action.SCALE_OUT and "infeasible" in out.detail


def test_a_container_without_requests_or_limits_is_not_guessed(cluster: Cluster) -> None:
    ApiServer(cluster)
    out = KubeRemediator(cluster.api_client()).resize(Target(NS, "cart", "cart-2", "node-a", "sidecar"),
                                                        Resource.CPU, 1.5)
    assert out.done  # the sidecar has a CPU request: raised
    bare = pod("bare", "node-a")
    bare["spec"]["containers"] = [{"name": "app", "image": "x:1"}]
    cluster.put("v1/pods", NS, bare)
    out = KubeRemediator(cluster.api_client()).resize(Target(NS, "cart", "bare", "node-a", "app"), Resource.MEMORY, 1.5)
    assert not out.done and "no memory request or limit" in out.detail


def test_drain_cordons_and_evicts_one_at_a_time_keeping_daemonset_pods(cluster: Cluster) -> None:
    api = ApiServer(cluster)
    api.allow(5)
    cluster.put("v1/pods", NS, pod("logs-x", "node-a", owner=("DaemonSet", "logs"), labels={"app": "logs"}))
    out = KubeRemediator(cluster.api_client(), sleep=api.sleep).drain("node-a")
    assert out.done, out.detail
    assert cluster.get("v1/nodes", None, "node-a")["spec"]["unschedulable"] is True
    assert [name for name, _ in api.evicted] == ["cart-1", "cart-2"]
    assert cluster.get("v1/pods", NS, "logs-x") is not None and cluster.get("v1/pods", NS, "cart-3") is not None


def test_drain_reports_pods_a_pdb_keeps(cluster: Cluster) -> None:
    api = ApiServer(cluster)
    api.allow(1)  # one disruption: the second pod stays
    out = KubeRemediator(cluster.api_client(), sleep=api.sleep, retry_s=10.0, pdb_timeout_s=20.0).drain("node-a")
    assert not out.done and "1 of 2 pods evicted" in out.detail and "cart-2" in out.detail
    assert cluster.get("v1/pods", NS, "cart-2") is not None
    assert KubeRemediator(cluster.api_client()).drain("node-zzz").detail == "node node-zzz does not exist"
