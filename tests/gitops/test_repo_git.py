"""Writing to a real Git repository (a bare repo in a temp dir, inspected with the git binary):
commits without a work tree, no commit when nothing changed, stale files removed, and a push
conflict or an unreachable remote leaving the repository exactly as it was."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from git_cli import git

from foresight.errors import InputError, ServiceUnavailable
from foresight.gitops.repo import GitRemote, PushConflict

AUTHOR = "Tester <tester@example.com>"


def push_from_elsewhere(bare: Path, tmp_path: Path, name: str, text: str) -> str:
    """Another writer (plain git) commits a file and pushes it; returns its commit id."""
    work = tmp_path / f"other-{name.replace('/', '-')}"
    git("clone", "--quiet", str(bare), str(work), cwd=tmp_path)
    (work / name).parent.mkdir(parents=True, exist_ok=True)
    (work / name).write_text(text)
    git("add", name, cwd=work)
    git("-c", "user.name=Other", "-c", "user.email=o@example.com", "commit", "--quiet", "-m", f"add {name}", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def test_first_commit_creates_the_branch_and_a_repeat_commits_nothing(bare: Path) -> None:
    remote = GitRemote(str(bare))
    snapshot = remote.fetch()
    assert snapshot.head is None
    files = {"apps/iris/prod/service.yaml": b"kind: Service\n", "argocd/iris-prod.yaml": b"kind: Application\n"}
    commit = snapshot.commit(files, ["apps/iris/prod"], "iris: deploy\n\nWhy: test\n", AUTHOR, 1_700_000_000)
    assert commit is not None
    remote.push(snapshot, commit)
    assert git("rev-parse", "main", cwd=bare) == commit.decode()
    assert git("show", "main:apps/iris/prod/service.yaml", cwd=bare) == "kind: Service"
    assert git("log", "-1", "--format=%an <%ae>|%at|%s", cwd=bare) == f"{AUTHOR}|1700000000|iris: deploy"
    again = remote.fetch()
    assert again.head == commit
    assert again.files("apps/iris") == {"prod/service.yaml": b"kind: Service\n"}
    assert again.commit(files, ["apps/iris/prod"], "same again", AUTHOR, 1_700_000_100) is None


def test_a_replaced_folder_loses_files_no_longer_rendered_and_other_folders_stay(bare: Path, tmp_path: Path) -> None:
    other = push_from_elsewhere(bare, tmp_path, "apps/other/prod/deployment.yaml", "kind: Deployment\n")
    remote = GitRemote(str(bare))
    first = remote.fetch()
    with_canary = {"apps/iris/prod/stable.yaml": b"a\n", "apps/iris/prod/canary.yaml": b"b\n"}
    commit = first.commit(with_canary, ["apps/iris/prod"], "canary", AUTHOR, 0)
    assert commit is not None and first.head == other.encode()
    remote.push(first, commit)
    second = remote.fetch()
    promoted = second.commit({"apps/iris/prod/stable.yaml": b"c\n"}, ["apps/iris/prod"], "promote", AUTHOR, 0)
    assert promoted is not None
    remote.push(second, promoted)
    tree = git("ls-tree", "-r", "--name-only", "main", cwd=bare).splitlines()
    assert tree == ["apps/iris/prod/stable.yaml", "apps/other/prod/deployment.yaml"]
    assert git("rev-list", "--count", "main", cwd=bare) == "3"
    assert git("fsck", "--no-dangling", cwd=bare) == ""


def test_a_push_conflict_writes_nothing(bare: Path, tmp_path: Path) -> None:
    push_from_elsewhere(bare, tmp_path, "README.md", "gitops\n")
    remote = GitRemote(str(bare))
    snapshot = remote.fetch()
    commit = snapshot.commit({"apps/iris/prod/a.yaml": b"a\n"}, [], "ours", AUTHOR, 0)
    assert commit is not None
    theirs = push_from_elsewhere(bare, tmp_path, "apps/x/prod/b.yaml", "b\n")
    with pytest.raises(PushConflict, match="moved from .* while this change was prepared; nothing was written"):
        remote.push(snapshot, commit)
    assert git("rev-parse", "main", cwd=bare) == theirs
    assert git("rev-list", "--count", "main", cwd=bare) == "2"
    assert git("fsck", "--no-dangling", cwd=bare) == ""


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_remote_is_a_service_error(closed_port: int) -> None:
    with pytest.raises(ServiceUnavailable, match=f"127.0.0.1:{closed_port}/gitops.git: cannot read the repository"):
        GitRemote(f"http://127.0.0.1:{closed_port}/gitops.git").fetch()


def test_a_path_that_is_no_repository_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a Git repository"):
        GitRemote(str(tmp_path / "nowhere")).fetch()


def test_the_checked_out_branch_of_a_work_tree_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    git("init", "--quiet", "--initial-branch=main", str(work), cwd=tmp_path)
    with pytest.raises(InputError, match="branch main is checked out"):
        GitRemote(str(work), "main")
    GitRemote(str(work), "deploy")  # another branch of the same repository is fine
