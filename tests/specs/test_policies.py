"""ScalingPolicy and AnomalyPolicy: camelCase YAML, closed to typos, coherent, and their generated CRD
schemas accept and reject what the models do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from foresight.gitops.validate import CrdSchemas, validate_manifests
from foresight.specs import AnomalyPolicy, ScalingPolicy

CRD_DIR = Path(__file__).resolve().parents[2] / "deploy" / "crds"
SCALING = {"apiVersion": "foresight.ai/v1alpha1", "kind": "ScalingPolicy", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"targetRef": {"name": "web"}, "capacityRps": 50, "cooldownSeconds": 120, "maxStep": 2}}
ANOMALY = {"apiVersion": "foresight.ai/v1alpha1", "kind": "AnomalyPolicy", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"targetRef": {"name": "web"}, "signals": [{"name": "p95_latency", "query": "histogram_quantile(0.95, x)"}],
                    "forSeconds": 30}}


def test_fields_read_in_camel_case_and_default_sensibly() -> None:
    policy = ScalingPolicy.model_validate(SCALING)
    assert (policy.spec.cooldown_s, policy.spec.max_step, policy.spec.mode) == (120, 2, "keda")
    assert policy.spec.workload_name == "web" and policy.spec.target_ref.kind == "Deployment"
    anomaly = AnomalyPolicy.model_validate(ANOMALY)
    assert (anomaly.spec.for_s, anomaly.spec.detector, anomaly.spec.threshold) == (30, "surprise", 0.99)
    assert anomaly.model_dump(by_alias=True)["spec"]["forSeconds"] == 30


def test_policies_are_frozen() -> None:
    policy = ScalingPolicy.model_validate(SCALING)
    with pytest.raises(ValidationError):
        policy.spec.max_step = 9  # type: ignore[misc]


@pytest.mark.parametrize(("model", "doc", "path", "value", "message"), [
    (ScalingPolicy, SCALING, ("spec", "maxReplicas"), 0, "greater than or equal to 1"),
    (ScalingPolicy, SCALING, ("spec", "mode"), "vpa", "Input should be 'keda', 'hpa' or 'direct'"),
    (ScalingPolicy, SCALING, ("spec", "capacityRPS"), 5, "Extra inputs are not permitted"),
    (ScalingPolicy, SCALING, ("spec", "targetUtilisationPercent"), 150, "less than or equal to 100"),
    (AnomalyPolicy, ANOMALY, ("spec", "threshold"), 1.0, "less than 1"),
    (AnomalyPolicy, ANOMALY, ("spec", "detector"), "lstm", "Input should be 'surprise', 'ewma' or 'ewma-two-sided'"),
    (AnomalyPolicy, ANOMALY, ("spec", "targetRef"), {"name": "Web"}, "String should match pattern"),
])
def test_bad_values_are_refused_with_the_field(model: Any, doc: dict[str, Any], path: tuple[str, ...], value: Any, message: str) -> None:
    bad: dict[str, Any] = {**doc, "spec": {**doc["spec"]}}
    bad[path[0]][path[1]] = value
    with pytest.raises(ValidationError, match=message):
        model.model_validate(bad)


def test_the_generated_crd_schemas_accept_valid_policies_and_reject_bad_ones() -> None:
    crds = CrdSchemas(CRD_DIR)
    assert validate_manifests([SCALING, ANOMALY], crds).problems == ()
    bad_scaling = {**SCALING, "spec": {**SCALING["spec"], "mode": "vpa", "maxReplicas": 0}}
    bad_anomaly = {**ANOMALY, "spec": {**ANOMALY["spec"], "signals": []}}
    problems = [str(p) for p in validate_manifests([bad_scaling, bad_anomaly], crds).problems]
    assert any("spec.mode" in p for p in problems) and any("spec.maxReplicas" in p for p in problems)
    assert any("spec.signals" in p for p in problems), problems
