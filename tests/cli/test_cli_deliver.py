"""``foresight render spec``, ``foresight deploy`` and ``foresight crds`` as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import foresight.cli.deliver  # registers the commands (the lead imports it in foresight/cli/__init__.py)
from foresight.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def foresight(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Runs ``foresight ARGS`` in-process (the CLI's start-up imports take seconds) from ``tmp_path``,
    exactly as the console script does: ``main()`` with ``sys.argv``, exit code from SystemExit."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FORESIGHT_SCHEMA_DIR", raising=False)

    def run(*args: str, schema_dir: Path | None = None) -> Run:
        if schema_dir is not None:
            monkeypatch.setenv("FORESIGHT_SCHEMA_DIR", str(schema_dir))
        else:
            monkeypatch.delenv("FORESIGHT_SCHEMA_DIR", raising=False)
        monkeypatch.setattr(sys, "argv", ["foresight", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return run


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_render_writes_a_kustomize_folder_per_spec_validated_against_the_crds(foresight, tmp_path: Path, shared_data: Path) -> None:
    run = foresight("render", "spec", str(EXAMPLES / "model-deployment-gpu.yaml"), "--out", "out",
                    "--schema-dir", str(shared_data / "schemas"))
    assert run.returncode == 0, run.stderr
    assert "not validated" not in run.stderr
    for name in ("support-llm", "shelf-detector"):
        kustomization = yaml.safe_load((tmp_path / "out" / name / "kustomization.yaml").read_text())
        assert all((tmp_path / "out" / name / f).is_file() for f in kustomization["resources"])
    assert (tmp_path / "out" / "support-llm" / "virtualservice-support-llm.yaml").is_file()


def test_render_without_schemas_prints_yaml_and_says_what_it_could_not_check(foresight) -> None:
    run = foresight("render", "spec", str(EXAMPLES / "training-jobs.yaml"))
    assert run.returncode == 0, run.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(run.stdout)]
    assert kinds == ["TrainJob", "NetworkPolicy", "PyTorchJob", "NetworkPolicy", "TFJob", "NetworkPolicy", "Job",
                     "NetworkPolicy"]
    assert "not validated TrainJob/llm-finetune" in " ".join(run.stderr.split())


def test_deploy_commits_once_and_then_reports_no_change(foresight, tmp_path: Path, shared_data: Path) -> None:
    bare = tmp_path / "gitops.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    args = ("deploy", str(EXAMPLES / "model-deployment-canary.yaml"), "--repo", str(bare), "--environment", "staging",
            "--reason", "ticket ML-42")
    first = foresight(*args, schema_dir=shared_data / "schemas")
    assert first.returncode == 0, first.stderr
    assert "fraud-scorer (staging): deploy model v7 with canary v8 at 10%" in first.stdout
    assert git("log", "-1", "--format=%B", "main", cwd=bare).endswith("Why: ticket ML-42")
    application = yaml.safe_load(git("show", "main:argocd/fraud-scorer-staging.yaml", cwd=bare))
    assert application["spec"]["source"]["repoURL"] == bare.resolve().as_uri()
    second = foresight(*args)  # without schemas: the same files, so still no commit (and a warning)
    assert second.returncode == 0 and second.stdout.startswith("no change")
    assert "not validated VirtualService/fraud-scorer" in " ".join(second.stderr.split())
    assert git("rev-list", "--count", "main", cwd=bare) == "1"


def test_crds_command_writes_what_deploy_crds_holds(foresight, tmp_path: Path) -> None:
    run = foresight("crds", "--out", "crds")
    assert run.returncode == 0, run.stderr
    written = {p.name: p.read_text() for p in (tmp_path / "crds").iterdir()}
    committed = {p.name: p.read_text() for p in (ROOT / "deploy" / "crds").iterdir()}
    assert written == committed


BAD_SPEC = """\
apiVersion: foresight.ai/v1alpha1
kind: TrainingJob
metadata: {name: mnist}
spec:
  framework: pytorch
  image: ghcr.io/org/mnist:1
  command: [python, train.py]
  resources:
    gpus: -1
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "spec", "bad.yaml"], "bad.yaml:9: document 1 (TrainingJob/mnist): spec.resources.gpus"),
        (["deploy", "bad.yaml", "--repo", "repo.git"], "bad.yaml:9: document 1 (TrainingJob/mnist): spec.resources.gpus"),
        (["render", "spec", "missing.yaml"], "missing.yaml: cannot read spec file"),
        (["deploy", str(EXAMPLES / "training-jobs.yaml"), "--repo", "nowhere.git"], "--repo nowhere.git: not a Git repository"),
        (["deploy", str(EXAMPLES / "training-jobs.yaml"), "--repo", "http://127.0.0.1:9/x.git"], "cannot read the repository"),
        (["deploy", str(EXAMPLES / "training-jobs.yaml"), "--repo", "r.git", "--environment", "Prod"], "--environment 'Prod'"),
        (["deploy", str(EXAMPLES / "training-jobs.yaml"), "--repo", "r.git", "--author", "me"], "--author 'me'"),
    ],
)
def test_bad_input_is_one_clear_error_and_an_exit_code(foresight, tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_SPEC)
    run = foresight(*args)
    assert run.returncode in (2, 3)
    assert message in " ".join(run.stderr.split())
