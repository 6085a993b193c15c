"""``deploy``: specs rendered into a real bare repository in the kustomize layout with their Argo CD
Applications; commit messages that say what changed and why; idempotent; conflicts retried from a
fresh fetch, or refused with nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from git_cli import git

from foresight.clock import ManualClock
from foresight.gitops.argocd import WEIGHTS, Target, deploy
from foresight.gitops.repo import GitRemote, PushConflict, Snapshot
from foresight.gitops.validate import CrdSchemas, validate_manifests
from foresight.specs import ModelDeployment, load_specs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TARGET = Target(repo_url="https://git.example.com/platform/gitops.git", environment="prod")


def canary_spec(stable: str = "v7", canary: str | None = "v8", weight: int = 10) -> ModelDeployment:
    """The canary example at another step: ``canary=None`` is the state after promotion or rollback."""
    base = load_specs(EXAMPLES / "model-deployment-canary.yaml")[0]
    assert isinstance(base, ModelDeployment) and base.spec.canary is not None
    data = base.model_dump()
    data["spec"]["model"] = {"uri": f"s3://models/fraud-scorer/{stable}", "version": stable}
    if canary is None:
        data["spec"].pop("canary")
    else:
        data["spec"]["canary"]["model"] = {"uri": f"s3://models/fraud-scorer/{canary}", "version": canary}
        data["spec"]["canary"]["traffic"] = {"stable": 100 - weight, "canary": weight}
    return ModelDeployment.model_validate(data)


def subjects(bare: Path) -> list[str]:
    return git("log", "--format=%s", "main", cwd=bare).splitlines()


def test_a_release_is_a_readable_history_of_commits(bare: Path) -> None:
    remote, clock = GitRemote(str(bare)), ManualClock(1_700_000_000)
    steps = [
        (canary_spec(canary=None), "initial release"),
        (canary_spec(), "v8 passed offline evaluation"),
        (canary_spec(weight=25), "canary healthy for 30 min"),
        (canary_spec(stable="v8", canary=None), "canary analysis passed"),
        (canary_spec(stable="v8", canary="v9", weight=5), "new candidate"),
        (canary_spec(stable="v8", canary=None), "v9 error rate 3x stable"),
    ]
    for spec, reason in steps:
        result = deploy([spec], remote, TARGET, reason, clock=clock)
        assert result.commit is not None
        assert result.message.endswith(f"Why: {reason}\n")
        clock.advance(60)
    assert subjects(bare)[::-1] == [
        "fraud-scorer (prod): deploy model v7",
        "fraud-scorer (prod): start canary v8 at 10% beside v7",
        "fraud-scorer (prod): canary v8 10% -> 25% (stable v7)",
        "fraud-scorer (prod): promote v8 (canary was at 25%)",
        "fraud-scorer (prod): start canary v9 at 5% beside v8",
        "fraud-scorer (prod): roll back canary v9; v8 takes all traffic",
    ]
    files = git("ls-tree", "-r", "--name-only", "main", cwd=bare).splitlines()
    assert "apps/fraud-scorer/prod/deployment-fraud-scorer-canary.yaml" not in files, "a removed canary is pruned"
    assert "argocd/fraud-scorer-prod.yaml" in files


def test_the_same_spec_twice_makes_one_commit(bare: Path) -> None:
    remote = GitRemote(str(bare))
    first = deploy([canary_spec()], remote, TARGET, "release")
    second = deploy([canary_spec()], remote, TARGET, "release again")
    assert first.commit is not None and second.commit is None
    assert git("rev-list", "--count", "main", cwd=bare) == "1"


def test_layout_is_kustomize_per_app_and_environment_with_a_self_healing_application(bare: Path, crds: CrdSchemas) -> None:
    specs = load_specs(EXAMPLES / "model-deployment-gpu.yaml")
    result = deploy(specs, GitRemote(str(bare)), TARGET, "GPU pool ready")
    assert result.message.startswith("deploy 2 specs (prod)\n\n- support-llm (prod): deploy model v0.3\n")
    kustomization = yaml.safe_load(git("show", "main:apps/support-llm/prod/kustomization.yaml", cwd=bare))
    listed = git("ls-tree", "--name-only", "main:apps/support-llm/prod/", cwd=bare).splitlines()
    assert sorted(kustomization["resources"] + ["kustomization.yaml"]) == sorted(listed)
    llm = yaml.safe_load(git("show", "main:argocd/support-llm-prod.yaml", cwd=bare))
    edge = yaml.safe_load(git("show", "main:argocd/shelf-detector-prod.yaml", cwd=bare))
    assert llm["spec"]["source"] == {
        "repoURL": TARGET.repo_url, "targetRevision": "main", "path": "apps/support-llm/prod",
    }
    assert llm["spec"]["destination"]["namespace"] == "assistants"
    assert llm["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "RespectIgnoreDifferences=true" not in llm["spec"]["syncPolicy"]["syncOptions"]
    assert llm["spec"]["ignoreDifferences"] == [{
        "group": "networking.istio.io", "kind": "VirtualService", "name": "support-llm", "namespace": "assistants",
        "jqPathExpressions": [WEIGHTS],
    }]
    assert "ignoreDifferences" not in edge["spec"], "no mesh, no weights to ignore"
    validation = validate_manifests([llm, edge], crds)
    assert validation.problems == () and len(validation.checked) == 2


def test_training_jobs_say_which_dataset_they_retrain_on(bare: Path) -> None:
    job = load_specs(EXAMPLES / "training-jobs.yaml")[3]
    remote = GitRemote(str(bare))
    deploy([job], remote, TARGET, "weekly retrain")
    newer = job.model_validate(job.model_dump() | {"spec": job.spec.model_dump() | {"dataset": {"uri": "s3://datasets/churn", "version": "v13"}}})
    deploy([newer], remote, TARGET, "new labels")
    assert subjects(bare) == [
        "churn-xgb (prod): retrain on dataset v12 -> v13",
        "churn-xgb (prod): training job with ghcr.io/example/churn:3.1.0, dataset v12",
    ]


class RacedRemote(GitRemote):
    """A real remote where another writer pushes (with plain git) right after each of our first ``races`` fetches."""

    def __init__(self, bare: Path, work: Path, races: int) -> None:
        super().__init__(str(bare))
        self.bare, self.work, self.races = bare, work, races
        git("clone", "--quiet", str(bare), str(work), cwd=work.parent)

    def fetch(self) -> Snapshot:
        snapshot = super().fetch()
        if self.races:
            self.races -= 1
            (self.work / f"other-{self.races}.txt").write_text("theirs\n")
            git("add", ".", cwd=self.work)
            git("-c", "user.name=O", "-c", "user.email=o@e", "commit", "--quiet", "-m", "theirs", cwd=self.work)
            git("push", "--quiet", "origin", "HEAD:main", cwd=self.work)
        return snapshot


def test_a_conflict_is_redone_on_the_new_head_keeping_the_other_commit(bare: Path, tmp_path: Path) -> None:
    deploy([canary_spec(canary=None)], GitRemote(str(bare)), TARGET, "initial")
    raced = RacedRemote(bare, tmp_path / "other", races=1)
    result = deploy([canary_spec()], raced, TARGET, "canary")
    assert result.commit == git("rev-parse", "main", cwd=bare)
    assert subjects(bare) == ["fraud-scorer (prod): start canary v8 at 10% beside v7", "theirs", "fraud-scorer (prod): deploy model v7"]
    assert "other-0.txt" in git("ls-tree", "--name-only", "main", cwd=bare).splitlines()


def test_conflicts_beyond_the_attempts_raise_and_leave_no_commit_of_ours(bare: Path, tmp_path: Path) -> None:
    deploy([canary_spec(canary=None)], GitRemote(str(bare)), TARGET, "initial")
    raced = RacedRemote(bare, tmp_path / "other", races=2)
    with pytest.raises(PushConflict, match="nothing was written"):
        deploy([canary_spec()], raced, TARGET, "canary", attempts=2)
    assert subjects(bare) == ["theirs", "theirs", "fraud-scorer (prod): deploy model v7"]
    assert git("fsck", "--no-dangling", cwd=bare) == ""
