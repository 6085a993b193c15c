"""Prometheus unreachable under the serve loop: it keeps stepping, and resumes by itself once it is back.

The test's own Prometheus (a free port, its own storage) is killed with SIGKILL while ``foresight
serve`` forecasts from it, then started again with the same port and storage. The forecast steps
missed meanwhile are not skipped: they are read and learned once Prometheus answers again.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from fault_services import restart, stop, wait_until

from foresight.adapters.remote_write import encode_write_request
from foresight.api.server import start_in_thread
from foresight.config import load_settings
from foresight.serve.service import build_service
from foresight.series import Series

pytestmark = pytest.mark.integration

HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}
STEP_S = 15.0


def _push(prom_url: str, start: float, end: float) -> None:
    t = np.arange(start, end, 5.0)
    load = 100.0 + 20.0 * np.sin(2 * np.pi * t / 3600.0)
    series = Series({"__name__": "fault_test_requests", "workload": "api"}, t, load)
    r = httpx.post(f"{prom_url}/api/v1/write", content=encode_write_request([series]), headers=HEADERS, timeout=10)
    assert r.status_code == 204, r.text


def test_serve_rides_out_a_prometheus_restart_and_learns_the_missed_steps(tmp_path: Path, prometheus_factory) -> None:
    prom = prometheus_factory()
    now = math.floor(time.time())
    _push(prom.url, now - 3 * 3600, now)
    settings = load_settings(None, audit_url=str(tmp_path / "audit.db"), controllers={"forecast_step_s": STEP_S},
                             live={"prometheus_url": prom.url, "workloads": ["api"], "namespace": "prod",
                                   "load_query": 'fault_test_requests{workload="$workload"}'})
    server = start_in_thread(build_service(settings, simulate=False))
    runtime = server.service.runtime
    watch = runtime.platform.forecasts
    revived = None
    try:
        api = httpx.Client(base_url=server.url, timeout=10)
        wait_until(lambda: api.get("/api/v1/forecasts").json()["forecasts"], 30.0, "no first forecast")
        learned_before = watch._learned_until

        prom.process.kill()
        prom.process.wait()
        down_at = time.time()
        wait_until(lambda: api.get("/api/v1/status").json()["sources"][0]["ok"] is False, 40.0,
                   "the source never reported down")
        wait_until(lambda: "load not read" in watch.note, 40.0, f"no failed read noted: {watch.note}")
        version = runtime.version
        wait_until(lambda: runtime.version > version, 10.0, "the loop stopped stepping")
        assert runtime.error is None

        revived = restart(prom)
        _push(prom.url, now, time.time())  # what the outage kept from being scraped, backfilled
        up_at = time.time()
        wait_until(lambda: api.get("/api/v1/status").json()["sources"][0]["ok"] is True, 60.0,
                   "the source never came back")
        wait_until(lambda: watch._learned_until >= math.floor(up_at / STEP_S) * STEP_S, 60.0,
                   f"the forecast did not resume: {watch.note}")
        assert watch._learned_until > learned_before
        # the steps of the outage were learned in one update, not skipped by a refit from scratch
        assert watch.note == "updated" and math.floor(down_at / STEP_S) * STEP_S <= watch._learned_until
        [forecast] = api.get("/api/v1/forecasts").json()["forecasts"]
        assert forecast["made_at"] >= up_at - STEP_S and 60.0 < forecast["at_lead"] < 160.0
        assert runtime.error is None
    finally:
        server.stop()
        if revived is not None:
            stop(revived)
