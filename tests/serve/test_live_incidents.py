"""Live mode's incident controller: the anomaly alerts it sends reach it too, and a restart resumes its incidents."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from foresight.adapters.audit_log import AuditLog
from foresight.adapters.exporter import PredictionExporter
from foresight.adapters.remote_write import encode_write_request
from foresight.api import create_app
from foresight.clock import ManualClock
from foresight.config import load_settings
from foresight.correlate.model import Alert
from foresight.series import Series
from foresight.serve.live import LivePlatform
from foresight.serve.service import build_service


class Outbox:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, alerts):
        self.sent += [dict(a) for a in alerts]


def test_a_restarted_live_platform_resumes_its_open_incidents(tmp_path: Path) -> None:
    settings = load_settings(None, live={"alertmanager_url": "http://alertmanager:9093"})
    clock = ManualClock(1_800_000_000.0)
    outbox = Outbox()
    with AuditLog(str(tmp_path / "audit.db")) as audit:
        first = LivePlatform(settings, PredictionExporter(), clock=clock, audit=audit, alert_sink=outbox)
        assert first.controllers["incidents"].enabled and "time alone" in first.controllers["incidents"].detail
        now = clock.now()
        first.incidents.add([Alert("db-slow", "HighLatency", "db", now - 60.0)])
        assert first.step(paused=()) is True
        [incident] = first.incidents.correlator.incidents
        assert outbox.sent[-1]["labels"]["incident"] == incident.id
        first.close()  # the graceful stop writes the checkpoint

        clock.advance(120.0)
        second = LivePlatform(settings, PredictionExporter(), clock=clock, audit=audit, alert_sink=outbox)
        assert [i.id for i in second.incidents.correlator.incidents] == [incident.id]
        second.incidents.add([Alert("db-errors", "HighErrors", "db", clock.now() - 10.0)])
        second.step(paused=())
        [grown] = second.incidents.correlator.incidents
        assert grown.id == incident.id and set(grown.alerts) == {"db-slow", "db-errors"}
        second.close()


@pytest.mark.integration
def test_live_serve_names_the_root_cause_from_the_mesh_graph_to_a_real_alertmanager(
        tmp_path: Path, prometheus_factory, alertmanager_factory, asgi_server) -> None:
    """Istio's metrics in a real Prometheus give the graph; alerts posted to the webhook become one
    ForesightIncident alert in a real Alertmanager, naming the callee as the root cause."""
    prom, am = prometheus_factory(), alertmanager_factory()
    t0 = math.floor(time.time()) - 150
    calls = [Series({"__name__": "istio_requests_total", "source_workload": a, "destination_workload": b},
                    [t0 + 15.0 * i for i in range(10)], [30.0 * i for i in range(10)])
             for a, b in (("web", "api"), ("api", "db"))]
    assert httpx.post(f"{prom.url}/api/v1/write", content=encode_write_request(calls), timeout=5, headers={
        "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0"}).status_code == 204
    settings = load_settings(None, live={"prometheus_url": prom.url, "alertmanager_url": am.url},
                             incidents={"period_s": 0.5, "topology_period_s": 1.0},
                             api={"token": "t0ken-for-the-webhook"}, audit_url=str(tmp_path / "audit.db"))
    url = asgi_server(create_app(build_service(settings, simulate=False)))
    now = datetime.now(UTC)
    body = {"version": "4", "status": "firing", "receiver": "foresight", "alerts": [
        {"status": "firing", "labels": {"alertname": alert, "destination_workload": svc, "severity": sev},
         "startsAt": (now - timedelta(seconds=ago)).isoformat()}
        for alert, svc, sev, ago in (("DbSlow", "db", "critical", 60), ("ApiSlow", "api", "warning", 40),
                                     ("WebSlow", "web", "warning", 20))]}
    r = httpx.post(f"{url}/api/v1/alerts/webhook", json=body, timeout=10,
                   headers={"Authorization": "Bearer t0ken-for-the-webhook"})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    while not (found := [a for a in httpx.get(f"{am.url}/api/v2/alerts", timeout=5).json()
                         if a["labels"]["alertname"] == "ForesightIncident"]):
        assert time.monotonic() < deadline, httpx.get(f"{url}/api/v1/incidents", timeout=5).text
        time.sleep(0.2)
    [incident] = found
    assert incident["labels"]["root_cause_service"] == "db" and incident["labels"]["severity"] == "critical"
    assert "ApiSlow on api" in incident["annotations"]["suppressed_alerts"]
    status = httpx.get(f"{url}/api/v1/status", timeout=5).json()
    assert {s["name"]: s["ok"] for s in status["sources"]}["topology"] is True
