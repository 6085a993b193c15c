"""``/api/v1/drift``, the drift gauges on ``/metrics`` and the model's approval, over a simulated loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from foresight.api.app import create_app
from foresight.serve.service import Service

from .conftest import TOKEN, build  # noqa: TID252

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, TestClient]]:
    """Inputs drift 15 min in; 2 h of warm-up brings the retrained version's canary to its verdict,
    which waits for a person (controllers.require_approval)."""
    service = build(tmp_path_factory.mktemp("drift"), simulate={"warmup_s": 7200.0, "drift_after_s": 900.0},
                    controllers={"require_approval": True, "anomaly": False, "rollout": False, "forecast": False})
    with TestClient(create_app(service, manage_runtime=False)) as client:
        yield service, client
    service.runtime.stop()


def test_drift_view_has_the_statistic_over_time_the_verdict_and_the_loop(gated: tuple[Service, TestClient]) -> None:
    _, client = gated
    body = client.get("/api/v1/drift").json()
    assert body["configured"] and body["status"].startswith("drift on fraud-scorer")
    (mon,) = body["monitors"]
    assert mon["statistic"] == "psi" and mon["threshold"] == 0.2 and mon["verdict"] == "drift"
    assert [f["name"] for f in mon["features"]] == ["x1", "x2", "x3", "x4"]
    x3 = mon["features"][2]
    assert len(x3["t"]) == len(x3["v"]) >= 20 and max(x3["v"]) > 0.2 > x3["v"][0]
    assert 900.0 < mon["drift_detected_at"] < 3600.0 and mon["retrains"] == 1
    whats = [e["what"] for e in mon["events"]]
    assert whats[:3] == ["register", "drift", "outage"] and "start_canary" in whats
    v2 = next(v for v in mon["versions"] if v["version"] == 2)
    assert v2["gate"].startswith("passed") and v2["aliases"] == ["challenger"]
    assert v2["scan"]  # the artifact scan's verdict on the version (the dashboard's column)
    assert mon["canary"]["awaiting_approval"] and mon["canary"]["version"] == 2
    assert len(mon["accuracy"]["t"]) == len(mon["accuracy"]["champion"]) >= 20


def test_drift_gauges_are_on_metrics(gated: tuple[Service, TestClient]) -> None:
    _, client = gated
    lines = client.get("/metrics").text.splitlines()
    psi = [ln for ln in lines if ln.startswith("foresight_feature_drift_statistic{") and 'stat="psi"' in ln]
    assert len(psi) == 4 and all('model="fraud-scorer"' in ln for ln in psi)
    assert 'foresight_feature_drifted{feature="x3",model="fraud-scorer"} 1.0' in lines
    assert not any('stat="drifted"' in ln for ln in lines)  # a verdict is not a statistic


def test_approving_the_model_promotes_it_at_the_next_tick(gated: tuple[Service, TestClient]) -> None:
    service, client = gated
    assert client.post("/api/v1/models/fraud-scorer/approve").status_code == 401
    assert client.post("/api/v1/models/nope/approve", headers=AUTH).status_code == 404
    r = client.post("/api/v1/models/fraud-scorer/approve", headers=AUTH)
    assert r.status_code == 200 and r.json()["controller"] == "feedback/approval"
    assert client.post("/api/v1/models/fraud-scorer/approve", headers=AUTH).status_code == 409  # once
    p = service.runtime.platform
    service.runtime.read(lambda: p.run_until(p.now() + 600.0))  # type: ignore[attr-defined]
    mon = client.get("/api/v1/drift").json()["monitors"][0]
    assert mon["champion"] == 2 and mon["canary"]["outcome"] == "v2 promoted"
    rows = client.get("/api/v1/decisions", params={"workload": "fraud-scorer", "limit": 200}).json()["items"]
    assert {"feedback", "feedback/demo", "feedback/approval"} <= {r["controller"] for r in rows}


def test_workloads_say_which_controller_scales_them(gated: tuple[Service, TestClient]) -> None:
    _, client = gated
    rows = client.get("/api/v1/workloads").json()["workloads"]
    assert [r["controller"] for r in rows] == ["hpa", "predictive", "hpa", "predictive"]
    detail = client.get("/api/v1/workloads/search", params={"window_s": 3600}).json()
    assert len(detail["series"]["predicted_peak_rps"]["t"]) > 20
    assert "predicted_peak_rps" not in client.get("/api/v1/workloads/gateway").json()["series"]
