"""Foresight's own metrics: how long reconciles take, what they decided, how often they failed.

An operator alerts on these the way they alert on any controller: a reconcile that slows down,
a controller that suddenly only fails, or one that stopped deciding at all. Series:

- ``foresight_reconcile_duration_seconds{controller}`` (histogram): wall time of one reconcile
  period over all of a controller's workloads;
- ``foresight_decisions_total{controller, kind}`` (counter): audit records by kind, see
  :func:`decision_kind`;
- ``foresight_reconcile_errors_total{controller}`` (counter): workloads whose period failed (a
  port or the policy raised; the audit record holds the error).

Like :class:`~foresight.adapters.exporter.PredictionExporter`, the metrics live in their own
``CollectorRegistry`` (not prometheus-client's global one), so tests and several loops in one
process never collide; the API serves this registry beside the exporter's.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram

from foresight.control.audit import AuditRecord
from foresight.control.metrics import decision_kind

__all__ = ["PrometheusControlMetrics"]

#: Reconcile durations from 1 ms (a simulator period) to 30 s (a slow Prometheus).
_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class PrometheusControlMetrics:
    """The reconcile metrics of one process (module docstring); pass it to the controllers."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._duration = Histogram(
            "foresight_reconcile_duration_seconds",
            "Wall time of one reconcile period of a controller, over all its workloads.",
            ["controller"],
            buckets=_BUCKETS_S,
            registry=self.registry,
        )
        self._decisions = Counter(
            "foresight_decisions",
            "Decisions (audit records) by controller and kind (scale_up, scale_down, hold, failed, promote, ...).",
            ["controller", "kind"],
            registry=self.registry,
        )
        self._errors = Counter(
            "foresight_reconcile_errors",
            "Workload periods that failed (a source, policy or actuator raised); the audit record has the error.",
            ["controller"],
            registry=self.registry,
        )

    def observe_reconcile(self, controller: str, duration_s: float, records: Iterable[AuditRecord]) -> None:
        """Count one reconcile period of ``controller`` that took ``duration_s`` and wrote ``records``."""
        self._duration.labels(controller).observe(max(0.0, duration_s))
        for record in records:
            self.observe_decision(record)

    def observe_decision(self, record: AuditRecord) -> None:
        """Count one audit record (for controllers whose period the caller does not time)."""
        self._decisions.labels(record.controller, decision_kind(record)).inc()
        if record.error is not None:
            self._errors.labels(record.controller).inc()
