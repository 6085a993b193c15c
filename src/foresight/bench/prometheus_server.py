"""Real Prometheus and Alertmanager processes (Debian packages) for the integration tests and ``foresight bench parity``.

Each server runs as a plain process on 127.0.0.1, on a free port, with its config and storage in a
folder of its own, until :meth:`ServiceLauncher.close`. Prometheus starts with the remote-write
receiver on and, by default, a 30-day out-of-order window: a harness pushes samples stamped with a
simulator's time, which may lie hours before the wall clock and arrive in several batches. The pytest
fixtures over this launcher are in ``tests/plugins/prometheus_server.py``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from foresight.errors import ServiceUnavailable

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
        raise ServiceUnavailable(f"{command(0)[0]} did not become ready; its log ends:\n{server.log()[-3000:]}")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (another process may take it before it is bound: callers retry)."""
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


def missing_binary(binary: str) -> str | None:
    """Why ``binary`` cannot be started (how to install it), or None when it is on PATH."""
    if shutil.which(binary) is None:
        return f"{binary} not found on PATH (apt-get install prometheus prometheus-alertmanager)"
    return None
