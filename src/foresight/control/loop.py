"""The reconcile loop: each period, for each workload, observe -> decide -> limit -> act -> audit.

The loop reconciles by level: every period it reads a workload's whole current state (its scale,
and the series its policy asks for over ``[now - lookback_s, now]``), never the event that woke it,
so a missed period or a restart heals itself. The policy is pure; the loop keeps each workload's
policy state and the time of its last change in a :class:`WorkloadState`, a frozen value that can
be inspected, persisted and handed back to a new loop (``states=``) to resume.

A failure in one workload (the source, the policy or the target raising) is written to the audit
log and that workload is skipped for the period, keeping its previous state: a change is either
fully made (replicas set, policy state and last-change time advanced) or not made at all. The
other workloads, and the next periods, go on.

The series are read for all workloads at the start of a period: queries that differ only in the
label naming the workload are sent once for the whole group and split by that label
(:mod:`foresight.control.reads`), so a period costs a few queries however many workloads there
are. A group query that fails fails the read of each of its members, each recorded and skipped;
one the source refuses as a query (an :class:`~foresight.errors.InputError`: too many samples for
the server) is read one workload at a time instead.
"""

from __future__ import annotations

import logging
import math
import operator
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from foresight.autoscale.policy import Observation, Recommendation, ReplicaPolicy
from foresight.clock import Clock
from foresight.collector import paused_collector
from foresight.control.audit import AuditRecord, AuditSink
from foresight.control.metrics import ControlMetrics
from foresight.control.reads import Grouped, ReadPlan, plan_reads, split_by_label
from foresight.control.safety import SafetyLimits, apply_limits
from foresight.errors import ConfigError, InputError
from foresight.ports import MetricsSource, ScaleTarget
from foresight.series import Series

__all__ = ["Reconciler", "WorkloadState"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkloadState:
    """What the loop remembers about one workload between periods.

    ``policy_state`` is the policy's own next state (None before its first decision);
    ``last_change_at`` is when the loop last set the workload's replicas (None: never).
    """

    policy_state: Any | None = None
    last_change_at: float | None = None


class Reconciler:
    """Runs one :class:`ReplicaPolicy` over the workloads named in ``limits``, every ``period_s``.

    With ``metrics``, each period's wall time and records are counted in
    :class:`~foresight.control.metrics.ControlMetrics` (Foresight's own ``foresight_*`` series).
    With ``renew``, the target is set every period, even to the replicas it already has: for a
    target whose value expires unless renewed (replicas published as a metric an HPA follows,
    which goes stale, or vanishes, when no longer written at equilibrium).
    """

    def __init__(
        self,
        policy: ReplicaPolicy,
        source: MetricsSource,
        target: ScaleTarget,
        limits: Mapping[str, SafetyLimits],
        audit: AuditSink,
        clock: Clock,
        *,
        period_s: float = 15.0,
        query_step_s: float | None = None,
        run_id: str | None = None,
        states: Mapping[str, WorkloadState] | None = None,
        metrics: ControlMetrics | None = None,
        renew: bool = False,
    ) -> None:
        if not limits:
            raise ConfigError("reconciler: limits name no workload to reconcile")
        if not (math.isfinite(period_s) and period_s > 0):
            raise ConfigError(f"reconciler: period_s must be a positive number of seconds, not {period_s}")
        self.policy = policy
        self.source = source
        self.target = target
        self.limits = MappingProxyType(dict(limits))
        self.audit = audit
        self.clock = clock
        self.period_s = float(period_s)
        self.query_step_s = float(query_step_s) if query_step_s is not None else self.period_s
        self.run_id = run_id if run_id is not None else uuid.uuid4().hex
        self._states: dict[str, WorkloadState] = dict(states or {})
        self.metrics = metrics
        self.renew = renew
        self._plan: tuple[dict[str, Mapping[str, str]], ReadPlan] | None = None  # the last queries and their plan

    @property
    def states(self) -> Mapping[str, WorkloadState]:
        """Each workload's state after its last successful period (a live, read-only view)."""
        return MappingProxyType(self._states)

    def run(self, until: float) -> int:
        """Reconcile every ``period_s`` from now while the clock is before ``until``; return the periods run.

        Periods keep their phase: one that overran skips the ticks it missed rather than
        bursting to catch up. Returns with the clock at ``until``.
        """
        periods = 0
        next_t = self.clock.now()
        while next_t < until:
            self.clock.sleep_until(next_t)
            self.reconcile_once()
            periods += 1
            next_t += self.period_s
            now = self.clock.now()
            if next_t <= now:
                next_t += math.floor((now - next_t) / self.period_s + 1) * self.period_s
        self.clock.sleep_until(until)
        return periods

    def reconcile_once(self) -> list[AuditRecord]:
        """One period over every workload, all seeing the same ``now``; returns the records written.

        Every workload's scale and series are read first, then the policy decides for all of them
        at once when it can (a ``decide_many`` method: the predictive policy forecasts them
        together), else one by one; then each workload's replicas are limited, set and its record
        written before the next workload is set, so an audit store that fails stops the loop (its
        error propagates) before any unaudited change. The cyclic collector pauses for the round
        (:mod:`foresight.collector`): the round's records and observations live until its end.
        """
        with paused_collector(promote=True):  # the round's states and records outlive it by design
            return self._reconcile_round()

    def _reconcile_round(self) -> list[AuditRecord]:
        now = self.clock.now()
        started = time.perf_counter()  # wall time, for the duration metric only; decisions use the clock
        plan, unplanned = self._read_plan()
        groups = self._read_groups(plan, now)
        seen: dict[str, _Seen | AuditRecord] = {}
        for workload, limits in self.limits.items():
            seen[workload] = self._observe_one(workload, limits, now, plan, groups, unplanned.get(workload))
        decided = self._decide([(w, x) for w, x in seen.items() if isinstance(x, _Seen)])
        records = []
        for workload, limits in self.limits.items():
            observed = seen[workload]
            record = observed if isinstance(observed, AuditRecord) else self._act(
                workload, limits, now, observed, decided[workload])
            self.audit.record(record)
            records.append(record)
        if self.metrics is not None:
            self.metrics.observe_reconcile(self.policy.name, time.perf_counter() - started, records)
        return records

    def _decide(self, seen: list[tuple[str, _Seen]]) -> dict[str, tuple[Recommendation, Any] | Exception]:
        """The policy's answer (or its error) per workload: all at once where the policy can."""
        many = getattr(self.policy, "decide_many", None)
        items = [(self._states.get(w, WorkloadState()).policy_state, x.observation) for w, x in seen]
        if many is not None:
            answers = many(items)
        else:
            answers = []
            for state, obs in items:
                try:
                    answers.append(self.policy.decide(state, obs))
                except Exception as exc:  # noqa: BLE001 - recorded for that workload, which is skipped
                    answers.append(exc)
        return {w: answer for (w, _), answer in zip(seen, answers, strict=True)}

    def _read_plan(self) -> tuple[ReadPlan, dict[str, Exception]]:
        """How this period reads every workload's queries (the last period's plan while the policy
        asks for the same), and the error of each workload whose queries the policy cannot say."""
        queries: dict[str, Mapping[str, str]] = {}
        errors: dict[str, Exception] = {}
        for workload in self.limits:
            try:
                queries[workload] = self.policy.queries(workload)
            except Exception as exc:  # noqa: BLE001 - recorded for that workload, which is skipped
                errors[workload] = exc
        if self._plan is None or self._plan[0] != queries:
            self._plan = (queries, plan_reads(queries))
        return self._plan[1], errors

    def _read_groups(self, plan: ReadPlan, now: float) -> dict[tuple[str, str], dict[str, list[Series]] | Exception | None]:
        """Each group query's series by workload, the error that its members record, or None where
        the source refused the query itself (its members are read one by one)."""
        out: dict[tuple[str, str], dict[str, list[Series]] | Exception | None] = {}
        for query, label in plan.groups:
            try:
                found = self.source.query_range(query, now - self.policy.lookback_s, now, self.query_step_s)
                out[(query, label)] = split_by_label(found, label)
            except InputError as exc:
                _log.warning("%s: group query %r refused (%s); reading its members one by one", self.policy.name,
                             query, exc)
                out[(query, label)] = None
            except Exception as exc:  # noqa: BLE001 - each member records it and is skipped
                out[(query, label)] = exc
        return out

    def _observe_one(
        self, workload: str, limits: SafetyLimits, now: float, plan: ReadPlan,
        groups: Mapping[tuple[str, str], dict[str, list[Series]] | Exception | None], unplanned: Exception | None,
    ) -> _Seen | AuditRecord:
        """What the policy is to see of ``workload``, or the record of the read that failed."""
        inputs: dict[str, Any] = {}
        decision: dict[str, int | None] = {"recommended": None, "applied": None, "previous": None}
        stage = "reading scale"
        try:
            scale = self.target.get_scale(workload)
            decision["previous"] = scale.desired
            inputs["scale"] = {"desired": scale.desired, "current": scale.current, "ready": scale.ready}

            stage = "querying metrics"
            if unplanned is not None:
                raise unplanned
            series = self._observe(workload, now, plan, groups)
            inputs["series"] = _summarise(series)
        except Exception as exc:  # noqa: BLE001 - any failure of a port: audit it, skip the workload
            return self._failed(workload, now, inputs, decision, stage, limits, exc)
        return _Seen(Observation(workload, now, scale, series), inputs, decision)

    def _act(
        self, workload: str, limits: SafetyLimits, now: float, seen: _Seen,
        answer: tuple[Recommendation, Any] | Exception,
    ) -> AuditRecord:
        """Limit, set and describe the policy's ``answer`` for ``workload``."""
        state = self._states.get(workload, WorkloadState())
        scale = seen.observation.scale
        inputs, decision = seen.inputs, seen.decision
        stage = "deciding"
        try:
            if isinstance(answer, Exception):
                raise answer
            rec, next_policy_state = answer
            recommended = operator.index(rec.replicas)
            decision["recommended"] = recommended
            inputs["policy"] = dict(rec.inputs)
            limited = apply_limits(limits, recommended, scale.desired, now, state.last_change_at)
            decision["applied"] = limited.replicas
            change = (self.renew or limited.replicas != scale.desired) and not limits.dry_run

            stage = "setting replicas"
            if change:
                self.target.set_replicas(workload, limited.replicas)
        except Exception as exc:  # noqa: BLE001 - any failure of a port or the policy: audit it, skip the workload
            return self._failed(workload, now, inputs, decision, stage, limits, exc)

        self._states[workload] = WorkloadState(next_policy_state, now if change else state.last_change_at)
        reason = "; ".join([rec.reason, *limited.reasons, *(["dry-run"] if limits.dry_run else [])])
        return self._record(workload, now, inputs, decision, reason, limits, applied=change)

    def _failed(self, workload: str, now: float, inputs: dict[str, Any], decision: dict[str, int | None],
                stage: str, limits: SafetyLimits, exc: BaseException) -> AuditRecord:
        _log.warning("%s: %s failed for %s", self.policy.name, stage, workload, exc_info=exc)
        return self._record(workload, now, inputs, decision, f"failed {stage}", limits, applied=False,
                            error=f"{type(exc).__name__}: {exc}")

    def _observe(
        self, workload: str, now: float, plan: ReadPlan,
        groups: Mapping[tuple[str, str], dict[str, list[Series]] | Exception | None],
    ) -> dict[str, list[Series]]:
        start = now - self.policy.lookback_s
        series = {}
        for name, read in plan.reads[workload].items():
            if not isinstance(read, Grouped):
                series[name] = self.source.query_range(read, start, now, self.query_step_s)
                continue
            found = groups[(read.query, read.label)]
            if isinstance(found, Exception):
                raise found.with_traceback(None)  # one error for every member: a fresh traceback each
            if found is None:  # the group query was refused: this member's own query
                series[name] = self.source.query_range(read.own, start, now, self.query_step_s)
            else:
                series[name] = found.get(read.value, [])
        return series

    def _record(
        self,
        workload: str,
        now: float,
        inputs: dict[str, Any],
        decision: dict[str, int | None],
        reason: str,
        limits: SafetyLimits,
        *,
        applied: bool,
        error: str | None = None,
    ) -> AuditRecord:
        return AuditRecord(
            time=now,
            run_id=self.run_id,
            controller=self.policy.name,
            target=workload,
            inputs=inputs,
            decision=decision,
            reason=reason,
            applied=applied,
            dry_run=limits.dry_run,
            error=error,
        )


@dataclass(frozen=True)
class _Seen:
    """One workload's reads of a period, before the policy decides: the observation, and the
    inputs and decision its audit record starts from."""

    observation: Observation
    inputs: dict[str, Any]
    decision: dict[str, int | None]


def _summarise(series: Mapping[str, list[Series]]) -> dict[str, dict[str, Any]]:
    """Per query: how many series and points came back, and the latest value when there is one series."""
    summary: dict[str, dict[str, Any]] = {}
    for name, found in series.items():
        if len(found) == 1:  # the usual case, without a generator (10,000 workloads x 2 queries a round)
            values = found[0].values
            entry: dict[str, Any] = {"series": 1, "points": values.size}
            if values.size:
                entry["last"] = values.item(-1)
        else:
            entry = {"series": len(found), "points": sum(s.timestamps.size for s in found)}
        summary[name] = entry
    return summary
