"""What ``foresight serve`` runs: a platform (simulated or live) behind one small interface.

The :class:`~foresight.serve.stepper.Stepper` steps a :class:`Platform` in a background thread;
the API reads it. Both platforms say for each controller whether it runs and why
(:class:`ControllerInfo`), so what is disabled is never silent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from foresight.control.audit import AuditRecord, AuditSink
from foresight.control.metrics import ControlMetrics
from foresight.runtime.incidents import IncidentController
from foresight.serve.forecasts import ForecastWatch
from foresight.serve.sources import SourceHealth

__all__ = ["ControllerInfo", "MeteredAudit", "Platform"]


@dataclass(frozen=True)
class ControllerInfo:
    """One controller of the process: whether it is enabled (config) and what it does, or why not."""

    name: str
    enabled: bool
    detail: str


class MeteredAudit:
    """An :class:`AuditSink` that also counts each record in :class:`ControlMetrics` (decisions by kind).

    For controllers without their own metrics hook (canary, anomaly alerts); the replica
    :class:`~foresight.control.loop.Reconciler` counts its records itself.
    """

    def __init__(self, inner: AuditSink, metrics: ControlMetrics) -> None:
        self.inner, self.metrics = inner, metrics

    def record(self, entry: AuditRecord) -> None:
        self.inner.record(entry)
        self.metrics.observe_decision(entry)


class Platform(Protocol):
    """A set of controllers and the sources they read, stepped by the runtime."""

    mode: str
    controllers: dict[str, ControllerInfo]
    #: the incident controller (None: disabled); its inbox takes the webhook's alerts
    incidents: IncidentController | None

    def now(self) -> float:
        """The platform's time (simulated or Unix seconds)."""
        ...

    def step(self, paused: Collection[str]) -> bool:
        """Run what is due, skipping ``paused`` controllers; False when there is nothing more to run."""
        ...

    def workloads(self) -> tuple[str, ...]: ...

    def view_queries(self) -> dict[str, str]:
        """The per-workload series the API can draw: name -> query template."""
        ...

    def query(self, name: str, workload: str, start: float, end: float, step_s: float) -> tuple[list[float], list[float]]:
        """One view series (times, values); raises ServiceUnavailable when its source is down."""
        ...

    def anomaly_scores(self, workload: str, start: float) -> tuple[list[float], list[float]]: ...

    def anomaly_view(self) -> dict[str, Any]: ...

    def rollout_views(self) -> list[dict[str, Any]]: ...

    def forecast_watch(self) -> ForecastWatch | None: ...

    def approve(self, release_id: str, who: str) -> AuditRecord: ...

    def sources(self) -> list[SourceHealth]: ...

    def close(self) -> None: ...
