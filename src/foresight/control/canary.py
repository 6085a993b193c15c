"""Canary releases as controllers: one interval's reconcile (:class:`CanaryController`) and the one
loop that steps a release until its verdict (:class:`CanaryRun`).

Every canary Foresight runs goes through these two, so what the benchmark measures is what moves
traffic on a cluster: the demo's releases and ``serve --simulate``'s (over a
:class:`~foresight.sim.canary.CanarySimulator`), the feedback loop's, the benchmark's thousand (over
a :class:`~foresight.sim.canary.CanaryFleet`) and, live, each ModelDeployment's canary over
Prometheus and an Istio VirtualService (:mod:`foresight.serve.canaries`).

The controller reconciles by level (STYLE rule 2): each call reads the weights the router has *now*
and the metrics of the interval that just ended; the policy's state is only its evidence. A metrics
source that is down holds the canary (state kept, reason recorded), as missing data does inside the
policy; a route that cannot be read or written holds it too, and the interval's evidence is dropped
so that the verdict is only ever taken on a route that followed the previous one. Safety limits:
``dry_run`` decides without routing; ``require_approval`` holds a promotion at the current weight
until a person calls :meth:`CanaryController.approve` (both audited under ``rollout/gate``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from foresight.clock import Clock
from foresight.control.audit import AuditRecord, AuditSink
from foresight.errors import ForesightError, InputError, ServiceUnavailable
from foresight.ports import MetricsSource
from foresight.rollout.decision import CanaryAction, CanaryDecision, TrafficPolicy
from foresight.rollout.router import TrafficRouter
from foresight.rollout.source import CanaryQueries, read_observation

__all__ = [
    "AWAITING",
    "IN_PROGRESS",
    "MAX_ANALYSIS_S",
    "PROMOTED",
    "ROLLED_BACK",
    "UNDECIDED",
    "CanaryController",
    "CanaryRun",
    "CanaryStep",
    "NotAwaitingApproval",
]

#: A release that neither promotes nor rolls back within this long is rolled back as undecided.
MAX_ANALYSIS_S = 3 * 3600.0

IN_PROGRESS = "in progress"
AWAITING = "awaiting approval"
PROMOTED = "promoted"
ROLLED_BACK = "rolled back"
UNDECIDED = "undecided"


class NotAwaitingApproval(InputError):
    """The release exists but is not waiting for a person's approval."""


class CanaryController:
    """Runs one release: every ``interval_s``, observe -> ``policy.decide`` -> set the weights -> audit."""

    def __init__(
        self, policy: TrafficPolicy, source: MetricsSource, router: TrafficRouter, queries: CanaryQueries,
        clock: Clock, *, interval_s: float, audit: AuditSink | None = None, dry_run: bool = False,
        require_approval: bool = False, target: str | None = None,
    ) -> None:
        self.policy, self.source, self.router, self.queries, self.clock = policy, source, router, queries, clock
        self.interval_s = interval_s
        self.audit = audit
        self.dry_run = dry_run
        self.require_approval = require_approval
        self.target = target or queries.canary_workload  # what the audit records name
        self.state = policy.start()
        self.weight = 0  # the canary weight last read from (or written to) the route
        self.held_at: int | None = None  # the weight kept while a promotion waits for approval
        self._run_id = uuid.uuid4().hex

    def reconcile(self) -> CanaryDecision:
        """One interval: the decision taken (and applied unless ``dry_run`` or held for approval)."""
        now = self.clock.now()
        try:
            current = self.router.get_weights().canary
        except ForesightError as exc:
            return self._failed(now, f"route not read ({exc}): holding the canary", exc)
        self.weight = current
        try:
            obs = read_observation(self.source, self.queries, current, now - self.interval_s, now)
        except ServiceUnavailable as exc:
            decision = CanaryDecision(self.state, CanaryAction.HOLD, current,
                                (f"metrics source unavailable ({exc}): holding the canary at {current}%",),
                                now + (exc.retry_after_s or self.interval_s))
        else:
            decision = self.policy.decide(self.state, obs, now)
        held = decision.action is CanaryAction.PROMOTE and self.require_approval and self.held_at is None
        applied = not self.dry_run and not held and decision.weight != current
        if applied:
            try:
                self.router.set_weights(100 - decision.weight, decision.weight)
            except ForesightError as exc:
                return self._failed(now, f"{decision.action.value} to {decision.weight}% not routed ({exc}): "
                                         f"the canary stays at {current}%", exc)
            self.weight = decision.weight
        self.state = decision.state  # in a dry run too: the evidence is real, only the route stays
        held_note = f"; held for approval at {current}%" if held else ""
        self._record(now, dict(decision.evidence), current, decision.weight, decision.weight if applied else None,
                     f"{decision.action.value}: {decision.reason}{held_note}", applied)
        if held:
            self.held_at = current
            self._record(now, {}, current, 100, None, f"hold: promotion held for approval, canary stays at "
                                                      f"{current}% until a person approves", False, gate=True)
        return decision

    def approve(self, who: str) -> AuditRecord:
        """Route all traffic to a canary whose promotion is held; returns the audit record written."""
        if self.held_at is None or self.weight == 100:
            raise NotAwaitingApproval(f"{self.target}: no promotion is waiting for approval")
        if not self.dry_run:
            self.router.set_weights(0, 100)
            self.weight = 100
        return self._record(self.clock.now(), {}, self.held_at, 100, None if self.dry_run else 100,
                            f"promote: approved by {who}, canary at 100%", not self.dry_run, gate=True)

    def abort(self, reason: str) -> None:
        """End the release without a verdict: all traffic back to the stable version (unless ``dry_run``)."""
        now = self.clock.now()
        try:
            current = self.router.get_weights().canary
            if not self.dry_run and current != 0:
                self.router.set_weights(100, 0)
                self.weight = 0
        except ForesightError as exc:
            self._failed(now, f"rollback ({reason}) not routed ({exc})", exc)
            return
        self._record(now, {}, current, 0, None if self.dry_run or current == 0 else 0, f"rollback: {reason}",
                     not self.dry_run and current != 0)

    def _failed(self, now: float, reason: str, exc: ForesightError) -> CanaryDecision:
        """A HOLD that keeps the state (the interval's evidence is dropped), audited with the error."""
        self._record(now, {}, self.weight, None, None, reason, False, error=str(exc))
        retry = exc.retry_after_s if isinstance(exc, ServiceUnavailable) and exc.retry_after_s else self.interval_s
        return CanaryDecision(self.state, CanaryAction.HOLD, self.weight, (reason,), now + retry)

    def _record(self, now: float, inputs: dict[str, float], previous: int | None, recommended: int | None,
                applied_weight: int | None, reason: str, applied: bool, *, gate: bool = False,
                error: str | None = None) -> AuditRecord:
        record = AuditRecord(
            time=now, run_id=self._run_id, controller="rollout/gate" if gate else f"rollout/{self.policy.name}",
            target=self.target, inputs=inputs,
            decision={"previous": previous, "recommended": recommended, "applied": applied_weight},
            reason=reason, applied=applied, dry_run=self.dry_run, error=error,
        )
        if self.audit is not None:
            self.audit.record(record)
        return record


@dataclass(frozen=True)
class CanaryStep:
    """One analysis interval of a release: the canary weight after it, the action and why."""

    time_s: float
    weight: int
    action: str
    reason: str


class CanaryRun:
    """Steps one release's controller, every interval that has ended by ``now``, until a verdict.

    The one canary loop. ``before_interval`` runs before each interval's reconcile: a simulated
    source simulates the interval there (at the weights routed then), so its clock reaches the
    interval's end; live, the clock is the real one and nothing needs to run. The run ends
    ``promoted``, ``rolled back``, ``awaiting approval`` (a held promotion, until :meth:`approve`), or
    ``undecided`` after ``max_s`` (rolled back: never promoted on doubt; None: no deadline).
    """

    def __init__(self, controller: CanaryController, *, started_s: float, max_s: float | None = MAX_ANALYSIS_S,
                 before_interval: Callable[[], object] | None = None) -> None:
        self.controller, self.started_s, self.max_s = controller, started_s, max_s
        self.before_interval = before_interval
        self.steps: list[CanaryStep] = []
        self.outcome = IN_PROGRESS
        self.next_at = started_s + controller.interval_s  # the end of the next interval to analyse

    @property
    def done(self) -> bool:
        """Whether the analysis has ended (a promotion awaiting approval included)."""
        return self.outcome != IN_PROGRESS

    def advance_to(self, now_s: float) -> list[CanaryStep]:
        """Run every interval that has ended by ``now_s``; returns the new steps."""
        new: list[CanaryStep] = []
        while not self.done and self.next_at <= now_s + 1e-9:
            if self.before_interval is not None:
                self.before_interval()
            decision = self.controller.reconcile()
            at = self.controller.clock.now()
            new.append(CanaryStep(at, decision.weight, decision.action.value, decision.reason))
            if decision.action is CanaryAction.PROMOTE:
                self.outcome = AWAITING if self.controller.held_at is not None else PROMOTED
            elif decision.action is CanaryAction.ROLLBACK:
                self.outcome = ROLLED_BACK
            elif self.max_s is not None and at - self.started_s >= self.max_s:
                why = f"undecided after {self.max_s / 60:g} min: rolled back (never promoted on doubt)"
                self.controller.abort(why)
                new.append(CanaryStep(at, 0, CanaryAction.ROLLBACK.value, why))
                self.outcome = UNDECIDED
            self.next_at = at + self.controller.interval_s
        self.steps.extend(new)
        return new

    def adopt(self, outcome: str, weight: int, reason: str) -> None:
        """End the run, before it has stepped, with a verdict taken earlier that the route (at the canary
        ``weight``) already shows. Nothing is routed; the adoption is audited and recorded as a step."""
        controller = self.controller
        now = controller.clock.now()
        controller.weight = weight
        controller._record(now, {}, weight, weight, None, f"hold: {reason}", False)
        self.steps.append(CanaryStep(now, weight, CanaryAction.HOLD.value, reason))
        self.outcome = outcome

    def approve(self, who: str) -> AuditRecord:
        """Route all traffic to a promotion that awaits approval; the audit record written."""
        if self.outcome != AWAITING:
            raise NotAwaitingApproval(f"{self.controller.target} is {self.outcome!r}, not {AWAITING!r}")
        record = self.controller.approve(who)
        self.outcome = PROMOTED
        return record
