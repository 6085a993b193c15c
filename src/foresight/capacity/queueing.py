"""Latency and failures of a service as an M/M/c queue, in closed form so it vectorises.

A service with ``r`` ready replicas has ``c = r * k`` servers, ``k = capacity_rps * base_latency_s``
per replica, each serving at ``mu = 1 / s`` with ``s = base_latency_s * slowdown`` (so its capacity
is ``c mu = r * capacity_rps / slowdown``). For an offered rate ``lambda``:

- the excess over capacity is shed: ``admitted = min(lambda, c mu)``;
- utilisation ``rho = min(admitted / (c mu), RHO_MAX)``; the cap keeps a saturated queue finite
  (a real one is bounded by its clients' timeouts);
- probability of waiting (Sakasegawa's approximation of Erlang C):
  ``P(wait) = rho ** (sqrt(2 (c + 1)) - 1)``;
- the waiting-time tail ``P(W > t) = P(wait) exp(-(c mu - lambda) t)`` with ``c mu - lambda = c mu (1 - rho)``;
- a request that would wait longer than ``timeout_s`` fails: ``timed_out = admitted P(W > timeout)``;
- ``served = admitted - timed_out``, ``dropped = offered - served`` (shed + timed out);
- latency = service time + wait: ``mean = s + P(wait) / (c mu - lambda)``,
  ``p95 = s + max(0, ln(P(wait) / 0.05)) / (c mu - lambda)``, waits capped at the timeout
  (served requests never waited longer). While ``P(wait) < 5 %`` the p95 is the service time
  itself and may sit below the mean, as it does for this distribution (an atom at no wait);
- CPU utilisation of the ready pods: ``min(1, lambda / (c mu))`` (1 when there is load and no pod).

With no ready pod the capacity is 0: everything offered is shed and latency is the service time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["RHO_MAX", "QueueState", "Servers", "accepted", "queue", "servers"]

RHO_MAX = 0.98
_NO_CAPACITY = 1e300  # stands for 1 / 0: times 0 load gives 0, times any load saturates
_TINY_RATE = 1e-300


@dataclass(frozen=True)
class Servers:
    """Per-service constants of the queue; they change only when ready pods or slowdowns do."""

    capacity: np.ndarray
    inv_capacity: np.ndarray
    exponent: np.ndarray
    capacity_timeout: np.ndarray
    service_time: np.ndarray
    timeout: np.ndarray

    def part(self, a: int, b: int) -> Servers:
        """The services ``[a, b)`` (views, no copy)."""
        return Servers(*(getattr(self, f)[a:b] for f in self.__dataclass_fields__))


class QueueState(NamedTuple):
    """One step of every service: rates in req/s, latencies in seconds, utilisation in [0, 1]."""

    served: np.ndarray
    dropped: np.ndarray
    latency_mean: np.ndarray
    latency_p95: np.ndarray
    utilisation: np.ndarray


def servers(
    ready: np.ndarray, capacity_rps: np.ndarray, base_latency_s: np.ndarray, slowdown: np.ndarray, timeout_s: np.ndarray
) -> Servers:
    """The queue constants for ``ready`` replicas per service."""
    capacity = ready * capacity_rps / slowdown
    inv = np.full_like(capacity, _NO_CAPACITY)
    np.divide(1.0, capacity, out=inv, where=capacity > 0)
    return Servers(
        capacity=capacity,
        inv_capacity=inv,
        exponent=np.sqrt(2.0 * (ready * capacity_rps * base_latency_s + 1.0)) - 1.0,
        capacity_timeout=capacity * timeout_s,
        service_time=base_latency_s * slowdown,
        timeout=np.asarray(timeout_s, dtype=float),
    )


def accepted(offered: np.ndarray, s: Servers) -> np.ndarray:
    """Requests that neither were shed nor timed out: what goes on to call downstream services."""
    admitted = np.minimum(offered, s.capacity)
    rho = np.minimum(admitted * s.inv_capacity, RHO_MAX)
    return admitted * (1.0 - rho**s.exponent * np.exp(s.capacity_timeout * (rho - 1.0)))


def queue(offered: np.ndarray, s: Servers) -> QueueState:
    """Served, dropped, latency and utilisation of every service at ``offered`` req/s.

    Two replicas of 50 req/s at 20 ms (one server each), at half and at twice their capacity:

    >>> srv = servers(np.array([2.0, 2.0]), np.array([50.0, 50.0]), np.array([0.02, 0.02]),
    ...               np.ones(2), np.array([1.0, 1.0]))
    >>> q = queue(np.array([50.0, 200.0]), srv)
    >>> q.served.round(3).tolist(), q.dropped.round(3).tolist()
    ([50.0, 86.857], [0.0, 113.143])
    >>> q.latency_mean.round(4).tolist(), q.latency_p95.round(4).tolist(), q.utilisation.tolist()
    ([0.0273, 0.5056], [0.0598, 1.02], [0.5, 1.0])
    """
    admitted = np.minimum(offered, s.capacity)
    rho = np.minimum(admitted * s.inv_capacity, RHO_MAX)
    pwait = rho**s.exponent
    inv_rate = 1.0 / np.maximum(s.capacity * (1.0 - rho), _TINY_RATE)
    served = admitted * (1.0 - pwait * np.exp(s.capacity_timeout * (rho - 1.0)))
    wait_mean = np.minimum(pwait * inv_rate, s.timeout)
    wait_p95 = np.minimum(np.log(np.maximum(pwait, 0.05) * 20.0) * inv_rate, s.timeout)
    return QueueState(
        served=served,
        dropped=offered - served,
        latency_mean=s.service_time + wait_mean,
        latency_p95=s.service_time + wait_p95,
        utilisation=np.minimum(offered * s.inv_capacity, 1.0),
    )
