"""Who holds the cluster's GPUs and what it costs: node pools, spot capacity, and GPU $ per model.

Kubernetes has no one label for either, so the common ones are read, first found wins:

* **node pool**: ``foresight.ai/node-pool`` (set it to name pools yourself), then the managed
  offerings' own (GKE ``cloud.google.com/gke-nodepool``, EKS ``eks.amazonaws.com/nodegroup``, AKS
  ``kubernetes.azure.com/agentpool``, Karpenter ``karpenter.sh/nodepool``); a node without any is in
  the pool of its GPU type;
* **spot**: Karpenter ``karpenter.sh/capacity-type: spot``, GKE ``cloud.google.com/gke-spot: "true"``
  (or ``gke-preemptible``), EKS ``eks.amazonaws.com/capacityType: SPOT``, AKS
  ``kubernetes.azure.com/scalesetpriority: spot``;
* **model** of a pod: ``app.kubernetes.io/name`` (what ``foresight render`` sets), then ``app``, then
  the pod's own name without the ReplicaSet and pod suffixes of a Deployment.

A model's cost is its GPUs (a shared pod's fraction counts as that fraction) times the hourly
price of their GPU type, on demand, or at ``spot_ratio`` of it on a spot node: what the model costs
per hour now, the figure a per-model budget is checked against.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["NODE_POOL_LABEL", "GpuPrices", "ModelCost", "is_spot", "model_costs", "model_of", "node_pool"]

NODE_POOL_LABEL = "foresight.ai/node-pool"
_POOL_LABELS = (NODE_POOL_LABEL, "cloud.google.com/gke-nodepool", "eks.amazonaws.com/nodegroup",
                "kubernetes.azure.com/agentpool", "karpenter.sh/nodepool")
_SPOT_LABELS = {"karpenter.sh/capacity-type": "spot", "cloud.google.com/gke-spot": "true",
                "cloud.google.com/gke-preemptible": "true", "eks.amazonaws.com/capacityType": "spot",
                "kubernetes.azure.com/scalesetpriority": "spot"}
#: a Deployment's pod: <name>-<pod-template-hash>-<5 characters>
_DEPLOYMENT_POD = re.compile(r"^(?P<name>.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$")


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels if isinstance(labels, Mapping) else {}


def node_pool(node: Mapping[str, Any], gpu_type: str) -> str:
    """The node's pool (see the module docstring); its GPU type when no pool label is set.

    >>> node_pool({"metadata": {"labels": {"karpenter.sh/nodepool": "gpu-spot"}}}, "Tesla-T4")
    'gpu-spot'
    >>> node_pool({"metadata": {}}, "Tesla-T4")
    'Tesla-T4'
    """
    labels = _labels(node)
    return next((str(labels[k]) for k in _POOL_LABELS if labels.get(k)), gpu_type or "cpu")


def is_spot(node: Mapping[str, Any]) -> bool:
    """Whether the node is spot (preemptible) capacity, by the labels of the module docstring."""
    labels = _labels(node)
    return any(str(labels.get(key, "")).lower() == value for key, value in _SPOT_LABELS.items())


def model_of(pod: Mapping[str, Any]) -> str:
    """The model (workload) a pod serves: ``namespace/name`` by the labels of the module docstring.

    >>> model_of({"metadata": {"name": "sdxl-stable-7d9f8c6b5-x2k4q", "namespace": "genai"}})
    'genai/sdxl-stable'
    """
    meta = pod.get("metadata") or {}
    labels = _labels(pod)
    name = str(meta.get("name", ""))
    found = labels.get("app.kubernetes.io/name") or labels.get("app")
    if not found:
        match = _DEPLOYMENT_POD.match(name)
        found = match.group("name") if match else name
    return f"{meta.get('namespace') or 'default'}/{found}"


@dataclass(frozen=True)
class GpuPrices:
    """Hourly price of one GPU by type (``default`` for the others), and spot's share of it."""

    per_type: Mapping[str, float]
    default: float
    spot_ratio: float

    def hourly(self, gpu_type: str, spot: bool) -> float:
        price = self.per_type.get(gpu_type, self.default)
        return price * self.spot_ratio if spot else price


@dataclass(frozen=True)
class ModelCost:
    """One model's GPUs now and their price per hour."""

    model: str
    pods: int
    gpus: float
    spot_gpus: float
    usd_per_hour: float


def model_costs(holdings: Iterable[tuple[str, str, bool, float]], prices: GpuPrices) -> list[ModelCost]:
    """Per model, from ``(model, GPU type, on spot, GPUs held)`` per pod; the costliest first.

    >>> prices = GpuPrices({"H100": 4.0}, default=1.0, spot_ratio=0.25)
    >>> [(c.model, c.gpus, c.usd_per_hour) for c in model_costs(
    ...     [("ml/a", "H100", False, 2.0), ("ml/a", "H100", True, 1.0), ("ml/b", "T4", False, 0.5)], prices)]
    [('ml/a', 3.0, 9.0), ('ml/b', 0.5, 0.5)]
    """
    totals: dict[str, list[float]] = {}
    for model, gpu_type, spot, gpus in holdings:
        row = totals.setdefault(model, [0, 0.0, 0.0, 0.0])
        row[0] += 1
        row[1] += gpus
        row[2] += gpus if spot else 0.0
        row[3] += gpus * prices.hourly(gpu_type, spot)
    costs = [ModelCost(model, int(r[0]), r[1], r[2], r[3]) for model, r in totals.items()]
    return sorted(costs, key=lambda c: (-c.usd_per_hour, c.model))
