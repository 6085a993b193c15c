"""Checkov 3.3's Kubernetes checks on what Foresight renders: the examples' manifests and the Helm chart fail
only the exceptions the README justifies, and those go away when what they ask for is given.

Justified exceptions (each also in the README):

* ``CKV_K8S_43`` (image not pinned by digest): Foresight's built-in server and storage-initializer images,
  the examples' images and the chart's image are pinned by version tag. A digest is per registry and per
  release; ``runtime.image`` / ``runtime.initializerImage`` (specs) and ``image.digest`` (chart) take one,
  and then the check passes (asserted below).
* ``CKV_K8S_38`` (service-account token mounted), chart only: ``foresight serve`` and the operator call
  the Kubernetes API (their Lease, the custom resources, the objects they scale and apply).

Checkov never checks a PyTorchJob, TFJob or TrainJob (it parses no custom resource); Foresight's own
scanner does (tests/gitops/test_admit.py).

Needs Checkov 3.3 at ``$FORESIGHT_CHECKOV_BIN``; skips without it (fails under FORESIGHT_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from foresight.gitops.render import manifest_files, render, write_files
from foresight.operator.chart import load_chart, render_chart
from foresight.specs import load_specs, parse_specs

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHECKOV_BIN_VAR = "FORESIGHT_CHECKOV_BIN"
DIGEST = "sha256:" + "5f0c3e1a9b7d2468" * 4  # any well-formed digest: Checkov checks the form, not the registry

#: (check, kind, name) Checkov fails on the examples' and the chart's rendered objects, all justified above
EXPECTED = {
    ("CKV_K8S_43", "Deployment", "fraud-scorer-stable"),
    ("CKV_K8S_43", "Deployment", "fraud-scorer-canary"),
    ("CKV_K8S_43", "Deployment", "support-llm-stable"),
    ("CKV_K8S_43", "Deployment", "shelf-detector-stable"),
    ("CKV_K8S_43", "Deployment", "defect-detector-stable"),
    ("CKV_K8S_43", "Job", "churn-xgb"),
    ("CKV_K8S_43", "Deployment", "foresight"),
    ("CKV_K8S_38", "Deployment", "foresight"),
}
#: what is left once every image is pinned by digest (the "pinned" folder)
EXPECTED_PINNED = {("CKV_K8S_38", "Deployment", "pinned")}

PINNED_SPEC = f"""
apiVersion: foresight.ai/v1alpha1
kind: ModelDeployment
metadata: {{name: iris, namespace: ml}}
spec:
  model: {{uri: s3://m/iris/v2, version: v2}}
  framework: sklearn
  runtime:
    image: "kserve/sklearnserver@{DIGEST}"
    initializerImage: "kserve/storage-initializer@{DIGEST}"
---
apiVersion: foresight.ai/v1alpha1
kind: TrainingJob
metadata: {{name: churn, namespace: ml}}
spec: {{framework: xgboost, image: "ghcr.io/o/churn@{DIGEST}", command: [python, train.py]}}
"""


@pytest.fixture
def checkov(require_service) -> Path:
    raw = os.environ.get(CHECKOV_BIN_VAR, "")
    binary = Path(raw) if raw else None
    require_service(binary is not None and binary.is_file(),
                    f"no Checkov: set {CHECKOV_BIN_VAR} to the `checkov` CLI of a venv with checkov 3.3 (as .ci/run does)"
                    f"{f'; {raw} does not exist' if raw else ''}")
    assert binary is not None
    return binary


def _write_chart(folder: Path, values: dict[str, Any], release: str) -> None:
    files = render_chart(load_chart(ROOT / "deploy" / "helm" / "foresight"), values, release=release)
    write_files({name.split("/", 1)[1]: text for name, text in files.items() if name.startswith("templates/")}, folder)


def _failed(checkov: Path, folder: Path) -> dict[str, set[tuple[str, str, str]]]:
    """Checkov's failed checks under ``folder``, per top-level subfolder, as (check, kind, name)."""
    done = subprocess.run([str(checkov), "-d", str(folder), "--framework", "kubernetes", "-o", "json", "--compact",
                           "--quiet", "--skip-download"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    failed: dict[str, set[tuple[str, str, str]]] = {}
    for check in (report[0] if isinstance(report, list) else report)["results"]["failed_checks"]:
        kind, _, rest = check["resource"].partition(".")
        name = rest.split(".")[1] if kind != "Pod" else rest  # Kind.namespace.name[.labels]
        top = Path(check["file_path"].lstrip("/")).parts[0]
        failed.setdefault(top, set()).add((check["check_id"], kind, name))
    return failed


def test_checkov_fails_only_the_justified_exceptions(checkov: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        for spec in load_specs(path):
            write_files(manifest_files(spec, render(spec)), shipped / spec.metadata.name)
    _write_chart(shipped / "chart", {}, "foresight")
    pinned = tmp_path / "pinned"
    for spec in parse_specs(PINNED_SPEC):
        write_files(manifest_files(spec, render(spec)), pinned / spec.metadata.name)
    _write_chart(pinned / "chart", {"image": {"digest": DIGEST, "pullPolicy": "IfNotPresent"}}, "pinned")

    failed = _failed(checkov, tmp_path)
    assert failed.get("shipped", set()) == EXPECTED
    assert failed.get("pinned", set()) == EXPECTED_PINNED
