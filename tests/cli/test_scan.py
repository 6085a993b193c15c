"""``foresight scan``: exit codes for CI, the three formats, folder walks, bad input."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from foresight.bench.scan_corpus import Opcodes
from foresight.cli import cli

runner = CliRunner()
EVIL = Opcodes(2).glob("os", "system").call("id").done()
UNKNOWN = Opcodes(2).glob("mypackage.layers", "Custom").raw(b")R").done()


@pytest.fixture
def models(tmp_path: Path) -> Path:
    (tmp_path / "ok").mkdir()
    np.save(tmp_path / "ok" / "w.npy", np.arange(3.0))
    (tmp_path / "ok" / "plain.pkl").write_bytes(pickle.dumps({"a": 1}))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "notes.txt").write_bytes(EVIL)
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "layer.bin").write_bytes(UNKNOWN)
    (tmp_path / "ok" / ".git").mkdir()
    (tmp_path / "ok" / ".git" / "objects").write_bytes(EVIL)  # git's store is not scanned
    return tmp_path


def test_clean_files_exit_0(models: Path) -> None:
    result = runner.invoke(cli, ["scan", str(models / "ok")])
    assert result.exit_code == 0, result.output
    assert "2 files scanned: 0 errors" in result.output


def test_an_error_exits_1_and_names_the_file(models: Path) -> None:
    result = runner.invoke(cli, ["scan", str(models)])
    assert result.exit_code == 1
    assert "notes.txt" in result.output and "FSA001" in result.output and "os.system" in result.output


def test_fail_on_warning(models: Path) -> None:
    assert runner.invoke(cli, ["scan", str(models / "odd")]).exit_code == 0
    assert runner.invoke(cli, ["scan", str(models / "odd"), "--fail-on", "warning"]).exit_code == 1


def test_json_and_sarif(models: Path, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["scan", str(models), "--format", "json"])
    report = json.loads(result.output)
    assert report["files"] == 4
    assert {(f["rule_id"], f["level"]) for f in report["findings"]} == {("FSA001", "error"), ("FSA002", "warning")}
    out = tmp_path / "scan.sarif"
    result = runner.invoke(cli, ["scan", str(models), "--format", "sarif", "--output", str(out)])
    assert result.exit_code == 1 and result.output == ""
    log = json.loads(out.read_text())
    assert log["version"] == "2.1.0"
    assert sorted(r["ruleId"] for r in log["runs"][0]["results"]) == ["FSA001", "FSA002"]


def test_a_missing_path_is_an_input_error(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope: no such file or folder" in result.output and "Traceback" not in result.output


def test_a_wrong_option_is_a_usage_error(models: Path) -> None:
    result = runner.invoke(cli, ["scan", str(models), "--format", "xml"])
    assert result.exit_code == 2


def test_large_files_are_mapped_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.npy"
    np.save(path, np.zeros(300_000))
    (tmp_path / "big.pkl").write_bytes(pickle.dumps(np.zeros(300_000), protocol=5))
    assert runner.invoke(cli, ["scan", str(tmp_path)]).exit_code == 0
