"""Placing tasks one at a time, or a gang all together, with a policy; what fits nowhere is reported.

The state changes only through :meth:`ClusterState.assign`, which refuses an overcommit or a GPU type
the task does not allow, so no policy can break a constraint silently.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from foresight.placement.model import ClusterState, Placement, Task, Unplaced
from foresight.placement.policies import Policy, Ties

__all__ = ["place", "place_gang", "why_unplaceable"]


def why_unplaceable(state: ClusterState, task: Task) -> str:
    """The first constraint no node satisfies, in words (for the report of an unplaced task)."""
    cluster = state.cluster
    if task.gpu_count:
        typed = cluster.allowed_nodes(task.gpu_types)
        if not typed.any():
            return f"no node has an allowed GPU type ({', '.join(sorted(task.gpu_types))})"
        room = typed & ((state.dev_left >= task.gpu_milli).sum(axis=1) >= task.gpu_count)
        if not room.any():
            return f"no allowed node has {task.gpu_count} GPU(s) with {task.gpu_milli} milli-GPU free"
        if not (room & (state.cpu_left >= task.cpu_milli)).any():
            return f"no node with room on its GPUs has {task.cpu_milli} milli-CPU free"
        return f"no node with room on its GPUs and CPU has {task.memory_mib} MiB of memory free"
    if not (state.cpu_left >= task.cpu_milli).any():
        return f"no node has {task.cpu_milli} milli-CPU free"
    return f"no node with the CPU has {task.memory_mib} MiB of memory free"


def place(state: ClusterState, task: Task, policy: Policy, ties: Ties) -> Placement | Unplaced:
    """Place one task with ``policy`` (which also observes its arrival); the state changes if it fits."""
    policy.observe(task)
    candidates = np.flatnonzero(state.feasible(task))
    if candidates.size == 0:
        return Unplaced(task, why_unplaceable(state, task))
    node, devices = policy.choose(state, task, candidates, ties)
    return state.assign(task, node, devices)


def place_gang(state: ClusterState, tasks: Sequence[Task], policy: Policy,
               ties: Ties) -> list[Placement] | list[Unplaced]:
    """Place all of ``tasks`` or none: on the first that fits nowhere, undo the others and report them all.

    A distributed job holds its GPUs only when every worker has them; half a gang is GPUs held for nothing.
    """
    placed: list[Placement] = []
    for task in tasks:
        outcome = place(state, task, policy, ties)
        if isinstance(outcome, Unplaced):
            for done in reversed(placed):
                state.release(done)
            reason = f"gang {task.gang or '?'} incomplete: {task.name} fits nowhere ({outcome.reason})"
            return [Unplaced(t, reason) for t in tasks]
        placed.append(outcome)
    return placed
