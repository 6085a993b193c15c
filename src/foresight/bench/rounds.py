"""Timing reconcile rounds the same way for every ``bench loop`` source (the simulator, a real Prometheus)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from foresight.adapters.audit_log import AuditLog
from foresight.control.loop import Reconciler

__all__ = ["Rounds", "timed_rounds"]


@dataclass
class Rounds:
    """Per round: wall and CPU seconds, and how far each of the source's counters moved."""

    wall_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    counted: list[tuple[int, ...]] = field(default_factory=list)
    #: records that failed, over the timed rounds only
    failed: int = 0

    def summary(self) -> dict[str, Any]:
        """The first (untimed-apart) round and the steady ones' median, p95 and CPU median."""
        steady = sorted(self.wall_s[1:])
        return {
            "first_round_s": round(self.wall_s[0], 4),
            "round_s_median": round(statistics.median(steady), 4),
            "round_s_p95": round(steady[min(len(steady) - 1, round(0.95 * (len(steady) - 1)))], 4),
            "cpu_s_median": round(statistics.median(self.cpu_s[1:]), 4),
        }


def timed_rounds(loop: Reconciler, audit: AuditLog, rounds: int, counters: Callable[[], tuple[int, ...]],
                 advance: Callable[[], None]) -> Rounds:
    """One first round, then ``rounds`` timed ones, each with its audit flush and then ``advance()``
    (time moves on by a period); ``counters`` reads what the source counts (queries, bytes)."""
    out = Rounds()
    for i in range(rounds + 1):
        before = counters()
        started, cpu_started = time.perf_counter(), time.process_time()
        records = loop.reconcile_once()
        audit.flush()
        out.wall_s.append(time.perf_counter() - started)
        out.cpu_s.append(time.process_time() - cpu_started)
        out.counted.append(tuple(after - b for after, b in zip(counters(), before, strict=True)))
        out.failed += sum(r.error is not None for r in records) if i else 0
        advance()
    return out
