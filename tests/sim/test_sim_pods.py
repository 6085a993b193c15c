"""Pod placement: resources respected, GPU pods on GPU nodes only, Pending when nothing fits."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.sim import NodePoolSpec
from foresight.sim.pods import PodTable

POOLS = (
    NodePoolSpec(name="cpu", count=2, cpu_cores=4, memory_mib=8192),
    NodePoolSpec(name="gpu", count=1, cpu_cores=16, memory_mib=65536, gpus=2),
)


def _table() -> PodTable:
    # service 0: 1 CPU / 1 GiB; service 1: 2 CPU / 4 GiB / 1 GPU
    return PodTable(POOLS, np.array([1.0, 2.0]), np.array([1024.0, 4096.0]), np.array([0, 1]))


def test_pods_spread_over_nodes_and_respect_cpu():
    pods = _table()
    assert pods.place(0, 10, ready_at=0) == 8  # two 4-core CPU nodes; the GPU node takes only GPU pods
    assert sorted(pods.pods_of(0).tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert np.all(pods.free[:2, 0] >= -1e-9)


def test_gpu_pods_land_only_on_gpu_nodes():
    pods = _table()
    assert pods.place(1, 5, ready_at=0) == 2
    assert set(pods.pods_of(1).tolist()) == {2}


def test_counts_follow_ready_time():
    pods = _table()
    pods.place(0, 2, ready_at=0)
    pods.place(0, 3, ready_at=4)
    for step, ready in [(0, 2), (3, 2), (4, 5), (9, 5)]:
        current, ready_now = pods.counts(step)
        assert current[0] == 5 and ready_now[0] == ready


def test_scale_down_removes_starting_pods_first_then_youngest():
    pods = _table()
    pods.place(0, 2, ready_at=0)
    pods.place(0, 1, ready_at=1)
    pods.place(0, 2, ready_at=10)  # starting at step 5
    pods.remove(0, 3)
    current, ready = pods.counts(5)
    assert current[0] == 2 and ready[0] == 2
    assert sorted(pods.ready_at[pods.alive].tolist()) == [0, 0]


def test_node_down_evicts_and_frees_nothing_until_back():
    pods = _table()
    pods.place(0, 8, ready_at=0)
    assert pods.node_down(0) == 4
    assert pods.place(0, 4, ready_at=1) == 0  # node 1 is full, node 0 is gone
    pods.node_up(0)
    assert pods.place(0, 4, ready_at=1) == 4


_OPS = st.lists(st.tuples(st.sampled_from(["place", "remove", "down", "up", "restart", "step"]),
                          st.integers(0, 1), st.integers(0, 6), st.integers(0, 3)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(_OPS)
def test_counts_kept_up_to_date_equal_a_recount_and_pods_go_where_most_stays_free(ops):
    """The counts and pods kept per service as pods come and go equal a scan of the table; each pod
    goes to the fitting node with the most CPU and memory left after it (the first such on ties)."""
    pods, step = _table(), 0
    for op, service, n, node in ops:
        if op == "place":
            for _ in range(n):
                req = pods.request[service]
                fits = pods.node_alive & ((pods.node_capacity[:, 2] > 0) == (req[2] > 0))
                fits &= np.all(pods.free >= req - 1e-9, axis=1)
                left = ((pods.free[:, :2] - req[:2]) / pods.node_capacity[:, :2]).sum(axis=1)
                before = set(np.flatnonzero(pods.alive).tolist())
                assert pods.place(service, 1, ready_at=step + node) == int(fits.any())
                if fits.any():
                    (row,) = set(np.flatnonzero(pods.alive).tolist()) - before
                    assert [int(pods.node[row])] == [int(np.argmax(np.where(fits, left, -np.inf)))]
        elif op == "remove":
            pods.remove(service, n)
        elif op == "down" and node < len(pods.node_names):
            pods.node_down(node)
        elif op == "up" and node < len(pods.node_names):
            pods.node_up(node)
        elif op == "restart":
            rows = np.flatnonzero(pods.alive)[:n]
            pods.restart(rows, np.full(rows.size, step + node))
        else:
            step += n
        current, ready = pods.counts(step)
        live = pods.alive
        assert current.tolist() == np.bincount(pods.service[live], minlength=2).tolist()
        assert ready.tolist() == np.bincount(pods.service[live & (pods.ready_at <= step)], minlength=2).tolist()
        for s in (0, 1):
            assert pods.pods_of(s).tolist() == pods.node[live & (pods.service == s)].tolist()
