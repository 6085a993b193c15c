"""The forecast watch on the simulator, and the live platform's wiring (simulator standing in for Prometheus)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from foresight.adapters.exporter import PredictionExporter
from foresight.config import load_settings
from foresight.serve.forecasts import ForecastWatch
from foresight.serve.live import LivePlatform
from foresight.serve.sources import MonitoredSource
from foresight.series import Series
from foresight.sim import Simulator, default_cluster

LOAD = 'foresight_offered_rps{service="$workload"}'


@pytest.fixture(scope="module")
def sim() -> Simulator:
    sim = Simulator(default_cluster(4, seed=1, duration_s=6 * 3600.0), duration_s=6 * 3600.0, seed=1)
    sim.run_until(3 * 3600.0)
    return sim


def test_forecast_says_how_much_history_is_missing_then_tracks_the_load(sim: Simulator) -> None:
    watch = ForecastWatch(sim.service_names, LOAD, min_history_s=4 * 3600.0, horizon_s=1800.0)
    assert watch.observe(sim, sim.now) == "history too short: 180 min of load, need 240 min"
    assert not watch.latest

    watch = ForecastWatch(sim.service_names, LOAD, min_history_s=3600.0, horizon_s=1800.0, lead_s=300.0)
    published: list[tuple[str, float, float]] = []
    assert watch.observe(sim, sim.now, lambda w, load, t: published.append((w, load, t))).startswith("refitted")
    assert [w for w, _, _ in published] == list(sim.service_names)
    fc = watch.latest["gateway"]
    assert len(fc.times) == 30 and fc.times[0] == sim.now + 60.0
    q = np.array(fc.quantiles)
    assert np.all(np.diff(q, axis=1) >= 0)  # q10 <= q50 <= q90
    actual = sim.history["foresight_offered_rps"][-40:, 0].mean()
    assert 0.5 * actual < fc.at_lead < 2.0 * actual  # the right scale of load, not a stub
    assert not watch.due(sim.now)


def test_forecast_keeps_the_last_one_while_the_source_is_down(sim: Simulator) -> None:
    source = MonitoredSource("prometheus", sim, sim.clock)
    watch = ForecastWatch(sim.service_names, LOAD, min_history_s=3600.0)
    watch.observe(source, sim.now - 120.0)
    before = dict(watch.latest)
    source.fail_with("connection refused")
    note = watch.observe(source, sim.now)
    assert note.startswith("load not read (metrics source prometheus unavailable: connection refused)")
    assert watch.latest == before


def test_live_platform_publishes_forecasts_and_says_what_is_disabled(sim: Simulator) -> None:
    settings = load_settings(None, live={"workloads": ["gateway", "search"], "load_query": LOAD,
                                         "capacity_rps": 50.0, "prometheus_url": "http://prometheus:9090"},
                             controllers={"forecast_horizon_s": 900.0})
    exporter = PredictionExporter()
    live = LivePlatform(settings, exporter, source=sim, clock=sim.clock)
    assert {n: c.enabled for n, c in live.controllers.items()} == {
        "forecast": True, "autoscale": False, "anomaly": False, "rollout": False, "incidents": False, "heal": False}
    assert "no audit log" in live.controllers["incidents"].detail
    assert "no Kubernetes access" in live.controllers["autoscale"].detail
    assert live.step(paused={"forecast"}) is False
    assert live.step(paused=()) is True
    load = exporter.registry.get_sample_value("ai_predicted_load", {"namespace": "default", "workload": "gateway"})
    replicas = exporter.registry.get_sample_value("foresight_desired_replicas",
                                                  {"namespace": "default", "workload": "gateway"})
    assert load is not None and load > 0 and replicas == math.ceil(load / 50.0)
    prediction = live.predictions.latest("default", "search")
    assert prediction is not None and prediction.made_at == sim.now
    assert live.step(paused=()) is False  # nothing due until the next forecast step


def test_live_platform_without_prometheus_runs_nothing_and_says_why() -> None:
    live = LivePlatform(load_settings(None), PredictionExporter())
    assert not any(c.enabled for c in live.controllers.values())
    assert live.controllers["forecast"].detail == "set live.prometheus_url and live.workloads (or cluster.policies)"
    assert live.sources() == [] and live.step(()) is False


class Recording:
    """Passes reads through to ``inner`` and records each range asked; can go down."""

    def __init__(self, inner: object) -> None:
        self.inner, self.asked, self.down = inner, [], False

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        from foresight.errors import ServiceUnavailable

        if self.down:
            raise ServiceUnavailable("prometheus: connection refused")
        self.asked.append((start, end, step_s))
        return self.inner.query_range(query, start, end, step_s)  # type: ignore[attr-defined]


def _live(source: object, clock: object, workloads: list[str]) -> LivePlatform:
    settings = load_settings(None, live={"workloads": workloads, "load_query": LOAD, "capacity_rps": 50.0,
                                         "prometheus_url": "http://prometheus:9090"})
    return LivePlatform(settings, PredictionExporter(), source=source, clock=clock)  # type: ignore[arg-type]


def test_live_forecasts_read_the_lookback_once_then_only_new_points_and_reread_after_an_outage() -> None:
    from foresight.clock import ManualClock

    sim = Simulator(default_cluster(4, seed=2, duration_s=4 * 3600.0), duration_s=4 * 3600.0, seed=2)
    sim.run_until(2 * 3600.0)
    clock = ManualClock(sim.now)
    source = Recording(sim)
    live = _live(source, clock, list(sim.service_names[:1]))
    assert live.step(()) is True and live.forecasts is not None and live.forecasts.latest
    assert live.history is not None and live.history.keep_s == live.forecasts.lookback_s
    first = len(source.asked)
    for _ in range(3):  # three forecast steps: a few new points each
        sim.run_until(sim.now + 60.0)
        clock.sleep_until(sim.now)
        assert live.step(()) is True
    later = source.asked[first:]
    assert later and all(end - start <= 240.0 for start, end, _ in later)
    source.down = True  # the watch still hears of it: keeps its forecast, the monitored source turns red
    sim.run_until(sim.now + 60.0)
    clock.sleep_until(sim.now)
    before = dict(live.forecasts.latest)
    live.step(())
    assert live.forecasts.note.startswith("load not read") and live.forecasts.latest == before
    assert live.sources()[0].ok is False
    source.down = False
    sim.run_until(sim.now + 60.0)
    clock.sleep_until(sim.now)
    assert live.step(()) is True and live.forecasts.note == "updated"
    assert live.forecasts.latest != before


@pytest.mark.integration
def test_live_forecasts_from_a_real_prometheus_read_days_in_chunks_then_increments(prometheus) -> None:
    """Three days at a 15 s query step is 17,280 points, over Prometheus' 11,000: the first read is
    chunked by the adapter; the next forecast step reads only the new minute (and the overlap)."""
    import time

    import httpx

    from foresight.adapters.prometheus import PrometheusSource
    from foresight.adapters.remote_write import encode_write_request
    from foresight.clock import ManualClock

    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
    now = math.floor(time.time() / 60.0) * 60.0
    t = np.arange(now - 3 * 86400.0, now + 1.0, 60.0)
    load = 100.0 + 30.0 * np.sin(2 * np.pi * t / 86400.0)
    name = f"live_history_test_{int(now)}"
    pushed = Series({"__name__": name, "service": "api"}, t, load)
    assert httpx.post(f"{prometheus.url}/api/v1/write", content=encode_write_request([pushed]), headers=headers,
                      timeout=30).status_code == 204
    source = Recording(PrometheusSource(prometheus.url))
    settings = load_settings(None, live={"workloads": ["api"], "load_query": name + '{service="$workload"}',
                                         "capacity_rps": 50.0, "prometheus_url": prometheus.url})
    clock = ManualClock(now + 1.0)
    live = LivePlatform(settings, PredictionExporter(), source=source, clock=clock)  # type: ignore[arg-type]
    assert live.step(()) is True
    assert live.forecasts is not None and live.forecasts.note.startswith("refitted on 72.0 h")
    (start, end, step), = source.asked
    assert (end - start) / step > 11_000  # one call here; the adapter split it for Prometheus
    assert 70.0 < live.forecasts.latest["api"].at_lead < 130.0 + 30.0  # the pushed load's scale
    clock.sleep_until(now + 61.0)
    assert live.step(()) is True and live.forecasts.note == "updated"
    (start, end, _), = source.asked[1:]
    assert end - start <= 240.0
