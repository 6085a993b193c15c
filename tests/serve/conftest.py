"""A small simulated ``foresight serve`` (4 services, 1.5 simulated hours of warm-up) per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from foresight.config import load_settings
from foresight.serve.service import Service, build_service


def small_settings(tmp_path: Path, **overrides: Any) -> Any:
    simulate = {"services": 4, "warmup_s": 5400.0, "speed": 3600.0, "duration_s": 86400.0,
                "policy": "hpa", **overrides.pop("simulate", {})}
    return load_settings(None, simulate=simulate, audit_url=str(tmp_path / "audit.db"), **overrides)


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Build a simulated service (not started); closes what the test left running."""
    built: list[Service] = []

    def make(**overrides: Any) -> Service:
        service = build_service(small_settings(tmp_path, **overrides), simulate=True)
        built.append(service)
        return service

    yield make
    for service in built:
        service.runtime.stop()

