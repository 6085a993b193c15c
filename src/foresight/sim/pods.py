"""Pods on nodes: placement, start-up, eviction and leaked memory, as flat numpy arrays.

Each pod is a row (service, node, step at which it is ready, leaked MiB). A pod created at step
``k`` for a service with start-up delay ``d`` is ready from step ``k + ceil(d / step_s)`` on: the
delay is exact to the step. Counts per service are kept up to date as pods come and go, and redone
over the table only when a pod became ready or restarted, so neither a steady-state step nor a scale
change costs time in the number of pods.

Placement is the scheduler's job in miniature: a pod goes to the live node where, after placing it,
the most CPU and memory stay free (Kubernetes' *least allocated* score, which spreads pods),
among nodes with room for its CPU, memory and GPU requests. Nodes with GPUs take only pods that
request GPUs (the usual taint on GPU pools) and GPU pods only go to GPU nodes. A pod that fits
nowhere is not created: the caller counts it as Pending and tries again later.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from foresight.sim.spec import NodePoolSpec

__all__ = ["PodTable"]

_EPS = 1e-9


class PodTable:
    """The pods of every service and the nodes they run on."""

    def __init__(self, pools: Sequence[NodePoolSpec], cpu: np.ndarray, memory_mib: np.ndarray, gpus: np.ndarray) -> None:
        self.node_names = [n for p in pools for n in p.node_names()]
        shape = [(p.cpu_cores, p.memory_mib, p.gpus) for p in pools for _ in range(p.count)]
        # columns contiguous (Fortran order): placement reads each resource of every node
        self.node_capacity = np.asfortranarray(np.array(shape, dtype=float).reshape(-1, 3))
        self.node_spot = np.array([p.spot for p in pools for _ in range(p.count)])
        self.node_alive = np.ones(len(self.node_names), dtype=bool)
        self._gpu_node = self.node_capacity[:, 2] > 0
        self.free = self.node_capacity.copy(order="F")
        self.request = np.stack([cpu, memory_mib, gpus], axis=1).astype(float)
        self.n_services = len(cpu)
        self.service = np.zeros(0, dtype=np.int64)
        self.node = np.zeros(0, dtype=np.int64)
        self.ready_at = np.zeros(0, dtype=np.int64)
        self.leaked_mib = np.zeros(0)
        self.alive = np.zeros(0, dtype=bool)
        self._dirty = True
        self._next_ready = 0
        self._counted_at = 0
        self._free_rows: list[int] = []  # rows of deleted pods, a heap: the lowest is reused first
        self._rows_of: list[set[int]] = [set() for _ in range(self.n_services)]
        self._current = np.zeros(self.n_services, dtype=np.int64)
        self._ready = np.zeros(self.n_services, dtype=np.int64)
        self.version = 0  # increases whenever the counts change

    def counts(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Pods per service that exist (``current``) and that are ready at ``step``."""
        if self._dirty or step >= self._next_ready:
            live = self.alive
            self._current = np.bincount(self.service[live], minlength=self.n_services)
            is_ready = live & (self.ready_at <= step)
            self._ready = np.bincount(self.service[is_ready], minlength=self.n_services)
            later = self.ready_at[live & ~is_ready]
            self._next_ready = int(later.min()) if later.size else np.iinfo(np.int64).max
            self._counted_at = step
            self._dirty = False
            self.version += 1
        return self._current, self._ready

    def ready_mask(self, step: int) -> np.ndarray:
        return self.alive & (self.ready_at <= step)

    def place(self, service: int, n: int, ready_at: int) -> int:
        """Create up to ``n`` pods of ``service`` ready at step ``ready_at``; returns how many fit."""
        if n <= 0:
            return 0
        req = self.request[service]
        free, capacity, least = self.free, self.node_capacity, req - _EPS
        fits = self.node_alive & (self._gpu_node if req[2] > 0 else ~self._gpu_node)
        fits &= free[:, 0] >= least[0]
        fits &= free[:, 1] >= least[1]
        fits &= free[:, 2] >= least[2]
        score = (free[:, 0] - req[0]) / capacity[:, 0]
        score += (free[:, 1] - req[1]) / capacity[:, 1]
        score[~fits] = -np.inf
        placed = 0
        for _ in range(n):  # only the chosen node's room changes: its fit and score are redone alone
            if not fits.any():
                break
            node = int(np.argmax(score))
            self.free[node] -= req
            self._add_row(service, node, ready_at)
            placed += 1
            fits[node] = bool(np.all(self.free[node] >= req - _EPS))
            room = (self.free[node, :2] - req[:2]) / self.node_capacity[node, :2]
            score[node] = room[0] + room[1] if fits[node] else -np.inf
        return placed

    def remove(self, service: int, n: int) -> None:
        """Delete ``n`` pods of ``service``: starting ones first, then the youngest ready ones."""
        rows = self._live_rows(service)
        newest_first = rows[np.argsort(-self.ready_at[rows], kind="stable")]
        self._delete(newest_first[:n])

    def node_down(self, node: int) -> int:
        """The node and its pods are gone; returns the number of evicted pods."""
        rows = np.flatnonzero(self.alive & (self.node == node))
        self._delete(rows)
        self.node_alive[node] = False
        return int(rows.size)

    def node_up(self, node: int) -> None:
        """An empty node of the same shape is ready."""
        self.node_alive[node] = True
        self.free[node] = self.node_capacity[node]

    def restart(self, rows: np.ndarray, ready_at: np.ndarray) -> None:
        """Containers restarted in place (OOM): leaked memory is freed, not ready until ``ready_at``."""
        self.leaked_mib[rows] = 0.0
        self.ready_at[rows] = ready_at
        self._dirty = True

    def free_leaks(self, service: int) -> None:
        """Pods of ``service`` replaced by a fixed version: no leaked memory (counts unchanged)."""
        self.leaked_mib[self.service == service] = 0.0

    def pods_of(self, service: int) -> np.ndarray:
        """Node index of each live pod of ``service``."""
        return self.node[self._live_rows(service)]

    def _live_rows(self, service: int) -> np.ndarray:
        """Rows of the live pods of ``service``, ascending (kept per service: no scan of the table)."""
        return np.array(sorted(self._rows_of[service]), dtype=np.int64)

    def _add_row(self, service: int, node: int, ready_at: int) -> None:
        """The pod takes the lowest free row (a heap of them, not a scan of the table)."""
        if not self._free_rows:
            grow = max(64, self.alive.size)
            self._free_rows = list(range(self.alive.size, self.alive.size + grow))  # sorted: a heap
            self.service = np.concatenate([self.service, np.zeros(grow, dtype=np.int64)])
            self.node = np.concatenate([self.node, np.zeros(grow, dtype=np.int64)])
            self.ready_at = np.concatenate([self.ready_at, np.zeros(grow, dtype=np.int64)])
            self.leaked_mib = np.concatenate([self.leaked_mib, np.zeros(grow)])
            self.alive = np.concatenate([self.alive, np.zeros(grow, dtype=bool)])
        row = heapq.heappop(self._free_rows)
        self.service[row], self.node[row], self.ready_at[row] = service, node, ready_at
        self.leaked_mib[row] = 0.0
        self.alive[row] = True
        self._rows_of[service].add(row)
        if not self._dirty:  # the counts follow (cost independent of the number of pods)
            self._current[service] += 1
            if ready_at <= self._counted_at:
                self._ready[service] += 1
            else:
                self._next_ready = min(self._next_ready, ready_at)
            self.version += 1

    def _delete(self, rows: np.ndarray) -> None:
        if rows.size == 0:
            return
        np.add.at(self.free, self.node[rows], self.request[self.service[rows]])
        self.leaked_mib[rows] = 0.0
        self.alive[rows] = False
        for row, service in zip(rows.tolist(), self.service[rows].tolist()):
            heapq.heappush(self._free_rows, row)
            self._rows_of[service].discard(row)
        if not self._dirty:
            services = self.service[rows]
            np.subtract.at(self._current, services, 1)
            np.subtract.at(self._ready, services[self.ready_at[rows] <= self._counted_at], 1)
            self.version += 1
