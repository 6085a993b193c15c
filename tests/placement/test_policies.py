"""Each of the paper's policies on small cases whose answer is worked out by hand."""

from __future__ import annotations

import numpy as np

from foresight.placement import (BestFit, Cluster, ClusterState, DotProduct, Fgd, GpuClustering, GpuPacking, Node,
                                 RandomFit, Task, TaskMix, Ties, place)
from tests.placement.conftest import state_of

HALF = Task("half", 2000, 10, 1, 500)
WHOLE = Task("whole", 2000, 10, 1, 1000)


def busy(state: ClusterState, node: int, devices: tuple[int, ...], task: Task) -> None:
    state.assign(task, node, devices)


def test_best_fit_takes_the_fullest_node_and_the_fullest_device(ties: Ties) -> None:
    state = state_of(Node("a", 32000, 100, 4, "T4"), Node("b", 32000, 100, 4, "T4"))
    busy(state, 1, (2,), Task("x", 8000, 10, 1, 300))
    busy(state, 1, (3,), Task("y", 8000, 10, 1, 600))
    placed = place(state, Task("t", 1000, 10, 1, 300), BestFit(), ties)
    assert (placed.node, placed.devices) == (1, (3,))  # device 3 has 400 free: the tightest with room


def test_dot_product_avoids_the_node_rich_in_what_the_task_asks(ties: Ties) -> None:
    # a GPU-heavy task: the node with more free GPU gives the larger dot product, so the other wins
    state = state_of(Node("gpu-rich", 16000, 100, 8, "T4"), Node("gpu-poor", 16000, 100, 2, "T4"))
    assert place(state, Task("t", 1000, 10, 1, 1000), DotProduct(), ties).node == 1


def test_gpu_packing_prefers_a_shared_gpu_then_a_used_node_then_a_small_idle_node(ties: Ties) -> None:
    state = state_of(Node("idle8", 64000, 100, 8, "T4"), Node("idle2", 64000, 100, 2, "T4"),
                     Node("used", 64000, 100, 4, "T4"), Node("shared", 64000, 100, 4, "T4"))
    busy(state, 2, (0,), WHOLE)
    busy(state, 3, (1,), Task("x", 1000, 10, 1, 400))
    assert place(state, Task("s", 1000, 10, 1, 500), GpuPacking(), ties).node == 3
    assert place(state, Task("w", 1000, 10, 1, 1000), GpuPacking(), ties).node in (2, 3)
    fresh = state_of(Node("idle8", 64000, 100, 8, "T4"), Node("idle2", 64000, 100, 2, "T4"))
    assert place(fresh, WHOLE, GpuPacking(), ties).node == 1  # fewer GPUs: 33 - 2 beats 33 - 8


def test_gpu_clustering_puts_a_task_beside_its_own_kind(ties: Ties) -> None:
    state = state_of(Node("a", 64000, 100, 4, "T4"), Node("b", 64000, 100, 4, "T4"), Node("c", 64000, 100, 4, "T4"))
    busy(state, 0, (0,), HALF)
    busy(state, 1, (0,), WHOLE)
    assert place(state, Task("s", 1000, 10, 1, 200), GpuClustering(), ties).node == 0
    assert place(state, Task("w", 1000, 10, 1, 1000), GpuClustering(), ties).node == 1


def test_random_only_picks_feasible_nodes() -> None:
    ties = Ties(np.random.default_rng(3))
    state = state_of(Node("small", 1000, 100, 1, "T4"), Node("big", 64000, 100, 1, "T4"), Node("cpu", 64000, 100))
    nodes = {place(state.copy(), Task("t", 8000, 10, 1, 300), RandomFit(), ties).node for _ in range(30)}
    assert nodes == {1}


def test_fgd_fills_the_half_free_device_that_the_mix_cannot_use_otherwise(ties: Ties) -> None:
    cluster = Cluster([Node("a", 32000, 100, 2, "T4"), Node("b", 32000, 100, 2, "T4")])
    state = ClusterState(cluster)
    busy(state, 1, (0,), Task("x", 1000, 10, 1, 700))  # node b: 300 free on device 0
    mix = TaskMix.build(cluster, {(1000, 1000, 1, ""): 1, (1000, 300, 1, ""): 1})
    placed = place(state, Task("t", 1000, 10, 1, 300), Fgd(mix), ties)
    assert (placed.node, placed.devices) == (1, (0,))


def test_ties_go_to_the_first_node_in_the_given_order() -> None:
    state = state_of(*(Node(f"n{i}", 8000, 100, 1, "T4") for i in range(4)))
    ties = Ties(np.random.default_rng(0), rank=np.array([3, 1, 0, 2]))
    assert place(state, WHOLE, BestFit(), ties).node == 2
