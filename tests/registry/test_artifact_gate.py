"""The artifact gate: ``foresight model register`` refuses a model file that would run code when loaded,
names the finding (rule, place, message), registers nothing; a clean file is registered with its scan verdict."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import foresight.cli.model  # noqa: F401  (registers the command group)
from foresight.cli.app import app
from foresight.registry import NOT_SCANNED, SCAN_TAG, ArtifactRefused, judge_artifact
from foresight.security import Finding, Level, Location, scan_artifact

runner = CliRunner()


class _RunsACommand:
    """Pickles to a call of os.system: what a poisoned checkpoint does when it is loaded (never loaded here)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo owned",))


def _finding(level: Level, rule: str = "R1", where: str = "m.pkl") -> Finding:
    return Finding(rule, level, f"{level.value} thing", Location(where, byte_offset=7))


def test_an_error_blocks_and_the_reason_names_rule_place_and_message() -> None:
    verdict = judge_artifact([_finding(Level.WARNING, "W1"), _finding(Level.ERROR, "E1")])
    assert not verdict.passed
    assert verdict.reason == "artifact scan blocked: error E1 at m.pkl@7: error thing"
    with pytest.raises(ArtifactRefused, match="model m: refused: artifact scan blocked: error E1"):
        verdict.raise_if_blocked("model m")


def test_warnings_and_notes_pass_and_say_so() -> None:
    assert judge_artifact([_finding(Level.WARNING, "W1")]).reason == \
        "artifact scan passed with 1 warning(s): warning W1 at m.pkl@7: warning thing"
    assert judge_artifact([_finding(Level.NOTE)]).reason == "artifact scan passed: 1 note(s)"
    many = judge_artifact([_finding(Level.ERROR, f"E{i}") for i in range(5)])
    assert many.reason.endswith("and 2 more") and many.reason.count("error E") == 3


def test_a_real_malicious_pickle_is_blocked_and_a_numpy_one_passes() -> None:
    bad = judge_artifact(scan_artifact(pickle.dumps(_RunsACommand()), "model.pkl"))
    assert not bad.passed and "system" in bad.reason and "model.pkl" in bad.reason
    good = judge_artifact(scan_artifact(pickle.dumps({"weights": np.arange(4.0)}), "weights.pkl"))
    assert good.passed, good.reason


def _register(*args: str) -> tuple[type[BaseException] | None, str, str]:
    result = runner.invoke(app, ["model", "register", *args])
    return (None if result.exception is None else type(result.exception)), result.output, str(result.exception or "")


def test_register_refuses_a_malicious_model_file_and_registers_nothing(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/reg.db"
    data = tmp_path / "train.csv"
    data.write_bytes(b"x,y\n1,0\n")
    poisoned = tmp_path / "weights.txt"  # the extension says nothing: routing is by content
    poisoned.write_bytes(pickle.dumps(_RunsACommand()))
    raised, _, error = _register("--name", "churn", "--data", str(data), "--model-file", str(poisoned),
                                 "--metric", "accuracy=0.9", "--registry-uri", uri)
    assert raised is ArtifactRefused  # an InputError: the CLI's boundary prints it on one line, exit status 2
    assert error.startswith(f"model churn, --model-file {poisoned}: refused: artifact scan blocked: error ")
    assert str(poisoned) in error.split("blocked:", 1)[1] and "system" in error
    listed = runner.invoke(app, ["model", "list", "--registry-uri", uri, "--json"])
    assert json.loads(listed.output) == []


def test_register_records_the_scan_verdict_with_the_version(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/reg.db"
    data = tmp_path / "train.csv"
    data.write_bytes(b"x,y\n1,0\n")
    clean = tmp_path / "model.pkl"
    clean.write_bytes(pickle.dumps({"coef": np.ones(3)}))
    raised, out, error = _register("--name", "churn", "--data", str(data), "--model-file", str(clean),
                                   "--registry-uri", uri, "--json", "--tag", f"{SCAN_TAG}=forged")
    assert raised is None, error
    assert json.loads(out)["tags"][SCAN_TAG].startswith("artifact scan passed")
    raised, out, error = _register("--name", "churn", "--data", str(data), "--registry-uri", uri, "--json")
    assert raised is None, error
    assert json.loads(out)["tags"][SCAN_TAG] == NOT_SCANNED
