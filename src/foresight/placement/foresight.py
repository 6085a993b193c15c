"""Foresight's placement: fragmentation descent on the forecast task mix, counting GPU that CPU cannot feed.

FGD (Weng et al., ATC'23) places a task where the cluster's expected fragmentation grows least,
scored as ``int(100 * sigmoid(-increase / 1000))``, ties to the first node in the scheduler's order.
Two changes:

1. The mix is a forecast: shape counts from history (the prior, if any) plus every task that has
   arrived, re-estimated as they come (:class:`OnlineMix`), so a drifting workload moves it; FGD
   is handed the final workload's mix, which no scheduler has in advance.
2. Fragmentation is CPU-bound (``frag_amount(..., cpu_bound=True)``): a shape can use only as many
   of a node's free GPUs as the node's CPU left can run instances of it. FGD's measure asks only
   whether one instance's CPU fits, so it sees no cost in spending the CPU of a node with 12 cores
   per GPU (G2 in the openb traces) on a CPU-heavy or CPU-only task that a node with 52 cores per GPU
   (T4) could take; at 130% demand over a third of FGD's unallocated GPUs sit on nodes with under 4 cores left.

Chosen on seeds that are not reported (100-109 of ``default``, ``gpushare100``, ``gpuspec33``);
the paper's seeds 42-51 are held out. On those seeds, at 130% demand, the CPU bound gained +0.2 to
+0.7 pp over FGD on every seed of all three traces. Dropped on the same seeds: the earlier tie rule
(a placement that leaves its node no free GPU first) was worth +0.00 on ``default`` and
``gpushare100`` and +0.02 pp on ``gpuspec33`` once the measure is CPU-bound, within seed noise, so
ties follow the node order as in FGD. Held out, it is behind FGD on the multigpu30-50 traces
(-0.1 to -0.4 pp) and, at 100% demand only, on gpuspec20-33 (README). Earlier sessions' dropped
variants (seeds 42-44 and 100-103): exact increases instead of the integer score (-0.9 pp, tasks
scatter), linear 40 milli-GPU buckets, a CPU/GPU balance tie-break (-1.1 pp), a mix weighted by GPU
demand (-0.7 pp), best fit on free milli-GPU as the tie-break.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from foresight.placement.frag import frag_amount
from foresight.placement.mix import OnlineMix, Shape
from foresight.placement.model import Cluster, ClusterState, Task
from foresight.placement.policies import NodeFragCache, Ties, after_states, fgd_score, whole_devices

__all__ = ["Foresight"]


class Foresight:
    """FGD's score of the CPU-bound fragmentation on the forecast mix; ties to the scheduler's node order."""

    name = "foresight"

    def __init__(self, cluster: Cluster, prior: dict[Shape, float] | None = None, refresh: int = 256) -> None:
        self.online = OnlineMix(cluster, refresh=refresh, prior=prior)
        self._cache = NodeFragCache(cpu_bound=True)

    def observe(self, task: Task) -> None:
        self.online.observe(task)

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]:
        mix = self.online.mix
        before = self._cache.get(state, mix)[candidates]
        rows, devs, cpu_after, dev_after = after_states(state, task, candidates)
        nodes = candidates[rows]
        after = frag_amount(cpu_after, dev_after, state.cluster.node_type[nodes], mix, cpu_bound=True)
        # rows run node by node, devices ascending, so the first best of a node is its lowest device
        pick = ties.pick(fgd_score(before[rows], after), nodes)
        node = int(nodes[pick])
        if task.is_shared:
            return node, (int(devs[pick]),)
        return node, whole_devices(state.dev_left[node], task.gpu_count)
