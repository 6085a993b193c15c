"""What ``placement.edge`` changes in a model server's pod: KubeEdge's tolerations and the model from the node.

Pure; :mod:`foresight.gitops.render` calls these for a ModelDeployment with ``placement.edge`` (the
nodeSelector's edge role and NodeGroup labels come from the spec's
:meth:`~foresight.specs.edge.ModelPlacement.selector`).

* **tolerations**: the edge taint (``NoSchedule``), then ``node.kubernetes.io/unreachable`` and
  ``node.kubernetes.io/not-ready`` (``NoExecute``), forever unless ``offlineToleranceSeconds``
  bounds them: the node controller taints a node whose edgecore lost the cloud, and pods without
  these tolerations would be evicted after 5 minutes although they still run on the device.
* **model**: a read-only ``hostPath`` of the model's directory (type ``Directory``: a missing
  model fails the pod at mount time, loudly, instead of a server starting with no model) replaces
  the volume the storage initializer fills; ``MODEL_PATH`` tells the server where the model is
  inside the container. The hostPath is what Foresight's scanner reports as FSM005, so the
  Deployment carries the scanner's accept annotation with the reason; a model path under a
  sensitive folder (``/var/lib/kubelet``, ``/etc`` ...) is FSM004, an error the gate refuses.
"""

from __future__ import annotations

import posixpath
from typing import Any

from foresight.security.manifests import ACCEPT_ANNOTATION
from foresight.specs.edge import EdgePlacement
from foresight.specs.workload import EDGE_LABEL

__all__ = ["HOST_PATH_REASON", "edge_model_env", "edge_model_volume", "edge_tolerations", "model_accept_annotation"]

UNREACHABLE = ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
#: Why an edge model server mounts a folder of its node (the reason of the FSM005 accept annotation).
HOST_PATH_REASON = "placement.edge: the model lies on the edge node (provisioned with the device); mounted read-only"


def edge_model_volume(edge: EdgePlacement, volume: str) -> dict[str, Any]:
    """The model store volume: the model's directory on the node, which must exist.

    >>> edge_model_volume(EdgePlacement(model_path="/var/lib/models/det/model.onnx"), "model-store")
    {'name': 'model-store', 'hostPath': {'path': '/var/lib/models/det', 'type': 'Directory'}}
    """
    return {"name": volume, "hostPath": {"path": _split(edge.model_path)[0], "type": "Directory"}}


def edge_model_env(edge: EdgePlacement, model_dir: str) -> dict[str, str]:
    """``MODEL_PATH``: the model as the server sees it, under ``model_dir`` (where the volume is mounted).

    >>> edge_model_env(EdgePlacement(model_path="/var/lib/models/det/model.onnx"), "/mnt/models")
    {'MODEL_PATH': '/mnt/models/model.onnx'}
    >>> edge_model_env(EdgePlacement(model_path="/opt/models/resnet"), "/mnt/models")
    {'MODEL_PATH': '/mnt/models'}
    """
    name = _split(edge.model_path)[1]
    return {"MODEL_PATH": posixpath.join(model_dir, name) if name else model_dir}


def model_accept_annotation() -> dict[str, str]:
    """The scanner annotation that accepts the model's hostPath (FSM005) with :data:`HOST_PATH_REASON`."""
    return {f"{ACCEPT_ANNOTATION}FSM005": HOST_PATH_REASON}


def edge_tolerations(edge: EdgePlacement, given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``given`` plus the edge taint and the offline taints, each unless ``given`` already tolerates its key.

    >>> [t["key"] for t in edge_tolerations(EdgePlacement(model_path="/m/x.onnx"), [])]
    ['node-role.kubernetes.io/edge', 'node.kubernetes.io/unreachable', 'node.kubernetes.io/not-ready']
    """
    found = list(given)
    if not any(t["key"] == EDGE_LABEL for t in found):
        found.append({"key": EDGE_LABEL, "operator": "Exists", "effect": "NoSchedule"})
    for key in UNREACHABLE:
        if not any(t["key"] == key for t in found):
            offline: dict[str, Any] = {"key": key, "operator": "Exists", "effect": "NoExecute"}
            if edge.offline_tolerance_s is not None:
                offline["tolerationSeconds"] = edge.offline_tolerance_s
            found.append(offline)
    return found


def _split(path: str) -> tuple[str, str]:
    """The directory to mount and the model's file name in it ('' when the path is a directory).

    A last component with a dot (``model.onnx``, ``yolo.tflite``) is taken for a file.

    >>> _split("/models/m.onnx"), _split("/models/resnet")
    (('/models', 'm.onnx'), ('/models/resnet', ''))
    """
    head, tail = posixpath.split(path)
    return (head or "/", tail) if "." in tail.strip(".") else (path, "")
