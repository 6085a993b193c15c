"""The scaling-policy protocol: what the reconcile loop asks each period, sans I/O.

A policy names the series it needs (:meth:`ReplicaPolicy.queries`); the loop fetches them and
hands them back in an :class:`Observation`; :meth:`ReplicaPolicy.decide` is pure: it returns a
:class:`Recommendation` and the policy's next state for that workload (an explicit, serialisable
object, so a loop can be restarted or sharded). Reconciling by level: every period the policy sees
the whole current state, never the event that woke the loop.

A policy whose work is cheaper for many workloads at once (the predictive policy fits, updates and
predicts its forecasts in arrays, and sizes for the SLO in one search) also offers
``decide_many(items)``: :meth:`ReplicaPolicy.decide` for a list of ``(state, observation)``, returning
each workload's answer, or its error as an exception object, in order, so one workload's failure
stays its own. The loop calls it once a period when the policy has it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from foresight.ports import Scale
from foresight.series import Series

__all__ = ["Observation", "Recommendation", "ReplicaPolicy"]


@dataclass(frozen=True)
class Observation:
    """What the loop read for one workload at ``now``: its scale and the series the policy asked for.

    ``series[name]`` holds the points of query ``name`` over ``[now - lookback_s, now]``; a query
    that returned nothing maps to an empty list (the policy decides what a gap means).
    """

    workload: str
    now: float
    scale: Scale
    series: Mapping[str, list[Series]]


@dataclass(frozen=True)
class Recommendation:
    """A policy's answer: the replicas it wants, why, and the inputs that led there (for the audit)."""

    replicas: int
    reason: str
    inputs: Mapping[str, float] = field(default_factory=dict)


class ReplicaPolicy(Protocol):
    """A pure replica policy (the reactive HPA, the predictive policy, ...)."""

    name: str
    lookback_s: float

    def queries(self, workload: str) -> Mapping[str, str]:
        """The series this policy needs for ``workload``: a name -> query (PromQL or sim selector)."""
        ...

    def decide(self, state: Any | None, obs: Observation) -> tuple[Recommendation, Any]:
        """Recommend replicas from ``obs``; return the recommendation and the next state.

        ``state`` is ``None`` on the first call for a workload. Must not mutate ``state``.
        """
        ...
