"""Foresight's policy: lower fragmentation first, then the placement that fills its node; the mix is learnt."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.errors import InputError
from foresight.placement import Cluster, ClusterState, Foresight, Node, OnlineMix, Task, Ties, place, shape_of


def test_a_placement_that_fills_its_node_wins_a_tie() -> None:
    cluster = Cluster([Node("idle", 64000, 100, 4, "T4"), Node("last-gpu", 64000, 100, 4, "T4")])
    state = ClusterState(cluster)
    for d in range(3):
        state.assign(Task(f"x{d}", 1000, 10, 1, 1000), 1, (d,))
    # whole-GPU tasks only: taking a GPU changes no node's fragmentation, so both score alike; the idle
    # node comes first in the scheduler's order, yet the one whose last GPU this is wins
    ties = Ties(np.random.default_rng(0), rank=np.array([0, 1]))
    policy = Foresight(cluster, prior={(1000, 1000, 1, ""): 1.0})
    assert place(state, Task("t", 1000, 10, 1, 1000), policy, ties).node == 1


def test_lower_fragmentation_beats_the_tie_rules() -> None:
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
