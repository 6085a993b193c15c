"""Shared fixtures: where the public data sets are, and how a missing service is reported.

A test that needs a real service calls :func:`require_service`; on a user's machine an absent
service skips the test with the reason, but under ``FORESIGHT_REQUIRE_SERVICES=1`` (set by
``.ci/run``) it fails, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from git_cli import init_bare

from foresight.gitops.validate import CrdSchemas

#: Fixtures that start real Prometheus / Alertmanager processes (tests/plugins/).
pytest_plugins = ["plugins.prometheus_server"]

#: ``../shared/data`` beside the checkout, or wherever ``FORESIGHT_SHARED_DATA`` points.
SHARED_DATA = Path(
    os.environ.get("FORESIGHT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def services_required() -> bool:
    return os.environ.get("FORESIGHT_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def require_service(available: bool, reason: str) -> None:
    """Skip (or, in CI, fail) the calling test when a service it needs is absent."""
    if available:
        return
    if services_required():
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that read it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public data sets not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(name="require_service")
def require_service_fixture():
    """The :func:`require_service` check, as a fixture (test folders are not packages)."""
    return require_service


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """An empty bare Git repository (branch ``main``) to deploy to."""
    return init_bare(tmp_path)


@pytest.fixture(scope="session")
def crds() -> CrdSchemas:
    """The Istio, Argo CD, KEDA and Kubeflow CRD schemas of the public data, parsed once per run (they are large)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"public data sets not found at {SHARED_DATA}")
    return CrdSchemas(SHARED_DATA / "schemas")


@pytest.fixture
def statsforecast_installed() -> None:
    """Skip without the ``statsforecast`` extra; FORESIGHT_REQUIRE_STATSFORECAST=1 (CI's own venv for it)
    makes its absence a failure."""
    from foresight.adapters.statsforecast import available

    if not available():
        reason = "statsforecast (the `statsforecast` extra) is not installed"
        if os.environ.get("FORESIGHT_REQUIRE_STATSFORECAST") == "1":
            pytest.fail(f"{reason}, and FORESIGHT_REQUIRE_STATSFORECAST=1 requires it")
        pytest.skip(reason)
