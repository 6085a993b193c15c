"""What a run cost and how well it served: the numbers the demo and the benchmarks compare.

Definitions, kept in one place so every policy is measured the same way:

- *SLO-violation minutes*: minutes in which a service broke its SLO (p95 latency above its
  target or error ratio above its target), summed over services.
- *replica-minutes*: pods that exist (ready or starting, as a cloud bill counts them) times
  minutes, summed over services.
- *scaling actions*: changes of a service's desired replicas, summed over services.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ServiceSummary", "RunSummary", "summarise"]


@dataclass(frozen=True)
class ServiceSummary:
    """One service's totals over a run."""

    service: str
    slo_violation_minutes: float
    replica_minutes: float
    scaling_actions: int
    peak_offered_rps: float
    dropped_fraction: float
    p95_latency_s_median: float


@dataclass(frozen=True)
class RunSummary:
    """All services' totals over a run of ``duration_s`` simulated seconds."""

    duration_s: float
    slo_violation_minutes: float
    replica_minutes: float
    scaling_actions: int
    services: tuple[ServiceSummary, ...]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def summarise(history: Mapping[str, np.ndarray], services: Sequence[str], step_s: float) -> RunSummary:
    """Totals of a run from its recorded history (arrays of shape [steps, services]).

    >>> h = {
    ...     "foresight_slo_violation": np.array([[0.0, 1.0], [1.0, 1.0]]),
    ...     "foresight_replicas_current": np.array([[2.0, 1.0], [2.0, 1.0]]),
    ...     "foresight_replicas_desired": np.array([[2.0, 1.0], [3.0, 1.0]]),
    ...     "foresight_offered_rps": np.array([[10.0, 5.0], [20.0, 5.0]]),
    ...     "foresight_dropped_rps": np.array([[0.0, 0.0], [3.0, 0.0]]),
    ...     "foresight_latency_p95_seconds": np.array([[0.1, 0.2], [0.3, 0.2]]),
    ... }
    >>> s = summarise(h, ["api", "db"], step_s=30.0)
    >>> s.slo_violation_minutes, s.replica_minutes, s.scaling_actions
    (1.5, 3.0, 1)
    """
    minutes = step_s / 60.0
    violation = np.nan_to_num(history["foresight_slo_violation"]) * minutes
    replicas = history["foresight_replicas_current"] * minutes
    desired = history["foresight_replicas_desired"]
    actions = (np.diff(desired, axis=0) != 0).sum(axis=0) if desired.shape[0] > 1 else np.zeros(len(services))
    offered = history["foresight_offered_rps"]
    dropped = history["foresight_dropped_rps"]
    p95 = history["foresight_latency_p95_seconds"]
    per_service = tuple(
        ServiceSummary(
            service=name,
            slo_violation_minutes=round(float(violation[:, i].sum()), 3),
            replica_minutes=round(float(replicas[:, i].sum()), 3),
            scaling_actions=int(actions[i]),
            peak_offered_rps=round(float(np.nanmax(offered[:, i], initial=0.0)), 3),
            dropped_fraction=round(float(dropped[:, i].sum() / max(offered[:, i].sum(), 1e-12)), 6),
            p95_latency_s_median=round(float(np.nanmedian(p95[:, i])) if p95.shape[0] else 0.0, 6),
        )
        for i, name in enumerate(services)
    )
    return RunSummary(
        duration_s=float(desired.shape[0] * step_s),
        slo_violation_minutes=round(float(violation.sum()), 3),
        replica_minutes=round(float(replicas.sum()), 3),
        scaling_actions=int(actions.sum()),
        services=per_service,
    )
