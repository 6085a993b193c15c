"""Incidents through the API: Alertmanager's webhook in (auth, 422, 429 + Retry-After, nothing accepted
lost on a graceful stop), incidents out (list, one, 404), and a real Alertmanager routed to Foresight."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from foresight.adapters.audit_log import AuditLog
from foresight.api import create_app
from foresight.serve.service import Service

from .conftest import TOKEN, build

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _rfc3339(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat().replace("+00:00", "Z")


def _message(*alerts: tuple[str, str, float]) -> dict:
    """Alertmanager's webhook body with one firing alert per (alertname, service, seconds ago)."""
    return {"version": "4", "status": "firing", "receiver": "foresight", "groupKey": "{}:{}", "truncatedAlerts": 0,
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093",
            "alerts": [{"status": "firing", "labels": {"alertname": name, "service": svc, "severity": "warning"},
                        "annotations": {"summary": f"{name} on {svc}"}, "startsAt": _rfc3339(ago),
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph",
                        "fingerprint": f"{name}-{svc}"} for name, svc, ago in alerts]}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    built = build(tmp_path, simulate={"warmup_s": 900.0}, incidents={"queue_alerts": 3})
    yield built
    built.runtime.stop()


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service, manage_runtime=False)) as c:
        yield c


def _step(service: Service, periods: int = 1) -> None:
    platform = service.runtime.platform
    with service.runtime.lock:
        platform.run_until(platform.now() + periods * service.settings.incidents.period_s)


def test_webhook_alerts_become_an_incident_listed_with_its_root_cause(client: TestClient, service: Service) -> None:
    # cache is called by llm-chat, which search and the gateway call: a cache fault shows up the chain
    r = client.post("/api/v1/alerts/webhook", headers=AUTH,
                    json=_message(("CacheErrors", "cache", 90.0), ("HighLatency", "llm-chat", 60.0)))
    assert r.status_code == 200 and r.json() == {"accepted": 2, "skipped": 0, "pending": 2, "truncated": 0}
    _step(service)
    listed = client.get("/api/v1/incidents").json()
    assert listed["enabled"] and listed["queue"] == {"pending": 0, "capacity": 3, "accepted": 2, "refused": 0}
    [incident] = [i for i in listed["incidents"] if "cache" in i["services"]]
    assert incident["root_cause"]["service"] == "cache" and incident["root_cause"]["evidence"]
    assert [a["name"] for a in incident["alerts"]] == ["CacheErrors", "HighLatency"]  # the timeline
    assert incident["suppressed"] == ["HighLatency-llm-chat"] and incident["alerts"][1]["suppressed"]
    assert incident["topology"] == {"services": ["cache", "llm-chat"], "edges": [["llm-chat", "cache"]]}
    now = service.runtime.platform.now()
    assert now - 100.0 < incident["opened_at"] < now  # on the simulator's clock

    assert client.get(f"/api/v1/incidents/{incident['id']}").json() == incident
    assert client.get("/api/v1/incidents/inc-nope").status_code == 404
    decisions = client.get("/api/v1/decisions", params={"controller": "incidents"}).json()["items"]
    assert decisions[0]["target"] == incident["id"] and "root cause cache" in decisions[0]["reason"]


@pytest.mark.parametrize(("body", "problem"), [
    ("{", "body: Invalid JSON"),
    ('{"version": "4", "status": "firing", "alerts": [{"status": "firing", "startsAt": "2026-01-01T00:00:00Z"}]}',
     "alerts.0.labels: Field required"),
    (('{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"service": "x"}, '
      '"startsAt": "2026-01-01T00:00:00Z"}]}'), "an alert needs an 'alertname' label"),
])
def test_a_malformed_notification_is_refused_with_the_reason(client: TestClient, body: str, problem: str) -> None:
    r = client.post("/api/v1/alerts/webhook", headers={**AUTH, "Content-Type": "application/json"}, content=body)
    assert r.status_code == 422 and problem in r.json()["detail"]


def test_writes_to_the_webhook_need_the_token(client: TestClient) -> None:
    assert client.post("/api/v1/alerts/webhook", json=_message(("A", "cache", 0.0))).status_code == 401


def test_a_full_queue_answers_429_with_retry_after_and_takes_nothing(client: TestClient, service: Service) -> None:
    assert client.post("/api/v1/alerts/webhook", headers=AUTH,
                       json=_message(("A", "cache", 10.0), ("B", "search", 5.0))).status_code == 200
    r = client.post("/api/v1/alerts/webhook", headers=AUTH, json=_message(("C", "gateway", 1.0), ("D", "cache", 1.0)))
    assert r.status_code == 429 and r.headers["retry-after"] == "1" and "queue full" in r.json()["detail"]
    assert client.get("/api/v1/incidents").json()["queue"]["pending"] == 2
    metrics = client.get("/metrics").text
    assert "foresight_webhook_alerts_pending 2.0" in metrics
    assert 'foresight_webhook_alerts_total{outcome="refused"} 2.0' in metrics
    _step(service)
    assert client.post("/api/v1/alerts/webhook", headers=AUTH,
                       json=_message(("C", "gateway", 1.0), ("D", "cache", 1.0))).status_code == 200


def test_what_was_accepted_is_correlated_on_a_graceful_stop(client: TestClient, service: Service) -> None:
    assert client.post("/api/v1/alerts/webhook", headers=AUTH, json=_message(("A", "cache", 10.0))).status_code == 200
    service.runtime.stop()
    r = client.post("/api/v1/alerts/webhook", headers=AUTH, json=_message(("B", "cache", 1.0)))
    assert r.status_code == 503 and "stopping" in r.json()["detail"]
    with AuditLog(service.settings.audit_url) as audit:
        [opened] = [r for r in audit.query(controller="incidents") if "root cause cache" in r.reason]
    assert opened.reason.startswith("opened incident")


@pytest.mark.integration
def test_a_real_alertmanager_routed_to_foresight_opens_an_incident(tmp_path: Path, asgi_server,
                                                                  alertmanager_factory) -> None:
    service = build(tmp_path, simulate={"warmup_s": 900.0, "speed": 60.0})
    url = asgi_server(create_app(service))
    am = alertmanager_factory({
        "route": {"receiver": "foresight", "group_by": ["alertname"], "group_wait": "0s", "group_interval": "1s"},
        "receivers": [{"name": "foresight", "webhook_configs": [{
            "url": f"{url}/api/v1/alerts/webhook", "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}}}]}],
    })
    alerts = [{"labels": {"alertname": "CacheErrors", "service": "cache", "severity": "critical"},
               "startsAt": _rfc3339(30.0)},
              {"labels": {"alertname": "HighLatency", "destination_workload": "llm-chat"}, "startsAt": _rfc3339(10.0)}]
    assert httpx.post(f"{am.url}/api/v2/alerts", json=alerts, timeout=5).status_code == 200
    deadline = time.monotonic() + 30
    while True:
        found = [i for i in httpx.get(f"{url}/api/v1/incidents", timeout=5).json()["incidents"]
                 if {"cache", "llm-chat"} <= set(i["services"])]
        if found:
            break
        assert time.monotonic() < deadline, am.log()[-2000:]
        time.sleep(0.2)
    [incident] = found
    assert incident["root_cause"]["service"] == "cache"
    assert {a["source"] for a in incident["alerts"]} == {"alertmanager"}
