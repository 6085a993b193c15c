"""The service graph read from a real Prometheus: Istio and OpenTelemetry edges, kube-state-metrics
placement, re-read as it changes, and the last graph kept while Prometheus is down."""

from __future__ import annotations

import math
import time

import httpx
import pytest

from foresight.adapters.prometheus import PrometheusSource
from foresight.adapters.remote_write import encode_write_request
from foresight.adapters.topology import PrometheusTopology
from foresight.bench.prometheus_server import free_port
from foresight.errors import ConfigError
from foresight.series import Series

HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}


def _push(url: str, series: list[Series]) -> None:
    response = httpx.post(f"{url}/api/v1/write", content=encode_write_request(series), headers=HEADERS, timeout=5)
    assert response.status_code == 204, response.text


def _counter(name: str, labels: dict[str, str], t0: float, per_s: float = 2.0) -> Series:
    times = [t0 + 15.0 * i for i in range(9)]
    return Series({"__name__": name, **labels}, times, [per_s * 15.0 * i for i in range(9)])


def _gauge(name: str, labels: dict[str, str], t0: float) -> Series:
    return Series({"__name__": name, **labels}, [t0 + 15.0 * i for i in range(9)], [1.0] * 9)


def test_an_unreachable_prometheus_gives_an_empty_graph_and_says_why():
    with PrometheusSource(f"http://127.0.0.1:{free_port()}", timeout_s=1.0) as source:
        topology = PrometheusTopology(source, period_s=30.0)
        graph = topology.graph(1000.0)
    assert not graph.edges and not topology.health().ok
    assert "no successful read yet" in topology.health().error and topology.health().failing_since == 1000.0


@pytest.mark.parametrize(("kwargs", "problem"), [({"period_s": 0.0}, "period_s"), ({"window": "five"}, "window")])
def test_settings_are_checked(kwargs, problem):
    with PrometheusSource("http://127.0.0.1:9") as source, pytest.raises(ConfigError, match=problem):
        PrometheusTopology(source, **kwargs)


@pytest.mark.integration
def test_the_graph_joins_istio_otel_and_placement_and_is_re_read(prometheus_factory):
    prom = prometheus_factory()
    t0 = math.floor(time.time()) - 150
    istio = "istio_requests_total"
    _push(prom.url, [
        _counter(istio, {"source_workload": "web", "destination_workload": "api", "reporter": "source"}, t0),
        _counter(istio, {"source_workload": "api", "destination_workload": "db", "reporter": "destination"}, t0),
        _counter(istio, {"source_workload": "unknown", "destination_workload": "web", "reporter": "destination"}, t0),
        _counter(istio, {"source_workload": "web", "destination_workload": "old"}, t0, per_s=0.0),  # no traffic
        _counter("traces_service_graph_request_total", {"client": "api", "server": "cache"}, t0),
        _gauge("kube_pod_info", {"pod": "api-7d9f8b6c4-x2x9z", "node": "n1", "namespace": "shop",
                                 "created_by_kind": "ReplicaSet", "created_by_name": "api-7d9f8b6c4"}, t0),
        _gauge("kube_pod_info", {"pod": "db-0", "node": "n2", "namespace": "shop", "created_by_kind": "StatefulSet",
                                 "created_by_name": "db"}, t0),
    ])
    now = t0 + 120.0
    with PrometheusSource(prom.url) as source:
        topology = PrometheusTopology(source, period_s=60.0, window="2m")
        graph = topology.graph(now)
        assert graph.edges == {("web", "api"), ("api", "db"), ("api", "cache")}
        assert dict(graph.placement) == {"api-7d9f8b6c4-x2x9z": ("api", "n1"), "db-0": ("db", "n2")}
        assert topology.health().ok and topology.health().last_ok_at == now

        # a new caller appears: not seen before the period is over, seen after it
        _push(prom.url, [_counter(istio, {"source_workload": "batch", "destination_workload": "db"}, t0)])
        assert topology.graph(now + 30.0) is graph
        assert ("batch", "db") in topology.graph(now + 60.0).edges and topology.reads == 2

        # Prometheus goes away: the last graph stays, marked stale
        prom.process.terminate()
        prom.process.wait(10)
        kept = topology.graph(now + 120.0)
        assert ("batch", "db") in kept.edges
        health = topology.health()
        assert not health.ok and health.failing_since == now + 120.0 and health.last_ok_at == now + 60.0
        assert f"keeping the graph of t={now + 60.0:.0f}" in health.error and "cannot be reached" in health.error
