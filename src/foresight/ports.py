"""The ports: the small interfaces that the simulator and the real adapters both implement.

A controller is written against these, so the same code runs on ``foresight demo`` and on a live
cluster (Prometheus for :class:`MetricsSource`, the Kubernetes ``/scale`` subresource, KEDA or the
HPA for :class:`ScaleTarget`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from foresight.series import Series

__all__ = ["MetricsSource", "Scale", "ScaleTarget"]


class MetricsSource(Protocol):
    """Reads series over a time range, like Prometheus' ``/api/v1/query_range``.

    ``query`` is PromQL for a real Prometheus; the simulator understands plain selectors such as
    ``foresight_offered_rps{service="api"}``. Every returned series has points at
    ``start, start + step_s, ... <= end`` where the source has data.
    """

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]: ...


@dataclass(frozen=True)
class Scale:
    """A workload's scale, as the Kubernetes ``/scale`` subresource reports it.

    ``desired`` is spec.replicas; ``current`` counts the pods that exist (ready or starting);
    ``ready`` counts those that serve traffic.
    """

    desired: int
    current: int
    ready: int


class ScaleTarget(Protocol):
    """Gets and sets a workload's replicas (a Deployment's ``/scale``, or the simulator's)."""

    def get_scale(self, workload: str) -> Scale: ...

    def set_replicas(self, workload: str, replicas: int) -> None: ...
