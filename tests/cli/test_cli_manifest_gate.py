"""The manifest gate as a user meets it: ``render`` and ``deploy`` refuse a spec whose rendered objects have
an error-level scanner finding (one line naming it), let it through with a written override (recorded in the
commit message and the audit log), and warn about unpinned images."""

from __future__ import annotations

from pathlib import Path

from foresight.adapters.audit_log import AuditLog
import foresight.cli.deliver  # noqa: F401  (registers render spec and deploy)
from tests.cli.test_cli_deliver import foresight, git  # noqa: F401  (foresight: the in-process CLI fixture)

PRIVILEGED = """\
apiVersion: foresight.ai/v1alpha1
kind: ModelDeployment
metadata: {{name: gpu-probe, namespace: ml}}
spec:
  model: {{uri: s3://m/probe/v1, version: v1}}
  framework: custom
  runtime: {{image: "ghcr.io/o/probe:1.0", port: 9000}}
  mesh: null
  containerSecurityContext: {{privileged: true}}
  securityOverride: {{reason: "reads GPU counters through /dev/nvidiactl"{allow}}}
"""


def test_render_refuses_a_privileged_pod_without_an_allowance(foresight, tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(PRIVILEGED.format(allow=""))
    run = foresight("render", "spec", "spec.yaml")
    assert run.returncode == 2 and run.stdout == ""
    message = " ".join(run.stderr.split())
    assert "spec.yaml: ModelDeployment/gpu-probe: refused by the manifest scan: error FSM002 (privileged-container)" in message
    assert "allow: [FSM002, FSM009]" in message  # privileged needs privilege escalation: both rules


def test_render_lets_an_allowed_finding_through_and_says_so(foresight, tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(PRIVILEGED.format(allow=", allow: [FSM002, FSM009]"))
    run = foresight("render", "spec", "spec.yaml")
    assert run.returncode == 0, run.stderr
    said = " ".join(run.stderr.split())
    assert "security override of ModelDeployment/gpu-probe: reads GPU counters through /dev/nvidiactl; lets through error FSM002" in said
    assert "privileged: true" in run.stdout


def test_render_warns_about_latest_and_untagged_images(foresight, tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text("""\
apiVersion: foresight.ai/v1alpha1
kind: TrainingJob
metadata: {name: mnist, namespace: ml}
spec: {framework: generic, image: "ghcr.io/org/mnist:latest", command: [python, train.py]}
""")
    run = foresight("render", "spec", "spec.yaml")
    assert run.returncode == 0, run.stderr
    assert "warning: TrainingJob/mnist: image: image ghcr.io/org/mnist:latest uses the tag 'latest'" in " ".join(run.stderr.split())


def test_deploy_records_the_override_in_the_commit_and_the_audit_log(foresight, tmp_path: Path) -> None:
    bare = tmp_path / "gitops.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    (tmp_path / "spec.yaml").write_text(PRIVILEGED.format(allow=", allow: [FSM002, FSM009]"))
    refused = tmp_path / "refused.yaml"
    refused.write_text(PRIVILEGED.format(allow=""))
    run = foresight("deploy", str(refused), "--repo", str(bare))
    assert run.returncode == 2 and "refused by the manifest scan" in run.stderr
    assert git("for-each-ref", cwd=bare) == ""  # nothing was committed
    run = foresight("deploy", "spec.yaml", "--repo", str(bare), "--reason", "SEC-7", "--audit-url", str(tmp_path / "audit.db"))
    assert run.returncode == 0, run.stderr
    message = git("log", "-1", "--format=%B", "main", cwd=bare)
    assert "Why: SEC-7\nSecurity: security override of ModelDeployment/gpu-probe: reads GPU counters" in message
    assert "FSM002" in message
    with AuditLog(str(tmp_path / "audit.db")) as audit:
        (record,) = audit.query(controller="deploy")
    assert record.target == "ml/gpu-probe" and record.reason.startswith("security override of ModelDeployment/gpu-probe")
    assert record.inputs["commit"] == git("rev-parse", "main", cwd=bare)
