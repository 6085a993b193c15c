"""The manifest gate: every rendered example passes Foresight's own scanner without errors; an error finding
refuses a spec's objects (on every path: render, deploy, the operator, training runs) unless the spec's
securityOverride allows its rule with a reason, which is then recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from foresight.gitops.admit import ManifestRefused, admit
from foresight.gitops.argocd import Target, deploy
from foresight.gitops.edge import HOST_PATH_REASON
from foresight.gitops.render import render
from foresight.gitops.repo import GitRemote
from foresight.operator.decide import decide
from foresight.security import Level, scan_manifest_files
from foresight.security.manifests import read_manifest
from foresight.specs import ModelDeployment, load_specs, parse_specs
from tests.cli.test_cli_deliver import git

ROOT = Path(__file__).resolve().parents[2]


def body(spec: ModelDeployment) -> dict[str, Any]:
    """The spec as the API server hands it to the operator (stored: it has a uid)."""
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True) | {
        "metadata": {"name": spec.metadata.name, "namespace": spec.metadata.namespace, "uid": "u1"}}


def privileged(allow: str = "") -> ModelDeployment:
    parsed = parse_specs(f"""
apiVersion: foresight.ai/v1alpha1
kind: ModelDeployment
metadata: {{name: probe, namespace: ml}}
spec:
  model: {{uri: s3://m/probe/v1, version: v1}}
  framework: sklearn
  containerSecurityContext: {{privileged: true}}
  securityOverride: {{reason: "reads GPU counters through the device files"{allow}}}
""")[0]
    assert isinstance(parsed, ModelDeployment)
    return parsed


@pytest.mark.parametrize("example", sorted(p.name for p in (ROOT / "examples").glob("*.yaml")))
def test_every_rendered_example_passes_the_manifest_scanner_without_errors_or_warnings(example: str) -> None:
    for spec in load_specs(ROOT / "examples" / example):
        admission = admit(spec, render(spec))
        assert admission.passed and admission.allowed == ()
        # only notes remain: FSM021, images pinned by version tag rather than by digest; and an edge model's
        # hostPath (FSM005), accepted in its Deployment with the reason
        assert {(f.level, f.rule_id) for f in admission.findings if f.accepted is None} <= {(Level.NOTE, "FSM021")}, \
            admission.findings
        assert {(f.rule_id, f.accepted) for f in admission.findings if f.accepted is not None} <= {("FSM005", HOST_PATH_REASON)}


def test_the_charts_rendered_manifests_pass_the_scanner_but_for_the_api_token_it_needs() -> None:
    files: dict[str, list[Any]] = {}
    for path in sorted((ROOT / "deploy" / "manifests" / "templates").glob("*.yaml")):
        docs, unreadable = read_manifest(path.read_text(encoding="utf-8"), str(path))
        assert unreadable == []
        files[str(path)] = docs
    findings = scan_manifest_files(files)
    assert not [f for f in findings if f.level is Level.ERROR]
    # the one warning: the chart's pods call the Kubernetes API (Lease, custom resources), so they mount a
    # token, and the Deployment says so in its accept annotation
    assert [(f.level, f.rule_id) for f in findings if f.level is not Level.NOTE] == [(Level.WARNING, "FSM026")]
    assert all(f.accepted is not None for f in findings if f.level is not Level.NOTE)


def test_an_error_finding_refuses_and_names_the_rule() -> None:
    spec = privileged()
    admission = admit(spec, render(spec))
    assert not admission.passed and {f.rule_id for f in admission.blocking} == {"FSM002", "FSM009"}
    with pytest.raises(ManifestRefused) as caught:
        admission.raise_if_blocked("ModelDeployment/probe")
    text = str(caught.value)
    assert "\n" not in text and text.startswith("ModelDeployment/probe: refused by the manifest scan: error FSM002")


def test_an_allowance_with_a_reason_lets_the_rule_through_and_is_said() -> None:
    spec = privileged(", allow: [FSM002, FSM009]")
    admission = admit(spec, render(spec))
    assert admission.passed and {f.rule_id for f in admission.allowed} == {"FSM002", "FSM009"}
    assert admission.override is not None
    assert admission.override.startswith("security override of ModelDeployment/probe: reads GPU counters through "
                                         "the device files; lets through error FSM002 (privileged-container)")
    partly = privileged(", allow: [FSM002]")
    assert [f.rule_id for f in admit(partly, render(partly)).blocking] == ["FSM009"]


def test_the_operator_refuses_the_same_spec_in_its_status() -> None:
    refused = decide(body(privileged()))
    assert refused.objects == () and refused.error is not None and "refused by the manifest scan" in refused.error
    allowed = decide(body(privileged(", allow: [FSM002, FSM009]")))
    assert allowed.error is None and allowed.note.startswith("security override of ModelDeployment/probe")


def test_deploy_refuses_before_git_and_records_an_allowed_override_in_the_commit(tmp_path: Path) -> None:
    bare = tmp_path / "gitops.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    target = Target(repo_url=bare.as_uri())
    with pytest.raises(ManifestRefused):
        deploy([privileged()], GitRemote(str(bare)), target, "try")
    assert git("for-each-ref", cwd=bare) == ""
    result = deploy([privileged(", allow: [FSM002, FSM009]")], GitRemote(str(bare)), target, "SEC-7")
    assert list(result.overrides) == ["ml/probe"]
    assert result.message.endswith(f"Why: SEC-7\nSecurity: {result.overrides['ml/probe']}\n")


def test_a_finding_accepted_in_the_manifest_itself_does_not_block_and_is_still_listed() -> None:
    spec = privileged()
    docs = render(spec)
    for doc in docs:
        if doc["kind"] == "Deployment":
            annotations = doc["metadata"].setdefault("annotations", {})
            annotations["scan.foresight.ai/accept-FSM002"] = "reads GPU counters through the device files"
            annotations["scan.foresight.ai/accept-FSM009"] = "the same device files need escalation"
    admission = admit(spec, docs)
    assert admission.passed and admission.blocking == ()
    assert {f.rule_id for f in admission.findings if f.accepted is not None} >= {"FSM002", "FSM009"}
