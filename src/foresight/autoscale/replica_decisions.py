"""The latest scale-to-zero decision per workload: what the policy's controller writes and KEDA's scaler reads.

Beside :mod:`foresight.autoscale.predictions` (a predicted *load*, which KEDA divides by a target),
a scale-to-zero workload publishes the *replicas* its policy wants (zero, a warm pool, or the
replicas started ahead of predicted arrivals), so that the scaler answers ``IsActive`` with
``replicas > 0`` and its metric makes KEDA's HPA (``AverageValue`` 1) want exactly that many.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from foresight.autoscale.predictions import LatestByWorkload
from foresight.errors import InputError

__all__ = ["InMemoryReplicaDecisions", "PublishedReplicas", "ReplicaDecisionStore"]


@dataclass(frozen=True)
class PublishedReplicas:
    """The replicas one workload's policy wants, when it decided (Unix seconds) and why."""

    replicas: int
    made_at: float
    reason: str = ""

    def __post_init__(self) -> None:
        if self.replicas < 0:
            raise InputError(f"replica decision: replicas must be >= 0, got {self.replicas}")
        if not math.isfinite(self.made_at):
            raise InputError(f"replica decision: made_at must be a finite Unix time, got {self.made_at!r}")


class ReplicaDecisionStore(Protocol):
    """Where the scaler reads the latest decision per (namespace, workload); None when none exists."""

    def latest(self, namespace: str, workload: str) -> PublishedReplicas | None: ...


class InMemoryReplicaDecisions(LatestByWorkload[PublishedReplicas]):
    """The replica decisions store of one process.

    >>> store = InMemoryReplicaDecisions()
    >>> store.put("ml", "sdxl", PublishedReplicas(0, made_at=1000.0, reason="zero: idle 900 s"))
    >>> store.latest("ml", "sdxl").replicas, store.latest("ml", "other")
    (0, None)
    """
