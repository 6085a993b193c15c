"""Foresight's policy: the least growth of CPU-bound fragmentation, then the node order; the mix is learnt."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.errors import InputError
from foresight.placement import (Cluster, ClusterState, Fgd, Foresight, Node, OnlineMix, Task, TaskMix, Ties, place,
                                 shape_of)


def test_a_cpu_only_task_spends_cpu_where_it_strands_no_gpu() -> None:
    # node "lean" has CPU for two 4-core GPU tasks, one per GPU, "rich" for many. FGD's measure sees no
    # change on either (one instance still fits), so the node order sends the CPU task to "lean", where
    # one GPU is then left with no CPU to run a task on it; Foresight's measure counts that GPU as lost
    cluster = Cluster([Node("lean", 8000, 100, 2, "T4"), Node("rich", 64000, 100, 2, "T4")])
    state = ClusterState(cluster)
    prior = {(4000, 1000, 1, ""): 1.0, (4000, 0, 0, ""): 1.0}
    ties = Ties(np.random.default_rng(0), rank=np.array([0, 1]))
    cpu_task = Task("c", 4000, 10)
    assert place(state.copy(), cpu_task, Fgd(TaskMix.build(cluster, prior)), ties).node == 0
    assert place(state, cpu_task, Foresight(cluster, prior=prior), ties).node == 1


def test_lower_fragmentation_beats_the_node_order() -> None:
    cluster = Cluster([Node("a", 64000, 100, 2, "T4"), Node("b", 64000, 100, 2, "T4")])
    state = ClusterState(cluster)
    state.assign(Task("x", 1000, 10, 1, 600), 0, (0,))  # node a: a 400 hole that only fits 400s
    ties = Ties(np.random.default_rng(0), rank=np.array([1, 0]))
    policy = Foresight(cluster, prior={(1000, 400, 1, ""): 1.0, (1000, 1000, 1, ""): 1.0})
    out = place(state, Task("t", 1000, 10, 1, 400), policy, ties)
    assert (out.node, out.devices) == (0, (0,))


def test_the_mix_is_learnt_from_arrivals_and_refreshed() -> None:
    cluster = Cluster([Node("a", 64000, 100, 2, "T4")])
    online = OnlineMix(cluster, refresh=4)
    for _ in range(3):
        online.observe(Task("q", 1000, 10, 1, 250))
    assert online.mix.shapes == ((1000, 250, 1, ""),)
    for _ in range(9):
        online.observe(Task("w", 2000, 10, 1, 1000))
    assert set(online.mix.shapes) == {(1000, 250, 1, ""), (2000, 1000, 1, "")}
    assert shape_of(Task("s", 5, 1, 1, 1000, frozenset({"V100", "T4"}))) == (5, 1000, 1, "T4|V100")


def test_bad_settings_are_refused() -> None:
    cluster = Cluster([Node("a", 64000, 100, 2, "T4")])
    with pytest.raises(InputError, match="refresh"):
        OnlineMix(cluster, refresh=0)
    with pytest.raises(InputError, match="coverage"):
        OnlineMix(cluster, coverage=0)
