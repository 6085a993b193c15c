"""The CRDs are generated from the models, never written twice: deploy/crds equals the generator's
output, the CRDs are valid and structural, and the CRD schema accepts and rejects what the models do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from foresight.gitops.validate import CrdSchemas, validate_manifests
from foresight.specs import load_specs
from foresight.specs.crd import crd_files

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "deploy" / "crds"
EXAMPLES = ROOT / "examples"


def test_deploy_crds_equal_the_generated_ones() -> None:
    generated = crd_files()
    committed = {path.name: path.read_text(encoding="utf-8") for path in CRD_DIR.glob("*.yaml")}
    assert committed == generated, "deploy/crds is stale: run `foresight crds --out deploy/crds`"


def test_crds_are_valid_kubernetes_objects() -> None:
    docs = [yaml.safe_load(text) for text in crd_files().values()]
    validation = validate_manifests(docs)
    assert validation.problems == ()
    assert len(validation.checked) == len(docs) == 5


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, node)]
    for name, sub in node.get("properties", {}).items():
        found += walk(sub, f"{path}.{name}")
    if "items" in node:
        found += walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        found += walk(node["additionalProperties"], f"{path}{{}}")
    return found


@pytest.mark.parametrize("name", sorted(crd_files()))
def test_schemas_are_structural_and_every_spec_field_is_documented(name: str) -> None:
    crd = yaml.safe_load(crd_files()[name])
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in walk(schema):
        assert not {"$ref", "anyOf", "allOf", "oneOf", "title", "const"} & node.keys(), path
        assert node.get("additionalProperties") is not False, path
        assert "type" in node, f"{path} has no type (structural schemas need one everywhere)"
        if isinstance(node.get("exclusiveMinimum"), bool):
            assert "minimum" in node, path
        if path.startswith(".spec.") and not path.endswith(("[]", "{}")):
            assert node.get("description"), f"{path} has no description"
    assert schema["properties"]["metadata"] == {"type": "object"}


def as_resource(spec: Any) -> dict[str, Any]:
    return spec.model_dump(mode="json", exclude_none=True)


def test_examples_pass_the_generated_crd_schemas() -> None:
    crds = CrdSchemas(CRD_DIR)
    specs = [s for path in sorted(EXAMPLES.glob("*.yaml")) for s in load_specs(path)]
    validation = validate_manifests([as_resource(s) for s in specs], crds)
    assert validation.problems == ()
    assert len(validation.checked) == len(specs) == 9


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("spec", "resources", "gpus"), -1, "less than the minimum of 0"),
        (("spec", "framework"), "keras", "is not one of"),
        (("spec", "workers"), "two", "is not of type 'integer'"),
        (("spec", "dataset"), {"uri": "s3://d"}, "'version' is a required property"),
    ],
)
def test_the_crd_schema_rejects_what_the_model_rejects(path: tuple[str, ...], value: Any, message: str) -> None:
    spec = as_resource(load_specs(EXAMPLES / "training-jobs.yaml")[0])
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    validation = validate_manifests([spec], CrdSchemas(CRD_DIR))
    assert any(message in p.message for p in validation.problems), validation.problems
