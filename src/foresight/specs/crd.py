"""CustomResourceDefinitions generated from the spec models, so a schema is never written twice.

The pydantic models are the one source: their JSON Schema (field descriptions included) is
turned into the *structural* OpenAPI v3 schema the API server requires: ``$ref`` inlined,
``anyOf [T, null]`` as ``nullable``, exclusive bounds in OpenAPI 3.0's boolean form, no
``title``/``additionalProperties: false`` (the API server prunes unknown fields instead), and
``metadata`` left to Kubernetes. ``deploy/crds/`` holds the output of :func:`crd_files`; a test
keeps it equal, ``foresight crds --out DIR`` rewrites it.

Rules across fields (weights summing to 100, conflicting affinity) stay in the models: the
renderer and ``foresight deploy`` check them before anything reaches Git.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from pydantic import BaseModel

from foresight.specs.healing import HealingPolicy
from foresight.specs.model_deployment import ModelDeployment
from foresight.specs.policies import AnomalyPolicy, ScalingPolicy
from foresight.specs.training_job import TrainingJob
from foresight.specs.workload import GROUP

__all__ = ["PLURALS", "crd", "crd_files", "openapi_schema"]

_NAMES: dict[type[BaseModel], tuple[str, list[str]]] = {
    ModelDeployment: ("modeldeployments", ["mdep"]),
    TrainingJob: ("trainingjobs", ["tjob"]),
    ScalingPolicy: ("scalingpolicies", ["spol"]),
    AnomalyPolicy: ("anomalypolicies", ["apol"]),
    HealingPolicy: ("healingpolicies", ["hpol"]),
}
_COLUMNS: dict[type[BaseModel], list[dict[str, str]]] = {
    ModelDeployment: [
        {"name": "Model", "type": "string", "jsonPath": ".spec.model.version"},
        {"name": "Canary", "type": "string", "jsonPath": ".spec.canary.model.version"},
        {"name": "Canary-Weight", "type": "integer", "jsonPath": ".spec.canary.traffic.canary"},
    ],
    TrainingJob: [
        {"name": "Framework", "type": "string", "jsonPath": ".spec.framework"},
        {"name": "Workers", "type": "integer", "jsonPath": ".spec.workers"},
        {"name": "GPUs-Per-Worker", "type": "integer", "jsonPath": ".spec.resources.gpus"},
    ],
    ScalingPolicy: [
        {"name": "Target", "type": "string", "jsonPath": ".spec.targetRef.name"},
        {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
    ],
    AnomalyPolicy: [
        {"name": "Target", "type": "string", "jsonPath": ".spec.targetRef.name"},
        {"name": "Detector", "type": "string", "jsonPath": ".spec.detector"},
    ],
    HealingPolicy: [
        {"name": "Dry-Run", "type": "boolean", "jsonPath": ".spec.dryRun"},
    ],
}
#: kinds ``foresight serve`` reads each period with nothing to render: the operator does not reconcile them
_SERVE_ONLY = (HealingPolicy,)

#: ``{kind: plural}`` of every Foresight custom resource the operator watches.
PLURALS: dict[str, str] = {model.model_fields["kind"].default: names[0] for model, names in _NAMES.items()
                           if model not in _SERVE_ONLY}


def openapi_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The structural ``openAPIV3Schema`` of a spec kind (``apiVersion``, ``kind``, ``metadata``, ``spec``).

    >>> schema = openapi_schema(TrainingJob)
    >>> schema["properties"]["spec"]["properties"]["resources"]["properties"]["gpus"]["minimum"]
    0
    >>> schema["properties"]["spec"]["properties"]["dataset"]["nullable"]
    True
    """
    source = model.model_json_schema(by_alias=True)
    definitions = source.get("$defs", {})
    spec = _structural(source["properties"]["spec"], definitions)
    return {
        "type": "object",
        "description": source.get("description", ""),
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "Version of this object's schema."},
            "kind": {"type": "string", "description": "Kind of this object."},
            "metadata": {"type": "object"},
            "spec": spec,
            "status": {
                "type": "object",
                "description": "What a controller observed; written by controllers, never by users.",
                "x-kubernetes-preserve-unknown-fields": True,
            },
        },
    }


def crd(model: type[BaseModel]) -> dict[str, Any]:
    """The ``apiextensions.k8s.io/v1`` CustomResourceDefinition of a spec kind."""
    kind = model.model_fields["kind"].default
    plural, short_names = _NAMES[model]
    version = model.model_fields["api_version"].default.rpartition("/")[2]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}", "labels": {"app.kubernetes.io/managed-by": "foresight"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
            },
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": openapi_schema(model)},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        *_COLUMNS[model],
                        {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                }
            ],
        },
    }


def crd_files() -> dict[str, str]:
    """``{file name: YAML}`` of every CRD, as ``deploy/crds/`` holds them (``<plural>.<group>.yaml``)."""
    header = "# Generated from foresight.specs by `foresight crds --out deploy/crds`; do not edit.\n"
    return {
        f"{_NAMES[model][0]}.{GROUP}.yaml": header + yaml.safe_dump(crd(model), sort_keys=False, width=100)
        for model in _NAMES
    }


def _structural(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """One JSON Schema node as a structural OpenAPI v3 node (recursively)."""
    if "$ref" in schema:
        target = definitions[schema["$ref"].rsplit("/", 1)[1]]
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return _structural(merged, definitions)
    variants = schema.get("anyOf")
    if variants is not None:
        others = [v for v in variants if v.get("type") != "null"]
        if len(others) != 1 or len(others) == len(variants):
            raise TypeError(f"only 'T | None' unions can become a structural schema, not {variants}")
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**_structural({**others[0], **rest}, definitions), "nullable": True}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("title", "$defs") or (key == "default" and value is None):
            continue
        if key == "additionalProperties" and value is False:
            continue
        if key == "properties":
            out[key] = {name: _structural(sub, definitions) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _structural(value, definitions)
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = copy.deepcopy(value)  # shared lists would become YAML anchors
    return out
