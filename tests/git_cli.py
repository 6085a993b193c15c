"""The real ``git`` binary, for tests that check what Foresight's dulwich commits look like to git."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def init_bare(parent: Path, name: str = "gitops.git") -> Path:
    """An empty bare repository (branch ``main``) under ``parent``: the remote a deployment pushes to."""
    path = parent / name
    git("init", "--quiet", "--bare", "--initial-branch=main", str(path), cwd=parent)
    return path
