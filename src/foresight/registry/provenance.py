"""Where a model came from: the git commit of the code that trained it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["UNKNOWN_COMMIT", "code_commit"]

UNKNOWN_COMMIT = "unknown"


def code_commit(start: str | os.PathLike[str] = ".") -> str:
    """The HEAD commit (40 hex digits) of the git repository holding ``start``, else ``"unknown"``.

    Read with dulwich (no git binary needed). Uncommitted changes are not detected: a model
    trained from a dirty tree carries the commit it started from.
    """
    from dulwich.errors import NotGitRepository
    from dulwich.repo import Repo

    try:
        with Repo.discover(str(Path(start).resolve())) as repo:
            return repo.head().decode("ascii")
    except (NotGitRepository, KeyError, OSError):  # KeyError: a repository without commits yet
        return UNKNOWN_COMMIT
