"""The ai_predicted_load exporter: its gauges, its HTTP endpoint, and a real Prometheus scraping it."""

from __future__ import annotations

import math
import socket
import time

import anyio
import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from foresight.adapters.prometheus import PrometheusSource
from foresight.adapters.exporter import PredictionExporter
from foresight.errors import ConfigError, InputError


def samples(text: str) -> dict[tuple[str, str, str], float]:
    """Parse an exposition into ``{(metric, namespace, workload): value}``."""
    return {
        (s.name, s.labels["namespace"], s.labels["workload"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_publish_sets_both_gauges_per_workload_and_forget_removes_them():
    exporter = PredictionExporter()
    exporter.publish("ml", "llm", 123.5, 4)
    exporter.publish("ml", "embedder", 10.0, np.int64(1))
    exporter.publish("ml", "llm", 150.0, 5)  # the latest decision wins
    reg = exporter.registry
    assert reg.get_sample_value("ai_predicted_load", {"namespace": "ml", "workload": "llm"}) == 150.0
    assert reg.get_sample_value("foresight_desired_replicas", {"namespace": "ml", "workload": "llm"}) == 5
    assert (
        reg.get_sample_value("foresight_desired_replicas", {"namespace": "ml", "workload": "embedder"}) == 1
    )

    exporter.forget("ml", "llm")
    exporter.forget("ml", "never-published")  # nothing to forget is fine
    assert reg.get_sample_value("ai_predicted_load", {"namespace": "ml", "workload": "llm"}) is None
    assert reg.get_sample_value("ai_predicted_load", {"namespace": "ml", "workload": "embedder"}) == 10.0


def test_exporters_do_not_share_a_registry():
    a, b = PredictionExporter(), PredictionExporter()
    a.publish("ml", "llm", 1.0, 1)
    assert b.registry.get_sample_value("ai_predicted_load", {"namespace": "ml", "workload": "llm"}) is None


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("", "llm", 1.0, 1), "non-empty"),
        (("ml", "llm", math.nan, 1), "predicted_load of ml/llm must be a finite number"),
        (("ml", "llm", -1.0, 1), "finite number >= 0"),
        (("ml", "llm", 1.0, 2.5), "desired_replicas of ml/llm must be an integer >= 0, not 2.5"),
        (("ml", "llm", 1.0, -1), "integer >= 0"),
        (("ml", "llm", 1.0, True), "integer >= 0"),
    ],
)
def test_bad_values_are_refused_and_the_last_good_decision_stays(args, match):
    exporter = PredictionExporter()
    exporter.publish("ml", "llm", 7.0, 2)
    with pytest.raises(InputError, match=match):
        exporter.publish(*args)
    assert (
        exporter.registry.get_sample_value("ai_predicted_load", {"namespace": "ml", "workload": "llm"}) == 7.0
    )
    assert (
        exporter.registry.get_sample_value(
            "foresight_desired_replicas", {"namespace": "ml", "workload": "llm"}
        )
        == 2
    )


def test_start_serves_metrics_over_http_until_stop():
    exporter = PredictionExporter()
    exporter.publish("ml", "llm", 42.0, 3)
    port = exporter.start(0, addr="127.0.0.1")
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert samples(text) == {
            ("ai_predicted_load", "ml", "llm"): 42.0,
            ("foresight_desired_replicas", "ml", "llm"): 3.0,
        }
        with pytest.raises(ConfigError, match=f"already serving on port {port}"):
            exporter.start(0)
    finally:
        exporter.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    exporter.stop()  # stopping twice is harmless


def test_a_taken_port_is_a_config_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            PredictionExporter().start(port, addr="127.0.0.1")


def test_asgi_app_serves_the_same_metrics():
    exporter = PredictionExporter()
    exporter.publish("ml", "llm", 42.0, 3)

    async def scrape() -> str:
        transport = httpx.ASGITransport(app=exporter.asgi_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return (await client.get("/metrics")).text

    assert samples(anyio.run(scrape))[("ai_predicted_load", "ml", "llm")] == 42.0


def wait_for(query: PrometheusSource, promql: str, want: int, timeout_s: float = 10.0) -> list:
    """Instant-query until the answer has ``want`` series (Prometheus scrapes every second)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = query.query(promql, time.time())
        if len(result) == want or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


@pytest.mark.integration
def test_a_real_prometheus_scrapes_the_prediction_and_sees_it_go_stale(prometheus_factory):
    exporter = PredictionExporter()
    exporter.publish("ml", "llm", 123.5, 4)
    port = exporter.start(0, addr="127.0.0.1")
    try:
        prom = prometheus_factory(scrape_targets=[f"127.0.0.1:{port}"])
        with PrometheusSource(prom.url) as source:
            [load] = wait_for(source, 'ai_predicted_load{namespace="ml",workload="llm"}', 1)
            assert load.labels["instance"] == f"127.0.0.1:{port}" and load.values.tolist() == [123.5]
            [replicas] = source.query('foresight_desired_replicas{workload="llm"}', time.time())
            assert replicas.values.tolist() == [4.0]

            exporter.forget("ml", "llm")  # the next scrape misses it: Prometheus marks it stale
            assert wait_for(source, "ai_predicted_load", 0) == []
    finally:
        exporter.stop()
