"""The GPU state read from a Kubernetes API (the kmock emulator) and the extender's bind written to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import kmock
import pytest
from kube_emulator import Cluster

from foresight.adapters.kube_gpu import KubeGpuState
from foresight.errors import InputError
from foresight.placement.extender import DEVICES_ANNOTATION, MILLI_ANNOTATION, PRODUCT_LABEL, filter_nodes


def gpu_node(name: str, gpus: int, product: str = "Tesla-T4") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {PRODUCT_LABEL: product, "kubernetes.io/hostname": name}},
            "status": {"allocatable": {"cpu": "16", "memory": "64Gi", "nvidia.com/gpu": str(gpus), "pods": "110"}}}


def gpu_pod(name: str, node: str | None = None, gpus: int = 0, milli: int | None = None,
            devices: str | None = None) -> dict[str, Any]:
    annotations = {k: v for k, v in ((MILLI_ANNOTATION, None if milli is None else str(milli)),
                                     (DEVICES_ANNOTATION, devices)) if v is not None}
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": "serve:1", "resources": {
        "requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"nvidia.com/gpu": str(gpus)} if gpus else {}}}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "annotations": annotations},
            "spec": spec, "status": {"phase": "Running" if node else "Pending"}}


def _serve_binding(cluster: Cluster) -> None:
    """The API server's pods/binding, which kmock lacks: set ``spec.nodeName`` once, with the UID precondition."""

    def bind(request: Any) -> Any:
        key = (kmock.resource("v1/pods"), request.namespace, request.name)
        objects = cluster.emulator.objects
        if key not in objects or objects[key].deleted:
            return kmock.KubernetesError(status=404, reason="NotFound", message=f"pods {request.name!r} not found")
        pod = dict(objects[key].raw)
        uid = (request.data.get("metadata") or {}).get("uid")
        if uid and uid != pod["metadata"].get("uid"):
            return kmock.KubernetesError(status=409, reason="Conflict", message="Precondition failed: UID")
        if pod["spec"].get("nodeName"):
            return kmock.KubernetesError(status=409, reason="Conflict",
                                         message=f"pod {request.name} is already assigned to node {pod['spec']['nodeName']}")
        pod["spec"] = {**pod["spec"], "nodeName": request.data["target"]["name"]}
        objects[key] = pod
        return {"apiVersion": "v1", "kind": "Status", "status": "Success", "code": 201}

    def register() -> None:
        cluster.emulator[re.compile(r"^/api/v1/namespaces/[^/]+/pods/[^/]+/binding$")] << bind

    cluster._run(register)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    _serve_binding(c)
    c.put("v1/nodes", None, gpu_node("gpu-a", 4))
    c.put("v1/nodes", None, gpu_node("gpu-b", 2, "NVIDIA-A100-SXM4-80GB"))
    c.put("v1/pods", "default", gpu_pod("whole", "gpu-a", gpus=2))
    c.put("v1/pods", "default", gpu_pod("frac", "gpu-a", milli=250, devices="3"))
    c.put("v1/pods", "default", gpu_pod("waiting", milli=500))
    yield c
    c.close()


def test_read_builds_the_view_from_nodes_and_bound_pods(cluster: Cluster) -> None:
    view = KubeGpuState(cluster.api_client()).read()
    assert [n.name for n in view.cluster.nodes] == ["gpu-a", "gpu-b"]
    assert view.cluster.type_names == ("NVIDIA-A100-SXM4-80GB", "Tesla-T4")
    a = view.index("gpu-a")
    assert view.state.dev_left[a].tolist() == [0, 0, 1000, 750]
    assert set(view.holdings) == {"default/whole", "default/frac"}  # the pending pod holds nothing


def test_the_view_answers_filter_for_a_pod_kube_scheduler_sends(cluster: Cluster) -> None:
    view = KubeGpuState(cluster.api_client()).read()
    result = filter_nodes({"Pod": gpu_pod("new", gpus=3), "NodeNames": ["gpu-a", "gpu-b"]}, view)
    assert result["NodeNames"] == [] and set(result["FailedNodes"]) == {"gpu-a"}
    assert "node has 2 GPU(s)" in result["FailedAndUnresolvableNodes"]["gpu-b"]


def test_bind_writes_the_device_annotation_then_the_binding(cluster: Cluster) -> None:
    state = KubeGpuState(cluster.api_client())
    state.bind("default", "waiting", "uid-waiting", "gpu-a", (3,))
    pod = cluster.get("v1/pods", "default", "waiting")
    assert pod is not None
    assert pod["metadata"]["annotations"][DEVICES_ANNOTATION] == "3"
    assert pod["spec"]["nodeName"] == "gpu-a"
    view = state.read()  # the next read counts it on that device
    assert view.holdings["default/waiting"] == ("gpu-a", (3,))
    assert view.state.dev_left[view.index("gpu-a")].tolist() == [0, 0, 1000, 250]


def test_bind_refusals_are_precise(cluster: Cluster) -> None:
    state = KubeGpuState(cluster.api_client())
    with pytest.raises(InputError, match="already assigned to node gpu-a"):
        state.bind("default", "whole", "uid-whole", "gpu-b", ())
    with pytest.raises(InputError, match="UID"):
        state.bind("default", "waiting", "someone-else", "gpu-a", ())
    with pytest.raises(InputError, match="does not exist"):
        state.pod("default", "gone")
