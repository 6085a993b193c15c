"""DVC-compatible data versions: file md5s, the .dir scheme, .dvc files (real DVC: test_dvc_agreement.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from foresight.errors import InputError
from foresight.registry import DataVersion, code_commit, data_version, md5_dir


def test_a_file_is_the_md5_of_its_bytes_crlf_included(tmp_path: Path) -> None:
    data = b"a,b\r\n1,2\r\n" * 1000
    (tmp_path / "d.csv").write_bytes(data)
    assert data_version(tmp_path / "d.csv").md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_a_directory_hashes_its_sorted_listing_gitignore_included(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.csv").write_bytes(b"b")
    (tmp_path / "sub" / "a.csv").write_bytes(b"a")
    (tmp_path / ".gitignore").write_bytes(b"*.tmp\n")  # DVC hashes it (git's rules are not DVC's)
    (tmp_path / ".git").mkdir()  # DVC never looks inside .git, .hg or .dvc folders
    (tmp_path / ".git" / "HEAD").write_bytes(b"ref")
    listing = [{"md5": hashlib.md5(b"*.tmp\n", usedforsecurity=False).hexdigest(), "relpath": ".gitignore"},
               {"md5": hashlib.md5(b"b", usedforsecurity=False).hexdigest(), "relpath": "b.csv"},
               {"md5": hashlib.md5(b"a", usedforsecurity=False).hexdigest(), "relpath": "sub/a.csv"}]
    expected = hashlib.md5(json.dumps(listing, sort_keys=True).encode(), usedforsecurity=False).hexdigest() + ".dir"
    assert md5_dir(tmp_path) == expected
    (tmp_path / "sub" / "a.csv").write_bytes(b"A")
    assert md5_dir(tmp_path) != expected


def test_dvcignore_patterns_above_the_directory_leave_files_out(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()  # the DVC repository: the .dvcignore files from its root down apply
    (tmp_path / ".dvcignore").write_text("# scratch\n*.log\nscratch/\n")
    data = tmp_path / "mid" / "data"
    (data / "scratch").mkdir(parents=True)
    (tmp_path / "mid" / ".dvcignore").write_text("!data/keep.log\n")  # deeper: wins
    (data / "a.csv").write_bytes(b"a")
    (data / "run.log").write_bytes(b"noise")
    (data / "scratch" / "x.csv").write_bytes(b"x")
    (data / "keep.log").write_bytes(b"k")
    listing = [{"md5": hashlib.md5(b"a", usedforsecurity=False).hexdigest(), "relpath": "a.csv"},
               {"md5": hashlib.md5(b"k", usedforsecurity=False).hexdigest(), "relpath": "keep.log"}]
    assert md5_dir(data) == hashlib.md5(json.dumps(listing, sort_keys=True).encode(), usedforsecurity=False).hexdigest() + ".dir"


@pytest.mark.parametrize("name", ["b.csv.dvc", ".dvcignore"])
def test_a_dvc_or_dvcignore_file_inside_a_directory_is_refused_as_dvc_add_does(tmp_path: Path, name: str) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / name).write_text("outs:\n- md5: 92eb5ffee6ae2fec3ad71c777531578f\n  path: b.csv\n")
    with pytest.raises(InputError, match=f"{name}: a .dvc(ignore)? file inside"):
        md5_dir(tmp_path)


def test_a_dvc_file_is_read_not_the_data(tmp_path: Path) -> None:
    (tmp_path / "train.csv.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 10\n  path: train.csv\n")
    # the data itself is absent (dvc pull not run): the recorded md5 is the version
    assert data_version(tmp_path / "train.csv") == DataVersion("0123456789abcdef0123456789abcdef")
    assert data_version(tmp_path / "train.csv.dvc") == DataVersion("0123456789abcdef0123456789abcdef")


def test_a_stale_dvc_file_is_not_trusted(tmp_path: Path) -> None:
    first = hashlib.md5(b"x\n1\n", usedforsecurity=False).hexdigest()
    (tmp_path / "train.csv").write_bytes(b"x\n1\n")
    (tmp_path / "train.csv.dvc").write_text(f"outs:\n- md5: {first}\n  size: 4\n  hash: md5\n  path: train.csv\n")
    assert data_version(tmp_path / "train.csv") == DataVersion(first)
    (tmp_path / "train.csv").write_bytes(b"x\n2\n")  # changed after `dvc add`
    stale = data_version(tmp_path / "train.csv")
    assert stale.md5 == hashlib.md5(b"x\n2\n", usedforsecurity=False).hexdigest()
    assert "train.csv.dvc is stale" in stale.warning and "dvc add train.csv" in stale.warning


def test_a_dvc2_file_cannot_be_checked_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_bytes(b"x\r\n")
    (tmp_path / "t.csv.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: t.csv\n")
    found = data_version(tmp_path / "t.csv")
    assert found.md5 == "0123456789abcdef0123456789abcdef" and "DVC < 3" in found.warning


@pytest.mark.parametrize("text", ["outs: []\n", "outs:\n- path: x\n", "- [unclosed\n", "just text\n"])
def test_bad_dvc_files_name_the_problem(tmp_path: Path, text: str) -> None:
    (tmp_path / "x.dvc").write_text(text)
    with pytest.raises(InputError, match="x.dvc"):
        data_version(tmp_path / "x.dvc")


def test_missing_data_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such data"):
        data_version(tmp_path / "nope.csv")


def test_code_commit_outside_a_repository_is_unknown(tmp_path: Path) -> None:
    assert code_commit(tmp_path) == "unknown"
    here = code_commit(Path(__file__).parent)
    assert here == "unknown" or len(here) == 40
