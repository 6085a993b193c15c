"""A simulated ``foresight serve`` for the API tests (4 services, 1.5 simulated hours of warm-up)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from foresight.config import load_settings
from foresight.serve.service import Service, build_service

TOKEN = "test-token-0123456789"


def build(tmp: Path, **overrides: Any) -> Service:
    simulate = {"services": 4, "warmup_s": 5400.0, "speed": 600.0, "duration_s": 86400.0,
                **overrides.pop("simulate", {})}
    settings = load_settings(None, simulate=simulate, audit_url=str(tmp / "audit.db"),
                             api={"token": TOKEN, **overrides.pop("api", {})}, **overrides)
    return build_service(settings, simulate=True)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    built = build(tmp_path_factory.mktemp("serve"))
    yield built
    built.runtime.stop()
