"""The HealingPolicy example is what the model and the generated CRD both accept, as written."""

from __future__ import annotations

from pathlib import Path

import yaml

from foresight.gitops.validate import CrdSchemas, validate_manifests
from foresight.specs.healing import HealingPolicy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "healing" / "shop.yaml"


def test_the_example_loads_as_a_healing_policy() -> None:
    policy = HealingPolicy.model_validate(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    assert policy.metadata.namespace == "shop"
    assert policy.spec.workloads == ["cart", "checkout"]
    assert "drain" not in policy.spec.actions
    assert policy.spec.dry_run
    assert (policy.spec.rate_limits.per_workload, policy.spec.rate_limits.per_namespace) == (1, 3)


def test_the_example_passes_the_generated_crd_schema() -> None:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    validation = validate_manifests([document], CrdSchemas(ROOT / "deploy" / "crds"))
    assert validation.problems == ()
    assert len(validation.checked) == 1


def test_the_crd_schema_rejects_an_action_the_model_rejects() -> None:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    document["spec"]["actions"] = ["reboot"]
    validation = validate_manifests([document], CrdSchemas(ROOT / "deploy" / "crds"))
    assert any("is not one of" in p.message for p in validation.problems), validation.problems
