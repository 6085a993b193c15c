"""Node pools, spot nodes and models read from Kubernetes labels, and the GPU cost per model."""

from __future__ import annotations

from typing import Any

import pytest

from foresight.placement.extender import build_view, model_cost_rows, pool_summary
from foresight.placement.usage import GpuPrices, is_spot, model_of, node_pool


def node(name: str, gpus: int, product: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"nvidia.com/gpu.product": product, **labels}},
            "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "nvidia.com/gpu": str(gpus)}}}


def pod(name: str, on: str, gpus: int = 0, milli: int | None = None, **labels: str) -> dict[str, Any]:
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    annotations = {"foresight.ai/gpu-milli": str(milli)} if milli else {}
    return {"metadata": {"name": name, "namespace": "ml", "labels": labels, "annotations": annotations},
            "spec": {"nodeName": on, "containers": [{"name": "c", "resources": {"limits": limits,
                                                                                "requests": {"cpu": "1"}}}]},
            "status": {"phase": "Running"}}


@pytest.mark.parametrize("labels, pool", [
    ({"foresight.ai/node-pool": "mine", "cloud.google.com/gke-nodepool": "gke"}, "mine"),
    ({"cloud.google.com/gke-nodepool": "gke"}, "gke"),
    ({"eks.amazonaws.com/nodegroup": "eks"}, "eks"),
    ({"kubernetes.azure.com/agentpool": "aks"}, "aks"),
    ({"karpenter.sh/nodepool": "karp"}, "karp"),
    ({}, "Tesla-T4"),
])
def test_a_node_pool_comes_from_the_first_pool_label_else_the_gpu_type(labels: dict[str, str], pool: str):
    assert node_pool(node("n", 1, "Tesla-T4", **labels), "Tesla-T4") == pool


@pytest.mark.parametrize("labels, spot", [
    ({"karpenter.sh/capacity-type": "spot"}, True), ({"karpenter.sh/capacity-type": "on-demand"}, False),
    ({"cloud.google.com/gke-spot": "true"}, True), ({"eks.amazonaws.com/capacityType": "SPOT"}, True),
    ({"eks.amazonaws.com/capacityType": "ON_DEMAND"}, False), ({"kubernetes.azure.com/scalesetpriority": "spot"}, True),
    ({}, False),
])
def test_spot_nodes_are_known_by_their_providers_labels(labels: dict[str, str], spot: bool):
    assert is_spot(node("n", 1, "T4", **labels)) is spot


def test_a_pods_model_is_its_name_label_else_app_else_its_deployment():
    assert model_of(pod("x", "n", **{"app.kubernetes.io/name": "sdxl", "app": "other"})) == "ml/sdxl"
    assert model_of(pod("x", "n", app="llm")) == "ml/llm"
    assert model_of(pod("llm-stable-5d8f7c9b6-abcde", "n")) == "ml/llm-stable"
    assert model_of(pod("standalone", "n")) == "ml/standalone"


def test_pools_split_by_type_and_costs_sum_per_model_with_spot_at_its_ratio():
    nodes = [node("a", 8, "H100", **{"karpenter.sh/nodepool": "big", "karpenter.sh/capacity-type": "spot"}),
             node("b", 8, "H100", **{"karpenter.sh/nodepool": "big"}),
             node("c", 4, "T4", **{"karpenter.sh/nodepool": "big"}),
             node("d", 4, "T4")]
    pods = [pod("llm-1", "a", gpus=2, app="llm"), pod("llm-2", "b", gpus=2, app="llm"),
            pod("sd-1", "c", milli=500, app="sd"), pod("sd-2", "d", milli=250, app="sd"), pod("cpu", "d")]
    view = build_view(nodes, pods)
    pools = [(p["pool"], p["gpu_type"], p["nodes"], p["spot_nodes"], p["allocated_milli"]) for p in pool_summary(view)]
    assert sorted(pools) == [("T4", "T4", 1, 0, 250), ("big", "H100", 2, 1, 4000), ("big", "T4", 1, 0, 500)]
    costs = model_cost_rows(view, GpuPrices({"H100": 10.0}, default=1.0, spot_ratio=0.25))
    assert [(c.model, c.pods, c.gpus, c.spot_gpus) for c in costs] == [("ml/llm", 2, 4.0, 2.0), ("ml/sd", 2, 0.75, 0.0)]
    assert costs[0].usd_per_hour == pytest.approx(2 * 10.0 * 0.25 + 2 * 10.0)
    assert costs[1].usd_per_hour == pytest.approx(0.75)
