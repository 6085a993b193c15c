"""The feedback loop's driver: performs what :func:`~foresight.feedback.decide.decide` asks, audits it.

Each :meth:`FeedbackLoop.tick` feeds the period's observation to the core, then runs the chain of
actions that follows (retrain -> register -> gate -> start canary) in the same period until the
core waits: for the canary's next interval, for a retry, for a training run still under way, or
for the next trigger. Retraining goes through a :class:`~foresight.feedback.retrainer.Retrainer`:
one that finishes at once (the demo's in-process fit, or any ``retrain(now_s)`` callable) keeps
the whole chain in one tick; one that runs in a cluster
(:class:`~foresight.feedback.training_job.TrainingJobRetrainer`) leaves the loop in its training
phase, polled every tick until it ends or times out. Every step is one
:class:`~foresight.control.audit.AuditRecord` (controller ``feedback``) with its reason; a failed
step keeps what it needs (the trained candidate stays pending until its registration succeeds).

Before a candidate is registered (or gated, when its training run registered it), its artifact
goes through the artifact gate (:func:`~foresight.registry.artifact_gate.judge_artifact`) over the
findings the ``scan`` port returns: an error-level finding discards the candidate with a reason
naming the finding; the verdict is kept on the version as the ``foresight.scan`` tag. The scan of
bytes is the port's business (the runtime's, at the edge): the loop only judges findings.

Errors: a :class:`~foresight.errors.ServiceUnavailable` (MLflow down) holds and retries; any other
error from the retrainer (starting or polling a run) abandons that attempt (recorded with the
error); the loop itself never raises out of :meth:`tick` for either.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from foresight.clock import Clock
from foresight.control.audit import AuditRecord, AuditSink
from foresight.errors import ForesightError, ServiceUnavailable
from foresight.feedback.canary import Canary
from foresight.feedback.decide import (
    Done,
    Event,
    Failed,
    Gated,
    LoopAction,
    LoopPolicy,
    LoopState,
    Registered,
    Step,
    Tick,
    Trained,
    TrainingPending,
    TrainingStarted,
    decide,
)
from foresight.feedback.retrainer import (
    Candidate,
    Retrainer,
    TrainingFailed,
    as_retrainer,
)
from foresight.feedback.signal import DecaySignal
from foresight.registry.artifact_gate import SCAN_TAG, ArtifactVerdict, judge_artifact
from foresight.registry.promote import GATE_TAG, promote
from foresight.registry.protocol import CHALLENGER, CHAMPION, PARENT_TAG, Registry
from foresight.security import Finding

__all__ = ["ArtifactScan", "Candidate", "FeedbackLoop", "LoopStep"]

#: The artifact scan port: the findings in a candidate's artifact, or None when there is no artifact
#: here to scan (a version a training run registered in a remote registry).
ArtifactScan = Callable[[Candidate], Sequence[Finding] | None]

log = logging.getLogger(__name__)
#: Actions whose errors come from the retrainer (caller code): any error abandons the attempt.
_RETRAINER_ACTIONS = (LoopAction.RETRAIN, LoopAction.POLL_TRAINING, LoopAction.STOP_TRAINING)
CANARY_TAG = "foresight.canary"


@dataclass(frozen=True)
class LoopStep:
    """One audited step of the loop (also returned to the caller, e.g. the demo's event list)."""

    time_s: float
    action: str
    reason: str
    version: int | None
    error: str | None = None
    run: str | None = None  # the training run the step concerns (a cluster job's name), if any


class FeedbackLoop:
    """Drift/decay -> retrain -> register -> gate -> canary -> promote or roll back, for one model.

    ``retrain``: a :class:`~foresight.feedback.retrainer.Retrainer`, or a synchronous
    ``retrain(now_s) -> Candidate`` callable (wrapped in an :class:`~foresight.feedback.retrainer.InlineRetrainer`).
    """

    def __init__(
        self, model: str, policy: LoopPolicy, registry: Registry,
        retrain: Retrainer | Callable[[float], Candidate],
        canary: Canary, clock: Clock, *, code_commit: str = "unknown", audit: AuditSink | None = None,
        on_promote: Callable[[int, Candidate | None], None] | None = None, scan: ArtifactScan | None = None,
    ) -> None:
        self.model, self.policy, self.registry, self.retrain, self.canary, self.clock = (
            model, policy, registry, retrain, canary, clock)
        self.scan = scan
        self.code_commit = code_commit
        self.audit = audit
        self.on_promote = on_promote
        self.state = LoopState()
        self.pending: Candidate | None = None  # trained, maybe not registered yet: never dropped on failure
        self.steps: list[LoopStep] = []
        self._run_id = uuid.uuid4().hex

    def tick(self, signal: DecaySignal, accuracy: float | None = None) -> list[LoopStep]:
        """One period: observe, then act until the core waits. Returns the steps taken (WAITs left out)."""
        now = self.clock.now()
        tick = Tick(signal, accuracy)
        event: Event | None = tick
        new: list[LoopStep] = []
        for _ in range(20):  # a chain is at most ~6 steps; the bound guards against a core bug looping
            if event is None:
                break
            step = decide(self.policy, self.state, event, now)
            self.state = step.state
            if step.action is LoopAction.WAIT:
                break
            run = self.state.run
            event, error = self._act(step, now)
            if isinstance(event, TrainingStarted):
                run = event.run
            entry = LoopStep(now, step.action.value, step.reason, self.state.version, error, run)
            new.append(entry)
            self._audit(entry, tick, step)
        self.steps.extend(new)
        return new

    @property
    def retrain(self) -> Retrainer | Callable[[float], Candidate]:
        """What retrains (as given); assigning a callable or a Retrainer swaps it."""
        return self._retrain

    @retrain.setter
    def retrain(self, value: Retrainer | Callable[[float], Candidate]) -> None:
        self._retrain = value
        self.retrainer = as_retrainer(value)

    # -- the actions ------------------------------------------------------------------------------
    def _act(self, step: Step, now: float) -> tuple[Event | None, str | None]:
        """Perform ``step.action``; the event it produced and the error text, if any."""
        action = step.action
        try:
            if action is LoopAction.RETRAIN:
                # the trigger's time, not the clock: a retried start asks for the same run (idempotent)
                trigger_s = self.state.last_retrain_s if self.state.last_retrain_s is not None else now
                run = self.retrainer.start(step.reason, trigger_s)
                try:
                    answer = self.retrainer.poll(run, now)
                except ServiceUnavailable as exc:  # the run exists: never start it twice, poll it next tick
                    answer = TrainingPending(f"status not read yet ({exc})")
                return self._training(run, answer, started=True)
            if action is LoopAction.POLL_TRAINING:
                assert self.state.run is not None, "core polled a training run it never started"
                return self._training(self.state.run, self.retrainer.poll(self.state.run, now), started=False)
            if action is LoopAction.STOP_TRAINING:
                if self.state.run is not None:
                    self.retrainer.cancel(self.state.run)
                self.pending = None
                return Done(action), step.reason
            if action is LoopAction.REGISTER:
                return Registered(self._register()), None
            if action is LoopAction.GATE:
                if self.pending is not None and self.pending.version is not None:
                    self._adopt(self.pending.version)
                    verdict = self._scanned(self.pending)
                    if verdict is not None:
                        self.registry.set_tag(self.model, self._v(), SCAN_TAG, verdict.tag)
                        if not verdict.passed:
                            self.registry.set_tag(self.model, self._v(), GATE_TAG, "blocked: " + verdict.tag)
                            return Gated(False, verdict.reason), None
                result = promote(self.registry, self.model, self._v(), self.policy.gates,
                                 champion_metrics=self._champion_metrics(), dry_run=True)
                self.registry.set_tag(self.model, self._v(), GATE_TAG,
                                      ("passed: " if result.gate.passed else "blocked: ") + result.gate.reason)
                return Gated(result.gate.passed, result.gate.reason), None
            if action is LoopAction.START_CANARY:
                self.registry.set_alias(self.model, CHALLENGER, self._v())
                self.canary.start(self._v(), now)
                return Done(action), None
            if action is LoopAction.CANARY_STEP:
                result = self.canary.advance_to(now)
                return (Done(action) if result is None else result), None
            if action is LoopAction.PROMOTE:
                promoted = promote(self.registry, self.model, self._v(), self.policy.gates,
                                   champion_metrics=self._champion_metrics())
                self.registry.set_tag(self.model, self._v(), CANARY_TAG, "promoted: " + step.reason)
                if promoted.promoted and self.on_promote is not None:
                    self.on_promote(self._v(), self.pending)
                self.pending = None
                return Done(action), None if promoted.promoted else promoted.reason
            if action is LoopAction.ROLLBACK:
                self.registry.delete_alias(self.model, CHALLENGER)
                self.registry.set_tag(self.model, self._v(), CANARY_TAG, "rolled back: " + step.reason)
                self.pending = None
                return Done(action), None
            if action is LoopAction.DISCARD:
                self.pending = None
                return Done(action), None
            return None, None  # SUPPRESS, HOLD: recorded, nothing to do
        except ServiceUnavailable as exc:
            log.info("feedback loop %s: %s failed, will retry: %s", self.model, action.value, exc)
            return Failed(action, str(exc), True, exc.retry_after_s), str(exc)
        except Exception as exc:
            if action not in _RETRAINER_ACTIONS and not isinstance(exc, ForesightError):
                raise  # a bug in the loop or the registry adapter: keep its traceback
            text = f"{type(exc).__name__}: {exc}"
            log.info("feedback loop %s: %s failed: %s", self.model, action.value, text)
            return Failed(action, text, False), text

    def _training(self, run: str, answer: Candidate | TrainingPending | TrainingFailed, *, started: bool
                  ) -> tuple[Event | None, str | None]:
        """The event for a retrainer's answer about ``run`` (just started, or polled on a later tick)."""
        if isinstance(answer, TrainingPending):
            return (TrainingStarted(run, answer.reason) if started else TrainingPending(answer.reason)), None
        if isinstance(answer, TrainingFailed):
            action = LoopAction.RETRAIN if started else LoopAction.POLL_TRAINING
            return Failed(action, f"training run {run} failed: {answer.reason}", False), answer.reason
        self.pending = answer
        return Trained(answer.version), None

    def _adopt(self, version: int) -> None:
        """A version the training run registered itself: record its parent (the champion) for the lineage."""
        if PARENT_TAG in self.registry.get(self.model, version).tags:
            return
        champion = self.registry.get_alias(self.model, CHAMPION)
        if champion is not None and champion.version != version:
            self.registry.set_tag(self.model, version, PARENT_TAG, str(champion.version))

    def _v(self) -> int:
        assert self.state.version is not None, "core asked for a versioned action before registration"
        return self.state.version

    def _register(self) -> int:
        c = self.pending
        if c is None:
            raise ForesightError("nothing to register (no pending candidate)")
        verdict = self._scanned(c)
        if verdict is not None:
            verdict.raise_if_blocked(f"model {self.model}: retrained candidate")
        champion = self.registry.get_alias(self.model, CHAMPION)
        tags = {**c.tags, **({PARENT_TAG: str(champion.version)} if champion else {})}
        if verdict is not None:
            tags[SCAN_TAG] = verdict.tag
        return self.registry.register(self.model, params=c.params, metrics=c.metrics, code_commit=self.code_commit,
                                      data_version=c.data_version, seed=c.seed, tags=tags, model=c.model,
                                      model_file=c.model_file).version

    def _scanned(self, candidate: Candidate) -> ArtifactVerdict | None:
        """The artifact gate's verdict on ``candidate`` (None: no scan port, or nothing here to scan)."""
        if self.scan is None:
            return None
        findings = self.scan(candidate)
        return None if findings is None else judge_artifact(findings)

    def _champion_metrics(self) -> Mapping[str, float] | None:
        return None if self.pending is None else self.pending.champion_metrics

    def _audit(self, entry: LoopStep, tick: Tick, step: Step) -> None:
        if self.audit is None:
            return
        self.audit.record(AuditRecord(
            time=entry.time_s, run_id=self._run_id, controller="feedback", target=self.model,
            inputs={"drifted": tick.signal.drifted, "drift_score": tick.signal.score, "accuracy": tick.accuracy,
                    "phase": self.state.phase.value},
            decision={"version": entry.version, "attempt": self.state.attempts or None, "run": entry.run},
            reason=f"{entry.action}: {entry.reason}", applied=entry.action not in ("suppress", "hold") and not entry.error,
            dry_run=False, error=entry.error,
        ))
