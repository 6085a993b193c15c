"""Alertmanager unreachable: incidents opened while it is down reach it once it is back, none lost.

A real Alertmanager (the test's own, on a free port) is killed with SIGKILL while ``foresight serve``
runs, an alert arrives through the webhook and becomes an incident meanwhile, and the same
Alertmanager (same port, same storage) is started again: the incident's alert must arrive there
without anything restarting Foresight.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fault_services import restart, stop, wait_until

from foresight.api.server import start_in_thread
from foresight.config import load_settings
from foresight.serve.service import build_service

pytestmark = pytest.mark.integration

TOKEN = "t0ken-for-the-fault-test"


def _incident_alerts(am_url: str) -> list[dict]:
    try:
        alerts = httpx.get(f"{am_url}/api/v2/alerts", timeout=2).json()
    except httpx.TransportError:
        return []
    return [a for a in alerts if a["labels"].get("alertname") == "ForesightIncident"]


def test_incidents_opened_while_alertmanager_is_down_are_delivered_once_it_is_back(
        tmp_path: Path, alertmanager_factory) -> None:
    am = alertmanager_factory()
    settings = load_settings(None, audit_url=str(tmp_path / "audit.db"), api={"token": TOKEN},
                             incidents={"period_s": 0.2}, live={"alertmanager_url": am.url})
    server = start_in_thread(build_service(settings, simulate=False))
    runtime = server.service.runtime
    sink = runtime.platform.alert_sink
    auth = {"Authorization": f"Bearer {TOKEN}"}
    revived = None
    try:
        api = httpx.Client(base_url=server.url, timeout=10)
        am.process.kill()
        am.process.wait()
        now = datetime.now(UTC)
        body = {"version": "4", "status": "firing", "receiver": "foresight", "alerts": [
            {"status": "firing", "labels": {"alertname": alert, "service": svc, "severity": "critical"},
             "startsAt": (now - timedelta(seconds=ago)).isoformat()}
            for alert, svc, ago in (("DbSlow", "db", 30), ("DbErrors", "db", 20))]}
        assert api.post("/api/v1/alerts/webhook", json=body, headers=auth).status_code == 200
        wait_until(lambda: api.get("/api/v1/incidents").json()["incidents"], 20.0, "no incident was opened")
        wait_until(lambda: sink.pending > 0 and sink.delivered == 0, 20.0, "the incident was never tried")
        version = runtime.version
        wait_until(lambda: runtime.version > version, 10.0, "the loop stopped stepping")
        assert runtime.error is None and api.get("/readyz").status_code == 200  # Alertmanager is not a dependency

        revived = restart(am, down_s=1.0)
        wait_until(lambda: _incident_alerts(am.url), 60.0, "the incident never reached Alertmanager")
        [delivered] = _incident_alerts(am.url)
        assert delivered["labels"]["root_cause_service"] == "db"
        assert sink.pending == 0 and sink.dropped == 0
    finally:
        server.stop()
        if revived is not None:
            stop(revived)
