"""Writing files into a Git repository as one commit, without a work tree or a ``git`` binary.

A GitOps write is a compare-and-swap on a branch: :meth:`GitRemote.fetch` reads the branch head
into memory (a shallow fetch: one commit's tree), :meth:`Snapshot.commit` builds the new tree in
memory (``None`` when nothing changed, so a repeated deploy makes no commit), and
:meth:`GitRemote.push` moves the branch only if it still points where it did at the fetch.
If someone pushed in between, :class:`PushConflict` is raised before any ref moves, and the
remote is left exactly as it was: no half-written commit, ever. An unreachable remote is
:class:`foresight.errors.ServiceUnavailable`; a path that is no repository, an
:class:`~foresight.errors.InputError`.

dulwich (pure Python) does the Git work; every protocol it speaks works: a local path or
``file://`` URL of a bare repository, ``http(s)://``, ``ssh://``, ``git://``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dulwich.client import get_transport_and_path
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.object_store import commit_tree_changes
from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.refs import Ref
from dulwich.repo import MemoryRepo, Repo

from foresight.errors import InputError, ServiceUnavailable

__all__ = ["DEFAULT_AUTHOR", "GitRemote", "PushConflict", "Snapshot"]

DEFAULT_AUTHOR = "Foresight <foresight@localhost>"
_FILE_MODE = 0o100644


class PushConflict(ServiceUnavailable):
    """The branch moved since it was read; nothing was written. Fetch again and redo the change."""


@dataclass
class Snapshot:
    """A branch as it was at one fetch: its head commit (None for a branch not created yet)."""

    repo: MemoryRepo
    branch: str
    head: ObjectID | None

    def _tree(self) -> Tree:
        if self.head is None:
            return Tree()
        commit = self.repo.object_store[self.head]
        assert isinstance(commit, Commit), f"{self.head!r} is not a commit"
        tree = self.repo.object_store[commit.tree]
        assert isinstance(tree, Tree)
        return tree

    def files(self, folder: str) -> dict[str, bytes]:
        """The files under ``folder`` (paths relative to it, '/'-separated); empty when it does not exist."""
        store = self.repo.object_store
        tree: Any = self._tree()
        for part in [p for p in folder.strip("/").split("/") if p]:
            entry = next((e for e in tree.iteritems() if e.path.decode() == part), None)
            if entry is None or not isinstance(store[entry.sha], Tree):
                return {}
            tree = store[entry.sha]
        found: dict[str, bytes] = {}
        for entry in store.iter_tree_contents(tree.id):
            found[entry.path.decode()] = store[entry.sha].data  # type: ignore[attr-defined]
        return found

    def commit(
        self, files: Mapping[str, bytes], replace: Iterable[str], message: str, author: str, when: float
    ) -> ObjectID | None:
        """A commit on the head with ``files`` (full paths) written and, in each ``replace`` folder,
        every other file removed (what a rendered folder no longer contains must go, so Argo CD prunes it).

        Returns the commit id, or None when the tree would not change (nothing to commit).
        """
        store = self.repo.object_store
        changes: list[tuple[bytes, int | None, ObjectID | None]] = []
        for folder in replace:
            root = folder.strip("/")
            for name in self.files(root):
                if posixpath.join(root, name) not in files:
                    changes.append((posixpath.join(root, name).encode(), None, None))
        for path, data in sorted(files.items()):
            blob = Blob.from_string(data)
            store.add_object(blob)
            changes.append((path.strip("/").encode(), _FILE_MODE, blob.id))
        base = self._tree()
        if base.id not in store:
            store.add_object(base)
        tree = commit_tree_changes(store, base.id, changes)
        if tree == base.id and self.head is not None:
            return None
        commit = Commit()
        commit.tree = tree
        commit.parents = [self.head] if self.head is not None else []
        commit.author = commit.committer = author.encode()
        commit.author_time = commit.commit_time = int(when)
        commit.author_timezone = commit.commit_timezone = 0
        commit.encoding = b"UTF-8"
        commit.message = message.encode()
        store.add_object(commit)
        return commit.id


class GitRemote:
    """One branch of a Git repository, reached by path or URL."""

    def __init__(self, location: str, branch: str = "main") -> None:
        self.location = location
        self.branch = branch
        self._ref = Ref(f"refs/heads/{branch}".encode())
        _refuse_checked_out_branch(location, branch)
        try:
            self._client, self._path = get_transport_and_path(location)
        except ValueError as exc:
            raise InputError(f"--repo {location}: not a Git URL or path ({exc})") from None

    def fetch(self) -> Snapshot:
        """The branch head as it is now (shallow), in memory."""
        repo = MemoryRepo()

        def wants(refs: Mapping[Ref, ObjectID], depth: int | None = None) -> list[ObjectID]:
            return [refs[self._ref]] if self._ref in refs else []

        with _talking(self.location, "read"):
            result = self._client.fetch(self._path, repo, determine_wants=wants, depth=1)
        return Snapshot(repo, self.branch, result.refs.get(self._ref))

    def push(self, snapshot: Snapshot, commit: ObjectID) -> None:
        """Move the branch from ``snapshot.head`` to ``commit``; :class:`PushConflict` if it moved meanwhile."""

        def update_refs(refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
            if refs.get(self._ref) != snapshot.head:
                raise PushConflict(self._conflict(refs.get(self._ref), snapshot.head))
            return {**refs, self._ref: commit}

        def pack(have: Any, want: Any, ofs_delta: bool = True, progress: Any = None) -> Any:
            return snapshot.repo.generate_pack_data(have, want, progress=progress, ofs_delta=ofs_delta)

        with _talking(self.location, "write"):
            result = self._client.send_pack(self._path.encode(), update_refs, pack)
        status = (result.ref_status or {}).get(self._ref)
        if status is not None:
            raise PushConflict(f"{self.location}: branch {self.branch} was not updated: {status}; nothing was written")

    def _conflict(self, now: bytes | None, then: bytes | None) -> str:
        def short(sha: bytes | None) -> str:
            return sha.decode()[:12] if sha else "nothing"

        return (
            f"{self.location}: branch {self.branch} moved from {short(then)} to {short(now)} while this change was "
            "prepared; nothing was written (fetch again and retry)"
        )


@contextmanager
def _talking(location: str, what: str) -> Iterator[None]:
    """Turns transport failures into errors that say whether to fix the input or to retry."""
    try:
        yield
    except PushConflict:
        raise
    except NotGitRepository:
        raise InputError(f"--repo {location}: not a Git repository") from None
    except (OSError, HangupException, GitProtocolError) as exc:
        raise ServiceUnavailable(f"{location}: cannot {what} the repository ({exc})") from None


def _refuse_checked_out_branch(location: str, branch: str) -> None:
    """A non-bare repository's checked-out branch must not move under its work tree (git refuses too)."""
    path = Path(location.removeprefix("file://"))
    if not (path / ".git").exists():
        return
    try:
        head = Repo(str(path)).refs.read_ref(Ref(b"HEAD"))
    except NotGitRepository:
        return
    if head == f"ref: refs/heads/{branch}".encode():
        raise InputError(
            f"--repo {location}: branch {branch} is checked out in that work tree; push to a bare repository or a "
            "URL, or choose another --branch"
        )
