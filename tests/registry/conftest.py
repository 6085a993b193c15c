"""Every registry backend behind one fixture: the conformance suite runs on each.

MLflow is an optional extra: without it the MLflow cases skip with the reason, unless
``FORESIGHT_REQUIRE_MLFLOW=1`` (set where CI has installed the extra), which makes them fail.
The ``mlflow-server`` cases also need a real tracking server (``$FORESIGHT_MLFLOW_SERVER_BIN``):
absent, they skip with the reason, or fail under ``FORESIGHT_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from foresight.bench.prometheus_server import free_port
from foresight.adapters.local_registry import LocalRegistry
from foresight.adapters.mlflow_registry import MlflowRegistry, mlflow_available
from foresight.registry import Registry


def need_mlflow() -> None:
    if mlflow_available():
        return
    reason = "mlflow extra not installed (pip install 'foresight[mlflow]')"
    if os.environ.get("FORESIGHT_REQUIRE_MLFLOW", "") not in ("", "0", "false", "no"):
        pytest.fail(f"FORESIGHT_REQUIRE_MLFLOW is set but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def require_mlflow() -> None:
    """Skip (or, with FORESIGHT_REQUIRE_MLFLOW, fail) a test that needs the mlflow extra."""
    need_mlflow()


@pytest.fixture(scope="session")
def _mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MLflow SQLite store per session: creating its tables takes seconds, once."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(params=["local", "mlflow", pytest.param("mlflow-server", marks=pytest.mark.integration)])
def registry(request: pytest.FixtureRequest, tmp_path: Path, _mlflow_store: Path, require_service) -> Iterator[Registry]:
    if request.param == "local":
        reg = LocalRegistry(tmp_path / "registry.db")
        yield reg
        reg.close()
    elif request.param == "mlflow":
        need_mlflow()
        yield MlflowRegistry(directory=_mlflow_store)
    else:
        _server_binary(require_service)
        yield MlflowRegistry(request.getfixturevalue("_session_server").url)


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A name unique to the test (the MLflow store is shared by the session)."""
    return "m-" + request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[-60:]


@pytest.fixture(scope="session")
def fitted_model():
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))


# -- a real MLflow tracking server -------------------------------------------------------------
#: The `mlflow` CLI of a venv with the full mlflow package (the extra is mlflow-skinny, which cannot
#: run `mlflow server`); .ci/run makes one and exports this variable.
SERVER_BIN_VAR = "FORESIGHT_MLFLOW_SERVER_BIN"


class MlflowServer:
    """``mlflow server`` on 127.0.0.1 with its SQLite store and artifacts under ``root``; tests kill and restart it."""

    def __init__(self, binary: Path, root: Path) -> None:
        self.binary, self.root = binary, root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 180.0) -> None:
        """Start (or restart on the same port and store) and wait until /health answers."""
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the server writes it while it lives
        self._proc = subprocess.Popen(
            [str(self.binary), "server", "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
             "--artifacts-destination", str(self.root / "artifacts"), "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1"],
            cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {self._proc.returncode}: "
                                   f"{(self.root / 'server.log').read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"mlflow server not ready on {self.url} after {timeout_s:.0f} s")

    def kill(self) -> None:
        """SIGKILL the server and its workers (its own process group): a crash, not a shutdown."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()
        self._proc = None


def _server_binary(require_service) -> Path:
    need_mlflow()  # the client side: without the extra, the adapter cannot talk to any server
    raw = os.environ.get(SERVER_BIN_VAR, "")
    binary = Path(raw) if raw else None
    require_service(binary is not None and binary.is_file(),
                    f"no MLflow tracking server: set {SERVER_BIN_VAR} to the `mlflow` CLI of a venv with the full "
                    f"mlflow==3.17.2 (as .ci/run does){f'; {raw} does not exist' if raw else ''}")
    return binary  # type: ignore[return-value]


@pytest.fixture(scope="session")
def _session_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    server = MlflowServer(Path(os.environ[SERVER_BIN_VAR]), tmp_path_factory.mktemp("mlflow-server"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def mlflow_server(request: pytest.FixtureRequest, require_service) -> MlflowServer:
    """One tracking server for the session (started on first use; skipped when absent)."""
    _server_binary(require_service)
    return request.getfixturevalue("_session_server")


@pytest.fixture
def own_mlflow_server(require_service, tmp_path: Path) -> Iterator[MlflowServer]:
    """A tracking server of the test's own, with its own store: for tests that kill it."""
    server = MlflowServer(_server_binary(require_service), tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture(name="debris")
def debris_fixture() -> Callable[[str], list[str]]:
    """:func:`debris`, as a fixture (test folders are not packages)."""
    return debris


def debris(uri: str) -> list[str]:
    """What unfinished registrations left in the store at ``uri``: each item says what and where."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    from foresight.adapters.mlflow_registration import PENDING_TAG

    client = MlflowClient(uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("foresight")
    if experiment is None:
        return []
    versions = client.search_model_versions(max_results=10_000)
    runs_with_versions = {v.run_id for v in versions}
    # the embedded SQLite store does not return a version's model_id: its source names the model too
    models_with_versions = {v.model_id or v.source.removeprefix("models:/") for v in versions}
    found = []
    for run in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=10_000):
        info = run.info
        if info.status == "RUNNING":
            found.append(f"run {info.run_id} still RUNNING ({info.lifecycle_stage})")
        if info.lifecycle_stage == "active" and info.run_id not in runs_with_versions:
            found.append(f"run {info.run_id} ({info.status}) without a model version")
        if info.lifecycle_stage == "active" and PENDING_TAG in run.data.tags:
            found.append(f"run {info.run_id} still tagged {PENDING_TAG}")
    for logged in client.search_logged_models([experiment.experiment_id], max_results=10_000):
        if logged.model_id not in models_with_versions:
            found.append(f"logged model {logged.model_id} ({logged.status}) that no version points at")
    for registered in client.search_registered_models(max_results=1000):
        if not any(v.name == registered.name for v in versions):
            found.append(f"registered model {registered.name} without versions")
        if PENDING_TAG in registered.tags:
            found.append(f"registered model {registered.name} still tagged {PENDING_TAG}")
    return found


# -- a real DVC --------------------------------------------------------------------------------
#: The `dvc` CLI of a venv with dvc==3.67.1 (it is no dependency of Foresight's); .ci/run makes one.
DVC_BIN_VAR = "FORESIGHT_DVC_BIN"


@pytest.fixture
def dvc_repo(require_service, tmp_path: Path) -> Callable[..., str]:
    """A fresh git + DVC repository in ``tmp_path``; returns ``dvc(*args) -> stdout`` run inside it."""
    raw = os.environ.get(DVC_BIN_VAR, "")
    binary = Path(raw) if raw else None
    require_service(binary is not None and binary.is_file(),
                    f"no DVC: set {DVC_BIN_VAR} to the `dvc` CLI of a venv with dvc==3.67.1 (as .ci/run does)"
                    f"{f'; {raw} does not exist' if raw else ''}")
    require_service(shutil.which("git") is not None, "no git binary (DVC's repository is a git repository)")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}

    def dvc(*args: str) -> str:
        done = subprocess.run([str(binary), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, f"dvc {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    dvc("init", "-q")
    return dvc
