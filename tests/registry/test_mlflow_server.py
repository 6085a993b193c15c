"""The MLflow adapter against a real MLflow 3 tracking server, and registrations that fail half-way.

A tracking server checks what the embedded SQLite store does not (a version's ``models:/`` source
must come with the logged model's ``model_id``); a registration that fails, or whose server dies,
between MLflow's calls must leave nothing behind once settled (the ``debris`` fixture says what
would be left).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import foresight.cli.model  # noqa: F401  (registers `model`)
from foresight.cli.app import app
from foresight.errors import ServiceUnavailable
from foresight.adapters.mlflow_registry import MlflowRegistry


def _register(reg: MlflowRegistry, name: str, model: Any, accuracy: float = 0.9):
    return reg.register(name, params={"C": 1.0}, metrics={"accuracy": accuracy}, code_commit="unknown",
                        data_version="x", seed=0, model=model)


@pytest.mark.integration
def test_the_cli_registers_on_a_tracking_server(mlflow_server: Any, debris, tmp_path: Path, fitted_model) -> None:
    model_file = tmp_path / "model.pkl"
    model_file.write_bytes(pickle.dumps(fitted_model))
    data = tmp_path / "data.csv"
    data.write_text("x,y\n1,0\n")
    runner = CliRunner()
    result = runner.invoke(app, ["model", "register", "--name", "cli-model", "--data", str(data), "--metric",
                                 "accuracy=0.91", "--model-file", str(model_file), "--registry-uri", mlflow_server.url,
                                 "--json"])
    assert result.exit_code == 0, f"{result.output}{result.exception}"
    assert json.loads(result.stdout)["metrics"] == {"accuracy": 0.91}  # stdout is the JSON alone
    listed = runner.invoke(app, ["model", "list", "--name", "cli-model", "--registry-uri", mlflow_server.url, "--json"])
    assert [v["version"] for v in json.loads(listed.stdout)] == [1]
    assert debris(mlflow_server.url) == []


def _failing(method: Callable[..., Any], after: bool = False) -> Callable[..., Any]:
    """``method`` whose first call raises a server error instead of running (``after``: once it has run,
    as when the answer is lost); later calls run as usual (a transient failure)."""
    from mlflow.exceptions import MlflowException

    calls = []

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            return method(self, *args, **kwargs)
        if after:
            method(self, *args, **kwargs)
        raise MlflowException("injected failure", error_code="INTERNAL_ERROR")

    return call


@pytest.mark.parametrize("store", ["sqlite", pytest.param("server", marks=pytest.mark.integration)])
@pytest.mark.parametrize("step", ["create_logged_model", "log_batch", "log_model_artifacts", "set_terminated",
                                  "create_registered_model", "create_model_version"])
def test_a_failed_call_is_undone_at_once(request: pytest.FixtureRequest, require_mlflow, store: str, step: str, debris,
                                         _mlflow_store: Path, fitted_model, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient

    uri = (request.getfixturevalue("mlflow_server").url if store == "server"
           else f"sqlite:///{_mlflow_store / 'mlflow.db'}")
    reg = MlflowRegistry(uri)
    name = f"undo-{step}"
    monkeypatch.setattr(MlflowClient, step, _failing(getattr(MlflowClient, step)))
    with pytest.raises(ServiceUnavailable, match="injected failure"):
        _register(reg, name, fitted_model)
    monkeypatch.undo()
    assert debris(uri) == []
    assert _register(reg, name, fitted_model).version == 1  # nothing half-made is in the way


@pytest.mark.parametrize("store", ["sqlite", pytest.param("server", marks=pytest.mark.integration)])
def test_a_version_whose_answer_was_lost_is_the_registration(request: pytest.FixtureRequest, require_mlflow, store: str, debris,
                                                             _mlflow_store: Path, fitted_model,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient

    uri = (request.getfixturevalue("mlflow_server").url if store == "server"
           else f"sqlite:///{_mlflow_store / 'mlflow.db'}")
    reg = MlflowRegistry(uri)
    monkeypatch.setattr(MlflowClient, "create_model_version", _failing(MlflowClient.create_model_version, after=True))
    version = _register(reg, "answer-lost", fitted_model, 0.93)
    monkeypatch.undo()
    assert (version.version, version.metrics) == (1, {"accuracy": 0.93})
    assert [v.version for v in reg.list_versions("answer-lost")] == [1]
    assert debris(uri) == []


def _killing(server: Any, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` that kills the server first: the registration dies half-way, as in a crash."""

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        server.kill()
        return method(self, *args, **kwargs)

    return call


@pytest.mark.integration
def test_a_server_that_dies_mid_registration_leaves_no_debris(own_mlflow_server: Any, debris, fitted_model,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow import MlflowClient

    server = own_mlflow_server
    reg = MlflowRegistry(server.url)
    # dies while the version is created: the run, its logged model and the registered model exist, no version
    monkeypatch.setattr(MlflowClient, "create_model_version", _killing(server, MlflowClient.create_model_version))
    with pytest.raises(ServiceUnavailable):
        _register(reg, "first", fitted_model)
    monkeypatch.undo()
    server.start()
    left = debris(server.url)
    assert "registered model first without versions" in left  # the dead server could not be cleaned
    # another process's registration may still be running: a new registry leaves it alone ...
    assert _register(MlflowRegistry(server.url), "other", fitted_model).version == 1
    assert debris(server.url) == left
    # ... the registry whose registration it was settles it at its next one
    assert _register(reg, "first", fitted_model).version == 1
    assert debris(server.url) == []
    assert [(v.name, v.version) for v in reg.list_versions()] == [("first", 1), ("other", 1)]


def test_an_unsettled_registration_of_another_process_is_removed_once_stale(
    require_mlflow, debris, _mlflow_store: Path, fitted_model, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow import MlflowClient

    uri = f"sqlite:///{_mlflow_store / 'mlflow.db'}"
    # the version's creation fails and so does the undo (the store is away): the registration stays unsettled
    monkeypatch.setattr(MlflowClient, "create_model_version", _failing(MlflowClient.create_model_version))
    monkeypatch.setattr(MlflowClient, "search_model_versions", _failing(MlflowClient.search_model_versions))
    with pytest.raises(ServiceUnavailable):
        _register(MlflowRegistry(uri), "stale", fitted_model)
    monkeypatch.undo()
    left = debris(uri)
    assert "registered model stale without versions" in left
    _register(MlflowRegistry(uri), "fresh", fitted_model)  # younger than an hour: maybe still running
    assert debris(uri) == left
    _register(MlflowRegistry(uri, stale_after_s=0), "fresh", fitted_model)
    assert debris(uri) == []
