"""Invariants that hold for any cluster, load, replica schedule and fault: checked with hypothesis."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foresight.sim import (
    LatencyRegression,
    MemoryLeak,
    NodeLoss,
    Simulator,
    SpotPreemption,
    SyntheticTraffic,
)

SERVICES = ("web", "api", "db", "model")
FANOUT = {("web", "api"): 1.0, ("api", "db"): 2.0, ("api", "model"): 0.5}
FAULTS = st.sampled_from([
    None,
    NodeLoss(at_s=150, node="cpu-0"),
    SpotPreemption(at_s=90, node="spot-1", replace_after_s=60),
    MemoryLeak(at_s=0, service="api", mib_per_hour=20000),
    LatencyRegression(at_s=60, until_s=300, service="db", factor=3.0),
])
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(
    rps=st.floats(0.0, 2000.0),
    wiggle=st.integers(0, 2**31),
    initial=st.lists(st.integers(0, 6), min_size=4, max_size=4),
    delays=st.lists(st.sampled_from([0.0, 10.0, 15.0, 45.0, 100.0]), min_size=4, max_size=4),
    actions=st.lists(st.tuples(st.integers(0, 29), st.sampled_from(SERVICES), st.integers(0, 15)), max_size=12),
    cpu_nodes=st.integers(1, 3),
    gpu_nodes=st.integers(0, 1),
    fault=FAULTS,
)
def test_invariants_hold_every_step(chain, rps, wiggle, initial, delays, actions, cpu_nodes, gpu_nodes, fault):
    overrides = {s: {"initial_replicas": n, "min_replicas": 0, "startup_delay_s": d}
                 for s, n, d in zip(SERVICES, initial, delays)}
    spec = chain(faults=(fault,) if fault else (), cpu_nodes=cpu_nodes, gpu_nodes=gpu_nodes, **overrides)
    traffic = rps * np.random.default_rng(wiggle).uniform(0.0, 2.0, 30)
    sim = Simulator(spec, traffic=traffic, duration_s=450.0)
    desired = dict(zip(SERVICES, initial))
    for k in range(30):
        for step, service, n in actions:
            if step == k:
                sim.set_replicas(service, n)
                desired[service] = n
        sim.step()
        assert all(node.startswith("gpu-") for node in sim.pod_nodes("model"))
        assert not any(node.startswith("gpu-") for s in SERVICES[:3] for node in sim.pod_nodes(s))
    h = sim.history
    col = {s: i for i, s in enumerate(sim.service_names)}
    offered, served, dropped = h["foresight_offered_rps"], h["foresight_served_rps"], h["foresight_dropped_rps"]
    assert np.allclose(served + dropped, offered, rtol=1e-12, atol=1e-9)
    assert np.all(served >= 0) and np.all(dropped >= -1e-9)
    for child in ("api", "db", "model"):
        expected = sum(served[:, col[p]] * f for (p, c), f in FANOUT.items() if c == child)
        assert np.allclose(offered[:, col[child]], expected, rtol=1e-9, atol=1e-9)
    want, current, ready = h["foresight_replicas_desired"], h["foresight_replicas_current"], h["foresight_replicas_ready"]
    assert [want[-1, col[s]] for s in SERVICES] == [desired[s] for s in SERVICES]
    assert np.all(current >= 0) and np.all(current <= want) and np.all(ready <= current)
    assert np.array_equal(h["foresight_pods_pending"], want - current)
    for name in ("foresight_error_ratio", "foresight_cpu_utilisation"):
        assert np.all((h[name] >= 0) & (h[name] <= 1))
    assert all(np.all(np.isfinite(v)) for v in h.values())


@PROPERTY
@given(delay=st.floats(0.0, 400.0), at_step=st.integers(0, 10), add=st.integers(1, 4))
def test_startup_delay_is_exact(chain, delay, at_step, add):
    sim = Simulator(chain(web={"startup_delay_s": delay}), traffic=np.full(60, 50.0), duration_s=900.0)
    sim.run_until(at_step * 15.0)
    sim.set_replicas("web", 2 + add)
    sim.run_until(900.0)
    ready = sim.history["foresight_replicas_ready"][:, 0]
    became_ready = at_step + math.ceil(delay / 15.0 - 1e-9)
    assert np.all(ready[:became_ready] == 2) and np.all(ready[became_ready:] == 2 + add)


@PROPERTY
@given(seed=st.integers(0, 2**31 - 2))
def test_determinism_per_seed(chain, seed):
    spec = chain(faults=(NodeLoss(at_s=100, node="cpu-0"),)).model_copy(update={"traffic": SyntheticTraffic()})

    def offered(s: int) -> np.ndarray:
        sim = Simulator(spec, duration_s=300.0, seed=s)
        sim.run_until(300.0)
        return sim.history["foresight_offered_rps"].copy()

    assert np.array_equal(offered(seed), offered(seed))
    assert not np.array_equal(offered(seed), offered(seed + 1))
