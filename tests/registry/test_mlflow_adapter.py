"""What only the MLflow adapter does: its import hint, an unreachable server, model files."""

from __future__ import annotations

import pickle
import time

import pytest

from foresight.bench.prometheus_server import free_port
from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.adapters.local_registry import LocalRegistry
from foresight.adapters.mlflow_registry import MlflowRegistry, mlflow_available
from foresight.runtime.registry import open_registry


def test_without_the_extra_the_error_says_how_to_install(tmp_path) -> None:
    if mlflow_available():
        pytest.skip("mlflow is installed here")
    with pytest.raises(ConfigError, match=r"pip install 'foresight\[mlflow\]'"):
        MlflowRegistry(directory=tmp_path)


def test_open_registry_picks_the_backend(tmp_path) -> None:
    assert isinstance(open_registry(tmp_path / "r.db"), LocalRegistry)
    assert isinstance(open_registry(f"sqlite:///{tmp_path}/r.db"), LocalRegistry)
    with pytest.raises(ConfigError, match="backend"):
        open_registry(tmp_path / "r.db", backend="neptune")


def test_an_unreachable_server_is_service_unavailable_quickly(require_mlflow, fitted_model) -> None:
    reg = MlflowRegistry(f"http://127.0.0.1:{free_port()}")
    start = time.perf_counter()
    with pytest.raises(ServiceUnavailable, match="127.0.0.1"):
        reg.register("m", params={}, metrics={"accuracy": 0.9}, code_commit="unknown", data_version="x",
                     seed=0, model=fitted_model)
    with pytest.raises(ServiceUnavailable):
        reg.get_alias("m", "champion")
    assert time.perf_counter() - start < 30


def test_a_model_file_is_registered_and_a_bare_version_refused(require_mlflow, tmp_path, fitted_model, _mlflow_store) -> None:
    reg = MlflowRegistry(directory=_mlflow_store)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(fitted_model))
    v = reg.register("file-model", params={}, metrics={"accuracy": 0.9}, code_commit="unknown",
                     data_version="x", seed=None, model_file=path)
    assert v.version >= 1 and v.seed is None
    with pytest.raises(InputError, match="logged models"):
        reg.register("file-model", params={}, metrics={}, code_commit="unknown", data_version="x", seed=None)


def test_the_loop_holds_its_registration_while_mlflow_is_down(require_mlflow, fitted_model) -> None:
    from foresight.clock import ManualClock
    from foresight.feedback import Candidate, DecaySignal, FeedbackLoop, LoopPolicy

    class NoCanary:
        def start(self, version: int, now_s: float) -> None: ...

        def advance_to(self, now_s: float):
            return None

    def retrain(now: float) -> Candidate:
        return Candidate(fitted_model, {"C": 1.0}, {"accuracy": 0.9}, "abc", 0)

    loop = FeedbackLoop("m", LoopPolicy(), MlflowRegistry(f"http://127.0.0.1:{free_port()}"), retrain,
                        NoCanary(), ManualClock(0.0))
    steps = loop.tick(DecaySignal(True, 0.5, "PSI 0.5 > 0.2"))
    assert [s.action for s in steps] == ["retrain", "register", "hold"]
    assert "127.0.0.1" in steps[1].error and loop.pending is not None
