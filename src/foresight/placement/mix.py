"""The typical task mix that fragmentation is measured against: task shapes and how often each comes.

FGD (Weng et al., ATC'23) counts the shapes (CPU, GPU count, milli-GPU per GPU, allowed GPU types;
memory is left out) of a workload, keeps the most frequent ones until they cover 95% of the tasks,
and renormalises their frequencies. :func:`typical_mix` does that for a known workload;
:class:`OnlineMix` does it for the tasks seen so far, which is all a scheduler knows when it runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from foresight.errors import InputError
from foresight.placement.model import Cluster, Task

__all__ = ["OnlineMix", "Shape", "TaskMix", "shape_of", "typical_mix"]

#: (cpu milli, gpu milli per GPU, gpu count, allowed GPU types sorted and joined by "|")
Shape = tuple[int, int, int, str]


def shape_of(task: Task) -> Shape:
    return task.cpu_milli, task.gpu_milli, task.gpu_count, "|".join(sorted(task.gpu_types))


@dataclass(frozen=True)
class TaskMix:
    """Shapes and their weights (summing to 1), laid out for vectorised fragmentation on one cluster.

    ``access[t, k]``: node GPU type ``t`` (last row: CPU-only nodes) may run shape ``k``.
    ``levels`` are the distinct milli-GPU sizes of the GPU shapes; ``level`` maps a GPU shape to its size.
    """

    shapes: tuple[Shape, ...]
    weights: NDArray[np.float64]
    cpu: NDArray[np.int64]
    count: NDArray[np.int64]
    access: NDArray[np.bool_]
    levels: NDArray[np.int64]
    level: NDArray[np.int64]
    gpu_weight: NDArray[np.float64]

    @classmethod
    def build(cls, cluster: Cluster, counts: dict[Shape, float]) -> TaskMix:
        """The mix of the given shape counts on ``cluster`` (weights are the counts, normalised)."""
        if not counts or sum(counts.values()) <= 0:
            raise InputError("a task mix needs at least one task shape with a positive count")
        shapes = tuple(counts)
        weights = np.array([counts[s] for s in shapes], dtype=np.float64)
        weights /= weights.sum()
        gpu = [i for i, s in enumerate(shapes) if s[1] > 0]
        levels = np.unique(np.array([shapes[i][1] for i in gpu], dtype=np.int64))
        access = np.zeros((len(cluster.type_names) + 1, len(gpu)), dtype=bool)
        for j, i in enumerate(gpu):
            types = frozenset(t for t in shapes[i][3].split("|") if t)
            access[:-1, j] = cluster.type_mask(types)
        return cls(shapes=shapes, weights=weights,
                   cpu=np.array([shapes[i][0] for i in gpu], dtype=np.int64),
                   count=np.array([shapes[i][2] for i in gpu], dtype=np.int64),
                   access=access, levels=levels,
                   level=np.searchsorted(levels, [shapes[i][1] for i in gpu]).astype(np.int64),
                   gpu_weight=weights[gpu])


def _top_shapes(counts: Counter[Shape] | dict[Shape, float], coverage: float) -> dict[Shape, float]:
    """The most frequent shapes until they cover ``coverage`` of all tasks (FGD's popularity cut)."""
    total = sum(counts.values())
    # most frequent first; among equal counts the larger shape first, as FGD's reverse sort does
    ordered = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    kept: dict[Shape, float] = {}
    covered = 0.0
    for shape, n in ordered:
        if covered >= coverage * total:
            break
        kept[shape] = float(n)
        covered += n
    return kept


def typical_mix(cluster: Cluster, tasks: Iterable[Task], coverage: float = 0.95) -> TaskMix:
    """FGD's typical task mix of a workload: frequent shapes covering ``coverage`` of its tasks."""
    if not 0 < coverage <= 1:
        raise InputError(f"coverage must be in (0, 1], got {coverage}")
    return TaskMix.build(cluster, _top_shapes(Counter(shape_of(t) for t in tasks), coverage))


class OnlineMix:
    """The forecast mix: a prior (shape counts from history, or none) plus the tasks seen so far.

    A scheduler cannot know tomorrow's workload; it can count what ran before and what has arrived.
    The estimate is rebuilt on a doubling schedule at first (so the first arrivals already shape it
    when there is no prior) and then every ``refresh`` arrivals.
    """

    def __init__(self, cluster: Cluster, coverage: float = 0.95, refresh: int = 256,
                 prior: dict[Shape, float] | None = None) -> None:
        if refresh < 1:
            raise InputError(f"refresh must be at least 1, got {refresh}")
        if not 0 < coverage <= 1:
            raise InputError(f"coverage must be in (0, 1], got {coverage}")
        self.cluster, self.coverage, self.refresh = cluster, coverage, refresh
        self.counts: Counter[Shape] = Counter(prior or {})
        self.seen = 0
        self._next = 1
        self._mix: TaskMix | None = None

    def observe(self, task: Task) -> None:
        self.counts[shape_of(task)] += 1
        self.seen += 1

    @property
    def mix(self) -> TaskMix:
        if self._mix is None or self.seen >= self._next:
            self._mix = TaskMix.build(self.cluster, _top_shapes(self.counts, self.coverage))
            self._next = self.seen * 2 if self.seen < self.refresh else self.seen + self.refresh
        return self._mix
