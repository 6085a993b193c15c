"""Fixtures of the feature-store tests: the example FeatureSet, and a Feast store on the real Redis.

Feast lives in the optional ``feast`` extra (its own venv in CI, since it needs pandas<3): absent,
the Feast tests skip, unless ``FORESIGHT_REQUIRE_FEAST=1`` (set by ``.ci/run``) makes it a failure.
Each store gets its own Feast project, hence its own Redis key space, and is torn down after.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_service

from foresight.specs.features import FeatureSet, load_feature_set

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "features" / "payments.yaml"
REDIS = ("127.0.0.1", 6379)


def require_feast() -> None:
    """Skip without the feast extra (fail under FORESIGHT_REQUIRE_FEAST=1)."""
    if importlib.util.find_spec("feast") is not None:
        return
    reason = "Feast is not installed (pip install -r requirements-feast.txt, in a venv of its own)"
    if os.environ.get("FORESIGHT_REQUIRE_FEAST") == "1":
        pytest.fail(f"{reason}, and FORESIGHT_REQUIRE_FEAST=1 requires it", pytrace=False)
    pytest.skip(reason)


def redis_up(host: str = REDIS[0], port: int = REDIS[1]) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def payments() -> FeatureSet:
    """The example spec under a project name of its own (so tests never share Redis keys)."""
    spec = load_feature_set(EXAMPLE)
    return spec.model_copy(update={"project": f"fs_test_{uuid.uuid4().hex[:10]}"})


@pytest.fixture
def feast_store(payments: FeatureSet, tmp_path: Path) -> Iterator[object]:
    """A FeastStore on the example spec, applied, online on the real Redis; torn down after the test."""
    require_feast()
    require_service(redis_up(), "Redis on 127.0.0.1:6379")
    from features.feature_data import write_empty_activity, write_profiles

    from foresight.adapters.feast_store import FeastStore, write_repo
    from foresight.features.repo import RepoTarget

    data = tmp_path / "data"
    data.mkdir()
    write_profiles(data / "card_profile.parquet")
    write_empty_activity(data / "card_activity.parquet")
    repo = write_repo(payments, tmp_path / "repo", RepoTarget(str(data), str(tmp_path / "registry.db")))
    store = FeastStore(payments, repo, write_attempts=2, backoff_s=0.05)
    store.apply()
    try:
        yield store
    finally:
        store.teardown()
