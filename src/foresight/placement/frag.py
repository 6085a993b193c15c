"""GPU fragmentation of nodes measured against a task mix (FGD's definition), vectorised over nodes.

For one node and one task shape ``k`` of the mix, the free milli-GPU that shape cannot use is:
all of it when the shape cannot run there at all (wrong GPU type, too little CPU, too few devices
with room, or a CPU-only shape, which never uses a GPU); otherwise the free milli-GPU of the devices
that are each too small for it. A node's fragmentation is the mix-weighted expectation over shapes:

    frag = sum_k w_k * (fits_k ? sum_{d: free_d < m_k} free_d : sum_d free_d)
         = free - sum_{k GPU shape} w_k * fits_k * sum_{d: free_d >= m_k} free_d

(the second line because the weights sum to one). Memory is not part of the measure, as in FGD.

FGD asks only whether a shape's CPU fits once: a node with eight free GPUs and CPU left for two more
instances of a shape counts all eight as usable by it. With ``cpu_bound`` (Foresight's measure) a
shape uses at most ``count * (cpu_left // cpu)`` of the devices with room for it, the largest first,
so GPU that the node's CPU can never feed is fragmented too; where CPU does not bind, both agree.

Many rows are the same state (idle nodes of one shape, the same device left on many nodes), so
large batches are evaluated once per distinct state, found by a 64-bit hash of (GPU type, CPU left,
sorted free devices); a collision needs two of a few thousand states to share a 64-bit value.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from foresight.placement.mix import TaskMix

__all__ = ["frag_amount"]

#: batches at least this large are deduplicated before evaluation
DEDUPE_FROM = 48
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9,
                 0x2545F4914F6CDD1D, 0x9FB21C651E98DF25, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3],
                dtype=np.uint64)


def frag_amount(cpu_left: NDArray[np.int64], dev_left: NDArray[np.int64], node_type: NDArray[np.int64],
                mix: TaskMix, cpu_bound: bool = False) -> NDArray[np.float64]:
    """Fragmented milli-GPU of each node state (rows of ``dev_left``; ``node_type`` -1 = CPU-only).

    ``cpu_bound``: a shape's usable devices are also limited by the instances the CPU left can run.

    >>> import numpy as np
    >>> from foresight.placement.model import Cluster, Node
    >>> from foresight.placement.mix import TaskMix
    >>> c = Cluster([Node("a", 8000, 1024, 2, "T4")])
    >>> mix = TaskMix.build(c, {(1000, 500, 1, ""): 1.0, (1000, 0, 0, ""): 1.0})
    >>> # devices with 300 and 1000 free: the half-GPU shape cannot use the 300, the CPU shape uses none
    >>> float(frag_amount(np.array([8000]), np.array([[300, 1000]]), np.array([0]), mix)[0])
    800.0
    >>> # 2500 milli-CPU left runs two 1000-milli-CPU half-GPU tasks: with the CPU bound only two devices count
    >>> c4 = Cluster([Node("b", 8000, 1024, 4, "T4")])
    >>> half = TaskMix.build(c4, {(1000, 500, 1, ""): 1.0})
    >>> float(frag_amount(np.array([2500]), np.array([[1000, 1000, 600, 300]]), np.array([0]), half, True)[0])
    900.0
    """
    if cpu_left.shape[0] < DEDUPE_FROM or dev_left.shape[1] + 2 > _MIX.size:
        return _frag(cpu_left, dev_left, node_type, mix, cpu_bound)
    columns = np.column_stack((node_type, cpu_left, np.sort(dev_left, axis=1))).astype(np.uint64)
    with np.errstate(over="ignore"):
        keys = (columns * _MIX[:columns.shape[1]]).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return _frag(cpu_left[first], dev_left[first], node_type[first], mix, cpu_bound)[inverse]


def _frag(cpu_left: NDArray[np.int64], dev_left: NDArray[np.int64], node_type: NDArray[np.int64],
          mix: TaskMix, cpu_bound: bool) -> NDArray[np.float64]:
    total = dev_left.sum(axis=1).astype(np.float64)
    if mix.levels.size == 0:
        return total
    fits_level = dev_left[:, :, None] >= mix.levels[None, None, :]
    big = (dev_left[:, :, None] * fits_level).sum(axis=1)
    room = fits_level.sum(axis=1)
    fits = (mix.access[node_type]
            & (cpu_left[:, None] >= mix.cpu[None, :])
            & (room[:, mix.level] >= mix.count[None, :]))
    if not cpu_bound:
        return total - (fits * big[:, mix.level]) @ mix.gpu_weight
    # devices the CPU left can feed: count * instances, never more than have room; the largest first
    instances = np.where(mix.cpu > 0, cpu_left[:, None] // np.maximum(mix.cpu, 1)[None, :], dev_left.shape[1])
    fed = np.minimum(room[:, mix.level], instances * mix.count[None, :])
    largest_first = np.cumsum(-np.sort(-dev_left, axis=1), axis=1)
    usable = np.take_along_axis(np.column_stack((np.zeros(len(dev_left), dtype=np.int64), largest_first)), fed, axis=1)
    return total - (fits * usable) @ mix.gpu_weight
