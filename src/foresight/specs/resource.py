"""A Foresight custom resource, as the API server hands it over, parsed into its typed spec.

The operator reconciles these bodies and ``foresight serve`` reads its policies from them: both
parse here, so a malformed resource gets the same precise message wherever it is read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from foresight.errors import InputError
from foresight.specs.model_deployment import ModelDeployment
from foresight.specs.policies import AnomalyPolicy, ScalingPolicy
from foresight.specs.training_job import TrainingJob
from foresight.specs.workload import API_VERSION

__all__ = ["KINDS", "Resource", "parse"]

Resource = ModelDeployment | TrainingJob | ScalingPolicy | AnomalyPolicy
KINDS: dict[str, type[Resource]] = {
    "ModelDeployment": ModelDeployment,
    "TrainingJob": TrainingJob,
    "ScalingPolicy": ScalingPolicy,
    "AnomalyPolicy": AnomalyPolicy,
}


def parse(body: Mapping[str, Any]) -> Resource:
    """The typed spec of a custom resource; :class:`InputError` naming every bad field otherwise.

    The resource's own name, namespace and labels are used (a spec has no say in where it lives).

    >>> parse({"apiVersion": "foresight.ai/v1alpha1", "kind": "ScalingPolicy",
    ...        "metadata": {"name": "web", "namespace": "shop"}, "spec": {"targetRef": {"name": "web"}}})
    Traceback (most recent call last):
    ...
    foresight.errors.InputError: ScalingPolicy shop/web: spec.capacityRps: Field required
    """
    kind = body.get("kind")
    meta = body.get("metadata") or {}
    where = f"{kind} {meta.get('namespace', '')}/{meta.get('name', '?')}"
    model = KINDS.get(str(kind))
    if model is None:
        raise InputError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    doc = {
        "apiVersion": body.get("apiVersion", API_VERSION),
        "kind": kind,
        "metadata": {k: v for k, v in meta.items() if k in ("name", "namespace", "labels")},
        "spec": body.get("spec"),
    }
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        problems = [f"{_dotted(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise InputError(f"{where}: " + "; ".join(problems)) from None


def _dotted(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(resource)"
