"""Foresight's placement: fragmentation descent against the task mix it has seen, without score rounding.

Three changes from FGD, each for a reason:

1. The mix is the one *observed so far* (:class:`OnlineMix`), not the whole workload's, which a
   scheduler cannot know in advance; it is the forecast of what comes next.
2. The fragmentation increase is compared exactly. FGD squeezes it through a sigmoid into an integer
   score of 0..100, so increases that differ by tens of milli-GPU tie and are broken at random.
3. Remaining ties go to the tightest fit: the node left with the least free GPU, then the fullest
   device, then the least CPU, so whole nodes and whole devices stay free for the large tasks of the
   mix; then to the scheduler's node order (:class:`Ties`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from foresight.placement.frag import frag_amount
from foresight.placement.mix import OnlineMix
from foresight.placement.model import Cluster, ClusterState, Task
from foresight.placement.policies import NodeFragCache, Ties, after_states, whole_devices

__all__ = ["Foresight"]

#: increases closer than this (milli-GPU) count as equal
TOLERANCE = 1e-6


class Foresight:
    """Exact fragmentation descent on the observed mix, tightest fit on ties."""

    name = "foresight"

    def __init__(self, cluster: Cluster, refresh: int = 256) -> None:
        self.online = OnlineMix(cluster, refresh=refresh)
        self._cache = NodeFragCache()

    def observe(self, task: Task) -> None:
        self.online.observe(task)

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]:
        mix = self.online.mix
        before = self._cache.get(state, mix)[candidates]
        rows, devs, cpu_after, dev_after = after_states(state, task, candidates)
        after = frag_amount(cpu_after, dev_after, state.cluster.node_type[candidates[rows]], mix)
        increase = np.round((after - before[rows]) / TOLERANCE) * TOLERANCE
        gpu_left = dev_after.sum(axis=1)
        device_left = np.where(devs >= 0, state.dev_left[candidates[rows], np.maximum(devs, 0)], 0)
        nodes = candidates[rows]
        last = ties.rng.random(rows.size) if ties.rank is None else ties.rank[nodes]
        order = np.lexsort((last, cpu_after, device_left, gpu_left, increase))
        pick = int(order[0])
        node = int(nodes[pick])
        if task.is_shared:
            return node, (int(devs[pick]),)
        return node, whole_devices(state.dev_left[node], task.gpu_count)
