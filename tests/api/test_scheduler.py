"""The extender's HTTP verbs with the bodies kube-scheduler sends, over GPU state read from kmock."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import kmock
import pytest

from fastapi import FastAPI
from fastapi.testclient import TestClient
from kube_emulator import Cluster

from foresight.adapters.kube_gpu import KubeGpuState
from foresight.api.app import create_app
from foresight.api.scheduler import add_scheduler
from foresight.clock import ManualClock
from foresight.config import load_settings

from .conftest import TOKEN, build

SCHEDULER = ("127.0.0.1", 40123)  # kube-scheduler beside Foresight, on localhost


def gpu_node(name: str, gpus: int, product: str = "Tesla-T4") -> dict[str, Any]:
    """A v1.Node as kube-scheduler's cache holds it (and sends it when not node-cache capable)."""
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": "7",
                         "labels": {"nvidia.com/gpu.product": product, "kubernetes.io/hostname": name}},
            "spec": {"podCIDR": "10.0.0.0/24"},
            "status": {"capacity": {"cpu": "16", "memory": "65848176Ki", "nvidia.com/gpu": str(gpus), "pods": "110"},
                       "allocatable": {"cpu": "15800m", "memory": "65438576Ki", "nvidia.com/gpu": str(gpus),
                                       "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def gpu_pod(name: str, node: str | None = None, gpus: int = 0, milli: int | None = None) -> dict[str, Any]:
    """A v1.Pod as kube-scheduler serialises it: whole GPUs in limits (and requests, defaulted), a fraction
    in Foresight's annotation."""
    resources: dict[str, Any] = {"requests": {"cpu": "2", "memory": "4Gi"}}
    if gpus:
        resources = {"limits": {"nvidia.com/gpu": str(gpus)},
                     "requests": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": str(gpus)}}
    annotations = {"foresight.ai/gpu-milli": str(milli)} if milli is not None else {}
    spec: dict[str, Any] = {"containers": [{"name": "server", "image": "vllm:0.6", "resources": resources}],
                            "schedulerName": "default-scheduler", "restartPolicy": "Always",
                            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "annotations": annotations},
            "spec": spec, "status": {"phase": "Running" if node else "Pending", "qosClass": "Burstable"}}


def _serve_binding(cluster: Cluster) -> None:
    """pods/binding as the API server does it (kmock lacks it): set spec.nodeName once."""

    def bind(request: Any) -> Any:
        key = (kmock.resource("v1/pods"), request.namespace, request.name)
        pod = dict(cluster.emulator.objects[key].raw)
        if pod["spec"].get("nodeName"):
            return kmock.KubernetesError(status=409, reason="Conflict", message="pod is already assigned")
        pod["spec"] = {**pod["spec"], "nodeName": request.data["target"]["name"]}
        cluster.emulator.objects[key] = pod
        return {"apiVersion": "v1", "kind": "Status", "status": "Success", "code": 201}

    def register() -> None:
        cluster.emulator[re.compile(r"^/api/v1/namespaces/[^/]+/pods/[^/]+/binding$")] << bind

    cluster._run(register)


@pytest.fixture
def kube() -> Iterator[Cluster]:
    c = Cluster()
    _serve_binding(c)
    c.put("v1/nodes", None, gpu_node("gpu-a", 4))
    c.put("v1/nodes", None, gpu_node("gpu-b", 4))
    c.put("v1/nodes", None, gpu_node("gpu-h", 8, "NVIDIA-H100-80GB-HBM3"))
    c.put("v1/pods", "default", gpu_pod("half", "gpu-b", milli=500))
    c.put("v1/pods", "default", gpu_pod("pair", "gpu-a", gpus=2))
    yield c
    c.close()


@pytest.fixture
def client(kube: Cluster) -> TestClient:
    app = FastAPI()
    add_scheduler(app, load_settings(None, scheduler={"enabled": True}), KubeGpuState(kube.api_client()))
    return TestClient(app, client=SCHEDULER)


def args(pod: dict[str, Any], names: list[str] | None = None, nodes: list[dict[str, Any]] | None = None) -> bytes:
    """ExtenderArgs as Go's encoding/json writes them: field names as keys, nil pointers as null."""
    node_list = None if nodes is None else {"metadata": {}, "items": nodes}
    return json.dumps({"Pod": pod, "Nodes": node_list, "NodeNames": names}).encode()


def post(client: TestClient, verb: str, body: bytes) -> Any:
    return client.post(f"/scheduler/{verb}", content=body, headers={"Content-Type": "application/json"})


def test_filter_with_node_names(client: TestClient) -> None:
    r = post(client, "filter", args(gpu_pod("new", gpus=3), ["gpu-a", "gpu-b", "gpu-h"]))
    assert r.status_code == 200
    body = r.json()
    assert body["NodeNames"] == ["gpu-b", "gpu-h"] and body["Error"] == ""
    assert "2 GPU(s) with 1000 milli-GPU free" in body["FailedNodes"]["gpu-a"]
    assert body["FailedAndUnresolvableNodes"] == {}


def test_filter_with_a_node_list_returns_the_nodes_sent(client: TestClient) -> None:
    nodes = [gpu_node("gpu-a", 4), gpu_node("gpu-h", 8, "NVIDIA-H100-80GB-HBM3")]
    pod = gpu_pod("new", milli=250)
    pod["metadata"]["annotations"]["foresight.ai/gpu-types"] = "NVIDIA-H100-80GB-HBM3"
    body = post(client, "filter", args(pod, nodes=nodes)).json()
    assert body["Nodes"]["items"] == [nodes[1]]
    assert "Tesla-T4 is not among" in body["FailedAndUnresolvableNodes"]["gpu-a"]


def test_prioritize_scores_zero_to_ten(client: TestClient) -> None:
    r = post(client, "prioritize", args(gpu_pod("new", milli=500), ["gpu-a", "gpu-b", "gpu-h"]))
    assert r.status_code == 200
    scores = {h["Host"]: h["Score"] for h in r.json()}
    assert scores["gpu-b"] == 10  # the half-used device takes the other half
    assert sorted(scores.values()) == [8, 9, 10] and set(r.json()[0]) == {"Host", "Score"}


def test_pass_through_pod(client: TestClient) -> None:
    web = gpu_pod("web")
    assert post(client, "filter", args(web, ["gpu-a", "nowhere"])).json()["NodeNames"] == ["gpu-a", "nowhere"]
    assert post(client, "prioritize", args(web, ["gpu-a", "nowhere"])).json() == [
        {"Host": "gpu-a", "Score": 0}, {"Host": "nowhere", "Score": 0}]


def test_state_changing_between_filter_and_prioritize(client: TestClient, kube: Cluster,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    body = args(gpu_pod("new", gpus=4), ["gpu-b", "gpu-h"])
    assert post(client, "filter", body).json()["NodeNames"] == ["gpu-h"]
    kube.put("v1/pods", "default", gpu_pod("grabbed", "gpu-h", gpus=6))  # another binder took the node
    with caplog.at_level(logging.INFO, logger="foresight.api.scheduler"):
        r = post(client, "prioritize", body)
    assert r.status_code == 200
    assert {h["Host"]: h["Score"] for h in r.json()} == {"gpu-b": 0, "gpu-h": 0}
    assert any("gpu-h scored 0, it no longer fits" in m for m in caplog.messages)


def test_bind_writes_the_device_and_the_binding(client: TestClient, kube: Cluster) -> None:
    kube.put("v1/pods", "default", gpu_pod("new", milli=500))
    r = post(client, "bind", json.dumps({"PodName": "new", "PodNamespace": "default", "PodUID": "uid-new",
                                         "Node": "gpu-b"}).encode())
    assert r.status_code == 200 and r.json() == {"Error": ""}
    pod = kube.get("v1/pods", "default", "new")
    assert pod is not None and pod["spec"]["nodeName"] == "gpu-b"
    assert pod["metadata"]["annotations"]["foresight.ai/gpu-devices"] == "0"  # beside the other half
    post(client, "filter", args(gpu_pod("next", gpus=1), ["gpu-b"]))  # the next GPU pod's read sees it
    view = client.get("/api/v1/gpus").json()
    assert [n["free_milli"] for n in view["nodes"] if n["node"] == "gpu-b"] == [[0, 1000, 1000, 1000]]


def test_bind_failures_are_the_error_field(client: TestClient, kube: Cluster) -> None:
    def bind(**fields: str) -> str:
        base = {"PodName": "new", "PodNamespace": "default", "PodUID": "uid-new", "Node": "gpu-a"}
        return str(post(client, "bind", json.dumps({**base, **fields}).encode()).json()["Error"])

    kube.put("v1/pods", "default", gpu_pod("new", gpus=3))
    assert "does not fit node gpu-a" in bind()
    assert "re-created" in bind(PodUID="uid-old")
    assert "does not exist" in bind(PodName="gone")
    assert "ExtenderBindingArgs.Node" in bind(Node="")
    assert kube.get("v1/pods", "default", "new")["spec"].get("nodeName") is None  # type: ignore[index]


def test_concurrent_binds_never_share_the_last_room_of_a_device(client: TestClient, kube: Cluster) -> None:
    kube.put("v1/nodes", None, gpu_node("solo", 1))
    names = [f"share-{i}" for i in range(6)]
    for name in names:
        kube.put("v1/pods", "default", gpu_pod(name, milli=300))

    def bind(name: str) -> str:
        body = {"PodName": name, "PodNamespace": "default", "PodUID": f"uid-{name}", "Node": "solo"}
        return str(post(client, "bind", json.dumps(body).encode()).json()["Error"])

    with ThreadPoolExecutor(6) as pool:  # kube-scheduler's binding goroutines
        errors = list(pool.map(bind, names))
    taken: dict[str, int] = {}
    for name, error in zip(names, errors, strict=True):
        pod = kube.get("v1/pods", "default", name)
        assert pod is not None
        if error:
            assert "does not fit" in error and not pod["spec"].get("nodeName")
        else:
            device = pod["metadata"]["annotations"]["foresight.ai/gpu-devices"]
            taken[device] = taken.get(device, 0) + 300
    assert taken == {"0": 900} and sum(1 for e in errors if not e) == 3  # three 300s fit in one GPU, not four


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not JSON"),
    (b'{"NodeNames": ["gpu-a"]}', "ExtenderArgs.Pod: missing"),
    (json.dumps({"Pod": {"metadata": {"name": "x"}, "spec": {"containers": [
        {"resources": {"limits": {"nvidia.com/gpu": "two"}}}]}}, "NodeNames": ["gpu-a"]}).encode(), "quantity"),
    (args({**gpu_pod("x", milli=100), "metadata": {"name": "x", "annotations": {
        "foresight.ai/gpu-milli": "100", "foresight.ai/gpu-types": "B200"}}}, ["gpu-a"]), "B200 that no node has"),
])
def test_malformed_input_is_an_error_never_a_traceback(client: TestClient, body: bytes, message: str) -> None:
    r = post(client, "filter", body)
    assert r.status_code == 200 and message in r.json()["Error"]
    r = post(client, "prioritize", body)
    assert r.status_code == 400 and message in r.json()["detail"]


def test_the_gpu_view_is_read_again_once_stale(kube: Cluster) -> None:
    app, clock = FastAPI(), ManualClock(1000.0)
    add_scheduler(app, load_settings(None, scheduler={"enabled": True}), KubeGpuState(kube.api_client()), clock)
    c = TestClient(app, client=SCHEDULER)
    first = c.get("/api/v1/gpus").json()
    assert first["read_at"] == 1000.0 and first["note"] == "2 GPU pod(s) on 3 node(s)"
    kube.put("v1/pods", "default", gpu_pod("late", "gpu-h", gpus=8))
    clock.advance(10.0)
    assert c.get("/api/v1/gpus").json()["note"] == "2 GPU pod(s) on 3 node(s)"  # the latest view, not a new read
    clock.advance(25.0)
    again = c.get("/api/v1/gpus").json()
    assert again["read_at"] == 1035.0 and again["note"] == "3 GPU pod(s) on 3 node(s)"


def test_unreachable_cluster_is_an_error_too() -> None:
    app = FastAPI()
    dead = Cluster()
    source = KubeGpuState(dead.api_client())
    dead.close()
    add_scheduler(app, load_settings(None, scheduler={"enabled": True}), source)
    c = TestClient(app, client=SCHEDULER)
    assert "unreachable" in post(c, "filter", args(gpu_pod("new", gpus=1), ["gpu-a"])).json()["Error"]
    assert post(c, "prioritize", args(gpu_pod("new", gpus=1), ["gpu-a"])).status_code == 503
    assert "cannot read the cluster" in c.get("/api/v1/gpus").json()["note"]


def test_the_serve_app_gates_the_verbs_by_setting_and_caller(tmp_path: Path, kube: Cluster) -> None:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    on = build(tmp_path, scheduler={"enabled": True}, cluster={"kubeconfig": str(kubeconfig)},
               simulate={"warmup_s": 0.0})
    try:
        app = create_app(on, manage_runtime=False)
        body = args(gpu_pod("new", gpus=1), ["gpu-a"])
        # no bearer token: kube-scheduler sends none
        assert post(TestClient(app, client=SCHEDULER), "filter", body).json()["NodeNames"] == ["gpu-a"]
        outside = post(TestClient(app, client=("10.1.2.3", 5000)), "filter", body)
        assert outside.status_code == 403 and "scheduler.clients" in outside.json()["detail"]
        authed = TestClient(app, client=SCHEDULER, headers={"Authorization": f"Bearer {TOKEN}"})
        pools = {p["gpu_type"]: p for p in authed.get("/api/v1/gpus").json()["pools"]}
        assert pools["Tesla-T4"]["allocated_milli"] == 2500 and pools["Tesla-T4"]["gpus"] == 8
    finally:
        on.runtime.stop()
    off = build(tmp_path / "off", simulate={"warmup_s": 0.0})
    try:
        app = create_app(off, manage_runtime=False)
        c = TestClient(app, client=SCHEDULER)
        assert post(c, "filter", args(gpu_pod("new", gpus=1), ["gpu-a"])).status_code == 401  # no such open route
        assert c.get("/api/v1/gpus").json()["enabled"] is False
    finally:
        off.runtime.stop()
