"""``foresight model register|list|promote|lineage`` on the local registry (and MLflow when installed)."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import pytest
from typer.testing import CliRunner

import foresight.cli.model  # noqa: F401  (registers the command group until cli/__init__ imports it)
from foresight.cli.app import app
from foresight.errors import InputError
from foresight.adapters.local_registry import LocalRegistry

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output + (str(result.exception) if result.exception and result.exit_code not in (0, 1) else "")


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.csv"
    path.write_bytes(b"x,y\n1,0\n2,1\n")
    return path


def test_register_promote_lineage_round_trip(tmp_path: Path, data_file: Path) -> None:
    uri = f"sqlite:///{tmp_path}/reg.db"
    code, out = _run("model", "register", "--name", "churn", "--data", str(data_file), "--metric", "accuracy=0.93",
                     "--param", "C=0.5", "--seed", "7", "--registry-uri", uri, "--json")
    assert code == 0, out
    v1 = json.loads(out)
    assert v1["version"] == 1 and v1["data_version"] == hashlib.md5(data_file.read_bytes(), usedforsecurity=False).hexdigest()
    assert v1["params"] == {"C": "0.5"} and v1["seed"] == 7
    assert _run("model", "promote", "--name", "churn", "--version", "1", "--registry-uri", uri)[0] == 0
    _run("model", "register", "--name", "churn", "--data", str(data_file), "--metric", "accuracy=0.88",
         "--registry-uri", uri)
    code, out = _run("model", "promote", "--name", "churn", "--version", "2", "--registry-uri", uri)
    assert code == 1 and "accuracy 0.88 < threshold 0.9" in out
    code, out = _run("model", "lineage", "--name", "churn", "--version", "2", "--registry-uri", uri, "--json")
    assert [v["version"] for v in json.loads(out)] == [2, 1]
    code, out = _run("model", "list", "--registry-uri", uri)
    assert code == 0 and "churn" in out
    listed = json.loads(_run("model", "list", "--registry-uri", uri, "--json")[1])
    assert listed[0]["aliases"] == ["champion"] and listed[1]["tags"]["foresight.gate"].startswith("blocked")


def test_bad_input_is_one_line_not_a_traceback(tmp_path: Path, data_file: Path) -> None:
    uri = f"sqlite:///{tmp_path}/reg.db"
    result = runner.invoke(app, ["model", "register", "--name", "m", "--data", str(data_file), "--metric", "acc=high",
                                 "--registry-uri", uri])
    assert "not a number" in str(result.exception)
    result = runner.invoke(app, ["model", "promote", "--name", "m", "--version", "3", "--registry-uri", uri])
    assert "no version 3" in str(result.exception)


def test_mlflow_backend_through_the_cli(require_mlflow, tmp_path: Path, data_file: Path, fitted_model) -> None:
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(pickle.dumps(fitted_model))
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code, out = _run("model", "register", "--name", "churn", "--data", str(data_file), "--metric", "accuracy=0.95",
                     "--model-file", str(model_file), "--backend", "mlflow", "--registry-uri", uri, "--json")
    assert code == 0, out
    assert _run("model", "promote", "--name", "churn", "--version", "1", "--backend", "mlflow",
                "--registry-uri", uri)[0] == 0
    code, out = _run("model", "list", "--backend", "mlflow", "--registry-uri", uri, "--json")
    assert json.loads(out)[0]["aliases"] == ["champion"]
    assert (tmp_path / "artifacts").is_dir() and not Path("mlruns").exists()


@pytest.mark.parametrize("metric", ["accuracy=nan", "accuracy=inf", "accuracy=-inf", "accuracy=NaN"])
def test_non_finite_metrics_are_refused(tmp_path: Path, data_file: Path, metric: str) -> None:
    uri = f"sqlite:///{tmp_path}/reg.db"
    result = runner.invoke(app, ["model", "register", "--name", "m", "--data", str(data_file), "--metric", metric,
                                 "--registry-uri", uri])
    assert isinstance(result.exception, InputError) and "metrics must be finite numbers" in str(result.exception)
    assert json.loads(_run("model", "list", "--registry-uri", uri, "--json")[1]) == []


def test_a_missing_parent_or_code_dir_is_refused(tmp_path: Path, data_file: Path) -> None:
    uri = f"sqlite:///{tmp_path}/reg.db"
    base = ["model", "register", "--name", "m", "--data", str(data_file), "--metric", "accuracy=0.9", "--registry-uri", uri]
    result = runner.invoke(app, [*base, "--parent", "99"])
    assert isinstance(result.exception, InputError) and "parent version 99 does not exist" in str(result.exception)
    result = runner.invoke(app, [*base, "--code-dir", str(tmp_path / "nonexistent")])
    assert isinstance(result.exception, InputError) and "nonexistent: no such file or directory" in str(result.exception)
    assert json.loads(_run("model", "list", "--registry-uri", uri, "--json")[1]) == []


def test_list_json_is_strict_json_even_for_a_stored_nan(tmp_path: Path) -> None:
    """A registry written before non-finite metrics were refused may hold one: the listing stays JSON."""
    import sqlalchemy as sa

    uri = f"sqlite:///{tmp_path}/reg.db"
    LocalRegistry(uri).register("m", params={}, metrics={"accuracy": 0.9, "loss": 0.1}, code_commit="unknown",
                                data_version="x", seed=None)
    with sa.create_engine(uri).begin() as conn:
        conn.execute(sa.text("UPDATE foresight_model_versions SET metrics = :m"),
                     {"m": '{"accuracy": NaN, "loss": Infinity}'})

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    code, out = _run("model", "list", "--registry-uri", uri, "--json")
    assert code == 0 and json.loads(out, parse_constant=refuse)[0]["metrics"] == {"accuracy": None, "loss": "inf"}


def test_promote_says_better_than_the_champion(tmp_path: Path, data_file: Path) -> None:
    uri = f"sqlite:///{tmp_path}/reg.db"
    for accuracy in ("0.675", "0.8617"):
        _run("model", "register", "--name", "m", "--data", str(data_file), "--metric", f"accuracy={accuracy}",
             "--registry-uri", uri)
    assert _run("model", "promote", "--name", "m", "--version", "1", "--gate", "accuracy>=0.6", "--registry-uri", uri)[0] == 0
    code, out = _run("model", "promote", "--name", "m", "--version", "2", "--gate", "accuracy>=0.6", "--registry-uri", uri)
    assert code == 0 and "accuracy 0.8617 better than the champion 0.675" in out and "within" not in out


def test_a_stale_dvc_file_is_warned_about_and_recorded_with_the_version(tmp_path: Path, data_file: Path) -> None:
    recorded = hashlib.md5(b"old data\n", usedforsecurity=False).hexdigest()
    data_file.with_name("train.csv.dvc").write_text(f"outs:\n- md5: {recorded}\n  hash: md5\n  path: train.csv\n")
    uri = f"sqlite:///{tmp_path}/reg.db"
    result = runner.invoke(app, ["model", "register", "--name", "m", "--data", str(data_file), "--metric", "accuracy=0.9",
                                 "--registry-uri", uri, "--json"])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.stderr and "train.csv.dvc is stale" in result.stderr
    version = json.loads(result.stdout)
    assert version["data_version"] == hashlib.md5(data_file.read_bytes(), usedforsecurity=False).hexdigest() != recorded
    assert "train.csv.dvc is stale" in version["tags"]["foresight.data_warning"]
