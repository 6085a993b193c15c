"""Foresight's data versions against DVC 3.67 itself: the same md5 as ``dvc add``, and a stale ``.dvc``
file reported when ``dvc status`` says the data was modified."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from foresight.registry import DataVersion, data_version, md5_dir


def _recorded(dvc_file: Path) -> str:
    return yaml.safe_load(dvc_file.read_text())["outs"][0]["md5"]


def _tricky_tree(repo: Path) -> Path:
    """A directory with what git and DVC treat differently, and .dvcignore rules at two levels above it."""
    (repo / ".dvcignore").write_text("# DVC's own ignore file\n*.log\nscratch/\n/mid/data/top_only.csv\n")
    (repo / "mid").mkdir()
    (repo / "mid" / ".dvcignore").write_text("!data/important.log\ndata/keep/*.bak\n")
    data = repo / "mid" / "data"
    for folder in ("sub/deep", "scratch", "keep", "empty"):
        (data / folder).mkdir(parents=True)
    files = {
        ".gitignore": b"*.tmp\n", "x.tmp": b"ignored by git, not by DVC\n", "a.csv": b"x,y\r\n1,2\r\n",
        "bin.dat": bytes(range(256)), "sub/deep/b.csv": b"b\n", "unicod\u00e9 file.csv": b"u\n",
        "run.log": b"left out by the root .dvcignore\n", "scratch/s.csv": b"left out: a folder pattern\n",
        "top_only.csv": b"left out: an anchored pattern\n", "important.log": b"put back by mid/.dvcignore\n",
        "keep/k.bak": b"left out\n", "keep/k.csv": b"k\n",
        ".git": b"gitdir: ../.git/modules/data\n",  # a submodule's gitlink: DVC never hashes .git
    }
    for name, content in files.items():
        (data / name).write_bytes(content)
    return data


@pytest.mark.integration
def test_versions_are_the_md5s_dvc_add_records(dvc_repo: Callable[..., str], tmp_path: Path) -> None:
    data = _tricky_tree(tmp_path)
    (tmp_path / "single.csv").write_bytes(b"a,b\r\n1,2\r\n")
    dvc_repo("add", "-q", "mid/data", "single.csv")
    recorded = _recorded(tmp_path / "mid" / "data.dvc")
    assert md5_dir(data) == recorded
    assert data_version(data) == DataVersion(recorded)  # read from data.dvc and checked against the data
    assert data_version(tmp_path / "single.csv") == DataVersion(_recorded(tmp_path / "single.csv.dvc"))


@pytest.mark.integration
def test_a_stale_dvc_file_is_reported_with_the_md5_dvc_add_then_records(dvc_repo: Callable[..., str],
                                                                         tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_bytes(b"a\n1\n")
    dvc_repo("add", "-q", "data")
    before = _recorded(tmp_path / "data.dvc")
    (data / "a.csv").write_bytes(b"a\n2\n")  # trained on changed data, .dvc file not updated
    assert json.loads(dvc_repo("status", "--json")) == {"data.dvc": [{"changed outs": {"data": "modified"}}]}
    stale = data_version(data)
    assert stale.md5 != before and "data.dvc is stale" in stale.warning and before in stale.warning
    dvc_repo("add", "-q", "data")
    assert data_version(data) == DataVersion(stale.md5) == DataVersion(_recorded(tmp_path / "data.dvc"))
