"""The service-level objective and the replicas that meet it.

One definition for the whole project: the simulator scores its SLO with these fields, the
predictive policy, its floor and the benchmark's oracle size replicas with :func:`slo_replicas`
(the M/M/c queue of :mod:`foresight.capacity.queueing`), and a policy without an SLO sizes at a
target utilisation with :func:`utilisation_replicas` (the HPA's arithmetic, in percent like the HPA).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.capacity import queueing
from foresight.errors import ConfigError

__all__ = ["DEFAULT_TIMEOUT_S", "SloModel", "slo_replicas", "slo_replicas_each", "utilisation_replicas"]

#: A request queued longer than this fails, unless a service says otherwise (seconds).
DEFAULT_TIMEOUT_S = 2.0
_SLO_BLOCK = 32  # candidate replica counts tried per load at a time
_MAX_SLO_REPLICAS = 100_000  # beyond this a load is a bad sample, not a sizing question


class SloModel(BaseModel):
    """The service-level objective replicas are sized for, and the queue that decides whether it holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_latency_s: float = Field(gt=0, description="Service time of one request at no load.")
    slo_latency_p95_s: float = Field(gt=0, description="The p95 latency the replicas must keep.")
    slo_error_ratio: float = Field(0.01, gt=0, lt=1, description="The failed fraction they must keep below.")
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, description="A request queued longer than this fails.")

    @model_validator(mode="after")
    def _attainable(self) -> SloModel:
        if self.slo_latency_p95_s <= self.base_latency_s:
            raise ConfigError(
                f"slo: p95 latency {self.slo_latency_p95_s} s cannot be met with a service time of {self.base_latency_s} s"
            )
        return self


def slo_replicas(load_rps: np.ndarray, capacity_rps: float, slo: SloModel, max_replicas: int | None = None) -> np.ndarray:
    """The fewest replicas (at least 1) whose queue meets ``slo`` at each load, by
    :func:`foresight.capacity.queueing.queue`: p95 latency at most ``slo_latency_p95_s`` and at most
    ``slo_error_ratio`` of requests shed or timed out. The one capacity definition of the
    predictive policy, its floor and the benchmark's oracle.

    Replicas of 40 req/s at 200 ms (8 requests in flight each), p95 SLO 400 ms: 15 replicas serve
    560 req/s (93% busy), 2 serve at most ~69 req/s (86%):

    >>> slo = SloModel(base_latency_s=0.2, slo_latency_p95_s=0.4)
    >>> slo_replicas(np.array([0.0, 60.0, 70.0, 560.0]), 40.0, slo).tolist()
    [1, 2, 3, 15]

    Raises :class:`~foresight.errors.ConfigError` when ``max_replicas`` cannot meet the SLO.
    """
    load = np.asarray(load_rps, dtype=np.float64).reshape(-1)
    need = slo_replicas_each(load, np.full(load.size, capacity_rps), [slo] * load.size, max_replicas)
    if not need.all():
        limit = max_replicas if max_replicas is not None else _MAX_SLO_REPLICAS
        worst = float(load[need == 0].max())
        raise ConfigError(f"slo_replicas: {limit} replicas cannot meet the SLO at {worst:.1f} req/s")
    return need


def slo_replicas_each(
    load_rps: np.ndarray, capacity_rps: np.ndarray, slos: Sequence[SloModel], max_replicas: int | None = None
) -> np.ndarray:
    """:func:`slo_replicas` of each load with its own capacity and SLO, all searched at once (the
    predictive policy sizes thousands of workloads a period); 0 where ``max_replicas`` cannot meet
    the SLO. Each load's answer is computed element by element, as alone.

    >>> fast, slow = SloModel(base_latency_s=0.2, slo_latency_p95_s=0.4), SloModel(base_latency_s=0.1, slo_latency_p95_s=0.3)
    >>> slo_replicas_each(np.array([560.0, 560.0]), np.array([40.0, 80.0]), [fast, slow]).tolist()
    [15, 8]
    """
    load = np.asarray(load_rps, dtype=np.float64).reshape(-1)
    capacity = np.asarray(capacity_rps, dtype=np.float64).reshape(-1)
    if load.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.isfinite(load).all() or (load < 0).any():
        raise ConfigError("slo_replicas: loads must be finite and non-negative")
    if capacity.shape != load.shape or len(slos) != load.size:
        raise ValueError("slo_replicas_each: one capacity and one SLO per load")
    base_latency, p95, error_ratio, timeout = (
        np.array([getattr(slo, f) for slo in slos], dtype=np.float64)
        for f in ("base_latency_s", "slo_latency_p95_s", "slo_error_ratio", "timeout_s")
    )
    limit = max_replicas if max_replicas is not None else _MAX_SLO_REPLICAS
    # fewer than 0.99 x load / capacity replicas shed more than 1% of it: start each search there
    base = np.maximum(1, np.floor(0.99 * load / capacity)).astype(np.int64)
    need = np.zeros(load.size, dtype=np.int64)
    todo = np.flatnonzero(base <= limit)
    block = np.arange(_SLO_BLOCK)[None, :]
    while todo.size:  # a block of candidate counts per load at a time
        counts = (base[todo, None] + block).astype(np.float64)
        offered = load[todo, None]
        one = np.ones_like(counts)
        servers = queueing.servers(counts, capacity[todo, None] * one, base_latency[todo, None] * one, one,
                                   timeout[todo, None] * one)
        q = queueing.queue(offered * one, servers)
        error = np.where(offered > 0, q.dropped / np.where(offered > 0, offered, 1.0), 0.0)
        met = (q.latency_p95 <= p95[todo, None]) & (error <= error_ratio[todo, None]) & (counts <= limit)
        first = np.argmax(met, axis=1)
        found = met[np.arange(todo.size), first]
        need[todo[found]] = base[todo[found]] + first[found]
        base[todo[~found]] += _SLO_BLOCK
        todo = todo[~found & (base[todo] <= limit)]
    return need


def utilisation_replicas(load_rps: ArrayLike, capacity_rps: float, target_percent: float) -> np.ndarray:
    """Replicas that serve each load with every replica at ``target_percent`` of its capacity (at least 0).

    The HPA's sizing (``ceil(load / (capacity x target))``): the one replicas-from-load rule for
    everything that sizes by a utilisation target rather than by the SLO. Vectorised; a scalar
    load gives a 0-d array (``int()`` it).

    >>> utilisation_replicas([450.0, 0.0, 449.9], 100.0, 75.0).tolist()
    [6, 0, 6]
    """
    load = np.asarray(load_rps, dtype=np.float64)
    return np.maximum(0, np.ceil(load / (capacity_rps * target_percent / 100.0) - 1e-9)).astype(np.int64)
