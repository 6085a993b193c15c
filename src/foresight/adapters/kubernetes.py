"""The Kubernetes API adapter: apply owned objects, patch status, hold a Lease. The only home of ``kubernetes``.

Every call goes through the official client's ``ApiClient`` (kubeconfig or in-cluster service
account) with plain dicts, so one code path serves core kinds and custom resources alike:

* :class:`KubernetesObjects` applies a rendered object (create, or a JSON merge patch when the live
  object differs from it), deletes one (absent is fine), patches a ``/status`` subresource, and
  lists a kind (``foresight serve`` reads its ScalingPolicy / AnomalyPolicy resources so);
* :class:`KubernetesScaleTarget` is the :class:`~foresight.ports.ScaleTarget` port on real
  workloads: replicas read from the Deployment (or StatefulSet) status, written through ``/scale``;
* :class:`KubernetesLease` reads and writes a ``coordination.k8s.io/v1`` Lease with optimistic
  concurrency (create answers 409, a JSON patch whose ``test`` of ``resourceVersion`` fails answers
  422: either way another replica wrote first), and :class:`LeaderElector` runs the pure
  :func:`foresight.control.lease.decide_lease` against it.

Failures become errors that say whether to retry: 401/403/404 are :class:`ConfigError` (RBAC or a
missing CRD; retrying will not help), 5xx and unreachable servers :class:`ServiceUnavailable`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import kubernetes
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from foresight.clock import Clock, SystemClock
from foresight.control.lease import LeaseDecision, LeaseRecord, decide_lease
from foresight.errors import ConfigError, NotFound, ServiceUnavailable
from foresight.ports import Scale

__all__ = [
    "Conflict",
    "KubernetesLease",
    "KubernetesObjects",
    "KubernetesScaleTarget",
    "LeaderElector",
    "api_client",
    "path_of",
    "plural_of",
]

_MERGE = "application/merge-patch+json"
_JSON_PATCH = "application/json-patch+json"
#: Plurals of the kinds Foresight writes whose plural is not simply ``kind.lower() + "s"``.
_PLURALS = {
    "Lease": "leases",
    "Ingress": "ingresses",
    "NetworkPolicy": "networkpolicies",
    "ScalingPolicy": "scalingpolicies",
    "AnomalyPolicy": "anomalypolicies",
    "HealingPolicy": "healingpolicies",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
}


class Conflict(ServiceUnavailable):
    """Someone else wrote the object between our read and our write; read again and redo."""


def plural_of(kind: str) -> str:
    """The resource name of a kind, as the API's URLs spell it.

    >>> plural_of("Deployment"), plural_of("ScalingPolicy"), plural_of("PeerAuthentication")
    ('deployments', 'scalingpolicies', 'peerauthentications')
    """
    return _PLURALS.get(kind, kind.lower() + "s")


def path_of(api_version: str, kind: str, namespace: str | None, name: str | None = None, subresource: str | None = None) -> str:
    """The URL path of an object (or of its collection when ``name`` is None).

    >>> path_of("apps/v1", "Deployment", "shop", "web", "scale")
    '/apis/apps/v1/namespaces/shop/deployments/web/scale'
    >>> path_of("v1", "ConfigMap", "shop")
    '/api/v1/namespaces/shop/configmaps'
    """
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if namespace is not None:
        base += f"/namespaces/{namespace}"
    parts = [base, plural_of(kind)] + [p for p in (name, subresource) if p]
    return "/".join(parts)


def api_client(kubeconfig: str | None = None) -> kubernetes.client.ApiClient:
    """A client from ``kubeconfig``, else the pod's service account, else ``~/.kube/config``."""
    try:
        if kubeconfig is not None:
            return kubernetes.config.new_client_from_config(config_file=kubeconfig)
        try:
            kubernetes.config.load_incluster_config()
            return kubernetes.client.ApiClient()
        except kubernetes.config.ConfigException:
            return kubernetes.config.new_client_from_config()
    except (kubernetes.config.ConfigException, OSError) as exc:
        raise ConfigError(f"no Kubernetes credentials: {exc}") from None


class _Api:
    """JSON over the official client's transport, with errors that carry their recovery."""

    def __init__(self, client: kubernetes.client.ApiClient) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        headers = {"Accept": "application/json", "Content-Type": content_type}
        try:
            m, url, hdrs, data, _ = self.client.param_serialize(
                method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            response = self.client.call_api(m, url, header_params=hdrs, body=data)
            response.read()
        except HTTPError as exc:
            raise ServiceUnavailable(f"{method} {path}: Kubernetes API unreachable ({exc})", retry_after_s=5.0) from None
        status = response.status
        if status < 300:
            return json.loads(response.data) if response.data else None
        raise ApiException(status=status, reason=response.reason, http_resp=response)


def _error(exc: ApiException, what: str, verb: str) -> Exception:
    """An API failure as an error that says whether to retry."""
    if exc.status in (401, 403):
        return ConfigError(f"{what}: not allowed to {verb} ({exc.status} {exc.reason}); grant it in the RBAC Role")
    if exc.status == 404:
        return NotFound(f"{what}: not found ({verb}); is its CRD installed?")
    if exc.status in (409, 422):
        return Conflict(f"{what}: changed concurrently ({exc.status})", retry_after_s=0.0)
    return ServiceUnavailable(f"{what}: Kubernetes API answered {exc.status} {exc.reason} to {verb}", retry_after_s=5.0)


def _contains(live: Any, desired: Any) -> bool:
    """Whether ``live`` already holds everything ``desired`` says (extra live fields are someone else's)."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(_contains(live.get(k), v) for k, v in desired.items())
    return bool(live == desired)


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name')}".replace(" /", " ")


class KubernetesObjects:
    """Create, update, delete owned objects and patch custom resources' status."""

    def __init__(self, client: kubernetes.client.ApiClient) -> None:
        self._api = _Api(client)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        try:
            return self._api.call("GET", path_of(api_version, kind, namespace, name))  # type: ignore[no-any-return]
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise _error(exc, f"{kind} {namespace}/{name}", "get") from None

    def list_objects(self, api_version: str, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Every object of ``kind`` in ``namespace`` (None: all namespaces), each with its ``kind``.

        List answers may omit the items' ``apiVersion``/``kind``; they are filled in, so each item
        reads like a single GET.
        """
        what = f"{kind} list in {namespace or 'all namespaces'}"
        try:
            answer = self._api.call("GET", path_of(api_version, kind, namespace))
        except ApiException as exc:
            raise _error(exc, what, "list") from None
        items = (answer or {}).get("items") or []
        return [{"apiVersion": api_version, "kind": kind, **item} for item in items if isinstance(item, Mapping)]

    def apply(self, obj: Mapping[str, Any]) -> Literal["created", "updated", "unchanged"]:
        """Make the live object hold ``obj``: create it, or merge-patch the fields that differ.

        Level-based and idempotent: an object that already matches is not written (no event
        storm, no resourceVersion churn). Fields others own (status, defaults) are kept.
        """
        meta = obj["metadata"]
        api_version, kind, namespace, name = obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]
        what = _describe(obj)
        live = self.get(api_version, kind, namespace, name)
        try:
            if live is None:
                self._api.call("POST", path_of(api_version, kind, namespace), dict(obj))
                return "created"
            if _contains(live, obj):
                return "unchanged"
            self._api.call("PATCH", path_of(api_version, kind, namespace, name), dict(obj), _MERGE)
            return "updated"
        except ApiException as exc:
            raise _error(exc, what, "create" if live is None else "patch") from None

    def delete(
        self, api_version: str, kind: str, namespace: str | None, name: str,
        propagation: Literal["Background", "Foreground", "Orphan"] | None = None,
    ) -> bool:
        """Delete one object; False when it was already gone.

        ``propagation``: what happens to its dependents (None: the kind's default, which for a
        ``batch/v1`` Job leaves its pods running: pass ``"Background"`` to stop them).
        """
        body = None if propagation is None else {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        try:
            self._api.call("DELETE", path_of(api_version, kind, namespace, name), body)
            return True
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise _error(exc, f"{kind} {namespace}/{name}", "delete") from None

    def patch_status(self, api_version: str, kind: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Merge ``status`` into the ``/status`` subresource of a custom resource."""
        try:
            self._api.call("PATCH", path_of(api_version, kind, namespace, name, "status"), {"status": dict(status)}, _MERGE)
        except ApiException as exc:
            raise _error(exc, f"{kind} {namespace}/{name}", "patch status") from None


class KubernetesScaleTarget:
    """The :class:`~foresight.ports.ScaleTarget` port on Deployments (or StatefulSets) of one namespace.

    RBAC: ``get`` on the workloads, ``patch`` on their ``/scale``; nothing else.
    """

    def __init__(self, client: kubernetes.client.ApiClient, namespace: str, kind: str = "Deployment") -> None:
        self._api = _Api(client)
        self.namespace, self.kind = namespace, kind

    def get_scale(self, workload: str) -> Scale:
        """Desired (``spec.replicas``), current (``status.replicas``) and ready replicas."""
        try:
            obj = self._api.call("GET", path_of("apps/v1", self.kind, self.namespace, workload))
        except ApiException as exc:
            raise _error(exc, f"{self.kind} {self.namespace}/{workload}", "get") from None
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        desired = int(spec.get("replicas", 1))
        return Scale(desired, int(status.get("replicas", 0)), int(status.get("readyReplicas", 0)))

    def set_replicas(self, workload: str, replicas: int) -> None:
        """Write ``spec.replicas`` through the ``/scale`` subresource (what an HPA does)."""
        if replicas < 0:
            raise ConfigError(f"{self.kind} {self.namespace}/{workload}: replicas must be >= 0, not {replicas}")
        path = path_of("apps/v1", self.kind, self.namespace, workload, "scale")
        try:
            self._api.call("PATCH", path, {"spec": {"replicas": int(replicas)}}, _MERGE)
        except ApiException as exc:
            raise _error(exc, f"{self.kind} {self.namespace}/{workload}", "patch /scale") from None


class KubernetesLease:
    """One ``coordination.k8s.io/v1`` Lease, read and written with compare-and-swap."""

    def __init__(self, client: kubernetes.client.ApiClient, namespace: str, name: str) -> None:
        self._api = _Api(client)
        self.namespace, self.name = namespace, name

    @property
    def _what(self) -> str:
        return f"Lease {self.namespace}/{self.name}"

    def read(self) -> tuple[LeaseRecord | None, str | None]:
        """The Lease's record and resourceVersion; (None, None) when it does not exist yet."""
        try:
            obj = self._api.call("GET", path_of("coordination.k8s.io/v1", "Lease", self.namespace, self.name))
        except ApiException as exc:
            if exc.status == 404:
                return None, None
            raise _error(exc, self._what, "get") from None
        return LeaseRecord.from_spec(obj.get("spec") or {}), str(obj["metadata"].get("resourceVersion", ""))

    def write(self, record: LeaseRecord, resource_version: str | None) -> None:
        """Create the Lease (``resource_version`` None) or replace its spec if nobody wrote since we read.

        Raises :class:`Conflict` when another replica got there first.
        """
        spec = record.to_spec()
        try:
            if resource_version is None:
                body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": self.name, "namespace": self.namespace}, "spec": spec}
                self._api.call("POST", path_of("coordination.k8s.io/v1", "Lease", self.namespace), body)
                return
            ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}]
            ops.append({"op": "add", "path": "/spec", "value": spec})
            self._api.call("PATCH", path_of("coordination.k8s.io/v1", "Lease", self.namespace, self.name), ops, _JSON_PATCH)
        except ApiException as exc:
            raise _error(exc, self._what, "create" if resource_version is None else "update") from None


class LeaderElector:
    """Leader election over a :class:`KubernetesLease`: call :meth:`step` every ``retry_period_s``.

    A replica may act while :meth:`is_leader` is True: for ``renew_deadline_s`` after its last
    successful step, which is shorter than the lease, so it stops acting before any other replica
    may take over (even if it cannot reach the API to learn it lost). ``release`` on shutdown hands
    the Lease over at once (the next replica need not wait ``lease_duration_s``).
    """

    def __init__(
        self, lease: KubernetesLease, identity: str, lease_duration_s: float = 15.0, renew_deadline_s: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        if renew_deadline_s >= lease_duration_s:
            raise ConfigError(f"renew deadline {renew_deadline_s}s must be shorter than the lease {lease_duration_s}s")
        self.lease, self.identity = lease, identity
        self.lease_duration_s, self.renew_deadline_s = lease_duration_s, renew_deadline_s
        self.clock = clock or SystemClock()
        self.last: LeaseDecision | None = None
        self._leading_until = float("-inf")

    def step(self) -> bool:
        """Read the Lease, decide, write; True when this replica leads (for ``renew_deadline_s``)."""
        now = self.clock.now()
        record, version = self.lease.read()
        decision = decide_lease(record, self.identity, now, self.lease_duration_s)
        self.last = decision
        try:
            if decision.write is not None:
                self.lease.write(decision.write, version)
        except Conflict:
            self._leading_until = float("-inf")
            return False
        self._leading_until = now + self.renew_deadline_s if decision.leader else float("-inf")
        return decision.leader

    def is_leader(self) -> bool:
        """Whether this replica may act now (its last successful step is younger than the renew deadline)."""
        return self.clock.now() < self._leading_until

    def release(self) -> None:
        """Give the Lease up if this replica holds it (on shutdown)."""
        self._leading_until = float("-inf")
        record, version = self.lease.read()
        if record is not None and record.holder == self.identity:
            try:
                self.lease.write(record.released(self.clock.now()), version)
            except Conflict:
                pass
