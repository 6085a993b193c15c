"""The sparse, level-by-level evaluation of the call graph (large clusters) against the dense one."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.sim import Simulator, default_cluster, topology
from foresight.sim.topology import Topology


@pytest.mark.parametrize(("n", "seed"), [(12, 0), (60, 3), (150, 1)])
def test_sparse_evaluation_matches_the_closure(n, seed, monkeypatch):
    topo = Topology.of(default_cluster(n, seed=seed).services)
    rng = np.random.default_rng(seed)
    external = rng.uniform(0.0, 50.0, topo.n_entries)
    success = rng.uniform(0.5, 1.0, len(topo.names))
    latency = rng.uniform(0.001, 0.2, (2, len(topo.names)))
    dense = topo.lossless(external), topo.end_to_end_error(success), topo.end_to_end_latency(latency), topo.callers
    monkeypatch.setattr(topology, "DENSE_UP_TO", 0)
    assert not topo.dense
    sparse = topo.lossless(external), topo.end_to_end_error(success), topo.end_to_end_latency(latency), topo.callers
    for d, s in zip(dense, sparse):
        np.testing.assert_allclose(s, d, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(sparse[2], dense[2])  # maxima and sums in the same order: exact
    sent = rng.uniform(0.0, 10.0, len(topo.names))
    for level in range(1, len(topo.bounds)):
        a, b = topo.bounds[level]
        out = np.zeros(len(topo.names))
        topo.inflow(level, sent, out)
        np.testing.assert_allclose(out[a:b], sent[:a] @ topo.fanout[:a, a:b], rtol=1e-12)


def test_a_simulation_with_losses_is_the_same_either_way(monkeypatch):
    """Faults and overload make callers lose requests, so the level-by-level path runs too."""
    spec = default_cluster(40, seed=2, duration_s=3600.0)
    traffic = np.full(240, 3.0 * spec.traffic.daily_peak_rps)  # overload: every level loses load

    def run() -> dict[str, np.ndarray]:
        sim = Simulator(spec, traffic=traffic, duration_s=3600.0, seed=2)
        sim.run_until(sim.end)
        return {k: v.copy() for k, v in sim.history.items()}

    dense = run()
    monkeypatch.setattr(topology, "DENSE_UP_TO", 0)
    sparse = run()
    assert float(dense["foresight_dropped_rps"].sum()) > 0
    for name, values in dense.items():
        np.testing.assert_allclose(sparse[name], values, rtol=1e-9, atol=1e-12, err_msg=name)


def test_large_topologies_never_build_dense_matrices():
    spec = default_cluster(1500, seed=0)
    topo = Topology.of(spec.services)
    assert not topo.dense and topo.calls.nnz == sum(len(s.calls) for s in spec.services)
    offered = topo.lossless(np.ones(topo.n_entries))
    assert np.all(offered > 0) and "closure" not in topo.__dict__ and "fanout" not in topo.__dict__
