"""Where a model came from: the git commit of the code that trained it."""

from __future__ import annotations

import os
from pathlib import Path

from foresight.errors import InputError

__all__ = ["UNKNOWN_COMMIT", "code_commit"]

UNKNOWN_COMMIT = "unknown"


def code_commit(start: str | os.PathLike[str] = ".") -> str:
    """The HEAD commit (40 hex digits) of the git repository holding ``start``, else ``"unknown"``.

    Read with dulwich (no git binary needed). Uncommitted changes are not detected: a model
    trained from a dirty tree carries the commit it started from. A ``start`` that does not exist
    is an InputError: a mistyped path would otherwise record "unknown" as if that were the truth.
    """
    from dulwich.errors import NotGitRepository
    from dulwich.repo import Repo

    if not Path(start).exists():
        raise InputError(f"{start}: no such file or directory (where the training code's repository should be)")

    try:
        with Repo.discover(str(Path(start).resolve())) as repo:
            return repo.head().decode("ascii")
    except (NotGitRepository, KeyError, OSError):  # KeyError: a repository without commits yet
        return UNKNOWN_COMMIT
