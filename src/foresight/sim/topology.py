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

The closure ``(I - F)^-1`` and the dense ``F`` cost ``n^3`` time and ``n^2`` memory (10,000
services: minutes and gigabytes), so above ``DENSE_UP_TO`` services all three are evaluated level
by level on the sparse ``F`` (time and memory linear in the calls). Up to it the dense products are
kept: they round differently in the last bits, and the figures published for those sizes rest on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse

from foresight.sim.spec import ServiceSpec, topological_order

__all__ = ["DENSE_UP_TO", "Topology"]

DENSE_UP_TO = 1000


@dataclass(frozen=True)
class Topology:
    """Level slices and the sparse fan-out matrix ``calls`` (``F``) of services in topological order."""

    names: tuple[str, ...]
    bounds: tuple[tuple[int, int], ...]
    calls: sparse.csr_array

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
        rows, cols, values = [], [], []
        for s in services:
            for target, calls in s.calls.items():
                rows.append(index[s.name])
                cols.append(index[target])
                values.append(calls)
        n = len(names)
        fanout = sparse.csr_array((np.array(values, dtype=float), (np.array(rows, dtype=np.int64),
                                   np.array(cols, dtype=np.int64))), shape=(n, n))
        fanout.eliminate_zeros()
        fanout.sort_indices()
        level = np.asarray(levels)
        starts = np.searchsorted(level, np.arange(level[-1] + 1), side="left")
        ends = np.searchsorted(level, np.arange(level[-1] + 1), side="right")
        return cls(tuple(names), tuple((int(a), int(b)) for a, b in zip(starts, ends)), fanout)

    @property
    def dense(self) -> bool:
        """Whether the closure and dense matrices are used (small clusters; module docstring)."""
        return len(self.names) <= DENSE_UP_TO

    @cached_property
    def fanout(self) -> np.ndarray:
        """``F`` as a dense matrix (services x services)."""
        return self.calls.toarray()

    @cached_property
    def closure(self) -> np.ndarray:
        """``(I - F)^-1``: requests reaching each service (columns) per request accepted by each (rows)."""
        return np.linalg.inv(np.eye(len(self.names)) - self.fanout)

    @cached_property
    def callers(self) -> np.ndarray:
        """Which services call at least one other (whose losses change what others are offered)."""
        if self.dense:
            return self.fanout.sum(axis=1) > 0
        return np.diff(self.calls.indptr) > 0

    @property
    def n_entries(self) -> int:
        """Entry services are ``[0, n_entries)``."""
        return self.bounds[0][1]

    def lossless(self, external: np.ndarray) -> np.ndarray:
        """Load offered to every service when the entries get ``external`` and nobody loses requests.

        >>> s = lambda n, **c: ServiceSpec(name=n, capacity_rps=1, base_latency_s=1, slo_latency_p95_s=1, calls=c)
        >>> Topology.of([s("db"), s("api", db=2.0), s("web", api=1.0, db=0.5)]).lossless(np.array([10.0])).tolist()
        [10.0, 10.0, 25.0]
        """
        if self.dense:
            return external @ self.closure[: self.n_entries]
        offered = np.zeros(len(self.names))
        offered[: self.n_entries] = external
        for level in range(1, len(self.bounds)):
            self.inflow(level, offered, offered)
        return offered

    def inflow(self, level: int, accepted: np.ndarray, out: np.ndarray) -> None:
        """Writes into ``out[a:b]`` what the callers of level ``level`` (``[a, b)``, not 0) send it
        when they accept ``accepted[:a]``; ``out`` may be ``accepted``."""
        a, b = self.bounds[level]
        if self.dense:
            np.dot(accepted[:a], self.fanout[:a, a:b], out=out[a:b])
        else:
            out[a:b] = self._fan_in[level] @ accepted

    def end_to_end_error(self, own_success: np.ndarray) -> np.ndarray:
        """Failed fraction of requests to each service, counting failures downstream.

        >>> s = lambda n, **c: ServiceSpec(name=n, capacity_rps=1, base_latency_s=1, slo_latency_p95_s=1, calls=c)
        >>> t = Topology.of([s("a", b=2.0), s("b")])
        >>> t.end_to_end_error(np.array([1.0, 0.9])).round(4).tolist()  # two calls to b: 1 - 0.9**2
        [0.19, 0.1]
        """
        log_own = np.log(np.maximum(own_success, 1e-300))
        if self.dense:
            log_e2e = self.closure @ log_own
        else:
            log_e2e = log_own
            for a, b in reversed(self.bounds[:-1]):
                log_e2e[a:b] += self._rows[a] @ log_e2e
        return np.maximum(1.0 - np.exp(log_e2e), 0.0)

    def end_to_end_latency(self, own: np.ndarray) -> np.ndarray:
        """Adds to each service's own latency its slowest downstream call; ``own`` is [..., services].

        >>> t = Topology.of([ServiceSpec(name=n, capacity_rps=1, base_latency_s=1, slo_latency_p95_s=1, calls=c)
        ...                  for n, c in [("web", {"a": 1.0, "b": 1.0}), ("a", {}), ("b", {})]])
        >>> t.end_to_end_latency(np.array([0.01, 0.05, 0.02])).tolist()
        [0.060000000000000005, 0.05, 0.02]
        """
        out = np.array(own, dtype=float, copy=True)
        if self.dense:
            for a, b, calls in self._callee_masks:
                out[..., a:b] += np.where(calls, out[..., None, b:], 0.0).max(axis=-1)
            return out
        indptr, indices = self.calls.indptr, self.calls.indices
        for a, b in reversed(self.bounds[:-1]):
            rows = a + np.flatnonzero(indptr[a + 1: b + 1] > indptr[a:b])
            if rows.size:
                slowest = np.maximum.reduceat(out[..., indices[indptr[a]: indptr[b]]], indptr[rows] - indptr[a], axis=-1)
                out[..., rows] += slowest
        return out

    @cached_property
    def _callee_masks(self) -> tuple[tuple[int, int, np.ndarray], ...]:
        """Per level above the deepest, deepest first: which later services each member calls."""
        return tuple((a, b, self.fanout[a:b, b:] > 0) for a, b in reversed(self.bounds[:-1]))

    @cached_property
    def _rows(self) -> dict[int, sparse.csr_array]:
        """Per level, by its first member: ``F`` restricted to its members' rows (calls they make)."""
        return {a: self.calls[a:b] for a, b in self.bounds}

    @cached_property
    def _fan_in(self) -> dict[int, sparse.csr_array]:
        """Per level but the first: ``F^T`` restricted to its members' rows (calls they receive)."""
        received = self.calls.T.tocsr()
        return {level: received[a:b] for level, (a, b) in enumerate(self.bounds) if level}
