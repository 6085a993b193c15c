"""KubeEdge placement of a model server: the pod-spec fields an ``edge`` section renders to.

:func:`edge_pod_fields` is pure: the renderer puts its ``pod`` fields into the pod spec, uses its
``model_volume`` as the server's model store (instead of the volume the storage initializer fills:
an edge node's model is already on the node), sets ``replicas`` and adds ``env`` to the server.

* **nodeSelector**: ``node-role.kubernetes.io/edge`` (every edge node KubeEdge registers), the
  NodeGroup label when a group is named, and the spec's own labels.
* **affinity**: the spec's required and preferred node rules.
* **tolerations**: the edge taint (``NoSchedule``), then ``node.kubernetes.io/unreachable`` and
  ``node.kubernetes.io/not-ready`` (``NoExecute``), forever unless ``offlineToleranceSeconds``
  bounds them: the node controller taints a node whose edgecore lost the cloud, and pods without
  these tolerations would be evicted after 5 minutes although they still run on the device.
* **model**: a read-only ``hostPath`` of the model's directory (type ``Directory``: a missing
  model fails the pod at mount time, loudly, instead of a server starting with no model);
  ``MODEL_PATH`` tells the server where the model is inside the container.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from foresight.specs.edge import EdgePlacement
from foresight.specs.workload import EDGE_LABEL

__all__ = ["EdgePodFields", "edge_pod_fields"]

UNREACHABLE = ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")


@dataclass(frozen=True)
class EdgePodFields:
    """What an ``edge`` section adds to a model server's Deployment."""

    replicas: int
    pod: dict[str, Any]
    model_volume: dict[str, Any]
    env: dict[str, str]


def edge_pod_fields(edge: EdgePlacement, model_dir: str = "/mnt/models", volume: str = "model-store") -> EdgePodFields:
    """The Deployment fields that place a model server on KubeEdge edge nodes (see the module docstring).

    ``model_dir`` is where the server reads its model (the model store's mount path), ``volume`` the
    name of that volume.

    >>> f = edge_pod_fields(EdgePlacement(model_path="/var/lib/models/det/model.onnx", node_group="line-7"))
    >>> f.pod["nodeSelector"]
    {'apps.kubeedge.io/belonging-to': 'line-7', 'node-role.kubernetes.io/edge': ''}
    >>> f.model_volume, f.env
    ({'name': 'model-store', 'hostPath': {'path': '/var/lib/models/det', 'type': 'Directory'}}, {'MODEL_PATH': '/mnt/models/model.onnx'})
    >>> [t["key"] for t in f.pod["tolerations"]]
    ['node-role.kubernetes.io/edge', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready']
    """
    pod: dict[str, Any] = {"nodeSelector": edge.selector()}
    affinity: dict[str, Any] = {}
    if edge.node_affinity:
        terms = [_expression(rule.key, rule.operator, rule.values) for rule in edge.node_affinity]
        affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [{"matchExpressions": terms}]}
    if edge.preferred:
        affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": rule.weight, "preference": {"matchExpressions": [_expression(rule.key, rule.operator, rule.values)]}}
            for rule in edge.preferred
        ]
    if affinity:
        pod["affinity"] = {"nodeAffinity": affinity}
    pod["tolerations"] = _tolerations(edge)
    directory, name = _split(edge.model_path)
    return EdgePodFields(
        replicas=edge.replicas,
        pod=pod,
        model_volume={"name": volume, "hostPath": {"path": directory, "type": "Directory"}},
        env={"MODEL_PATH": posixpath.join(model_dir, name) if name else model_dir},
    )


def _split(path: str) -> tuple[str, str]:
    """The directory to mount and the model's file name in it ('' when the path is a directory).

    A last component with a dot (``model.onnx``, ``yolo.tflite``) is taken for a file.

    >>> _split("/models/m.onnx"), _split("/models/resnet")
    (('/models', 'm.onnx'), ('/models/resnet', ''))
    """
    head, tail = posixpath.split(path)
    return (head or "/", tail) if "." in tail.strip(".") else (path, "")


def _expression(key: str, operator: str, values: list[str]) -> dict[str, Any]:
    return {"key": key, "operator": operator, **({"values": list(values)} if values else {})}


def _tolerations(edge: EdgePlacement) -> list[dict[str, Any]]:
    found = [t.model_dump(exclude_none=True) for t in edge.tolerations]
    if not any(t["key"] == EDGE_LABEL for t in found):
        found.append({"key": EDGE_LABEL, "operator": "Exists", "effect": "NoSchedule"})
    for key in UNREACHABLE:
        if not any(t["key"] == key for t in found):
            offline: dict[str, Any] = {"key": key, "operator": "Exists", "effect": "NoExecute"}
            if edge.offline_tolerance_s is not None:
                offline["tolerationSeconds"] = edge.offline_tolerance_s
            found.append(offline)
    return found
