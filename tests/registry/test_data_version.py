"""DVC-compatible data versions: file md5s, the .dir scheme, .dvc files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from foresight.errors import InputError
from foresight.registry import code_commit, data_version, md5_dir


def test_a_file_is_the_md5_of_its_bytes_crlf_included(tmp_path: Path) -> None:
    data = b"a,b\r\n1,2\r\n" * 1000
    (tmp_path / "d.csv").write_bytes(data)
    assert data_version(tmp_path / "d.csv") == hashlib.md5(data).hexdigest()


def test_a_directory_hashes_its_sorted_listing(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.csv").write_bytes(b"b")
    (tmp_path / "sub" / "a.csv").write_bytes(b"a")
    (tmp_path / "b.csv.dvc").write_text("ignored")
    listing = [{"md5": hashlib.md5(b"b").hexdigest(), "relpath": "b.csv"},
               {"md5": hashlib.md5(b"a").hexdigest(), "relpath": "sub/a.csv"}]
    expected = hashlib.md5(json.dumps(listing, sort_keys=True).encode()).hexdigest() + ".dir"
    assert md5_dir(tmp_path) == expected
    (tmp_path / "sub" / "a.csv").write_bytes(b"A")
    assert md5_dir(tmp_path) != expected


def test_a_dvc_file_is_read_not_the_data(tmp_path: Path) -> None:
    (tmp_path / "train.csv.dvc").write_text("outs:\n- md5: 0123456789abcdef0123456789abcdef\n  size: 10\n  path: train.csv\n")
    # the data itself is absent (dvc pull not run): the recorded md5 is the version
    assert data_version(tmp_path / "train.csv") == "0123456789abcdef0123456789abcdef"
    assert data_version(tmp_path / "train.csv.dvc") == "0123456789abcdef0123456789abcdef"


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
