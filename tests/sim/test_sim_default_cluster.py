"""The default cluster: a plausible AI platform at any size that starts healthy and shows every fault."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.errors import ConfigError
from foresight.sim import Simulator, default_cluster
from foresight.sim.topology import Topology


@pytest.mark.parametrize("n", [4, 5, 12, 50, 80])
def test_sizes_and_tiers(n):
    spec = default_cluster(n, seed=n)
    names = spec.service_names
    assert len(names) == n == len(set(names))
    assert names[0] == "gateway" and any(s.gpus > 0 for s in spec.services)
    assert any(p.spot for p in spec.node_pools) and any(p.gpus > 0 for p in spec.node_pools)
    assert sorted(f.kind for f in spec.faults) == ["latency-regression", "memory-leak", "node-loss", "spot-preemption"]
    assert all(s.capacity_rps * s.base_latency_s >= 2.0 - 1e-3 for s in spec.services)


def test_same_seed_same_cluster_other_seed_other_cluster():
    assert default_cluster(20, 3) == default_cluster(20, 3)
    assert default_cluster(20, 3) != default_cluster(20, 4)


def test_every_service_is_reached_and_peaks_need_several_replicas():
    spec = default_cluster(50, seed=0)
    topo = Topology.of(spec.services)
    shares = np.array([s.traffic_share for s in spec.services])[: topo.n_entries]
    peak = spec.traffic.daily_peak_rps * (shares / shares.sum()) @ topo.closure[: topo.n_entries]
    capacity = {s.name: s.capacity_rps for s in spec.services}
    replicas_at_60 = peak / np.array([capacity[n] for n in topo.names]) / 0.6
    assert np.all(peak >= 100.0 - 1e-6) and np.all(np.round(replicas_at_60) >= 3)


def test_faults_fall_inside_the_run():
    spec = default_cluster(10, seed=0, duration_s=7200.0)
    assert all(0 < f.at_s < 7200.0 for f in spec.faults)


def test_it_starts_healthy_and_every_fault_shows_in_the_events():
    sim = Simulator(default_cluster(12, seed=2, duration_s=4 * 3600.0), duration_s=4 * 3600.0, seed=2)
    sim.run_until(1800.0)
    h = sim.history
    assert h["foresight_pods_pending"].sum() == 0
    assert np.all(h["foresight_replicas_ready"] == h["foresight_replicas_desired"])
    assert h["foresight_slo_violation"].mean() < 0.05
    sim.run_until(sim.end)
    kinds = {e.kind for e in sim.events}
    assert {"memory-leak", "oom-kill", "memory-leak-fixed", "node-loss", "spot-preemption", "node-replaced",
            "latency-regression", "latency-regression-end"} <= kinds


def test_too_small_is_refused():
    with pytest.raises(ConfigError, match="n_services must be at least 4, got 3"):
        default_cluster(3, seed=0)


def test_large_clusters_are_built_call_by_call_with_the_same_properties():
    """Above the closure's size the peaks are propagated call by call: every service still gets at
    least the quietest peak and needs several replicas at 60 %, as the closure would have it."""
    spec = default_cluster(1200, seed=5)
    assert len(spec.service_names) == 1200 == len(set(spec.service_names))
    topo = Topology.of(spec.services)
    shares = np.array([s.traffic_share for s in spec.services])[: topo.n_entries]
    peak = spec.traffic.daily_peak_rps * (shares / shares.sum()) @ topo.closure[: topo.n_entries]
    capacity = np.array([{s.name: s.capacity_rps for s in spec.services}[n] for n in topo.names])
    assert np.all(peak >= 100.0 - 1e-3) and np.all(np.round(peak / capacity / 0.6) >= 3)
    assert all(s.capacity_rps * s.base_latency_s >= 2.0 - 1e-3 for s in spec.services)
