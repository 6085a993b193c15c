"""End to end against real servers: a spike stored in a real Prometheus is read by the live watch,
its alert goes through a real Alertmanager to a webhook, and so does its resolution; and the same
through ``foresight watch`` with samples arriving by remote write."""

from __future__ import annotations

import math
import threading
import time
import uuid

import httpx
import numpy as np
import pytest
from fastapi import FastAPI, Request
from typer.testing import CliRunner

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.adapters.prometheus import PrometheusSource
from foresight.adapters.remote_write import encode_write_request
from foresight.cli.app import app
from foresight.clock import ManualClock
from foresight.detect import make_detector
from foresight.detect.alerts import AlertRule
from foresight.detect.live import LiveConfig, LiveDetector
from foresight.series import Series

pytestmark = pytest.mark.integration

REMOTE_WRITE_HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


class Webhook:
    """Alertmanager's webhook receiver: keeps every notification's alerts."""

    def __init__(self) -> None:
        self.alerts: list[dict] = []
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> dict:
            self.alerts.extend((await request.json())["alerts"])
            return {}

    def wait_for(self, status: str, timeout_s: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [a for a in self.alerts if a["status"] == status]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {status} alert reached the webhook in {timeout_s} s; got {self.alerts}")


@pytest.fixture
def webhook_alertmanager(alertmanager_factory, asgi_server):
    """A real Alertmanager that notifies a webhook within about a second, resolutions included."""
    webhook = Webhook()
    url = asgi_server(webhook.app)
    alertmanager = alertmanager_factory(
        {
            "route": {
                "receiver": "hook",
                "group_by": ["alertname", "job"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "hook", "webhook_configs": [{"url": f"{url}/hook", "send_resolved": True}]}],
        }
    )
    return alertmanager, webhook


def _history(n: int, spike_at: int, seed: int = 0) -> np.ndarray:
    x = 10.0 + np.random.default_rng(seed).normal(0.0, 1.0, n)
    x[spike_at : spike_at + 3] = 40.0  # three seconds of spike,
    x[spike_at + 3 : spike_at + 6] = 10.0  # then three plainly normal samples
    return x


def test_a_spike_in_prometheus_reaches_the_webhook_and_so_does_its_resolution(prometheus, webhook_alertmanager):
    alertmanager, webhook = webhook_alertmanager
    name = f"foresight_live_{uuid.uuid4().hex[:8]}"
    base = math.floor(time.time()) - 400  # one sample a second, all in the recent past
    x = _history(360, 300)
    pushed = Series({"__name__": name, "job": "api"}, base + np.arange(360.0), x)
    response = httpx.post(
        f"{prometheus.url}/api/v1/write",
        content=encode_write_request([pushed]),
        headers=REMOTE_WRITE_HEADERS,
        timeout=5,
    )
    assert response.status_code == 204, response.text

    clock = ManualClock(base + 299.0)
    config = LiveConfig(
        queries=(name,),
        period_s=1.0,
        backfill_s=400.0,
        prometheus_url=prometheus.url,
        rule=AlertRule(resend_interval_s=60.0),
    )
    with PrometheusSource(prometheus.url) as source, AlertmanagerClient(alertmanager.url, clock) as client:
        live = LiveDetector(make_detector("surprise"), client, clock, config, source=source)
        assert live.step().scored == 300  # the backfill: every second of the history
        clock.advance(1.0)
        assert live.step().firing == 1 and client.delivered == 1  # the spike's first sample
        firing = webhook.wait_for("firing")

        for _ in range(6):  # the spike lasts 3 s, then 3 normal samples resolve it
            clock.advance(1.0)
            live.step()
        assert live.state.alerts.firing.sum() == 0 and client.pending == 0
        resolved = webhook.wait_for("resolved")

    assert firing["labels"] == {
        "alertname": "ForesightAnomaly",
        "job": "api",
        "metric": name,
        "query": name,
        "severity": "warning",
    }
    assert firing["startsAt"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + 300)))
    assert firing["annotations"]["value"] == "40" and "outside its expected range" in firing["annotations"]["summary"]
    assert float(firing["annotations"]["score"]) >= 0.8
    assert firing["generatorURL"].startswith(f"{prometheus.url}/graph?g0.expr={name}")
    assert resolved["labels"] == firing["labels"]
    assert resolved["endsAt"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + 305)))


def test_foresight_watch_scores_remote_writes_and_alerts_until_its_duration_ends(webhook_alertmanager):
    from plugins.prometheus_server import free_port

    import foresight.cli.watch  # noqa: F401  (registers the command)

    alertmanager, webhook = webhook_alertmanager
    port = free_port()
    runner = CliRunner()
    result = {}
    args = [
        "watch",
        "--alertmanager",
        alertmanager.url,
        "--remote-write-port",
        str(port),
        "--listen",
        "127.0.0.1",
        "--period",
        "0.5s",
        "--duration",
        "6s",
    ]
    thread = threading.Thread(target=lambda: result.setdefault("run", runner.invoke(app, args)))
    thread.start()
    write = f"http://127.0.0.1:{port}/api/v1/write"

    def push(times: np.ndarray, values: np.ndarray) -> None:
        body = encode_write_request([Series({"__name__": "gpu_util", "job": "train"}, times, values)])
        assert httpx.post(write, content=body, headers=REMOTE_WRITE_HEADERS, timeout=5).status_code == 204

    deadline = time.monotonic() + 10
    while True:  # wait for the receiver to listen
        try:
            push(np.array([time.time() - 400.0]), np.array([10.0]))
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "foresight watch did not start its remote-write receiver"
            time.sleep(0.05)
    now = time.time()
    x = _history(300, 299, seed=1)
    push(now - 300.0 + np.arange(299.0), x[:299])  # a normal history
    push(np.array([now]), np.array([40.0]))  # and a spike
    firing = webhook.wait_for("firing")
    for i in range(1, 4):  # back to normal
        push(np.array([now + i * 0.1]), np.array([10.0]))
    resolved = webhook.wait_for("resolved")
    thread.join(timeout=20)

    run = result["run"]
    assert run.exit_code == 0, run.output
    assert "remote write on 127.0.0.1" in run.output and "stopped after" in run.output
    assert firing["labels"]["metric"] == "gpu_util" and firing["labels"]["job"] == "train"
    assert "query" not in firing["labels"] and resolved["labels"] == firing["labels"]
