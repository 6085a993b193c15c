"""The call graph as matrices, in level order, so that each step is a few numpy operations.

Services are numbered in topological order (see :func:`foresight.sim.spec.topological_order`):
level 0 holds the entry services and every call goes from a lower to a higher level, so each level
is a contiguous slice ``[a, b)`` and all of its callers lie in ``[0, a)``. With the fan-out matrix
``F`` (``F[i, j]`` = calls to ``j`` per request accepted by ``i``):

- offered load, level by level: ``offered[a:b] = accepted[:a] @ F[:a, a:b]`` (entries: external);
  when no caller loses requests this is ``offered = external @ (I - F)^-1``, one matrix product;
- end-to-end success: a request succeeds when its own service accepts it and all its downstream
  calls succeed, ``log s_e2e = log s_own + F @ log s_e2e``, hence ``log s_e2e = (I - F)^-1 log s_own``
  (one matrix product, ``(I - F)^-1`` is computed once);
- end-to-end latency: downstream calls run in parallel and a request waits for the slowest, so
  ``lat_e2e[i] = lat_own[i] + max_j in calls(i) lat_e2e[j]``, evaluated from the deepest level up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from foresight.sim.spec import ServiceSpec, topological_order

__all__ = ["Topology"]


@dataclass(frozen=True)
class Topology:
    """Level slices, fan-out matrix and its closure for services in topological order."""

    names: tuple[str, ...]
    bounds: tuple[tuple[int, int], ...]
    fanout: np.ndarray
    closure: np.ndarray

    @classmethod
    def of(cls, services: Sequence[ServiceSpec]) -> Topology:
        """The topology of ``services`` (already validated as a DAG).

        >>> s = lambda n, **c: ServiceSpec(name=n, capacity_rps=1, base_latency_s=1, slo_latency_p95_s=1, calls=c)
        >>> t = Topology.of([s("db"), s("api", db=2.0), s("web", api=1.0, db=0.5)])
        >>> t.names, t.bounds
        (('web', 'api', 'db'), ((0, 1), (1, 2), (2, 3)))
        >>> t.closure[0].tolist()  # requests reaching each service per request to web
        [1.0, 1.0, 2.5]
        """
        names, levels = topological_order(services)
        index = {n: i for i, n in enumerate(names)}
        fanout = np.zeros((len(names), len(names)))
        for s in services:
            for target, calls in s.calls.items():
                fanout[index[s.name], index[target]] = calls
        bounds = []
        for level in range(max(levels) + 1):
            members = [i for i, lv in enumerate(levels) if lv == level]
            bounds.append((members[0], members[-1] + 1))
        closure = np.linalg.inv(np.eye(len(names)) - fanout)
        return cls(tuple(names), tuple(bounds), fanout, closure)

    @cached_property
    def callers(self) -> np.ndarray:
        """Which services call at least one other (whose losses change what others are offered)."""
        return self.fanout.sum(axis=1) > 0

    @property
    def n_entries(self) -> int:
        """Entry services are ``[0, n_entries)``."""
        return self.bounds[0][1]

    def end_to_end_error(self, own_success: np.ndarray) -> np.ndarray:
        """Failed fraction of requests to each service, counting failures downstream.

        >>> t = Topology(("a", "b"), ((0, 1), (1, 2)), np.array([[0.0, 2.0], [0.0, 0.0]]), np.array([[1.0, 2.0], [0.0, 1.0]]))
        >>> t.end_to_end_error(np.array([1.0, 0.9])).round(4).tolist()  # two calls to b: 1 - 0.9**2
        [0.19, 0.1]
        """
        return np.maximum(1.0 - np.exp(self.closure @ np.log(np.maximum(own_success, 1e-300))), 0.0)

    def end_to_end_latency(self, own: np.ndarray) -> np.ndarray:
        """Adds to each service's own latency its slowest downstream call; ``own`` is [..., services].

        >>> t = Topology.of([ServiceSpec(name=n, capacity_rps=1, base_latency_s=1, slo_latency_p95_s=1, calls=c)
        ...                  for n, c in [("web", {"a": 1.0, "b": 1.0}), ("a", {}), ("b", {})]])
        >>> t.end_to_end_latency(np.array([0.01, 0.05, 0.02])).tolist()
        [0.060000000000000005, 0.05, 0.02]
        """
        out = np.array(own, dtype=float, copy=True)
        for a, b, calls in self._callee_masks:
            out[..., a:b] += np.where(calls, out[..., None, b:], 0.0).max(axis=-1)
        return out

    @cached_property
    def _callee_masks(self) -> tuple[tuple[int, int, np.ndarray], ...]:
        """Per level above the deepest, deepest first: which later services each member calls."""
        return tuple((a, b, self.fanout[a:b, b:] > 0) for a, b in reversed(self.bounds[:-1]))
