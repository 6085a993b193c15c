"""The feedback loop's pure core: one event in, the next state and one action out, with the reason.

The loop is a small state machine (sans-I/O: the driver in :mod:`foresight.feedback.loop` performs
each action and feeds its result back as the next event)::

    WATCHING --trigger (drift or accuracy decay, persistent, outside the cool-down)--> RETRAIN
    RETRAIN  --Trained--> REGISTER --Registered--> GATE --passed--> START_CANARY  (phase CANARY)
             --Trained(version)----------------->  GATE --blocked--> back to WATCHING
             --TrainingStarted (a run in a cluster)--> phase TRAINING
    TRAINING --Tick--> POLL_TRAINING --TrainingPending--> still TRAINING
                                     --Trained(...)----> as above
                                     --Failed---------> DISCARD, back to WATCHING
             --Tick past ``training_timeout_s``--> STOP_TRAINING (the run is cancelled), WATCHING
    CANARY   --Tick--> CANARY_STEP ... --CanaryEnded--> PROMOTE or ROLLBACK, back to WATCHING
    any action --Failed (registry down ...)--> HOLDING; a Tick after ``retry_at_s`` retries it

Storm control: a trigger must persist for ``consecutive`` ticks, and retrains start at least
``cooldown_s`` apart (measured start to start, whatever came of the last one), so a noisy signal
costs at most one retrain per cool-down. A failed action is never dropped: the phase becomes
HOLDING with the action to retry and an exponential back-off, and the loop keeps what it needs
(the driver keeps the trained candidate) until it succeeds. A training run that cannot be polled
(the API server is down) stays in TRAINING, so its timeout still counts.

>>> p = LoopPolicy(cooldown_s=600)
>>> s = decide(p, LoopState(), Tick(DecaySignal(True, 0.3, "PSI 0.3 > 0.2"), 0.8), 100.0)
>>> s.action.value, s.reason
('retrain', 'PSI 0.3 > 0.2; champion accuracy 0.8 below 0.85')
>>> s = decide(p, LoopState(last_retrain_s=100.0), Tick(DecaySignal(True, 0.3, "PSI 0.3 > 0.2"), None), 400.0)
>>> s.action.value, s.reason
('suppress', 'PSI 0.3 > 0.2, but in the cool-down until 700 s (last retrain at 100 s)')
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from pydantic import BaseModel, ConfigDict, Field

from foresight.feedback.signal import DecaySignal
from foresight.registry.gates import GatePolicy

__all__ = [
    "CanaryEnded",
    "Done",
    "Event",
    "Failed",
    "Gated",
    "LoopAction",
    "LoopPolicy",
    "LoopState",
    "Phase",
    "Registered",
    "Step",
    "Tick",
    "Trained",
    "TrainingPending",
    "TrainingStarted",
    "decide",
]


class LoopPolicy(BaseModel):
    """When to retrain, how to gate, how to hold back."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_accuracy: float | None = Field(0.85, ge=0, le=1, description="Champion's live accuracy below this is decay (None: ignore).")
    consecutive: int = Field(1, ge=1, description="Ticks a trigger must persist before it counts.")
    cooldown_s: float = Field(3600.0, ge=0, description="Least time between two retrains (start to start).")
    retry_s: float = Field(60.0, gt=0, description="First wait before retrying a failed action; doubles each time.")
    max_retry_s: float = Field(900.0, gt=0, description="Longest wait between retries.")
    training_timeout_s: float = Field(
        6 * 3600.0, gt=0, description="Longest a training run (in a cluster) may take before it is stopped as failed.")
    gates: GatePolicy = Field(
        GatePolicy.parse(["accuracy>=0.85"], tolerances={"accuracy": 0.01}),
        description="What a retrained version must pass before its canary.",
    )


class Phase(str, enum.Enum):
    WATCHING = "watching"
    HOLDING = "holding"  # an action failed; retried at retry_at_s
    TRAINING = "training"  # a training run (a cluster job) is under way; polled every tick
    CANARY = "canary"


class LoopAction(str, enum.Enum):
    WAIT = "wait"  # nothing to do
    SUPPRESS = "suppress"  # a trigger ignored (cool-down): audited, so storms are visible
    RETRAIN = "retrain"
    POLL_TRAINING = "poll_training"  # look at the training run started by RETRAIN
    STOP_TRAINING = "stop_training"  # the run took longer than training_timeout_s: cancel it, count it failed
    REGISTER = "register"
    GATE = "gate"
    DISCARD = "discard"  # the gate blocked the version
    START_CANARY = "start_canary"
    CANARY_STEP = "canary_step"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    HOLD = "hold"  # an action failed; it will be retried


@dataclass(frozen=True)
class LoopState:
    """Everything the core remembers between events (serialisable plain data)."""

    phase: Phase = Phase.WATCHING
    streak: int = 0
    last_retrain_s: float | None = None
    version: int | None = None  # the candidate once registered
    retry_action: LoopAction | None = None
    retry_at_s: float | None = None
    attempts: int = 0
    run: str | None = None  # the training run under way (the retrainer's handle)
    training_since_s: float | None = None


@dataclass(frozen=True)
class Tick:
    """A period's observation: the drift signal and the champion's live accuracy (None: no labels)."""

    signal: DecaySignal
    accuracy: float | None = None


@dataclass(frozen=True)
class Trained:
    """The retrain produced a candidate; ``version`` when the training run registered it itself."""

    version: int | None = None


@dataclass(frozen=True)
class TrainingStarted:
    """A training run ``run`` was started and has not finished yet (it runs in a cluster)."""

    run: str
    reason: str = ""


@dataclass(frozen=True)
class TrainingPending:
    """The training run is still going (``reason``: what its status says)."""

    reason: str


@dataclass(frozen=True)
class Registered:
    version: int


@dataclass(frozen=True)
class Gated:
    passed: bool
    reason: str


@dataclass(frozen=True)
class CanaryEnded:
    promoted: bool
    reason: str


@dataclass(frozen=True)
class Done:
    """``action`` (one without a result of its own: start canary, promote, roll back, ...) succeeded."""

    action: LoopAction


@dataclass(frozen=True)
class Failed:
    """``action`` could not be done (``retryable``: a service was down; else the attempt is abandoned)."""

    action: LoopAction
    error: str
    retryable: bool = True
    retry_after_s: float | None = None


Event = Tick | Trained | TrainingStarted | TrainingPending | Registered | Gated | CanaryEnded | Done | Failed

_PHASE_AFTER = {LoopAction.START_CANARY: Phase.CANARY, LoopAction.CANARY_STEP: Phase.CANARY}


@dataclass(frozen=True)
class Step:
    """The core's answer: the next state, the action for the driver, and why."""

    state: LoopState
    action: LoopAction
    reason: str


def _triggers(policy: LoopPolicy, tick: Tick) -> list[str]:
    reasons = [tick.signal.reason or f"drift score {tick.signal.score:.3g}"] if tick.signal.drifted else []
    acc = tick.accuracy
    if policy.min_accuracy is not None and acc is not None and math.isfinite(acc) and acc < policy.min_accuracy:
        reasons.append(f"champion accuracy {acc:.3g} below {policy.min_accuracy:.3g}")
    return reasons


def _watch(policy: LoopPolicy, state: LoopState, tick: Tick, now: float) -> Step:
    reasons = _triggers(policy, tick)
    if not reasons:
        return Step(replace(state, streak=0), LoopAction.WAIT, f"no trigger (drift score {tick.signal.score:.3g})")
    why = "; ".join(reasons)
    streak = state.streak + 1
    if streak < policy.consecutive:
        return Step(replace(state, streak=streak), LoopAction.WAIT, f"{why} (seen {streak} of {policy.consecutive} ticks)")
    if state.last_retrain_s is not None and now < state.last_retrain_s + policy.cooldown_s:
        until = state.last_retrain_s + policy.cooldown_s
        return Step(replace(state, streak=streak), LoopAction.SUPPRESS,
                    f"{why}, but in the cool-down until {until:g} s (last retrain at {state.last_retrain_s:g} s)")
    return Step(replace(state, streak=0, last_retrain_s=now, version=None), LoopAction.RETRAIN, why)


def _cleared(state: LoopState, phase: Phase) -> LoopState:
    return replace(state, phase=phase, retry_action=None, retry_at_s=None, attempts=0, run=None, training_since_s=None)


def _training(policy: LoopPolicy, state: LoopState, now: float) -> Step:
    """A Tick while a training run is under way: poll it, or stop it once it has run too long."""
    since = state.training_since_s if state.training_since_s is not None else now
    if now - since >= policy.training_timeout_s:
        # ``run`` is kept until the driver has cancelled it (Done clears it; a failed cancel is retried)
        return Step(replace(state, phase=Phase.WATCHING, version=None, training_since_s=None), LoopAction.STOP_TRAINING,
                    f"training run {state.run} timed out: running {now - since:g} s, "
                    f"limit {policy.training_timeout_s:g} s (started at {since:g} s)")
    return Step(state, LoopAction.POLL_TRAINING, f"training run {state.run} under way since {since:g} s")


def decide(policy: LoopPolicy, state: LoopState, event: Event, now: float) -> Step:
    """The next state and action after ``event`` at ``now`` (pure; ``state`` is not changed)."""
    if isinstance(event, Failed):
        if not event.retryable:
            return Step(_cleared(replace(state, version=None), Phase.WATCHING), LoopAction.DISCARD,
                        f"{event.action.value} failed for good: {event.error}")
        if event.action is LoopAction.POLL_TRAINING:  # the run goes on; poll again next tick, the timeout still counts
            return Step(state, LoopAction.HOLD, f"training run {state.run} could not be polled: {event.error}; "
                                            "polling again next tick")
        attempts = state.attempts + 1
        wait = event.retry_after_s or min(policy.max_retry_s, policy.retry_s * 2 ** (attempts - 1))
        return Step(replace(state, phase=Phase.HOLDING, retry_action=event.action, retry_at_s=now + wait,
                            attempts=attempts),
                    LoopAction.HOLD, f"{event.action.value} failed (attempt {attempts}): {event.error}; "
                                 f"kept, retrying at {now + wait:g} s")
    if isinstance(event, Done):
        return Step(_cleared(state, _PHASE_AFTER.get(event.action, Phase.WATCHING)), LoopAction.WAIT,
                    f"{event.action.value} done")
    if isinstance(event, Trained):
        if event.version is not None:  # the training run registered it: gate it straight away
            who = f"training run {state.run}" if state.run else "the retrain"
            return Step(replace(_cleared(state, Phase.WATCHING), version=event.version), LoopAction.GATE,
                        f"{who} registered version {event.version}: gate it")
        return Step(_cleared(state, Phase.WATCHING), LoopAction.REGISTER, "register the retrained model")
    if isinstance(event, TrainingStarted):
        return Step(replace(_cleared(state, Phase.TRAINING), run=event.run, training_since_s=now), LoopAction.WAIT,
                    f"training run {event.run} started" + (f": {event.reason}" if event.reason else ""))
    if isinstance(event, TrainingPending):
        return Step(state, LoopAction.WAIT, f"training run {state.run}: {event.reason}")
    if isinstance(event, Registered):
        return Step(replace(_cleared(state, Phase.WATCHING), version=event.version), LoopAction.GATE,
                    f"gate version {event.version}")
    if isinstance(event, Gated):
        if event.passed:
            return Step(_cleared(state, Phase.CANARY), LoopAction.START_CANARY,
                        f"version {state.version} passed the gates ({event.reason}): canary")
        return Step(_cleared(state, Phase.WATCHING), LoopAction.DISCARD, f"version {state.version} blocked: {event.reason}")
    if isinstance(event, CanaryEnded):
        action = LoopAction.PROMOTE if event.promoted else LoopAction.ROLLBACK
        return Step(_cleared(state, Phase.WATCHING), action, f"version {state.version}: {event.reason}")
    # a Tick
    if state.phase is Phase.HOLDING:
        assert state.retry_action is not None and state.retry_at_s is not None
        if now + 1e-9 >= state.retry_at_s:
            return Step(state, state.retry_action, f"retry {state.retry_action.value} (attempt {state.attempts + 1})")
        return Step(state, LoopAction.WAIT, f"{state.retry_action.value} pending, retry at {state.retry_at_s:g} s")
    if state.phase is Phase.TRAINING:
        return _training(policy, state, now)
    if state.phase is Phase.CANARY:
        return Step(state, LoopAction.CANARY_STEP, f"canary of version {state.version} in progress")
    return _watch(policy, state, event, now)
