"""Every registry backend behind one fixture: the conformance suite runs on each.

MLflow is an optional extra: without it the MLflow cases skip with the reason, unless
``FORESIGHT_REQUIRE_MLFLOW=1`` (set where CI has installed the extra), which makes them fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from foresight.registry import LocalRegistry, MlflowRegistry, Registry, mlflow_available


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


@pytest.fixture(params=["local", "mlflow"])
def registry(request: pytest.FixtureRequest, tmp_path: Path, _mlflow_store: Path) -> Iterator[Registry]:
    if request.param == "local":
        reg = LocalRegistry(tmp_path / "registry.db")
        yield reg
        reg.close()
    else:
        need_mlflow()
        yield MlflowRegistry(directory=_mlflow_store)


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
