"""Self-healing actions through the Kubernetes API: the only I/O of remediation (:class:`foresight.heal.plan.Remediator`).

* **restart** a pod predicted to fail: its Deployment is scaled up by one through ``/scale`` (a
  surge), and only once the extra replica is Ready is the pod evicted through the Eviction API
  (``POST pods/{name}/eviction``, ``policy/v1``), which the API server refuses with 429 while a
  PodDisruptionBudget allows no disruption: then it waits ``retry_s`` and asks again until
  ``pdb_timeout_s``, and never deletes the pod instead. The surge is taken back afterwards. A
  StatefulSet's pod is evicted without a surge (its replacement has the same name and identity).
* **resize** a container's memory or CPU in place through the ``pods/resize`` subresource
  (Kubernetes 1.33+; a JSON patch that first tests the container's name at its index) when the
  node's allocatable minus every pod's requests has room for the larger request
  (:func:`foresight.heal.plan.resize_fits`); else, or when the kubelet marks the resize
  ``Infeasible``, the workload is scaled out by one, and the outcome says why.
* **drain** a node: cordon it (``spec.unschedulable``), then evict its pods one at a time through the
  Eviction API (DaemonSet and mirror pods stay, as ``kubectl drain`` leaves them), each 429 waited
  out as above.

Waiting is polling with an injected ``sleep`` (tests pass one that advances their fake controllers);
:meth:`KubeRemediator.stop` ends every wait at once (serve shutting down): a pod not yet evicted stays.
RBAC: ``get``/``list`` pods, nodes, replicasets; ``get``/``patch`` deployments/scale and
statefulsets/scale; ``create`` pods/eviction; ``patch`` pods/resize and nodes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes
from kubernetes.client.exceptions import ApiException

from foresight.adapters.kubernetes import KubernetesObjects, _Api, _error, path_of
from foresight.errors import ConfigError, InputError
from foresight.heal.plan import Action, Outcome, Target, resize_fits
from foresight.heal.signals import Resource
from foresight.specs.workload import quantity

__all__ = ["KubeRemediator"]

_MERGE = "application/merge-patch+json"
_JSON_PATCH = "application/json-patch+json"
#: the container resource each resized resource is
_NAME = {Resource.MEMORY: "memory", Resource.CPU: "cpu"}


class KubeRemediator:
    """Restart, resize, scale out and drain through the API server (module docstring)."""

    def __init__(self, client: kubernetes.client.ApiClient, *, sleep: Callable[[float], None] | None = None,
                 retry_s: float = 10.0, pdb_timeout_s: float = 600.0, ready_timeout_s: float = 600.0,
                 poll_s: float = 5.0) -> None:
        self._api = _Api(client)
        self._objects = KubernetesObjects(client)
        self._stopped = threading.Event()
        self.sleep = sleep if sleep is not None else self._stopped.wait
        self.retry_s, self.pdb_timeout_s = retry_s, pdb_timeout_s
        self.ready_timeout_s, self.poll_s = ready_timeout_s, poll_s

    def stop(self) -> None:
        """End every wait now (and every later one): an eviction not yet granted is not made."""
        self._stopped.set()

    # -- restart ------------------------------------------------------------------------------------

    def restart(self, target: Target) -> Outcome:
        """Surge one replica, wait until it is Ready, evict the pod (PDB respected), take the surge back."""
        pod = self._pod(target.namespace, target.pod)
        if pod is None:
            return Outcome(True, f"pod {target.namespace}/{target.pod} is already gone", Action.RESTART)
        kind, name = self._owner(pod, target)
        if kind == "StatefulSet":
            evicted, detail = self._evict(target.namespace, target.pod)
            return Outcome(evicted, f"StatefulSet {name}: no surge (same identity); {detail}", Action.RESTART)
        scale = self._scale(target.namespace, kind, name)
        desired, ready = int(scale.get("spec", {}).get("replicas", 0)), int(scale.get("status", {}).get("readyReplicas", 0))
        surged = desired + 1
        self._set_replicas(target.namespace, kind, name, surged)
        try:
            waited = self._wait(lambda: self._ready(target.namespace, kind, name) >= ready + 1, self.ready_timeout_s)
            if waited is None:
                why = ("Foresight is stopping" if self._stopped.is_set() else
                       f"the surge replica was not Ready within {self.ready_timeout_s:.0f} s")
                return Outcome(False, f"{kind} {name}: {why}: pod {target.pod} left running", Action.RESTART)
            evicted, detail = self._evict(target.namespace, target.pod)
            return Outcome(evicted, f"{kind} {name}: replacement Ready after {waited:.0f} s; {detail}", Action.RESTART)
        finally:
            now = int(self._scale(target.namespace, kind, name).get("spec", {}).get("replicas", surged))
            if now == surged:  # someone else (an autoscaler) changed it meanwhile: theirs stands
                self._set_replicas(target.namespace, kind, name, desired)

    # -- resize / scale out -------------------------------------------------------------------------

    def resize(self, target: Target, resource: Resource, factor: float) -> Outcome:
        """Raise the container's request and limit of ``resource`` by ``factor`` in place, else scale out."""
        if resource not in _NAME or factor <= 1.0:
            raise InputError(f"resize raises memory or cpu by a factor above 1, not {resource.value} x{factor}")
        pod = self._pod(target.namespace, target.pod)
        if pod is None:
            return Outcome(False, f"pod {target.namespace}/{target.pod} is gone: nothing to resize", Action.RESIZE)
        key = _NAME[resource]
        containers = pod.get("spec", {}).get("containers") or []
        index = next((i for i, c in enumerate(containers) if c.get("name") == target.container), 0 if containers else -1)
        if index < 0:
            return Outcome(False, f"pod {target.pod} has no container", Action.RESIZE)
        c = containers[index]
        res = c.get("resources") or {}
        limit = _amount((res.get("limits") or {}).get(key))
        request = _amount((res.get("requests") or {}).get(key))
        if limit is None and request is None:
            return Outcome(False, f"container {c.get('name')}: no {key} request or limit: nothing to raise",
                           Action.RESIZE)
        node = pod.get("spec", {}).get("nodeName") or target.node
        allocatable, requested = self._node_room(node, key)
        fits, why = resize_fits(allocatable, requested, request or 0.0, factor)
        if not fits:
            return self.scale_out(target, f"no room to resize {key} on node {node}: {why}")
        ops: list[dict[str, Any]] = [{"op": "test", "path": f"/spec/containers/{index}/name", "value": c.get("name")}]
        changed = []
        for part, value in (("requests", request), ("limits", limit)):
            if value is not None:
                new = _format(key, value * factor)
                if part not in res:
                    ops.append({"op": "add", "path": f"/spec/containers/{index}/resources/{part}", "value": {}})
                ops.append({"op": "add", "path": f"/spec/containers/{index}/resources/{part}/{key}", "value": new})
                changed.append(f"{part} {_format(key, value)} -> {new}")
        path = path_of("v1", "Pod", target.namespace, target.pod, "resize")
        try:
            self._api.call("PATCH", path, ops, _JSON_PATCH)
        except ApiException as exc:
            if exc.status in (404, 405):  # no pods/resize before Kubernetes 1.33: one more replica instead
                return self.scale_out(target, f"the API server has no pods/resize ({exc.status})")
            raise _error(exc, f"Pod {target.namespace}/{target.pod}", "patch pods/resize") from None
        after = self._pod(target.namespace, target.pod) or {}
        pending = [c for c in (after.get("status", {}).get("conditions") or [])
                   if c.get("type") == "PodResizePending" and c.get("reason") == "Infeasible"]
        if pending:
            return self.scale_out(target, f"the kubelet found the resize infeasible ({pending[0].get('message', '')})")
        return Outcome(True, f"container {c.get('name')} of {target.pod} resized in place ({', '.join(changed)}): {why}",
                       Action.RESIZE)

    def scale_out(self, target: Target, why: str) -> Outcome:
        """One more replica of the pod's workload, through ``/scale``."""
        pod = self._pod(target.namespace, target.pod)
        kind, name = self._owner(pod, target) if pod is not None else ("Deployment", target.workload)
        desired = int(self._scale(target.namespace, kind, name).get("spec", {}).get("replicas", 0))
        self._set_replicas(target.namespace, kind, name, desired + 1)
        return Outcome(True, f"{kind} {name} scaled out {desired} -> {desired + 1}: {why}", Action.SCALE_OUT)

    # -- drain --------------------------------------------------------------------------------------

    def drain(self, node: str) -> Outcome:
        """Cordon ``node``, then evict its pods one at a time (PDBs respected, DaemonSet and mirror pods kept)."""
        try:
            self._api.call("PATCH", path_of("v1", "Node", None, node), {"spec": {"unschedulable": True}}, _MERGE)
        except ApiException as exc:
            if exc.status == 404:
                return Outcome(False, f"node {node} does not exist", Action.DRAIN)
            raise _error(exc, f"Node {node}", "cordon") from None
        pods = [p for p in self._objects.list_objects("v1", "Pod") if (p.get("spec") or {}).get("nodeName") == node
                and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and _evictable(p)]
        blocked: list[str] = []
        for p in sorted(pods, key=lambda p: (p["metadata"].get("namespace", ""), p["metadata"]["name"])):
            ns, name = p["metadata"].get("namespace", "default"), p["metadata"]["name"]
            evicted, detail = self._evict(ns, name)
            if not evicted:
                blocked.append(f"{ns}/{name} ({detail})")
                continue
            self._wait(lambda ns=ns, name=name: self._pod(ns, name) is None, self.ready_timeout_s)
        if blocked:
            return Outcome(False, f"node {node} cordoned; {len(pods) - len(blocked)} of {len(pods)} pods evicted, "
                           f"not: {'; '.join(blocked)}", Action.DRAIN)
        return Outcome(True, f"node {node} cordoned and its {len(pods)} pods evicted one at a time", Action.DRAIN)

    # -- the API calls ------------------------------------------------------------------------------

    def _evict(self, namespace: str, name: str) -> tuple[bool, str]:
        """Ask the Eviction API until it agrees or ``pdb_timeout_s`` passes; a 429 is never forced."""
        body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        path = path_of("v1", "Pod", namespace, name, "eviction")
        waited, refusals = 0.0, 0
        while True:
            try:
                self._api.call("POST", path, body)
                return True, f"pod {name} evicted" + (f" after {refusals} refusal(s) by its PodDisruptionBudget "
                                                     f"({waited:.0f} s)" if refusals else "")
            except ApiException as exc:
                if exc.status == 404:
                    return True, f"pod {name} already gone"
                if exc.status != 429:
                    raise _error(exc, f"Pod {namespace}/{name}", "create pods/eviction") from None
            refusals += 1
            if self._stopped.is_set():
                return False, f"eviction of {name} refused (429) and Foresight is stopping: not evicted"
            if waited + self.retry_s > self.pdb_timeout_s:
                return False, (f"eviction of {name} refused {refusals} time(s) (429: its PodDisruptionBudget allows "
                               f"no disruption) for {waited:.0f} s: not forced")
            self.sleep(self.retry_s)
            waited += self.retry_s

    def _wait(self, done: Callable[[], bool], timeout_s: float) -> float | None:
        """Seconds until ``done()`` held, polling every ``poll_s``; None after ``timeout_s``."""
        waited = 0.0
        while not done():
            if waited + self.poll_s > timeout_s or self._stopped.is_set():
                return None
            self.sleep(self.poll_s)
            waited += self.poll_s
        return waited

    def _pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self._objects.get("v1", "Pod", namespace, name)
        if found is None or (found.get("metadata") or {}).get("deletionTimestamp"):
            return None
        return found

    def _owner(self, pod: Mapping[str, Any], target: Target) -> tuple[str, str]:
        """The Deployment (through its ReplicaSet) or StatefulSet that owns ``pod``; the target's workload
        as a Deployment when the pod names no owner."""
        refs = (pod.get("metadata") or {}).get("ownerReferences") or []
        ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if ref is None:
            return "Deployment", target.workload
        if ref.get("kind") == "ReplicaSet":
            rs = self._objects.get("apps/v1", "ReplicaSet", target.namespace, ref["name"]) or {}
            up = [r for r in (rs.get("metadata") or {}).get("ownerReferences") or [] if r.get("kind") == "Deployment"]
            return ("Deployment", up[0]["name"]) if up else ("Deployment", target.workload)
        if ref.get("kind") in ("Deployment", "StatefulSet"):
            return ref["kind"], ref["name"]
        raise ConfigError(f"pod {target.namespace}/{target.pod} is owned by a {ref.get('kind')}: only Deployments' and "
                          "StatefulSets' pods are healed")

    def _scale(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        try:
            return self._api.call("GET", path_of("apps/v1", kind, namespace, name))  # type: ignore[no-any-return]
        except ApiException as exc:
            raise _error(exc, f"{kind} {namespace}/{name}", "get") from None

    def _ready(self, namespace: str, kind: str, name: str) -> int:
        return int((self._scale(namespace, kind, name).get("status") or {}).get("readyReplicas", 0))

    def _set_replicas(self, namespace: str, kind: str, name: str, replicas: int) -> None:
        try:
            self._api.call("PATCH", path_of("apps/v1", kind, namespace, name, "scale"),
                           {"spec": {"replicas": replicas}}, _MERGE)
        except ApiException as exc:
            raise _error(exc, f"{kind} {namespace}/{name}", "patch /scale") from None

    def _node_room(self, node: str, key: str) -> tuple[float, float]:
        """The node's allocatable ``key`` and what every live pod on it requests."""
        found = self._objects.get("v1", "Node", None, node)
        if found is None:
            raise InputError(f"node {node} does not exist")
        allocatable = _amount(((found.get("status") or {}).get("allocatable") or {}).get(key)) or 0.0
        requested = 0.0
        for p in self._objects.list_objects("v1", "Pod"):
            if (p.get("spec") or {}).get("nodeName") != node or (p.get("status") or {}).get("phase") in ("Succeeded",
                                                                                                          "Failed"):
                continue
            for c in (p.get("spec") or {}).get("containers") or []:
                requested += _amount(((c.get("resources") or {}).get("requests") or {}).get(key)) or 0.0
        return allocatable, requested


def _evictable(pod: Mapping[str, Any]) -> bool:
    """What ``kubectl drain`` evicts: not a mirror (static) pod, not a DaemonSet's."""
    meta = pod.get("metadata") or {}
    if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
        return False
    return not any(r.get("kind") == "DaemonSet" for r in meta.get("ownerReferences") or [])


def _amount(text: Any) -> float | None:
    if text is None:
        return None
    try:
        return quantity(str(text))
    except ValueError:
        raise InputError(f"{text!r} is not a Kubernetes quantity") from None


def _format(key: str, value: float) -> str:
    """A quantity as the API server would keep it: whole bytes of memory, whole millicores of CPU."""
    return f"{round(value)}" if key == "memory" else f"{round(value * 1000)}m"

