"""The simulator behind the real protocols, piece by piece: what the parity benchmark writes to
Prometheus and to the Kubernetes API is what the in-process path reads from the simulator."""

from __future__ import annotations

from string import Template

import numpy as np
import pytest

from foresight.bench.live_sim import CanaryCounters, step_samples
from foresight.bench.parity import (
    CPU_QUERY,
    LOAD_QUERY,
    NAMESPACE,
    ParityOptions,
    scaling_policy,
    simulator,
)
from foresight.config import LiveSettings
from foresight.errors import ConfigError
from foresight.rollout.observation import CanaryObservation, VersionSample
from foresight.runtime.autoscale import capacity_of, limits_of, predictive_policy
from foresight.runtime.managed import managed


def test_a_step_is_one_sample_per_metric_and_service_at_the_simulators_time() -> None:
    sim = simulator(ParityOptions(duration_s=600.0, canary_at_s=300.0, services=4))
    sim.step()
    sim.step()
    samples = step_samples(sim)
    assert len(samples) == len(sim.history) * len(sim.service_names)
    by_key = {(s.labels["__name__"], s.labels["service"]): s for s in samples}
    name = sim.service_names[1]
    load = by_key[("foresight_offered_rps", name)]
    assert load.timestamps.tolist() == [sim.now]
    [from_sim] = sim.query_range(f'foresight_offered_rps{{service="{name}"}}', sim.now, sim.now, 15.0)
    assert load.values.tolist() == from_sim.values.tolist()  # the very float, not a rounding of it


def test_the_scaling_policy_gives_the_live_loop_the_capacity_and_bounds_the_benchmark_uses() -> None:
    sim = simulator(ParityOptions(duration_s=600.0, canary_at_s=300.0, services=5))
    specs = list(sim.spec.services)
    live = LiveSettings(namespace=NAMESPACE, load_query=LOAD_QUERY, cpu_query=CPU_QUERY)
    found = managed(live, [scaling_policy(s) for s in specs])
    assert found.problems == ()
    policy = predictive_policy({s.name: capacity_of(s) for s in specs}, 15.0)
    for s, w in zip(specs, sorted(found.workloads, key=lambda w: [x.name for x in specs].index(w.key))):
        capacity = w.capacity()
        assert capacity is not None and w.mode == "direct"
        assert capacity.model_copy(update={"load_query": None, "cpu_query": None}) == capacity_of(s)
        # the same PromQL on both paths: the in-process policy's template, the live policy's own query
        assert {"load": capacity.load_query, "cpu": capacity.cpu_query} == policy.queries(s.name)
        assert capacity.load_query == Template(LOAD_QUERY).substitute(workload=s.name)
        bounds = limits_of(s)
        assert (w.min_replicas, w.max_replicas) == (bounds.min_replicas, bounds.max_replicas)
        assert w.max_step == bounds.max_replicas and w.cooldown_s == 0  # binding nothing


def test_canary_counters_add_up_each_interval_as_istio_would_count_it() -> None:
    bounds = np.array([10.0, 20.0])
    counters = CanaryCounters("ns", "m-stable", "m-canary", bounds)
    start = counters.zero(100.0)
    assert {s.labels["destination_workload"] for s in start} == {"m-stable", "m-canary"}
    assert all(s.values.tolist() == [0.0] for s in start)
    stable = VersionSample(10, 2, np.array([5, 3, 2]))
    canary = VersionSample(4, 1, np.array([1, 1, 2]))
    counters.add(CanaryObservation(100.0, 160.0, 10, bounds, stable, canary))
    after = counters.add(CanaryObservation(160.0, 220.0, 10, bounds, stable, canary))

    def value(workload: str, **labels: str) -> float:
        [s] = [s for s in after if s.labels["destination_workload"] == workload
               and all(s.labels.get(k) == v for k, v in labels.items())]
        assert s.timestamps.tolist() == [220.0]
        return float(s.values[0])

    assert value("m-stable", response_code="200") == 16.0 and value("m-stable", response_code="500") == 4.0
    # buckets are cumulative over `le` (as a Prometheus histogram is) and over time
    assert [value("m-canary", le=le) for le in ("10.0", "20.0", "+Inf")] == [2.0, 4.0, 8.0]


def test_options_refuse_a_canary_outside_the_run_or_off_the_step_grid() -> None:
    with pytest.raises(ConfigError, match="canary must start within the run"):
        ParityOptions(duration_s=600.0, canary_at_s=600.0)
    with pytest.raises(ConfigError, match="15 s step"):
        ParityOptions(duration_s=3600.0, canary_at_s=100.0)


def test_a_missing_emulator_or_prometheus_is_one_line_saying_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from foresight.bench import parity

    monkeypatch.setattr(parity.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"needs kmock .*pip install -e '\.\[dev\]'"):
        parity.run_parity(ParityOptions(duration_s=600.0, canary_at_s=300.0))
    monkeypatch.undo()
    monkeypatch.setattr(parity, "missing_binary", lambda binary: f"{binary} not found on PATH (apt-get install x)")
    with pytest.raises(ConfigError, match="needs a real Prometheus: prometheus not found"):
        parity.run_parity(ParityOptions(duration_s=600.0, canary_at_s=300.0))


def test_the_emulator_forgets_served_requests() -> None:
    pytest.importorskip("kmock")
    from kube_emulator import Cluster

    from foresight.adapters.kubernetes import KubernetesObjects

    cluster = Cluster()
    try:
        objects = KubernetesObjects(cluster.api_client())
        for _ in range(20):
            objects.list_objects("v1", "ConfigMap", "default")
        assert cluster.emulator._requests == []  # a long run stays linear, not quadratic
    finally:
        cluster.close()
