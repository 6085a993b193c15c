"""What the operator should make true for one custom resource, decided without any server.

:func:`decide` reads a custom resource as the API server returned it (a dict) and answers with a
:class:`Decision`: the objects that realise it (ownerReferences set, so Kubernetes' garbage
collector follows the owner), the objects it owned before and no longer needs (pruned), the new
inventory, or, for a malformed resource, the precise validation error. :func:`status` turns a
decision and what acting on it did into the resource's ``status`` (``observedGeneration``,
``Ready``/``Degraded`` conditions, the inventory). :func:`cleanup` lists what a deleted resource
leaves behind. The handlers in :mod:`foresight.operator.handlers` only read, call these, and act.

The inventory (``status.owned``) is how pruning works without label selectors: what this
resource once created is listed on the resource itself, so a canary removed from a spec, or a
ScalingPolicy switched from ``keda`` to ``hpa``, deletes exactly the objects that no longer belong.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from foresight.autoscale.manifests import (
    DEFAULT_SCALER_ADDRESS,
    DESIRED_REPLICAS,
    AutoscalingSpec,
    desired_replicas_hpa,
    scaled_object,
)
from foresight.errors import ConfigError, InputError
from foresight.gitops.admit import admit
from foresight.gitops.render import check, render
from foresight.specs import ModelDeployment, ScalingPolicy, TrainingJob
from foresight.specs.resource import Resource, parse
from foresight.specs.workload import API_VERSION

__all__ = [
    "Decision",
    "Ref",
    "anomaly_config_name",
    "cleanup",
    "condition_time",
    "decide",
    "status",
]

#: Default address of Foresight's KEDA gRPC scaler (the Helm chart's Service, port 9090).
DEFAULT_SCALER = DEFAULT_SCALER_ADDRESS


@dataclass(frozen=True, order=True)
class Ref:
    """Which object: apiVersion, kind, namespace, name (what ``status.owned`` lists)."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Ref:
        meta = obj["metadata"]
        return cls(obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])

    def to_dict(self) -> dict[str, str]:
        return {"apiVersion": self.api_version, "kind": self.kind, "namespace": self.namespace, "name": self.name}

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Decision:
    """What to make true: ``objects`` to apply, ``prune`` to delete, the inventory ``owned`` after both;
    or ``error``, the precise reason the resource is malformed (permanent: retrying cannot fix it)."""

    objects: tuple[dict[str, Any], ...] = ()
    prune: tuple[Ref, ...] = ()
    owned: tuple[Ref, ...] = ()
    error: str | None = None
    spec: Resource | None = field(default=None, compare=False)
    note: str = ""


def anomaly_config_name(policy_name: str) -> str:
    """The ConfigMap an AnomalyPolicy is rendered into."""
    return f"foresight-anomaly-{policy_name}"


def _rendered(spec: Resource, scaler_address: str) -> tuple[list[dict[str, Any]], str]:
    """The objects that realise ``spec`` (before ownership is stamped), and the manifest gate's note:
    the spec's security override, which the status then carries (empty without one)."""
    if isinstance(spec, ModelDeployment | TrainingJob):
        docs = render(spec)
        for doc in docs:  # the operator knows where its own scaler listens (the chart's Service)
            if doc["kind"] == "ScaledObject":
                for trigger in doc["spec"]["triggers"]:
                    if trigger.get("type") == "external":
                        trigger["metadata"]["scalerAddress"] = scaler_address
        what = f"{spec.kind} {spec.metadata.namespace}/{spec.metadata.name}"
        check(docs).raise_for_problems(what)
        admission = admit(spec, docs)
        admission.raise_if_blocked(what)
        return docs, admission.override or ""
    meta = spec.metadata
    labels = {**meta.labels, "app.kubernetes.io/managed-by": "foresight", "app.kubernetes.io/name": spec.spec.target_ref.name}
    if isinstance(spec, ScalingPolicy):
        policy = spec.spec
        if policy.mode == "direct":
            return [], ""
        try:
            auto = AutoscalingSpec(
                namespace=meta.namespace, workload=policy.workload_name, deployment=policy.target_ref.name,
                min_replicas=policy.min_replicas, max_replicas=policy.max_replicas, capacity_rps=policy.capacity_rps,
                target_utilisation_percent=policy.target_utilisation_percent, scaler_address=scaler_address, cooldown_s=policy.cooldown_s,
            )
        except ValidationError as exc:
            raise InputError(f"ScalingPolicy {meta.namespace}/{meta.name}: {exc.errors()[0]['msg']}") from None
        # mode hpa is the benchmark's headline path: the HPA follows the replicas ``foresight serve``'s
        # predictive policy publishes (AverageValue 1), CPU at 90% beside it, no stabilisation or
        # scale-up tolerance of its own (the bench's Scenario defaults: the policy stabilises itself)
        obj = scaled_object(auto) if policy.mode == "keda" else desired_replicas_hpa(auto)
        obj["spec"]["scaleTargetRef"]["kind"] = policy.target_ref.kind
        obj["metadata"]["labels"] = {**obj["metadata"]["labels"], **labels}
        return [obj], ""
    policy_doc = spec.spec.model_dump(mode="json", by_alias=True)
    return [{
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": anomaly_config_name(meta.name), "namespace": meta.namespace,
                     "labels": {**labels, "foresight.ai/config": "anomaly-policy"}},
        "data": {"policy.json": json.dumps(policy_doc, sort_keys=True, indent=2) + "\n"},
    }], ""


def _owner_reference(body: Mapping[str, Any]) -> dict[str, Any] | None:
    meta = body.get("metadata") or {}
    if not meta.get("uid"):
        return None  # not yet stored by an API server (e.g. a dry run): nothing to point at
    return {"apiVersion": body.get("apiVersion", API_VERSION), "kind": body["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}


def _previous(body: Mapping[str, Any]) -> tuple[Ref, ...]:
    owned = ((body.get("status") or {}).get("owned")) or []
    refs = []
    for item in owned:
        if isinstance(item, Mapping) and {"apiVersion", "kind", "name"} <= item.keys():
            refs.append(Ref(item["apiVersion"], item["kind"], item.get("namespace", ""), item["name"]))
    return tuple(refs)


def decide(body: Mapping[str, Any], scaler_address: str = DEFAULT_SCALER) -> Decision:
    """The desired state of one custom resource (see the module docstring).

    >>> d = decide({"apiVersion": "foresight.ai/v1alpha1", "kind": "ScalingPolicy",
    ...             "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
    ...             "spec": {"targetRef": {"name": "web"}, "mode": "hpa", "capacityRps": 50}})
    >>> [str(r) for r in d.owned], d.objects[0]["metadata"]["ownerReferences"][0]["uid"]
    (['HorizontalPodAutoscaler/web'], 'u1')
    """
    previous = _previous(body)
    try:
        spec = parse(body)
        docs, override = _rendered(spec, scaler_address)
    except (InputError, ConfigError) as exc:
        return Decision(owned=previous, error=str(exc))
    owner = _owner_reference(body)
    objects = []
    for doc in docs:
        doc = {**doc, "metadata": {**doc["metadata"]}}
        if owner is not None:
            doc["metadata"]["ownerReferences"] = [owner]
        objects.append(doc)
    owned = tuple(Ref.of(o) for o in objects)
    prune = tuple(sorted(set(previous) - set(owned)))
    note = override
    if isinstance(spec, ScalingPolicy) and spec.spec.mode == "direct":
        note = f"mode direct: Foresight scales {spec.spec.target_ref.kind}/{spec.spec.target_ref.name} itself"
    elif isinstance(spec, ScalingPolicy) and spec.spec.mode == "hpa":
        note = (f"mode hpa: the HPA follows {DESIRED_REPLICAS} from foresight serve (prometheus-adapter must serve "
                "it: `foresight render autoscaling --kind hpa --form desired` writes the rule)")
    return Decision(tuple(objects), prune, owned, None, spec, note)


def cleanup(body: Mapping[str, Any], scaler_address: str = DEFAULT_SCALER) -> tuple[Ref, ...]:
    """Everything a deleted resource may have left: its inventory plus what it would render now."""
    decision = decide(body, scaler_address)
    return tuple(sorted(set(decision.owned) | set(_previous(body))))


def condition_time(now: float) -> str:
    """RFC 3339 seconds, as Kubernetes writes ``lastTransitionTime``.

    >>> condition_time(0.0)
    '1970-01-01T00:00:00Z'
    """
    return datetime.datetime.fromtimestamp(now, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, ok: bool, reason: str, message: str, generation: Any, previous: Mapping[str, Any], now: float) -> dict[str, Any]:
    state = "True" if ok else "False"
    old = previous.get(kind) or {}
    since = old.get("lastTransitionTime") if old.get("status") == state else None
    return {"type": kind, "status": state, "reason": reason, "message": message,
            "observedGeneration": generation, "lastTransitionTime": since or condition_time(now)}


def status(body: Mapping[str, Any], decision: Decision, outcome: str | None, failure: str | None, now: float) -> dict[str, Any]:
    """The resource's new ``status``.

    ``outcome`` says what acting did (``"applied 3 objects: ..."``, ``"commit 1a2b3c4"``), ``failure``
    why acting failed (the API or Git was unreachable, RBAC forbids a write); a malformed resource
    carries ``decision.error``. ``lastTransitionTime`` moves only when a condition's status flips.
    """
    meta = body.get("metadata") or {}
    generation = meta.get("generation")
    previous = {c.get("type"): c for c in ((body.get("status") or {}).get("conditions") or []) if isinstance(c, Mapping)}
    if decision.error is not None:
        ready = _condition("Ready", False, "InvalidSpec", decision.error, generation, previous, now)
        degraded = _condition("Degraded", True, "InvalidSpec", decision.error, generation, previous, now)
    elif failure is not None:
        ready = _condition("Ready", False, "ReconcileFailed", failure, generation, previous, now)
        degraded = _condition("Degraded", True, "ReconcileFailed", failure, generation, previous, now)
    else:
        message = "; ".join(p for p in (outcome or "", decision.note) if p) or "nothing to do"
        ready = _condition("Ready", True, "Reconciled", message, generation, previous, now)
        degraded = _condition("Degraded", False, "Reconciled", "no problem", generation, previous, now)
    # After a failed act, some pruned objects may still exist: keep them listed until a reconcile succeeds.
    owned = sorted(set(decision.owned) | set(decision.prune)) if failure is not None else list(decision.owned)
    return {"observedGeneration": generation, "conditions": [ready, degraded], "owned": [r.to_dict() for r in owned]}

