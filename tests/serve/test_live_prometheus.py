"""``foresight serve`` without ``--simulate``, against a real Prometheus that also scrapes it.

History is pushed into Prometheus (remote write); serve reads it, forecasts, and publishes
``ai_predicted_load`` on its ``/metrics``, which the same Prometheus scrapes back. Then
Prometheus is stopped and the API reports the source as down.
"""

from __future__ import annotations

import math
import re
import time

import httpx
import numpy as np
import pytest

from foresight.adapters.remote_write import encode_write_request
from foresight.api.server import start_in_thread
from foresight.config import load_settings
from foresight.serve.service import build_service
from foresight.series import Series

pytestmark = pytest.mark.integration

HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_live_serve_forecasts_from_prometheus_and_is_scraped_back(prometheus_factory, tmp_path) -> None:
    port = _free_port()
    prom = prometheus_factory(scrape_targets=[f"127.0.0.1:{port}"])
    now = math.floor(time.time())
    t = np.arange(now - 3 * 3600, now, 15.0)
    load = 100.0 + 20.0 * np.sin(2 * np.pi * t / 3600.0)
    pushed = Series({"__name__": "serve_test_requests", "workload": "api"}, t, load)
    assert httpx.post(f"{prom.url}/api/v1/write", content=encode_write_request([pushed]), headers=HEADERS,
                      timeout=10).status_code == 204

    settings = load_settings(None, audit_url=str(tmp_path / "audit.db"), api={"port": port},
                             live={"prometheus_url": prom.url, "workloads": ["api"], "namespace": "prod",
                                   "load_query": 'serve_test_requests{workload="$workload"}', "capacity_rps": 25.0})
    service = build_service(settings, simulate=False)
    server = start_in_thread(service, port=port)
    try:
        api = httpx.Client(base_url=server.url, timeout=10)
        deadline = time.monotonic() + 20
        while not (fc := api.get("/api/v1/forecasts").json())["forecasts"]:
            assert time.monotonic() < deadline, fc["note"]
            time.sleep(0.1)
        [forecast] = fc["forecasts"]
        assert 60.0 < forecast["at_lead"] < 160.0  # the pushed load's scale
        status = api.get("/api/v1/status").json()
        assert status["mode"] == "live" and status["sources"][0] == {**status["sources"][0], "name": "prometheus",
                                                                      "ok": True}
        assert {c["name"]: c["enabled"] for c in status["controllers"]} == {
            "forecast": True, "autoscale": False, "anomaly": False, "rollout": False, "incidents": True, "heal": False}
        assert {s["name"]: s["ok"] for s in status["sources"]}["topology"]  # read from the same Prometheus
        detail = api.get("/api/v1/workloads/api", params={"window_s": 3600}).json()
        assert len(detail["series"]["load_rps"]["t"]) > 100

        # Prometheus scraped serve's /metrics: the prediction is queryable where an HPA reads it
        deadline = time.monotonic() + 20
        while True:
            result = httpx.get(f"{prom.url}/api/v1/query", params={"query": 'ai_predicted_load{workload="api"}'},
                               timeout=5).json()["data"]["result"]
            if result:
                break
            assert time.monotonic() < deadline, "Prometheus never scraped ai_predicted_load"
            time.sleep(0.5)
        scraped = float(result[0]["value"][1])
        latest = api.get("/api/v1/forecasts").json()["forecasts"][0]["at_lead"]
        # on a slow machine a reconcile (every 15 s) may refresh the forecast between the two reads
        assert scraped in (pytest.approx(forecast["at_lead"]), pytest.approx(latest))
        assert result[0]["metric"]["namespace"] == "prod"

        prom.process.terminate()
        prom.process.wait(10)
        rows = api.get("/api/v1/workloads").json()
        assert rows["source_error"] and "cannot be reached" in rows["source_error"]
        down = api.get("/api/v1/status").json()["sources"][0]
        assert down["ok"] is False and down["error"]
        metrics = api.get("/metrics").text
        assert 'foresight_source_up{source="prometheus"} 0' in metrics
        # one reconcile per 15 s period: a slow machine may have run a second one by now
        reconciles = re.search(r'foresight_reconcile_duration_seconds_count\{controller="forecast/holt-winters"\} (\S+)',
                               metrics)
        assert reconciles is not None and float(reconciles.group(1)) >= 1.0, metrics
    finally:
        server.stop()
