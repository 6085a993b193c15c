"""Pytest plugin: real Prometheus and Alertmanager processes (Debian packages) for integration tests.

Each server runs as a plain process on 127.0.0.1, on a free port, with its config and storage in
a temporary folder, and is stopped when its fixture ends. Fixtures:

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

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

PROMETHEUS_BIN = "prometheus"
ALERTMANAGER_BIN = "prometheus-alertmanager"
_READY_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class RunningServer:
    """A started server: its base URL, working folder (config, storage, ``server.log``) and process."""

    url: str
    workdir: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return (self.workdir / "server.log").read_text(errors="replace")


class ServiceLauncher:
    """Starts Prometheus and Alertmanager processes under ``root`` and stops all of them on :meth:`close`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._running: list[RunningServer] = []

    def prometheus(
        self,
        *,
        scrape_targets: Sequence[str] = (),
        scrape_configs: Sequence[Mapping[str, Any]] = (),
        alertmanagers: Sequence[str] = (),
        rule_groups: Sequence[Mapping[str, Any]] = (),
        remote_write: Sequence[Mapping[str, Any]] = (),
        out_of_order_window: str | None = "30d",
        args: Sequence[str] = (),
    ) -> RunningServer:
        """Start Prometheus: scrape and evaluate every 1 s, remote-write receiver on, alert resend 1 s.

        ``scrape_targets`` (``host:port``) form the job ``targets``; ``scrape_configs``,
        ``rule_groups`` and ``remote_write`` entries go into the config as written;
        ``alertmanagers`` are ``host:port`` of Alertmanagers to send alerts to.
        """
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                *(
                    [{"job_name": "targets", "static_configs": [{"targets": list(scrape_targets)}]}]
                    if scrape_targets
                    else []
                ),
                *scrape_configs,
            ],
            "remote_write": list(remote_write),
        }
        if out_of_order_window:
            config["storage"] = {"tsdb": {"out_of_order_time_window": out_of_order_window}}
        if alertmanagers:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]}
        workdir = self._workdir("prometheus")
        if rule_groups:
            (workdir / "rules.yml").write_text(json.dumps({"groups": list(rule_groups)}))
            config["rule_files"] = [str(workdir / "rules.yml")]
        (workdir / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
        return self._start(
            workdir,
            lambda port: [
                PROMETHEUS_BIN,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-remote-write-receiver",
                "--web.enable-lifecycle",
                "--rules.alert.resend-delay=1s",
                *args,
            ],
        )

    def alertmanager(
        self, config: Mapping[str, Any] | None = None, args: Sequence[str] = ()
    ) -> RunningServer:
        """Start Alertmanager with ``config`` (default: every alert to a receiver that sends nothing)."""
        workdir = self._workdir("alertmanager")
        config = config or {"route": {"receiver": "none"}, "receivers": [{"name": "none"}]}
        (workdir / "alertmanager.yml").write_text(json.dumps(config))
        return self._start(
            workdir,
            lambda port: [
                ALERTMANAGER_BIN,
                f"--config.file={workdir / 'alertmanager.yml'}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                *args,
            ],
        )

    def close(self) -> None:
        for server in reversed(self._running):
            _stop(server.process)
        self._running.clear()

    def _workdir(self, name: str) -> Path:
        workdir = self.root / f"{name}-{len(self._running)}"
        workdir.mkdir(parents=True)
        return workdir

    def _start(self, workdir: Path, command: Callable[[int], list[str]]) -> RunningServer:
        # A free port can be taken between picking and binding it: try a few.
        for _ in range(3):
            port = free_port()
            with (workdir / "server.log").open("ab") as log:
                process = subprocess.Popen(command(port), stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
            server = RunningServer(f"http://127.0.0.1:{port}", workdir, process)
            self._running.append(server)
            if _wait_ready(server):
                return server
            _stop(process)
            if "address already in use" not in server.log():
                break
        raise RuntimeError(f"{command(0)[0]} did not become ready; its log ends:\n{server.log()[-3000:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(server: RunningServer) -> bool:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            if httpx.get(f"{server.url}/-/ready", timeout=1.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _binary_reason(binary: str) -> str | None:
    if shutil.which(binary) is None:
        return f"{binary} not found on PATH (apt-get install prometheus prometheus-alertmanager)"
    return None


@pytest.fixture(scope="session")
def _session_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer | None]:
    if _binary_reason(PROMETHEUS_BIN):
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
    require_service(_session_prometheus is not None, _binary_reason(PROMETHEUS_BIN) or "")
    assert _session_prometheus is not None
    return _session_prometheus


@pytest.fixture
def prometheus_factory(
    require_service: Callable[[bool, str], None], tmp_path: Path
) -> Iterator[Callable[..., RunningServer]]:
    """Start Prometheus servers with their own configuration; all stop at the end of the test."""
    reason = _binary_reason(PROMETHEUS_BIN)
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
    reason = _binary_reason(ALERTMANAGER_BIN)
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
