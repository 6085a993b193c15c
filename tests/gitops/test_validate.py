"""Manifest validation: core kinds with kubernetes-validate, custom resources with their CRD's
schema (closed to typos), every problem listed with kind/name/path, unchecked objects reported."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from foresight.errors import ConfigError, InputError
from foresight.gitops.validate import (
    SCHEMA_DIR_ENV,
    CrdSchemas,
    Problem,
    draft4,
    find_schema_dir,
    validate_manifests,
)

WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [
            {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {
                    "type": "object",
                    "required": ["size"],
                    "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "colour": {"type": "string", "enum": ["red", "blue"], "nullable": True},
                        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                  "properties": {"known": {"type": "string"}}},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                                     "properties": {"spec": {"type": "object"}}},
                    },
                    "anyOf": [{"properties": {"size": {"maximum": 10}}}, {"properties": {"colour": {}}}],
                }},
            }}},
            {"name": "v0", "served": False, "storage": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
        ],
    },
}


def widget(spec: dict, name: str = "w", version: str = "v1") -> dict:
    return {"apiVersion": f"example.com/{version}", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


@pytest.fixture
def crds(tmp_path) -> CrdSchemas:
    (tmp_path / "widgets.yaml").write_text(yaml.safe_dump(WIDGET_CRD))
    return CrdSchemas(tmp_path)


def test_draft4_turns_nullable_into_null_and_closes_objects_except_junctor_branches():
    schema = draft4(WIDGET_CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert spec["properties"]["colour"] == {"type": ["string", "null"], "enum": ["red", "blue", None]}
    assert "additionalProperties" not in spec["properties"]["extra"]  # preserves unknown fields
    assert "additionalProperties" not in spec["anyOf"][0]  # a branch names only some properties
    assert set(spec["properties"]["template"]["properties"]) == {"apiVersion", "kind", "metadata", "spec"}
    jsonschema.Draft4Validator.check_schema(schema)


def test_custom_resources_get_every_problem_with_its_path(crds):
    good = widget({"size": 3, "colour": None, "extra": {"anything": 1}, "template": {"kind": "Pod", "spec": {}}})
    bad = widget({"sise": 3, "colour": "green"}, name="Bad_Name")
    validation = validate_manifests([good, bad], crds)
    assert validation.checked == (f"Widget/w: CRD schema in {crds.directory}", f"Widget/Bad_Name: CRD schema in {crds.directory}")
    assert [(p.kind, p.name, p.path) for p in validation.problems] == [
        ("Widget", "Bad_Name", "metadata.name"),
        ("Widget", "Bad_Name", "spec"),  # 'size' is required
        ("Widget", "Bad_Name", "spec"),  # 'sise' was unexpected
        ("Widget", "Bad_Name", "spec.colour"),
    ]
    messages = " | ".join(p.message for p in validation.problems)
    assert "'size' is a required property" in messages and "'sise' was unexpected" in messages
    assert "'green' is not one of ['red', 'blue', None]" in messages


def test_unknown_versions_are_problems_and_unknown_groups_are_reported_unchecked(crds):
    validation = validate_manifests(
        [widget({"size": 1}, version="v0"), {"apiVersion": "other.io/v1", "kind": "Gadget", "metadata": {"name": "g"}}],
        crds,
    )
    assert validation.problems == (
        Problem("Widget", "w", "apiVersion", "no CRD serves Widget in example.com/v0; served: Widget example.com/v1"),
    )
    assert validation.unchecked == (f"Gadget/g (other.io/v1): no CRD of group other.io in {crds.directory}",)
    assert validate_manifests([widget({"size": 1})]).unchecked == ("Widget/w (example.com/v1): no CRD schema directory",)


def test_core_kinds_are_checked_strictly_by_kubernetes_validate():
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}, "data": {"a": "b"}}
    typo = {**config_map, "metadata": {"name": "d", "namespace": "Not_OK"}, "dat": {}}
    unknown = {"apiVersion": "apps/v1", "kind": "Deploymint", "metadata": {"name": "e"}}
    validation = validate_manifests([config_map, typo, unknown, "text", {"kind": 3}], kubernetes_version="1.37")
    assert [str(p) for p in validation.problems] == [
        "ConfigMap/d: metadata.namespace: 'Not_OK' is not a DNS-1123 label (lower-case a-z, 0-9, '-')",
        "ConfigMap/d: (document): Additional properties are not allowed ('dat' was unexpected)",
        "Deploymint/e: kind: Kubernetes 1.37 has no kind Deploymint in apps/v1",
        "?/(document 4): (document): is of type str, not a mapping",
        "?/(document 5): apiVersion: is missing or not a string",
        "?/(document 5): kind: is missing or not a string",
        "?/(document 5): metadata: is missing or not a mapping",
    ]
    with pytest.raises(ConfigError, match="no schemas for Kubernetes 9.99"):
        validate_manifests([config_map], kubernetes_version="9.99")


def test_raise_for_problems_lists_every_problem():
    validation = validate_manifests([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": 1}}])
    with pytest.raises(InputError, match=r"rendered: 1 problem\(s\).*\n  ConfigMap/x: data.a: 1 is not of type"):
        validation.raise_for_problems("rendered")
    validate_manifests([]).raise_for_problems()


def test_real_crds_catch_typos_in_a_scaled_object_and_accept_an_istio_virtual_service(shared_data):
    crds = CrdSchemas(shared_data / "schemas")
    scaled = {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "api", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"name": "api"}, "minReplicaCount": -1,
                 "triggers": [{"type": "external", "metdata": {"scalerAddress": "s:9090"}}]},
    }
    service = {
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "api"},
        "spec": {"hosts": ["api"], "http": [{"route": [
            {"destination": {"host": "api", "subset": "stable"}, "weight": 90},
            {"destination": {"host": "api", "subset": "canary"}, "weight": 10},
        ]}]},
    }
    validation = validate_manifests([scaled, service], crds)
    assert [(p.path, p.message) for p in validation.problems] == [
        ("spec.minReplicaCount", "-1 is less than the minimum of 0"),
        ("spec.triggers[0]", "'metadata' is a required property"),
        ("spec.triggers[0]", "Additional properties are not allowed ('metdata' was unexpected)"),
    ]
    assert len(validation.checked) == 2
    jsonschema.Draft4Validator.check_schema(draft4(crds.kinds("keda.sh")[("ScaledObject", "v1alpha1")]))


def test_schema_dir_comes_from_the_option_then_the_environment_then_beside_the_checkout(tmp_path, monkeypatch):
    checkout, given = tmp_path / "checkout", tmp_path / "given"
    checkout.mkdir()
    given.mkdir()
    monkeypatch.chdir(checkout)
    assert find_schema_dir(None, environ={}) is None
    (tmp_path / "shared" / "data" / "schemas").mkdir(parents=True)
    assert find_schema_dir(None, environ={}).resolve() == tmp_path / "shared" / "data" / "schemas"
    assert find_schema_dir(None, environ={SCHEMA_DIR_ENV: str(given)}) == given
    assert find_schema_dir(given, environ={SCHEMA_DIR_ENV: "/nowhere"}) == given
    with pytest.raises(ConfigError, match=r"\$FORESIGHT_SCHEMA_DIR: CRD schema directory /nowhere does not exist"):
        find_schema_dir(None, environ={SCHEMA_DIR_ENV: "/nowhere"})
    with pytest.raises(ConfigError, match="--schema-dir: CRD schema directory"):
        find_schema_dir(tmp_path / "absent")
    with pytest.raises(ConfigError, match="CRD schema directory"):
        CrdSchemas(tmp_path / "absent")


def test_a_broken_crd_file_is_a_config_error_naming_it(tmp_path):
    spec = {**WIDGET_CRD["spec"], "names": {"plural": "widgets"}}  # no kind
    broken = {**WIDGET_CRD, "spec": spec}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    with pytest.raises(ConfigError, match=r"broken.yaml: not a readable CustomResourceDefinition file \(KeyError"):
        validate_manifests([widget({"size": 1})], CrdSchemas(tmp_path))
