"""Nodes, tasks and occupancy: bad input is refused with a precise error, overcommit is impossible."""

from __future__ import annotations

import pytest

from foresight.errors import InputError
from foresight.placement import Cluster, ClusterState, Node, Task


def test_task_shapes_are_validated() -> None:
    with pytest.raises(InputError, match="fraction of a GPU"):
        Task("t", 1000, 10, gpu_count=2, gpu_milli=500)
    with pytest.raises(InputError, match="zero GPUs"):
        Task("t", 1000, 10, gpu_count=0, gpu_milli=500)
    with pytest.raises(InputError, match="gpu_milli must be in 1..1000"):
        Task("t", 1000, 10, gpu_count=1, gpu_milli=1500)
    with pytest.raises(InputError, match="negative"):
        Task("t", -1, 10)
    assert Task("t", 1000, 10, 1, 300).is_shared and not Task("t", 1000, 10, 1, 1000).is_shared


def test_nodes_are_validated() -> None:
    with pytest.raises(InputError, match="no GPU type"):
        Node("n", 1000, 10, gpu_count=2)
    with pytest.raises(InputError, match="unique"):
        Cluster([Node("n", 1, 1), Node("n", 1, 1)])
    with pytest.raises(InputError, match="at least one node"):
        Cluster([])


def test_unknown_gpu_type_is_an_error_naming_the_known_ones() -> None:
    cluster = Cluster([Node("a", 8000, 100, 2, "T4")])
    with pytest.raises(InputError, match="H100.*known: T4"):
        cluster.allowed_nodes(frozenset({"H100"}))


def test_feasible_checks_cpu_memory_type_and_device_room() -> None:
    cluster = Cluster([Node("t4", 8000, 100, 2, "T4"), Node("v100", 8000, 100, 1, "V100"), Node("cpu", 64000, 1000)])
    state = ClusterState(cluster)
    assert state.feasible(Task("a", 1000, 10, 2, 1000)).tolist() == [True, False, False]
    assert state.feasible(Task("b", 1000, 10, 1, 500, frozenset({"V100"}))).tolist() == [False, True, False]
    assert state.feasible(Task("c", 9000, 10)).tolist() == [False, False, True]
    assert state.feasible(Task("d", 1000, 500)).tolist() == [False, False, True]


def test_assign_refuses_overcommit_and_wrong_type_and_release_restores() -> None:
    state = ClusterState(Cluster([Node("a", 8000, 100, 2, "T4"), Node("b", 8000, 100, 1, "V100")]))
    p = state.assign(Task("x", 4000, 50, 1, 700), 0, (1,))
    assert state.dev_left[0].tolist() == [1000, 300] and state.cpu_left[0] == 4000
    with pytest.raises(ValueError, match="does not fit"):
        state.assign(Task("y", 1000, 10, 1, 400), 0, (1,))
    with pytest.raises(ValueError, match="may not run"):
        state.assign(Task("z", 1000, 10, 1, 100, frozenset({"V100"})), 0, (0,))
    with pytest.raises(ValueError, match="distinct devices"):
        state.assign(Task("w", 1000, 10, 2, 1000), 0, (0, 0))
    with pytest.raises(ValueError, match="does not fit"):
        state.assign(Task("v", 1000, 10, 2, 1000), 1, (0, 1))  # node b has one device
    state.release(p)
    assert state.dev_left[0].tolist() == [1000, 1000] and state.cpu_left[0] == 8000 and state.used_gpu_milli == 0
    assert state.kind_count.sum() == 0
