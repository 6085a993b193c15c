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

__all__ = ["ControlMetrics", "decision_kind"]

#: Reconcile durations from 1 ms (a simulator period) to 30 s (a slow Prometheus).
_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def decision_kind(record: AuditRecord) -> str:
    """What a record decided, as a low-cardinality label.

    ``failed`` for a record with an error; ``alert`` for an anomaly alert; for a canary controller (``rollout/...``) its action
    (``raise``, ``lower``, ``hold``, ``promote``, ``rollback``: the reason starts with it); for
    replica controllers ``scale_up`` / ``scale_down`` when replicas were set, ``hold`` otherwise
    (``dry_run`` when a change was recommended but only recorded).

    >>> r = AuditRecord(0.0, "r", "hpa", "api", {}, {"previous": 2, "applied": 3}, "cpu high", True, False)
    >>> decision_kind(r)
    'scale_up'
    >>> decision_kind(AuditRecord(0.0, "r", "rollout/foresight", "m-v2", {}, {}, "promote: safe", True, False))
    'promote'
    """
    if record.error is not None:
        return "failed"
    if record.controller.startswith("anomaly/"):
        return "alert"
    if record.controller.startswith("rollout/"):
        return record.reason.split(":", 1)[0].strip() or "unknown"
    previous, applied = record.decision.get("previous"), record.decision.get("applied")
    if previous is None or applied is None or applied == previous:
        return "hold"
    if record.dry_run:
        return "dry_run"
    return "scale_up" if applied > previous else "scale_down"


class ControlMetrics:
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
