"""The GPU state of a cluster from the Kubernetes API, and the extender's bind: the only I/O of GPU placement.

:meth:`KubeGpuState.read` lists the Nodes and the Pods (all namespaces) and builds the placement
core's view (:func:`foresight.placement.extender.build_view`: device-plugin allocatable, the GPU type
label, the pods bound to each node with Foresight's annotations). It is read whole at each call,
level-based: a missed event or a restart costs nothing.

:meth:`KubeGpuState.bind` is the extender's ``bindVerb``: it writes ``foresight.ai/gpu-devices`` on the
pod (a JSON merge patch), then creates the pod's ``Binding`` (``POST .../pods/{name}/binding``, with
the pod's UID so a pod deleted and re-created under the same name is not bound by mistake). The
annotation comes first: once bound, a pod's annotation may still change, but a reader that sees the
pod on its node must see its device. RBAC: ``get``/``list`` nodes and pods, ``patch`` pods,
``create`` pods/binding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from foresight.adapters.kubernetes import KubernetesObjects
from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.placement.extender import DEVICES_ANNOTATION, GpuView, build_view

__all__ = ["KubeGpuState"]


class KubeGpuState:
    """Nodes and pods read from the API server; the pod's device annotation and Binding written to it."""

    def __init__(self, client: kubernetes.client.ApiClient) -> None:
        self._objects = KubernetesObjects(client)
        self._core = kubernetes.client.CoreV1Api(client)

    def objects(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every Node, and every Pod that sits on a node (pending pods hold nothing)."""
        nodes = self._objects.list_objects("v1", "Node")
        pods = [p for p in self._objects.list_objects("v1", "Pod")
                if isinstance(p.get("spec"), Mapping) and p["spec"].get("nodeName")]
        return nodes, pods

    def read(self) -> GpuView:
        """The placement view of the cluster now."""
        nodes, pods = self.objects()
        return build_view(nodes, pods)

    def pod(self, namespace: str, name: str) -> dict[str, Any]:
        """The live pod; :class:`InputError` when it does not exist (bind was asked for a pod that is gone)."""
        found = self._objects.get("v1", "Pod", namespace, name)
        if found is None:
            raise InputError(f"pod {namespace}/{name} does not exist")
        return found

    def bind(self, namespace: str, name: str, uid: str, node: str, devices: tuple[int, ...]) -> None:
        """Record ``devices`` on the pod (when it holds any), then bind it to ``node``."""
        what = f"pod {namespace}/{name}"
        try:
            if devices:
                patch = {"metadata": {"annotations": {DEVICES_ANNOTATION: ",".join(map(str, devices))}}}
                self._core.patch_namespaced_pod(name, namespace, patch)
            binding = {"apiVersion": "v1", "kind": "Binding",
                       "metadata": {"name": name, "namespace": namespace, **({"uid": uid} if uid else {})},
                       "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
            # the client cannot read the Binding the server answers with (its target check fails): take it raw
            self._core.create_namespaced_pod_binding(name, namespace, binding, _preload_content=False)
        except ApiException as exc:
            raise _bind_error(exc, what, node) from None
        except HTTPError as exc:
            raise ServiceUnavailable(f"bind {what}: Kubernetes API unreachable ({exc})", retry_after_s=5.0) from None


def _bind_error(exc: ApiException, what: str, node: str) -> Exception:
    """A failed bind, saying whether to retry: RBAC is configuration, a conflict or a gone pod is the caller's."""
    detail = ""
    try:
        detail = str(json.loads(exc.body or "{}").get("message") or "")
    except (ValueError, AttributeError):
        detail = str(exc.body or "")[:200]
    reason = f"bind {what} to {node}: {exc.status} {exc.reason}" + (f" ({detail})" if detail else "")
    if exc.status in (401, 403):
        return ConfigError(f"{reason}; grant patch pods and create pods/binding in the RBAC role")
    if exc.status in (404, 409, 422):
        return InputError(reason)
    return ServiceUnavailable(reason, retry_after_s=5.0)
