"""The canary reconcile step: read the route and the last interval's metrics, decide, route, audit.

By level (STYLE rule 2): each call reads the weights the router has *now* and the metrics of the
interval that just ended; the policy's state is only its evidence. A metrics source that is down
holds the canary (the state is kept, the reason recorded), as missing data does inside the policy.
"""

from __future__ import annotations

import uuid

from foresight.clock import Clock
from foresight.control.audit import AuditRecord, AuditSink
from foresight.errors import ServiceUnavailable
from foresight.ports import MetricsSource
from foresight.rollout.decision import Action, Decision, TrafficPolicy
from foresight.rollout.router import TrafficRouter
from foresight.rollout.source import CanaryQueries, read_observation

__all__ = ["CanaryController"]


class CanaryController:
    """Runs one release: every ``interval_s``, observe -> ``policy.decide`` -> set the weights -> audit."""

    def __init__(
        self, policy: TrafficPolicy, source: MetricsSource, router: TrafficRouter, queries: CanaryQueries,
        clock: Clock, *, interval_s: float, audit: AuditSink | None = None, dry_run: bool = False,
    ) -> None:
        self.policy, self.source, self.router, self.queries, self.clock = policy, source, router, queries, clock
        self.interval_s = interval_s
        self.audit = audit
        self.dry_run = dry_run
        self.state = policy.start()
        self._run_id = uuid.uuid4().hex

    def reconcile(self) -> Decision:
        """One interval: the decision taken (and applied unless ``dry_run``)."""
        now = self.clock.now()
        current = self.router.get_weights()
        try:
            obs = read_observation(self.source, self.queries, current.canary, now - self.interval_s, now)
        except ServiceUnavailable as exc:
            decision = Decision(self.state, Action.HOLD, current.canary,
                                (f"metrics source unavailable ({exc}): holding the canary at {current.canary}%",),
                                now + (exc.retry_after_s or self.interval_s))
        else:
            decision = self.policy.decide(self.state, obs, now)
        applied = not self.dry_run and decision.weight != current.canary
        if applied:
            self.router.set_weights(100 - decision.weight, decision.weight)
        self.state = decision.state  # in a dry run too: the evidence is real, only the route stays
        if self.audit is not None:
            self.audit.record(AuditRecord(
                time=now, run_id=self._run_id, controller=f"rollout/{self.policy.name}",
                target=self.queries.canary_workload, inputs=dict(decision.evidence),
                decision={"previous": current.canary, "recommended": decision.weight,
                          "applied": decision.weight if applied else None},
                reason=f"{decision.action.value}: {decision.reason}", applied=applied, dry_run=self.dry_run,
            ))
        return decision
