"""``foresight scan`` routes by content: manifests to the manifest scanner (all files as one set), Python to the code scanner."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from foresight.bench.manifest_corpus import cases, hardened
from foresight.cli import cli
from foresight.security import RULES
from security.test_sarif import SCHEMA

runner = CliRunner()
PRIVILEGED = next(c for c in cases() if c.name == "privileged")


def _json(args: list[str], **kwargs: str) -> tuple[int, dict]:
    result = runner.invoke(cli, [*args, "--format", "json"], **kwargs)
    return result.exit_code, json.loads(result.output)


def _found(report: dict) -> set[tuple[str, str, int | None]]:
    return {(f["rule_id"], Path(f["path"]).name, f["line"]) for f in report["findings"]}


def test_a_manifest_is_recognised_by_content_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "release.conf").write_text(PRIVILEGED.text)
    code, report = _json(["scan", str(tmp_path)])
    assert code == 1
    assert ("FSM002", "release.conf", PRIVILEGED.line) in _found(report)


def test_hardened_release_passes_even_at_warning(tmp_path: Path) -> None:
    (tmp_path / "release.yaml").write_text(yaml.safe_dump_all(hardened(), sort_keys=False))
    result = runner.invoke(cli, ["scan", str(tmp_path), "--fail-on", "warning"])
    assert result.exit_code == 0, result.output
    assert "1 files scanned: 0 errors, 0 warnings" in result.output


def test_network_policy_in_another_file_covers_the_workload(tmp_path: Path) -> None:
    deployment, account, policy = hardened()
    (tmp_path / "deploy.yaml").write_text(yaml.safe_dump_all([deployment, account], sort_keys=False))
    assert "FSM024" in {rule for rule, _, _ in _found(_json(["scan", str(tmp_path)])[1])}
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy, sort_keys=False))
    code, report = _json(["scan", str(tmp_path), "--fail-on", "warning"])
    assert code == 0 and report["findings"] == []


def test_findings_of_a_set_stay_in_their_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(PRIVILEGED.text)
    (tmp_path / "b.yaml").write_text(yaml.safe_dump_all(hardened(), sort_keys=False))
    found = _found(_json(["scan", str(tmp_path)])[1])
    assert ("FSM002", "a.yaml", PRIVILEGED.line) in found
    assert not [f for f in found if f[1] == "b.yaml" and f[0] != "FSM021"]


def test_unparseable_manifest_fails_closed(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: [x}\n")
    code, report = _json(["scan", str(tmp_path)])
    assert code == 1 and ("FSM001", "bad.yaml", 3) in _found(report)


def test_text_that_only_looks_like_yaml_is_no_broken_manifest(tmp_path: Path) -> None:
    # a package's PKG-INFO: header lines like a YAML mapping, then its README quoting a manifest
    (tmp_path / "PKG-INFO").write_text("Metadata-Version: 2.4\nName: x\n\n# x\n\napiVersion: v1\nkind: Pod\n"
                                       "  metadata: x: [\n")
    code, report = _json(["scan", str(tmp_path)])
    assert code == 0 and report["findings"] == []
    (tmp_path / "PKG-INFO").rename(tmp_path / "pod.yml")  # named a manifest: a broken one, an error
    code, report = _json(["scan", str(tmp_path)])
    assert code == 1 and {rule for rule, _, _ in _found(report)} == {"FSM001"}


def test_documentation_and_templates_do_not_fail_the_build(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("---\ntitle: x\n---\n# How\n```yaml\napiVersion: v1\nkind: Pod\n```\n")
    (tmp_path / "deployment.yaml").write_text("{{- if .Values.on }}\napiVersion: v1\nkind: Pod\n{{- end }}\n")
    code, report = _json(["scan", str(tmp_path)])
    assert code == 0 and _found(report) == {("FSM033", "deployment.yaml", 1)}


def test_standard_input(tmp_path: Path) -> None:
    code, report = _json(["scan", "-"], input=PRIVILEGED.text)
    assert code == 1 and ("FSM002", "<stdin>", PRIVILEGED.line) in _found(report)


def test_sarif_with_manifest_findings_is_valid(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(PRIVILEGED.text)
    out = tmp_path / "scan.sarif"
    assert runner.invoke(cli, ["scan", str(tmp_path / "a.yaml"), "--format", "sarif", "-o", str(out)]).exit_code == 1
    log = json.loads(out.read_text())
    jsonschema.validate(log, SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    run = log["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == "FSM002")
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": PRIVILEGED.line}
    rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["id"] == "FSM002" and rule["properties"]["tags"][0] == "external/cwe/cwe-250"
    assert {r.id for r in RULES if r.id.startswith("FSM")} <= {r["id"] for r in run["tool"]["driver"]["rules"]}


@pytest.mark.parametrize("name, head", [("views.py", ""), ("tool", "#!/usr/bin/env python3\n")])
def test_python_goes_to_the_code_scanner(tmp_path: Path, name: str, head: str) -> None:
    (tmp_path / name).write_text(f"{head}import os\nfrom flask import request\n\n\ndef run():\n"
                                 "    os.system(request.args['cmd'])\n")
    code, report = _json(["scan", str(tmp_path)])
    assert code == 1
    assert any(f["rule_id"].startswith("FSC") and f["level"] == "error" and Path(f["path"]).name == name
               for f in report["findings"]), report


def test_a_pickle_named_like_yaml_is_still_an_artifact(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_bytes(b"cos\nsystem\n(S'id'\ntR.")
    code, report = _json(["scan", str(tmp_path)])
    assert code == 1 and "FSA001" in {f["rule_id"] for f in report["findings"]}


def test_an_accepted_error_does_not_fail_the_build(tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all(PRIVILEGED.text))
    docs[0]["metadata"]["annotations"] = {"scan.foresight.ai/accept-FSM002": "the GPU driver installer loads a kernel module"}
    (tmp_path / "driver.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    result = runner.invoke(cli, ["scan", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "(accepted: the GPU driver installer loads a kernel module)" in result.output
    assert "1 files scanned: 0 errors, 0 warnings, 0 notes, 1 accepted" in result.output
    code, report = _json(["scan", str(tmp_path)])
    assert code == 0 and [f["accepted"] for f in report["findings"] if f["rule_id"] == "FSM002"] == [
        "the GPU driver installer loads a kernel module"]


def test_python_that_quotes_a_manifest_is_python(tmp_path: Path) -> None:
    (tmp_path / "render.py").write_text('x: int = 1\nTEMPLATE = """\napiVersion: v1\nkind: Pod\n"""\n')
    code, report = _json(["scan", str(tmp_path)])
    assert code == 0 and not [f for f in report["findings"] if f["rule_id"].startswith("FSM")]
