"""Flagger's canary analysis (progressive traffic shifting on Istio) as a pure core: the baseline.

It follows Flagger's scheduler (``advanceCanary`` in ``pkg/controller/scheduler.go``), one call per
analysis ``interval``, in Flagger's order:

1. **Rollback first.** If the failed-check count has reached ``threshold``, all traffic goes back to
   the primary and the canary fails; so the rollback comes one interval after the last failed check.
2. **Start.** The first interval (weight 0, nothing analysed yet) runs no checks: weight := stepWeight.
3. **Checks** on the interval's canary metrics. Any failing check, or a metric with no value
   (Flagger's "no values found": no traffic, no feedback), adds one failed check and holds the weight.
   Failed checks are never reset during an analysis.
4. **Advance.** All checks pass: below ``maxWeight`` the weight grows by ``stepWeight`` (at most 100);
   at ``maxWeight`` the canary is promoted (Flagger copies its spec to the primary).

Checks (``thresholdRange`` semantics: fail when ``value < min`` or ``value > max``):

- ``request-success-rate`` = 100 - 100 x 5xx / requests, against ``min_success_rate_pct``;
- ``request-duration`` = ``histogram_quantile(0.99, ...)`` of the latency buckets (ms), against
  ``max_p99_ms``;
- optionally, an accuracy check as a user would write it in a MetricTemplate: correct / labelled
  predictions over the last ``accuracy_window_intervals`` intervals, against ``min_accuracy``.

Not modelled: webhooks (pre-rollout, load tests, confirm gates), mirroring, the A/B and blue/green
strategies, ``stepWeights`` lists, the progress deadline, and the housekeeping after Promote (routing
all traffic to the updated primary, scaling the canary down), which changes no version's exposure.

>>> import numpy as np
>>> from foresight.rollout.observation import VersionSample
>>> policy = FlaggerPolicy(FlaggerSpec())
>>> state = policy.start()
>>> bounds = np.array([100.0, 250.0, 500.0])
>>> def obs(weight, errors):
...     canary = VersionSample(200, errors, np.array([150, 45, 5, 0]))
...     return CanaryObservation(0.0, 60.0, weight, bounds, stable=None, canary=canary)
>>> d = policy.decide(state, obs(0, 0), 60.0); d.action.value, d.weight
('raise', 10)
>>> d = policy.decide(d.state, obs(10, 5), 120.0); d.action.value, d.state.failed_checks, d.reason
('hold', 1, 'Halt advancement: request-success-rate 97.50 < 99')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.errors import ConfigError
from foresight.rollout.decision import CanaryAction, CanaryDecision
from foresight.rollout.observation import CanaryObservation, histogram_quantile

__all__ = ["FlaggerPolicy", "FlaggerSpec", "FlaggerState", "flagger_decide"]


class FlaggerSpec(BaseModel):
    """A Flagger ``Canary``'s ``analysis`` block (the fields this baseline honours)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval_s: float = Field(60.0, gt=0, description="Flagger `interval`: seconds between checks.")
    threshold: int = Field(5, ge=1, description="Flagger `threshold`: failed checks before rollback.")
    step_weight: int = Field(10, ge=1, le=100, description="Flagger `stepWeight`: percent added per step.")
    max_weight: int = Field(50, ge=1, le=100, description="Flagger `maxWeight`: weight at which it promotes.")
    min_success_rate_pct: float = Field(99.0, ge=0, le=100, description="`request-success-rate` min (percent).")
    max_p99_ms: float = Field(500.0, gt=0, description="`request-duration` max: p99 latency in ms.")
    min_accuracy: float | None = Field(None, ge=0, le=1, description="Custom accuracy check's min (None: no check).")
    accuracy_window_intervals: int = Field(1, ge=1, description="Intervals of feedback the accuracy query reads.")

    @model_validator(mode="after")
    def _steps_reach_max(self) -> FlaggerSpec:
        if self.step_weight > self.max_weight:
            raise ConfigError(f"stepWeight {self.step_weight} exceeds maxWeight {self.max_weight}")
        return self


@dataclass(frozen=True)
class FlaggerState:
    """Flagger's canary status: phase, weight, failed checks, and how many intervals have run.

    ``feedback`` keeps the last intervals' canary (labelled, correct) counts for the accuracy query.
    """

    phase: Literal["progressing", "promoted", "failed"] = "progressing"
    weight: int = 0
    failed_checks: int = 0
    intervals: int = 0
    feedback: tuple[tuple[int, int], ...] = ()


def _failed_checks(spec: FlaggerSpec, obs: CanaryObservation, feedback: tuple[tuple[int, int], ...]) -> list[str]:
    """The checks that fail on this interval (empty: all pass), worded like Flagger's events."""
    canary = obs.canary
    if canary is None or canary.requests == 0:
        return ["no values found for request-success-rate: the canary is probably not receiving traffic"]
    failures = []
    success = 100.0 - 100.0 * canary.errors / canary.requests
    if success < spec.min_success_rate_pct:
        failures.append(f"request-success-rate {success:.2f} < {spec.min_success_rate_pct:g}")
    p99 = histogram_quantile(0.99, obs.bucket_bounds_ms, canary.latency_counts)
    if math.isnan(p99):
        failures.append("no values found for request-duration")
    elif p99 > spec.max_p99_ms:
        failures.append(f"request-duration {p99:.0f} ms > {spec.max_p99_ms:g} ms")
    if spec.min_accuracy is not None:
        labelled = sum(n for n, _ in feedback)
        if labelled == 0:
            failures.append("no values found for accuracy (no feedback in the window)")
        elif (accuracy := sum(k for _, k in feedback) / labelled) < spec.min_accuracy:
            failures.append(f"accuracy {accuracy:.4f} < {spec.min_accuracy:g}")
    return failures


def flagger_decide(spec: FlaggerSpec, state: FlaggerState, obs: CanaryObservation, now: float) -> CanaryDecision:
    """One Flagger analysis interval (see the module docstring for the steps)."""
    if state.phase != "progressing":
        return CanaryDecision(state, CanaryAction.HOLD, 100 if state.phase == "promoted" else 0,
                        (f"canary already {state.phase}",), None)
    weight = obs.weight  # Flagger reads the routes every interval, not its own status
    if state.failed_checks >= spec.threshold:
        done = FlaggerState("failed", 0, state.failed_checks, state.intervals, state.feedback)
        return CanaryDecision(done, CanaryAction.ROLLBACK, 0,
                        (f"Rolling back: failed checks threshold reached {state.failed_checks}",), None)
    feedback = state.feedback
    if obs.canary is not None:
        feedback = (*feedback, (obs.canary.labelled, obs.canary.correct))[-spec.accuracy_window_intervals:]
    next_check = now + spec.interval_s
    if weight == 0 and state.intervals == 0:
        reasons: tuple[str, ...] = ("Starting canary analysis",)
    else:
        failures = _failed_checks(spec, obs, feedback)
        if failures:
            held = FlaggerState("progressing", weight, state.failed_checks + 1, state.intervals + 1, feedback)
            return CanaryDecision(held, CanaryAction.HOLD, weight, tuple(f"Halt advancement: {f}" for f in failures), next_check,
                            {"failed_checks": float(held.failed_checks)})
        reasons = ()
    if weight < spec.max_weight:
        new_weight = min(weight + spec.step_weight, 100)
        nxt = FlaggerState("progressing", new_weight, state.failed_checks, state.intervals + 1, feedback)
        return CanaryDecision(nxt, CanaryAction.RAISE, new_weight, (*reasons, f"Advance canary weight {new_weight}"), next_check,
                        {"failed_checks": float(state.failed_checks)})
    done = FlaggerState("promoted", 100, state.failed_checks, state.intervals + 1, feedback)
    return CanaryDecision(done, CanaryAction.PROMOTE, 100, ("Copying canary template spec to primary: promotion",), None,
                    {"failed_checks": float(state.failed_checks)})


class FlaggerPolicy:
    """:func:`flagger_decide` behind the :class:`~foresight.rollout.decision.TrafficPolicy` protocol."""

    name = "flagger"

    def __init__(self, spec: FlaggerSpec) -> None:
        self.spec = spec

    def start(self) -> FlaggerState:
        return FlaggerState()

    def decide(self, state: FlaggerState, obs: CanaryObservation, now: float) -> CanaryDecision:
        return flagger_decide(self.spec, state, obs, now)
