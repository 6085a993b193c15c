"""Pytest plugin: real Prometheus and Alertmanager processes (Debian packages) for integration tests.

The launcher itself is :mod:`foresight.bench.prometheus_server` (``foresight bench parity`` starts
its Prometheus with it too); this plugin wraps it in fixtures:

- ``prometheus``: one Prometheus for the whole session (remote-write receiver on, out-of-order
  window of 30 days for backfills, no scrape targets); push to it, query it.
- ``prometheus_factory(...)``: a fresh Prometheus with its own scrape targets, Alertmanagers,
  rule groups and remote-write targets (keyword arguments of :meth:`ServiceLauncher.prometheus`);
  stopped at the end of the test.
- ``alertmanager_factory(config=None)``: a fresh Alertmanager (clustering off).
- ``asgi_server(app)``: serves an ASGI app (uvicorn, in a thread) so a real Prometheus or
  Alertmanager can call it; returns its base URL.

A missing binary goes through ``require_service`` (skip locally, fail in CI). Register with
``pythonpath = ["tests"]`` in pytest's settings and ``pytest_plugins = ["plugins.prometheus_server"]``
in ``tests/conftest.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from foresight.bench.prometheus_server import (
    ALERTMANAGER_BIN,
    PROMETHEUS_BIN,
    RunningServer,
    ServiceLauncher,
    free_port,
    missing_binary,
)

__all__ = ["RunningServer", "ServiceLauncher", "free_port"]

_READY_TIMEOUT_S = 15.0


@pytest.fixture(scope="session")
def _session_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer | None]:
    if missing_binary(PROMETHEUS_BIN):
        yield None
        return
    launcher = ServiceLauncher(tmp_path_factory.mktemp("session-prometheus"))
    try:
        yield launcher.prometheus()
    finally:
        launcher.close()


@pytest.fixture
def prometheus(
    require_service: Callable[[bool, str], None], _session_prometheus: RunningServer | None
) -> RunningServer:
    """The session's Prometheus (remote-write receiver on; no scrape targets)."""
    require_service(_session_prometheus is not None, missing_binary(PROMETHEUS_BIN) or "")
    assert _session_prometheus is not None
    return _session_prometheus


@pytest.fixture
def prometheus_factory(
    require_service: Callable[[bool, str], None], tmp_path: Path
) -> Iterator[Callable[..., RunningServer]]:
    """Start Prometheus servers with their own configuration; all stop at the end of the test."""
    reason = missing_binary(PROMETHEUS_BIN)
    require_service(reason is None, reason or "")
    launcher = ServiceLauncher(tmp_path / "servers")
    try:
        yield launcher.prometheus
    finally:
        launcher.close()


@pytest.fixture
def alertmanager_factory(
    require_service: Callable[[bool, str], None], tmp_path: Path
) -> Iterator[Callable[..., RunningServer]]:
    """Start Alertmanager servers (clustering off); all stop at the end of the test."""
    reason = missing_binary(ALERTMANAGER_BIN)
    require_service(reason is None, reason or "")
    launcher = ServiceLauncher(tmp_path / "alertmanagers")
    try:
        yield launcher.alertmanager
    finally:
        launcher.close()


@pytest.fixture
def asgi_server() -> Iterator[Callable[[Any], str]]:
    """Serve ASGI apps on 127.0.0.1 (uvicorn, one thread each); returns a function app -> base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(app: Any) -> str:
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start serving the test app")
            time.sleep(0.01)
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.config.port}"

    try:
        yield serve
    finally:
        for server, thread in servers:
            server.should_exit = True
            thread.join(timeout=10)
