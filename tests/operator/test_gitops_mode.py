"""GitOps mode: a ModelDeployment is committed (with its Argo CD Application) instead of applied, an
unchanged one makes no new commit, deletion uncommits it; the API server is never written for it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import kopf
import pytest
from git_cli import init_bare

from foresight.clock import ManualClock
from foresight.gitops.argocd import Target
from foresight.gitops.repo import GitRemote
from foresight.operator.handlers import GitOps, HandlerContext, finalize, reconcile

LOG = logging.getLogger("test")


class NoApi:
    """Fails the test on any API call: in GitOps mode, delivery goes through Git only."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected Kubernetes API call {name}")


@pytest.fixture
def runtime(tmp_path: Path) -> HandlerContext:
    bare = init_bare(tmp_path)
    gitops = GitOps(GitRemote(str(bare)), Target(repo_url="https://git.example.com/gitops.git", environment="prod"))
    return HandlerContext(NoApi(), gitops, clock=ManualClock(1_800_000_000.0))  # type: ignore[arg-type]


def body(version: str, generation: int) -> dict[str, Any]:
    return {"apiVersion": "foresight.ai/v1alpha1", "kind": "ModelDeployment",
            "metadata": {"name": "fraud", "namespace": "payments", "uid": "u1", "generation": generation},
            "spec": {"model": {"uri": f"s3://m/fraud/{version}", "version": version}, "framework": "sklearn"}}


def files(runtime: HandlerContext) -> list[str]:
    assert runtime.gitops is not None
    snapshot = runtime.gitops.remote.fetch()
    return sorted([f"apps/fraud/prod/{n}" for n in snapshot.files("apps/fraud/prod")] +
                  [f"argocd/{n}" for n in snapshot.files("argocd")])


def test_reconcile_commits_then_is_idempotent_then_uncommits(runtime: HandlerContext) -> None:
    patch = kopf.Patch()
    outcome = reconcile(runtime, body("v1", 1), patch, LOG)
    assert outcome.startswith("commit ")
    assert patch["status"]["conditions"][0]["message"] == outcome
    assert "argocd/fraud-prod.yaml" in files(runtime)
    assert "apps/fraud/prod/deployment-fraud-stable.yaml" in files(runtime)

    assert reconcile(runtime, body("v1", 1), kopf.Patch(), LOG) == "Git already holds these manifests"
    assert reconcile(runtime, body("v2", 2), kopf.Patch(), LOG).startswith("commit ")
    assert runtime.gitops is not None
    head = runtime.gitops.remote.fetch().files("apps/fraud/prod")["deployment-fraud-stable.yaml"].decode()
    assert "s3://m/fraud/v2" in head

    assert finalize(runtime, body("v2", 2), LOG).startswith("commit ")
    assert files(runtime) == []


def test_a_malformed_resource_is_never_committed(runtime: HandlerContext) -> None:
    bad = body("v1", 1)
    bad["spec"]["framework"] = "cobol"
    with pytest.raises(kopf.PermanentError, match="spec.framework"):
        reconcile(runtime, bad, kopf.Patch(), LOG)
    assert files(runtime) == []
    assert finalize(runtime, bad, LOG) == "nothing was committed"
