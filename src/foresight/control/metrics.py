"""Foresight's own metrics, as controllers see them: a port to count periods and decisions into.

An operator alerts on these the way they alert on any controller: a reconcile that slows down, a
controller that suddenly only fails, or one that stopped deciding at all. Controllers count into a
:class:`ControlMetrics`; :func:`decision_kind` names what a record decided, in one low-cardinality
label. The Prometheus implementation and its series are
:class:`foresight.adapters.control_metrics.PrometheusControlMetrics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from foresight.control.audit import AuditRecord

__all__ = ["ControlMetrics", "decision_kind"]

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


class ControlMetrics(Protocol):
    """Where controllers count their periods and decisions (the metrics port)."""

    def observe_reconcile(self, controller: str, duration_s: float, records: Iterable[AuditRecord]) -> None:
        """One period of ``controller``: its wall time and the records it wrote."""
        ...

    def observe_decision(self, record: AuditRecord) -> None:
        """One decision written outside a reconcile period (a canary step, an alert)."""
        ...
