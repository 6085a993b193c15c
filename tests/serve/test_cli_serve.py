"""``foresight serve``: a real process on a free port, stopped by SIGTERM; and its start-up errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

import foresight.cli.serve  # noqa: F401  (registers the command until the lead imports it in cli/__init__)
from foresight.bench.prometheus_server import free_port
from foresight.cli.app import app
from foresight.adapters.audit_log import AuditLog

# Runs the CLI with the serve command registered, exactly as ``foresight`` would once it is imported there.
LAUNCH = "import sys, foresight.cli.serve; from foresight.cli import main; sys.argv[0] = 'foresight'; main()"


def test_serve_simulate_answers_then_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    audit = tmp_path / "audit.db"
    env = {**os.environ, "FORESIGHT_SIMULATE__WARMUP_S": "1800", "FORESIGHT_SIMULATE__SERVICES": "4",
           "FORESIGHT_AUDIT_URL": str(audit), "FORESIGHT_LOG_FORMAT": "json"}
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "serve", "--simulate", "--port", str(port),
                             "--speed", "600"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready"
            time.sleep(0.1)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert "foresight_decisions_total" in metrics and "ai_predicted_load" in metrics
        now = httpx.get(f"http://127.0.0.1:{port}/api/v1/status").json()["now"]
        assert now >= 1800
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    # uvicorn re-raises SIGTERM once its graceful shutdown is complete, so the process ends by the signal
    assert proc.returncode in (0, -signal.SIGTERM), stderr[-2000:]
    assert '"message": "runtime stopped; audit log flushed"' in stderr  # JSON log lines
    with AuditLog(audit) as log:
        last = log.query(controller="hpa", limit=1)[0]
    assert last.time >= now  # what ran after the status read was written before the exit


def test_serve_reports_a_bad_config_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "serve.yaml"
    config.write_text("simulate:\n  speed: -5\n")
    result = CliRunner().invoke(app, ["serve", "--simulate", "--config", str(config)])
    assert result.exit_code != 0
    assert "simulate.speed: Input should be greater than 0" in str(result.exception)


def test_in_memory_audit_store_is_refused(tmp_path: Path) -> None:
    from foresight.config import load_settings
    from foresight.errors import ConfigError
    from foresight.serve.service import build_service

    try:
        build_service(load_settings(None, audit_url="sqlite://"), simulate=True)
    except ConfigError as exc:
        assert "in-memory SQLite" in str(exc)
    else:
        raise AssertionError("an in-memory audit store was accepted")


def test_demo_web_builds_the_simulated_service_and_serves_it(tmp_path: Path, monkeypatch) -> None:
    import foresight.api.server as server

    served: list[tuple[object, str, int]] = []
    monkeypatch.setattr(server, "serve_forever", lambda service, host, port: served.append((service, host, port)))
    server.run_dashboard_for_demo(services=4, seed=3, speed=120.0, port=8999, out_dir=tmp_path)
    (service, host, port), = served
    assert (host, port) == ("127.0.0.1", 8999)
    assert service.settings.simulate.seed == 3 and service.runtime.sim_speed == 120.0
    assert service.runtime.platform.now() == service.settings.simulate.warmup_s
    assert (tmp_path / "web-audit.db").exists()
    service.runtime.stop()
