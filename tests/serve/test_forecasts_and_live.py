"""The forecast watch on the simulator, and the live platform's wiring (simulator standing in for Prometheus)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from foresight.autoscale.exporter import PredictionExporter
from foresight.config import load_settings
from foresight.serve.forecasts import ForecastWatch
from foresight.serve.live import LivePlatform
from foresight.serve.sources import MonitoredSource
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
        "forecast": True, "autoscale": False, "anomaly": False, "rollout": False}
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
