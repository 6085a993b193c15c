"""The FGD paper's placement policies, each scoring every feasible node at once with numpy.

Scores follow the FGD simulator's plugins (kube-scheduler scores 0..100, truncated to integers);
the truncation is part of each policy's behaviour, so it is kept. Ties are broken by :class:`Ties`:
either uniformly at random (stock kube-scheduler) or by a fixed node order (the FGD simulator, whose
nodes carry a random per-seed name prefix, effectively takes the first best node in that order, so
tied tasks pile onto the same nodes; its published figures are reproduced only that way). The device(s) a task gets
on the chosen node follow each policy's GPU selection: best fit (the fullest device with room) for
most, random for Random, the fragmentation-minimising device for FGD; whole GPUs are the lowest
numbered free ones.

- random: a uniformly random feasible node.
- best-fit: least CPU + GPU left after placement, each normalised by the largest node (128 cores, 8 GPUs).
- dot-product (Tetris): smallest dot product of the node's free vector and the task's request.
- GPU packing: shared GPUs first, then free GPUs of used nodes, then idle nodes (fewest GPUs first).
- GPU clustering: nodes already running tasks of the same kind (shared, 1-GPU, 2-GPU, ...) first.
- FGD: the node (and device) whose fragmentation, against the typical task mix, grows least.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from foresight.placement.frag import frag_amount
from foresight.placement.mix import TaskMix
from foresight.placement.model import MILLI, ClusterState, Task

__all__ = ["BASELINES", "BestFit", "DotProduct", "Fgd", "GpuClustering", "GpuPacking", "NodeFragCache", "Policy",
           "RandomFit", "Ties", "after_states", "best_fit_device", "fgd_score", "whole_devices"]

MAX_SCORE = 100
MAX_SPEC_CPU = 128_000  # milli-cores of the largest node shape FGD normalises by
MAX_SPEC_GPU = 8 * MILLI


class Ties:
    """How a policy chooses among equally good nodes, and its source of randomness.

    ``rank`` (one distinct number per node): the first best node in that order; ``None``: uniformly at
    random among the best (kube-scheduler's selectHost).
    """

    def __init__(self, rng: np.random.Generator, rank: NDArray[np.int64] | None = None) -> None:
        self.rng = rng
        self.rank = rank

    def pick(self, scores: NDArray[np.generic], nodes: NDArray[np.intp]) -> int:
        """Position of a best score in ``scores`` (``nodes[i]`` is the node scored ``scores[i]``)."""
        best = np.flatnonzero(scores == scores.max())
        if best.size == 1:
            return int(best[0])
        if self.rank is None:
            return int(best[self.rng.integers(best.size)])
        return int(best[np.argmin(self.rank[nodes[best]])])


class Policy(Protocol):
    """Chooses a node (and its devices) for a task among the feasible nodes ``candidates`` (non-empty)."""

    name: str

    def observe(self, task: Task) -> None:
        """A task arrived (placed or not); policies that learn the task mix count it."""

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]: ...


def whole_devices(row: NDArray[np.int64], count: int) -> tuple[int, ...]:
    """The lowest-numbered ``count`` completely free devices."""
    return tuple(int(d) for d in np.flatnonzero(row == MILLI)[:count])


def best_fit_device(row: NDArray[np.int64], milli: int) -> int:
    """The device with the least free milli-GPU that still has ``milli`` (lowest number on ties)."""
    return int(np.where(row >= milli, row, MILLI + 1).argmin())


def _devices_best_fit(state: ClusterState, task: Task, node: int) -> tuple[int, ...]:
    if task.gpu_count == 0:
        return ()
    row = state.dev_left[node]
    return (best_fit_device(row, task.gpu_milli),) if task.is_shared else whole_devices(row, task.gpu_count)


class _Base:
    name: ClassVar[str] = ""

    def observe(self, task: Task) -> None:
        return None


class RandomFit(_Base):
    name = "random"

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]:
        node = int(candidates[ties.rng.integers(candidates.size)])
        if task.is_shared:
            fitting = np.flatnonzero(state.dev_left[node] >= task.gpu_milli)
            return node, (int(fitting[ties.rng.integers(fitting.size)]),)
        return node, _devices_best_fit(state, task, node)


class BestFit(_Base):
    name = "best-fit"

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]:
        cpu = state.cpu_left[candidates].astype(np.float64)
        gpu = state.dev_left[candidates].sum(axis=1).astype(np.float64)
        left = (cpu - task.cpu_milli) / MAX_SPEC_CPU * 0.5 + (gpu - task.total_gpu_milli) / MAX_SPEC_GPU * 0.5
        node = int(candidates[ties.pick(((1.0 - left) * MAX_SCORE).astype(np.int64), candidates)])
        return node, _devices_best_fit(state, task, node)


class DotProduct(_Base):
    name = "dot-product"

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]:
        cpu = state.cpu_left[candidates] / MAX_SPEC_CPU
        gpu = state.dev_left[candidates].sum(axis=1) / MAX_SPEC_GPU
        dot = cpu * (task.cpu_milli / MAX_SPEC_CPU) + gpu * (task.total_gpu_milli / MAX_SPEC_GPU)
        node = int(candidates[ties.pick((MAX_SCORE * (1 - dot / 2)).astype(np.int64), candidates)])
        return node, _devices_best_fit(state, task, node)


class GpuPacking(_Base):
    name = "gpu-packing"

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]:
        if task.gpu_count == 0:
            scores = np.zeros(candidates.size, dtype=np.int64)
        else:
            dev = state.dev_left[candidates]
            free = (dev == MILLI).sum(axis=1)
            idle_node = free == state.cluster.gpu_count[candidates]
            scores = np.maximum(MAX_SCORE // 3 - free, free)  # an idle node: fewer GPUs first
            if task.is_shared:
                tightest = np.where(dev >= task.gpu_milli, dev, MILLI + 1).min(axis=1)
                on_shared = np.maximum(MAX_SCORE - (tightest * 100 // MILLI) // 10, MAX_SCORE // 2)
                used = np.where(tightest == MILLI, np.maximum(MAX_SCORE // 2 - 1, MAX_SCORE // 3), on_shared)
            else:
                used = np.full(candidates.size, max(MAX_SCORE // 2 - task.gpu_count, MAX_SCORE // 3))
            scores = np.where(idle_node, scores, used)
        node = int(candidates[ties.pick(scores, candidates)])
        return node, _devices_best_fit(state, task, node)


class GpuClustering(_Base):
    name = "gpu-clustering"

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]:
        if task.gpu_count == 0:
            scores = np.zeros(candidates.size, dtype=np.int64)
        else:
            kinds = state.kind_count[candidates] > 0
            same = kinds[:, 0 if task.is_shared else task.gpu_count]
            n_kinds = kinds.sum(axis=1)
            fill = (MAX_SCORE // 4) * (MAX_SPEC_GPU - state.dev_left[candidates].sum(axis=1)) // MAX_SPEC_GPU
            tier = np.where(same, np.where(n_kinds == 1, 3, 2), np.where(n_kinds == 0, 1, 0))
            scores = fill + tier * (MAX_SCORE // 4)
        node = int(candidates[ties.pick(scores, candidates)])
        return node, _devices_best_fit(state, task, node)


def after_states(state: ClusterState, task: Task, candidates: NDArray[np.intp]
                 ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.int64], NDArray[np.int64]]:
    """Each way of placing the task on a candidate: (candidate position, device or -1, CPU left, devices left).

    A shared task may go to any device with room; devices of a node with the same free amount lead to
    the same state, so only the lowest-numbered of each is tried. Whole GPUs are the lowest free ones.
    """
    dev = state.dev_left[candidates]
    cpu_after = state.cpu_left[candidates] - task.cpu_milli
    if not task.is_shared:
        if task.gpu_count:
            free = dev == MILLI
            dev = dev - MILLI * (free & (np.cumsum(free, axis=1) <= task.gpu_count))
        return np.arange(candidates.size), np.full(candidates.size, -1), cpu_after, dev
    width = dev.shape[1]
    earlier_same = ((dev[:, :, None] == dev[:, None, :]) & np.tri(width, k=-1, dtype=bool).T[None]).any(axis=1)
    rows, devs = np.nonzero((dev >= task.gpu_milli) & ~earlier_same)
    after = dev[rows].copy()
    after[np.arange(rows.size), devs] -= task.gpu_milli
    return rows, devs, cpu_after[rows], after


class NodeFragCache:
    """Fragmentation of every node under one mix, recomputed only for nodes changed since last asked.

    ``cpu_bound`` selects Foresight's measure (see :func:`~foresight.placement.frag.frag_amount`).
    """

    def __init__(self, cpu_bound: bool = False) -> None:
        self.cpu_bound = cpu_bound
        self._stamp: NDArray[np.int64] | None = None
        self._frag: NDArray[np.float64] | None = None
        self._mix: TaskMix | None = None

    def get(self, state: ClusterState, mix: TaskMix) -> NDArray[np.float64]:
        c = state.cluster
        if self._frag is None or self._stamp is None or self._mix is not mix or self._stamp.shape != state.stamp.shape:
            self._frag = frag_amount(state.cpu_left, state.dev_left, c.node_type, mix, self.cpu_bound)
            self._mix = mix
        else:
            changed = np.flatnonzero(self._stamp != state.stamp)
            if changed.size:
                self._frag[changed] = frag_amount(state.cpu_left[changed], state.dev_left[changed],
                                                  c.node_type[changed], mix, self.cpu_bound)
        self._stamp = state.stamp.copy()
        return self._frag


def fgd_score(before: NDArray[np.float64], after: NDArray[np.float64]) -> NDArray[np.int64]:
    """FGD's node score: ``int(100 * sigmoid((before - after) / 1000))`` of the fragmentation (milli-GPU)."""
    return (1.0 / (1.0 + np.exp(-(before - after) / 1000.0)) * MAX_SCORE).astype(np.int64)


class Fgd(_Base):
    """Fragmentation gradient descent against a fixed task mix (the workload's, known in advance)."""

    name = "fgd"

    def __init__(self, mix: TaskMix) -> None:
        self.mix = mix
        self._cache = NodeFragCache()

    def choose(self, state: ClusterState, task: Task, candidates: NDArray[np.intp],
               ties: Ties) -> tuple[int, tuple[int, ...]]:
        before = self._cache.get(state, self.mix)[candidates]
        rows, devs, cpu_after, dev_after = after_states(state, task, candidates)
        after = frag_amount(cpu_after, dev_after, state.cluster.node_type[candidates[rows]], self.mix)
        scores = fgd_score(before[rows], after)
        if task.is_shared:  # per node, its best device (lowest number on ties), then the best node
            order = np.lexsort((devs, -scores, rows))
            first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
            rows, devs, scores = rows[first], devs[first], scores[first]
        pick = ties.pick(scores, candidates[rows])
        node = int(candidates[rows[pick]])
        if task.is_shared:
            return node, (int(devs[pick]),)
        return node, whole_devices(state.dev_left[node], task.gpu_count)


BASELINES: tuple[str, ...] = ("random", "dot-product", "gpu-clustering", "gpu-packing", "best-fit", "fgd")
