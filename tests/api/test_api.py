"""The API over a running simulated platform: probes, /metrics, read APIs, auth, errors, OpenAPI."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from foresight.api import create_app
from foresight.serve.service import Service

from .conftest import TOKEN, build  # noqa: TID252

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(service: Service) -> Iterator[TestClient]:
    with TestClient(create_app(service, manage_runtime=False)) as c:
        service.runtime.start()
        yield c


def test_probes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "role": "single", "checks": {"controllers": "ok",
                                                                                    "audit_store": "ok"}}


def test_metrics_has_foresight_series_and_the_exporters_gauges(client: TestClient) -> None:
    text = client.get("/metrics").text
    for series in ('foresight_reconcile_duration_seconds_count{controller="hpa"}',
                   'foresight_decisions_total{controller="hpa",kind="hold"}',
                   'foresight_reconcile_duration_seconds_count{controller="forecast/holt-winters"}',
                   'foresight_reconcile_duration_seconds_count{controller="anomaly/surprise"}',
                   'ai_predicted_load{namespace="simulated",workload="gateway"}',
                   'foresight_desired_replicas{namespace="simulated",workload="gateway"}',
                   'foresight_source_up{source="cluster metrics"} 1',
                   'foresight_controller_paused{controller="autoscale"} 0'):
        assert series in text


def test_metrics_page_has_the_process_series_and_no_created_gauges(client: TestClient) -> None:
    text = client.get("/metrics").text
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert types["process_resident_memory_bytes"] == "gauge" and types["process_cpu_seconds"] == "counter"
    assert types["python_info"] == "gauge" and types["python_gc_collections"] == "counter"
    assert types["foresight_decisions"] == "counter" and types["foresight_reconcile_duration_seconds"] == "histogram"
    assert not [name for name in types if name.endswith("_created")]  # a counter's creation time is no gauge
    assert "_created" not in text


def test_metrics_page_passes_promtool(client: TestClient, require_service: Callable[[bool, str], None]) -> None:
    promtool = shutil.which("promtool")
    require_service(promtool is not None, "promtool not found (apt-get install prometheus)")
    lint = subprocess.run([str(promtool), "check", "metrics"], input=client.get("/metrics").text,
                          capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0 and not (lint.stdout + lint.stderr).strip(), lint.stdout + lint.stderr


def test_workloads_and_metrics_follow_each_step(tmp_path) -> None:
    """The per-step answers are recomputed after every step, never served from an older one."""
    service = build(tmp_path, simulate={"warmup_s": 1800.0})
    runtime = service.runtime
    with TestClient(create_app(service, manage_runtime=False)) as c:
        seen = [c.get("/api/v1/workloads").json()]
        scraped = [c.get("/metrics").text]
        for _ in range(40):  # ten simulated minutes, stepped as the runtime steps
            with runtime.lock:
                runtime.platform.step(frozenset())
                runtime.version += 1
        seen.append(c.get("/api/v1/workloads").json())
        scraped.append(c.get("/metrics").text)
    runtime.stop()
    loads = [[w["load_rps"] for w in s["workloads"]] for s in seen]
    assert loads[0] != loads[1]
    decisions = [sum(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
                     if ln.startswith("foresight_decisions_total{")) for text in scraped]
    assert decisions[1] > decisions[0]


def test_workloads_and_one_workload(client: TestClient, service: Service) -> None:
    rows = client.get("/api/v1/workloads").json()
    assert [r["name"] for r in rows["workloads"]] == list(service.runtime.platform.workloads())
    assert rows["source_error"] is None
    gateway = rows["workloads"][0]
    assert gateway["load_rps"] > 0 and gateway["replicas_desired"] >= 1 and gateway["forecast_rps"] > 0
    detail = client.get("/api/v1/workloads/gateway", params={"window_s": 3600}).json()
    s = detail["series"]
    assert len(s["load_rps"]["t"]) > 200 and len(s["capacity_rps"]["v"]) == len(s["load_rps"]["v"])
    assert s["forecast_q50"]["t"][0] > detail["now"] - 120 and s["forecast_rps"]["t"]
    assert s["anomaly_score"]["t"] and detail["anomaly_threshold"] is not None
    missing = client.get("/api/v1/workloads/no-such-service")
    assert missing.status_code == 404 and "no-such-service" in missing.json()["detail"]
    assert client.get("/api/v1/workloads/gateway", params={"window_s": -1}).status_code == 422


def test_decisions_filter_and_paginate(client: TestClient) -> None:
    first = client.get("/api/v1/decisions", params={"workload": "llm-chat", "controller": "hpa", "limit": 5}).json()
    assert len(first["items"]) == 5 and first["next_offset"] == 5
    assert {(r["target"], r["controller"]) for r in first["items"]} == {("llm-chat", "hpa")}
    times = [r["time"] for r in first["items"]]
    assert times == sorted(times, reverse=True)
    second = client.get("/api/v1/decisions", params={"workload": "llm-chat", "controller": "hpa", "limit": 5,
                                                      "offset": 5, "until": times[0] + 1}).json()
    assert second["items"][0]["time"] <= times[-1]
    window = client.get("/api/v1/decisions", params={"since": 3600, "until": 3660, "limit": 1000}).json()
    assert window["items"] and all(3600 <= r["time"] < 3660 for r in window["items"])
    assert window["next_offset"] is None
    assert all(r["reason"] for r in window["items"])


def test_decisions_changes_only_drops_the_holds(client: TestClient) -> None:
    window = {"since": 3600, "until": 5400}
    every = client.get("/api/v1/decisions", params={"limit": 1000, **window}).json()["items"]
    assert len(every) < 1000
    changes = client.get("/api/v1/decisions", params={"limit": 1000, "changes_only": True, **window}).json()
    holds = [r for r in every if r["controller"] in ("hpa", "predictive")
             and r["decision"]["applied"] == r["decision"]["previous"]
             and r["error"] is None]
    assert holds and changes["items"], "the warm-up holds and changes replicas"
    assert changes["items"] == [r for r in every if r not in holds]  # the same records, newest first, holds out
    # paging through changes only gives the same rows as one big page
    first = client.get("/api/v1/decisions", params={"limit": 3, "changes_only": True, **window}).json()
    second = client.get("/api/v1/decisions", params={"limit": 3, "offset": 3, "changes_only": True, **window}).json()
    assert first["items"] + second["items"] == changes["items"][:6] and first["next_offset"] == 3


def test_changes_only_scans_past_a_flood_of_holds(tmp_path, monkeypatch) -> None:
    from foresight.api import app as app_module
    from foresight.api.app import _decisions
    from foresight.adapters.audit_log import AuditLog
    from foresight.control.audit import AuditRecord

    monkeypatch.setattr(app_module, "_SCAN", 40)  # rounds of 40 records: the holds span several
    audit = AuditLog(str(tmp_path / "a.db"), max_delay_s=None)
    change = AuditRecord(1.0, "r", "hpa", "api", {}, {"applied": 3, "previous": 2}, "up", True, False)
    audit.record(change)
    for i in range(150):  # more holds than one scan round, three at each time (rounds split them)
        audit.record(AuditRecord(2.0 + i // 3, "r", "hpa", "api", {}, {"applied": 3, "previous": 3}, "hold", False,
                                 False))
    audit.record(AuditRecord(2.0, "r", "hpa", "api", {}, {"applied": None, "previous": 3}, "failed", False, False, "503"))
    holder = type("S", (), {"audit": audit})()
    found = _decisions(holder, None, None, None, None, 10, True)  # type: ignore[arg-type]
    assert [(r.time, r.reason) for r in found] == [(2.0, "failed"), (1.0, "up")]
    audit.close()


def test_forecasts_anomalies_rollouts_drift(client: TestClient) -> None:
    fc = client.get("/api/v1/forecasts").json()
    assert fc["enabled"] and len(fc["forecasts"]) == 4
    assert all(f["q10"][0] <= f["q50"][0] <= f["q90"][0] for f in fc["forecasts"])
    an = client.get("/api/v1/anomalies").json()
    assert an["detector"] == "surprise" and len(an["scores"]) == 4
    ro = client.get("/api/v1/rollouts").json()
    assert ro["enabled"] and ro["rollouts"][-1]["steps"][0]["reason"]
    drift = client.get("/api/v1/drift").json()
    assert drift["configured"] and [m["model"] for m in drift["monitors"]] == ["fraud-scorer"]


def test_writes_need_the_bearer_token(client: TestClient, service: Service) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        r = client.post("/api/v1/controllers/autoscale/pause", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "autoscale" not in service.runtime.paused
    r = client.post("/api/v1/controllers/autoscale/pause", headers=AUTH)
    assert r.status_code == 200 and r.json()["reason"] == "paused by api"
    status = client.get("/api/v1/status").json()
    assert next(c for c in status["controllers"] if c["name"] == "autoscale")["paused"] is True
    assert client.post("/api/v1/controllers/autoscale/resume", headers=AUTH).json()["reason"] == "resumed by api"
    assert client.post("/api/v1/controllers/nope/pause", headers=AUTH).status_code == 404
    assert client.post("/api/v1/rollouts/llm-chat-v99/approve", headers=AUTH).status_code == 404
    promoted = client.get("/api/v1/rollouts").json()["rollouts"][-1]["id"]
    assert client.post(f"/api/v1/rollouts/{promoted}/approve", headers=AUTH).status_code == 409


def test_openapi_documents_response_models(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/healthz", "/readyz", "/metrics", "/api/v1/workloads", "/api/v1/workloads/{name}", "/api/v1/decisions",
            "/api/v1/forecasts", "/api/v1/anomalies", "/api/v1/rollouts", "/api/v1/drift", "/api/v1/events",
            "/api/v1/controllers/{name}/pause", "/api/v1/rollouts/{release_id}/approve"} <= set(spec["paths"])
    ok = spec["paths"]["/api/v1/decisions"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/DecisionPage"}
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_dashboard_and_plotly_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/plotly.min.js">' in page.text
    assert "http" not in page.text.split("<body>")[0].replace('http-equiv', '')  # no CDN
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/static/dashboard.js").status_code == 200
    for icon in ("/favicon.ico", "/static/favicon.svg"):  # browsers ask for the first unless told
        r = client.get(icon)
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml" and b"<svg" in r.content
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page.text


def test_dashboard_page_carries_the_state_it_draws_first(client: TestClient) -> None:
    """The page is drawn from state inlined in it, not from requests made after it has loaded."""
    page = client.get("/").text
    inlined = page.split('<script id="state" type="application/json">', 1)[1].split("</script>", 1)[0]
    state = json.loads(inlined)
    assert [w["name"] for w in state["workloads"]["workloads"]] == [w["name"] for w in
                                                                   client.get("/api/v1/workloads").json()["workloads"]]
    assert state["detail"]["name"] == "gateway" and len(state["detail"]["series"]["load_rps"]["t"]) > 100
    assert state["status"]["mode"] == "simulate" and "monitors" in state["drift"] and "items" in state["decisions"]


def test_event_responses_end_after_one_tick(client: TestClient, service: Service) -> None:
    """Each response carries the next tick and ends (EventSource reconnects with Last-Event-ID): a stream that
    never ends would keep a headless browser's page loading for ever."""
    first = client.get("/api/v1/events").text  # returns: the response ended
    assert first.startswith("retry: ") and "event: tick" in first
    seen = int(first.split("id: ", 1)[1].split("\n", 1)[0])
    assert seen <= service.runtime.version
    later = client.get("/api/v1/events", headers={"Last-Event-ID": str(seen)}).text
    assert "event: tick" not in later or int(later.split("id: ", 1)[1].split("\n", 1)[0]) > seen
