"""The Prometheus adapters against a real Prometheus (Debian package), started by the test plugin."""

from __future__ import annotations

import math
import time
import uuid

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from foresight.adapters.prometheus import PrometheusSource, align_to_grid
from foresight.adapters.remote_write import (
    RemoteWriteReceiver,
    encode_write_request,
    remote_write_router,
)
from foresight.errors import InputError
from foresight.series import Series

pytestmark = pytest.mark.integration

REMOTE_WRITE_HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def test_pushed_history_reads_back_on_the_grid_with_its_gap(prometheus):
    # 40 scrapes 15 s apart, of which 10..35 never happened: a gap longer than the 5 min lookback.
    name = f"foresight_test_{uuid.uuid4().hex[:8]}"
    t0, step = math.floor(time.time()) - 1200, 15.0
    kept = [i for i in range(40) if not 10 <= i <= 35]
    pushed = Series({"__name__": name, "job": "api"}, [t0 + i * step for i in kept], [float(i) for i in kept])
    response = httpx.post(
        f"{prometheus.url}/api/v1/write",
        content=encode_write_request([pushed]),
        headers=REMOTE_WRITE_HEADERS,
        timeout=5,
    )
    assert response.status_code == 204, response.text

    with PrometheusSource(prometheus.url) as source:
        [series] = source.query_range(name, t0, t0 + 39 * step, step)
    assert dict(series.labels) == {"__name__": name, "job": "api"}
    values = align_to_grid(series, t0, t0 + 39 * step, step).values

    assert values[:10].tolist() == list(range(10))  # the samples themselves
    assert np.all(values[10:29] == 9)  # within 5 min of the last sample, Prometheus repeats it
    assert np.all(np.isnan(values[30:36]))  # beyond the lookback: absent, NaN on the grid
    assert values[36:].tolist() == [36, 37, 38, 39]


def test_a_range_longer_than_prometheus_allows_is_split_and_joined(prometheus):
    start = math.floor(time.time()) - 20_000
    end = start + 12_000
    refused = httpx.get(
        f"{prometheus.url}/api/v1/query_range",
        params={"query": "vector(1)", "start": start, "end": end, "step": 1},
        timeout=5,
    )
    assert refused.status_code == 400 and "11,000 points" in refused.json()["error"]

    with PrometheusSource(prometheus.url) as source:
        [series] = source.query_range("vector(1)", start, end, 1.0)
    assert len(series) == 12_001 and np.all(np.diff(series.timestamps) == 1.0)
    assert series.timestamps[0] == start and series.timestamps[-1] == end and np.all(series.values == 1)


def test_bad_promql_and_unreadable_results_are_input_errors(prometheus):
    with PrometheusSource(prometheus.url) as source:
        with pytest.raises(InputError, match=r"rejected the query 'sum\(up\)\)' \(bad_data\).*parse error"):
            source.query_range("sum(up))", 0, 60, 15)
        with pytest.raises(InputError, match="'string'"):
            source.query('"just a string"', time.time())
        [scalar] = source.query("scalar(vector(2.5))", 1_700_000_000)
        assert dict(scalar.labels) == {} and scalar.values.tolist() == [2.5]


def test_prometheus_remote_writes_its_samples_to_our_receiver(prometheus_factory, asgi_server):
    delivered: list[Series] = []
    receiver = RemoteWriteReceiver(delivered.extend)
    app = FastAPI()
    app.include_router(remote_write_router(receiver))
    url = asgi_server(app)

    # A recording rule makes a sample every second without waiting for scrape discovery.
    prometheus_factory(
        rule_groups=[
            {"name": "t", "interval": "1s", "rules": [{"record": "foresight_rw_probe", "expr": "vector(42)"}]}
        ],
        remote_write=[{"url": f"{url}/api/v1/write", "queue_config": {"batch_send_deadline": "200ms"}}],
    )
    deadline = time.monotonic() + 15
    while receiver.delivered_samples < 3 and time.monotonic() < deadline:
        time.sleep(0.1)

    probe = [s for s in delivered if s.labels.get("__name__") == "foresight_rw_probe"]
    times = np.concatenate([s.timestamps for s in probe])
    assert len(times) >= 3, f"received {receiver.delivered_samples} samples"
    assert np.all(np.concatenate([s.values for s in probe]) == 42)
    assert np.all(np.diff(times) > 0) and np.allclose(np.diff(times), 1.0, atol=0.2)
    assert abs(times[-1] - time.time()) < 10
    assert receiver.dropped_samples == 0


def test_alerts_reach_an_alertmanager_started_by_the_fixture(prometheus_factory, alertmanager_factory):
    alertmanager = alertmanager_factory()
    prometheus_factory(
        alertmanagers=[alertmanager.url.removeprefix("http://")],
        rule_groups=[
            {
                "name": "a",
                "interval": "1s",
                "rules": [{"alert": "ForesightProbe", "expr": "vector(1)", "labels": {"severity": "info"}}],
            }
        ],
    )
    deadline = time.monotonic() + 15
    alerts: list[dict] = []
    while not alerts and time.monotonic() < deadline:
        alerts = httpx.get(f"{alertmanager.url}/api/v2/alerts", timeout=5).json()
        time.sleep(0.2)
    assert [a["labels"]["alertname"] for a in alerts] == ["ForesightProbe"]
    assert alerts[0]["labels"]["severity"] == "info" and alerts[0]["status"]["state"] == "active"
