"""Live anomaly detection in serve: AnomalyPolicy signals scored by the live detectors, alerts to a
real Alertmanager, scores on /api/v1/anomalies; a standby scores but sends nothing."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pytest
from kube_emulator import Cluster

from foresight.adapters.alertmanager import AlertmanagerClient
from foresight.api.models import Anomalies
from foresight.adapters.kubernetes import KubernetesObjects
from foresight.adapters.prometheus import PrometheusSource
from foresight.adapters.remote_write import encode_write_request
from foresight.adapters.exporter import PredictionExporter
from foresight.clock import ManualClock, SystemClock
from foresight.config import load_settings
from foresight.serve.anomaly import PolicyDetectors
from foresight.serve.live import LivePlatform
from foresight.runtime.managed import AnomalyWatchSpec
from foresight.series import Series

HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}


def _anomaly_policy(query: str) -> dict[str, Any]:
    return {"apiVersion": "foresight.ai/v1alpha1", "kind": "AnomalyPolicy",
            "metadata": {"name": "checkout", "namespace": "shop"},
            "spec": {"targetRef": {"name": "checkout"}, "detector": "ewma", "threshold": 0.99, "forSeconds": 0,
                     "severity": "critical", "signals": [{"name": "p95_latency", "query": query}]}}


@dataclass
class Standby:
    role: str = "standby"

    def acting(self) -> bool:
        return False


class Collect:
    def __init__(self) -> None:
        self.sent: list[Mapping[str, Any]] = []

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        self.sent += alerts


class Spiky:
    """A metrics source whose series jumps 30 sd in its last 3 minutes."""

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        t = np.arange(math.ceil(start / step_s) * step_s, end + 1e-9, step_s)
        rng = np.random.default_rng(0)
        v = 0.2 + 0.01 * rng.standard_normal(len(t))
        v[t > end - 180] += 0.3
        return [Series({"__name__": "latency", "app": "checkout"}, t, v)]


def test_a_standby_scores_but_sends_no_alert_and_the_leader_labels_them() -> None:
    spec = AnomalyWatchSpec("shop/checkout", "shop", "checkout", (("p95_latency", "latency"),), "ewma", 0.99, 0.0,
                            300.0, "critical")
    clock = ManualClock(1_800_000_000.0)
    for gate, expect_sent in ((Standby(), False), (None, True)):
        sink = Collect()
        from foresight.serve.leader import ALWAYS

        detectors = PolicyDetectors(Spiky(), sink, clock, gate or ALWAYS, period_s=15.0)
        detectors.sync([spec])
        assert detectors.due(clock.now()) and detectors.step(clock.now()) == 1
        [row] = detectors.scores()
        assert row["alerting"] and row["score"] > 0.9 and row["signal"] == "p95_latency"
        [alert] = detectors.alerts()
        assert alert["sent"] is expect_sent and alert["workload"] == "shop/checkout"
        if expect_sent:
            [sent] = sink.sent
            assert {k: sent["labels"][k] for k in ("namespace", "workload", "policy", "signal", "severity")} == {
                "namespace": "shop", "workload": "checkout", "policy": "shop/checkout", "signal": "p95_latency",
                "severity": "critical"}
        else:
            assert sink.sent == []
    detectors.sync([])  # the policy was deleted
    assert detectors.scores() == [] and not detectors.due(clock.now())


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    c.put("v1/namespaces", None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    yield c
    c.close()


@pytest.mark.integration
def test_anomaly_policy_signals_alert_in_a_real_alertmanager(prometheus, alertmanager_factory,
                                                            cluster: Cluster, tmp_path) -> None:
    alertmanager = alertmanager_factory()
    now = math.floor(time.time())
    t = np.arange(now - 3600, now, 15.0)
    value = 0.2 + 0.01 * np.random.default_rng(1).standard_normal(len(t))
    value[t > now - 180] += 0.3  # the last three minutes: 30 sd slower
    series = Series({"__name__": "serve_anomaly_latency", "app": "checkout"}, t, value)
    assert httpx.post(f"{prometheus.url}/api/v1/write", content=encode_write_request([series]), headers=HEADERS,
                      timeout=10).status_code == 204
    cluster.put("foresight.ai/v1alpha1/anomalypolicies", "shop",
                _anomaly_policy('serve_anomaly_latency{app="checkout"}'))

    settings = load_settings(None, live={"prometheus_url": prometheus.url, "alertmanager_url": alertmanager.url},
                             cluster={"policies": True})
    clock = SystemClock()
    sink = AlertmanagerClient(alertmanager.url, clock)
    live = LivePlatform(settings, PredictionExporter(), source=PrometheusSource(prometheus.url), clock=clock,
                        policies=KubernetesObjects(cluster.api_client()), alert_sink=sink)
    try:
        assert live.controllers["anomaly"].enabled
        assert live.step(()) is True  # reads the policy, backfills an hour, scores, alerts
        view = live.anomaly_view()
        assert view["note"] == "scoring", view
        [row] = view["scores"]
        assert row["workload"] == "shop/checkout" and row["alerting"] and row["score"] > 0.9
        served = Anomalies.model_validate(view)  # what /api/v1/anomalies answers
        assert served.scores[0].policy == "shop/checkout" and served.scores[0].signal == "p95_latency"
        assert served.alerts and served.alerts[0].sent
        deadline = time.monotonic() + 10
        while not (alerts := httpx.get(f"{alertmanager.url}/api/v2/alerts", timeout=5).json()):
            assert time.monotonic() < deadline, "Alertmanager got no alert"
            time.sleep(0.1)
        [alert] = alerts
        assert alert["labels"]["policy"] == "shop/checkout" and alert["labels"]["signal"] == "p95_latency"
        assert alert["labels"]["severity"] == "critical" and alert["status"]["state"] == "active"
    finally:
        live.close()
