"""Placing tasks: what fits nowhere is reported with its reason, gangs are all or nothing, and no policy
ever exceeds a node's capacity or runs a task on a GPU type it does not allow."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.placement import (BestFit, Cluster, ClusterState, DotProduct, Fgd, Foresight, GpuClustering,
                                 GpuPacking, Node, Placement, RandomFit, Task, Ties, Unplaced, place, place_gang,
                                 typical_mix)
from tests.placement.conftest import state_of


def test_unplaceable_tasks_are_reported_with_the_constraint(ties: Ties) -> None:
    state = state_of(Node("a", 8000, 100, 2, "T4"))
    out = place(state, Task("big", 1000, 10, 4, 1000), BestFit(), ties)
    assert isinstance(out, Unplaced) and "4 GPU(s)" in out.reason
    out = place(state, Task("cpu", 9000, 10), BestFit(), ties)
    assert isinstance(out, Unplaced) and "9000 milli-CPU" in out.reason
    out = place(state, Task("mem", 1000, 500, 1, 1000), BestFit(), ties)
    assert isinstance(out, Unplaced) and "500 MiB" in out.reason


def test_gang_is_all_or_nothing(ties: Ties) -> None:
    state = state_of(Node("a", 64000, 100, 8, "T4"), Node("b", 64000, 100, 4, "T4"))
    workers = [Task(f"w{i}", 4000, 10, 4, 1000, gang="job") for i in range(4)]  # 16 GPUs, 12 exist
    out = place_gang(state, workers, BestFit(), ties)
    assert all(isinstance(o, Unplaced) and "gang job incomplete" in o.reason for o in out) and len(out) == 4
    assert state.used_gpu_milli == 0 and state.cpu_left.tolist() == [64000, 64000]
    placed = place_gang(state, workers[:2], BestFit(), ties)
    assert all(isinstance(p, Placement) for p in placed) and state.used_gpu_milli == 8000


def test_fractional_tasks_share_a_device(ties: Ties) -> None:
    state = state_of(Node("a", 64000, 100, 1, "T4"))
    for i in range(4):
        assert isinstance(place(state, Task(f"q{i}", 1000, 10, 1, 250), BestFit(), ties), Placement)
    assert state.dev_left[0, 0] == 0
    assert isinstance(place(state, Task("more", 1000, 10, 1, 10), BestFit(), ties), Unplaced)


TYPES = ("A10", "T4", "V100")
nodes_st = st.lists(st.tuples(st.integers(1000, 64000), st.integers(100, 4000), st.sampled_from([0, 1, 2, 4, 8]),
                              st.sampled_from(TYPES)), min_size=1, max_size=12)
tasks_st = st.lists(st.tuples(st.integers(100, 20000), st.integers(1, 2000), st.sampled_from([0, 1, 1, 2, 4, 8]),
                              st.sampled_from([100, 250, 500, 750, 1000]),
                              st.sets(st.sampled_from(TYPES), max_size=2)), min_size=1, max_size=60)


@settings(max_examples=30, deadline=None)
@given(nodes_st, tasks_st, st.integers(0, 6), st.integers(0, 3))
def test_no_policy_ever_exceeds_capacity_or_breaks_a_type_constraint(nodes, tasks, which, seed) -> None:
    cluster = Cluster([Node(f"n{i}", c, m, g, t if g else "") for i, (c, m, g, t) in enumerate(nodes)])
    known = set(cluster.type_names)
    work = [Task(f"t{i}", c, m, g, (milli if g == 1 else 1000) if g else 0, frozenset(ts & known) if g else frozenset())
            for i, (c, m, g, milli, ts) in enumerate(tasks)]
    policies = [RandomFit, BestFit, DotProduct, GpuPacking, GpuClustering]
    policy = (policies[which]() if which < 5 else
              Fgd(typical_mix(cluster, work)) if which == 5 else Foresight(cluster))
    state = ClusterState(cluster)
    ties = Ties(np.random.default_rng(seed), rank=np.random.default_rng(seed).permutation(len(cluster)))
    placed = []
    for task in work:
        out = place(state, task, policy, ties)
        if isinstance(out, Placement):
            placed.append(out)
            assert not task.gpu_count or cluster.allowed_nodes(task.gpu_types)[out.node]
        else:
            assert not state.feasible(task).any()
    assert (state.cpu_left >= 0).all() and (state.memory_left >= 0).all() and (state.dev_left >= 0).all()
    assert (state.dev_left <= np.where(cluster.device_exists, 1000, 0)).all()
    assert state.used_gpu_milli == sum(p.task.total_gpu_milli for p in placed)
