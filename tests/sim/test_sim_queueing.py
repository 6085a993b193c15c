"""The queue model: known M/M/1 values, monotone in load, shedding past capacity, conservation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from foresight.capacity.queueing import RHO_MAX, accepted, queue, servers


def _one(ready: float, capacity: float = 100.0, latency: float = 0.01, timeout: float = 1.0, slowdown: float = 1.0):
    return servers(np.array([ready]), np.array([capacity]), np.array([latency]), np.array([slowdown]), np.array([timeout]))


def test_zero_load_latency_is_the_service_time():
    q = queue(np.array([0.0]), _one(3))
    assert q.latency_mean[0] == q.latency_p95[0] == pytest.approx(0.01)
    assert q.served[0] == q.dropped[0] == q.utilisation[0] == 0.0


def test_single_server_matches_mm1():
    # c = 1 (100 req/s x 10 ms): P(wait) = rho exactly; mean wait = rho / (mu - lambda).
    q = queue(np.array([50.0]), _one(1))
    assert q.latency_mean[0] == pytest.approx(0.01 + 0.5 / 50.0)
    assert q.latency_p95[0] == pytest.approx(0.01 + np.log(0.5 / 0.05) / 50.0)


def test_latency_and_failures_grow_with_load():
    load = np.linspace(0.0, 390.0, 40)
    srv = servers(np.full(40, 4.0), np.full(40, 100.0), np.full(40, 0.05), np.ones(40), np.full(40, 0.2))
    q = queue(load, srv)
    assert np.all(np.diff(q.latency_mean) >= 0) and np.all(np.diff(q.latency_p95) >= 0)
    assert np.all(np.diff(q.dropped / np.maximum(load, 1e-9)) >= -1e-12)
    # below 5 % chance of waiting the p95 is the service time itself, even where the mean is above it
    assert np.all(q.latency_p95 >= srv.service_time) and q.latency_p95[-1] > q.latency_mean[-1]


def test_past_capacity_the_excess_is_shed_and_waits_stop_at_the_timeout():
    q = queue(np.array([1000.0]), _one(2, timeout=0.3))
    assert q.served[0] <= 200.0 and q.dropped[0] >= 800.0
    assert q.utilisation[0] == 1.0
    assert q.latency_p95[0] <= 0.01 + 0.3 + 1e-12


def test_no_ready_replica_sheds_everything():
    q = queue(np.array([50.0]), _one(0))
    assert q.served[0] == 0.0 and q.dropped[0] == 50.0 and q.utilisation[0] == 1.0
    assert np.isfinite(q.latency_p95[0])


def test_slowdown_divides_capacity_and_multiplies_service_time():
    srv = _one(4, slowdown=2.0)
    assert srv.capacity[0] == pytest.approx(200.0) and srv.service_time[0] == pytest.approx(0.02)


@given(
    load=st.lists(st.floats(0, 1e5), min_size=1, max_size=20),
    ready=st.integers(0, 50),
    capacity=st.floats(0.1, 1e4),
    latency=st.floats(1e-4, 2.0),
    timeout=st.floats(1e-3, 10.0),
    slowdown=st.floats(0.5, 5.0),
)
def test_conservation_and_bounds_hold_for_any_input(load, ready, capacity, latency, timeout, slowdown):
    n = len(load)
    offered = np.array(load)
    srv = servers(np.full(n, float(ready)), np.full(n, capacity), np.full(n, latency), np.full(n, slowdown),
                  np.full(n, timeout))
    q = queue(offered, srv)
    assert np.allclose(q.served + q.dropped, offered, rtol=1e-12, atol=1e-9)
    assert np.all(q.served >= 0) and np.all(q.served <= np.minimum(offered, srv.capacity) * (1 + 1e-12))
    assert np.all(q.dropped >= -1e-9)
    assert np.all((q.utilisation >= 0) & (q.utilisation <= 1))
    assert np.all(np.isfinite(q.latency_p95)) and np.all(q.latency_p95 <= latency * slowdown + timeout + 1e-9)
    assert np.array_equal(accepted(offered, srv), q.served)


def test_rho_cap_keeps_saturation_finite():
    q = queue(np.array([99.9999]), _one(1, latency=0.01, timeout=100.0))
    assert np.isfinite(q.latency_mean[0]) and RHO_MAX < 1
