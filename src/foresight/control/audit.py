"""The audit record: one per decision a controller took, with its inputs and its reason.

Operators read the log to answer "why did this workload scale at 03:12?", benchmarks read it to
count actions, so every period of every workload leaves a record, failures included. Controllers
write to an :class:`AuditSink`; the SQL store (SQLite by default, PostgreSQL by URL) is the adapter
:class:`foresight.adapters.audit_log.AuditLog`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["AuditRecord", "AuditSink"]


@dataclass(frozen=True)
class AuditRecord:
    """One decision for one workload.

    ``decision`` holds ``recommended`` (the policy's replicas), ``applied`` (the replicas after the
    safety limits: set unless dry-run or unchanged) and ``previous`` (the desired replicas read
    before); a value is None where a failure came first. ``applied`` (the flag) says whether
    replicas were actually set; ``error`` is the failure's text, None on success.
    """

    time: float
    run_id: str
    controller: str
    target: str
    inputs: Mapping[str, Any]
    decision: Mapping[str, int | None]
    reason: str
    applied: bool
    dry_run: bool
    error: str | None = None


class AuditSink(Protocol):
    """Where the loop sends its records (the SQL :class:`AuditLog`, or anything that keeps them)."""

    def record(self, entry: AuditRecord) -> None: ...
