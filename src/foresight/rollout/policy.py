"""Foresight's canary policy: sequential evidence decides the verdict, a posterior sizes the weight.

Each interval the policy compares the canary with the stable version *in the same interval* (so
load spikes and downstream error bursts, which hit both, cancel) on four metrics, each with an
acceptable margin θ0 and a bad level θ1 (:mod:`foresight.rollout.evidence` explains the tests):

====================  ======================================================  ============
metric                effect θ                                                default θ0/θ1
====================  ======================================================  ============
``latency``           P(canary request slower than a stable one), from         0.52 / 0.56
                      the histograms (Mann-Whitney AUC)
``slow``              rate ratio of requests slower than the stable's p95       1.2 / 2.0
``errors``            rate ratio of 5xx responses                               1.25 / 2.5
``accuracy``          rate ratio of wrong predictions (label feedback)          1.1 / 1.5
====================  ======================================================  ============

Then, in this order:

1. **Missing data holds.** No stable series, or no canary series while it has weight: hold, and say
   so. A gap is never read as "no errors", so the canary is never promoted on missing data.
2. **Roll back** when some metric's harm e-value reaches ``m / alpha`` (``m`` metrics, Bonferroni):
   a good version (every θ <= θ0) is rolled back with probability at most ``alpha`` over the whole
   analysis, however many intervals it lasts.
3. **Promote** when every metric's safety e-value reaches ``1 / beta``: a version that is θ1 bad on
   a metric is promoted with probability at most ``beta``. A metric without data (no feedback yet)
   has no safety evidence, so it holds the promotion.
4. **Size the weight** (a bandit's risk budget): with P(bad) = min(1, sum of the metrics' posterior
   P(θ >= θ1)), the weight is ``risk_budget_pct / P(bad)``, clipped to ``[min_weight, max_weight]``
   and to ``max_growth`` times the current weight. Strong evidence that the canary is fine raises
   the weight fast; worrying but inconclusive evidence lowers it, so a bad version is studied on
   little traffic until the test convicts it. ``max_weight`` stays at or below 50%, where a
   comparison learns most per request.

>>> from foresight.rollout.observation import VersionSample
>>> policy = ForesightPolicy(ForesightSpec(misclassification_ratio=None))
>>> bounds = np.array([100.0, 200.0, 400.0])
>>> def obs(weight, canary_errors):
...     stable = VersionSample(900, 4, np.array([500, 300, 90, 10]))
...     canary = VersionSample(100, canary_errors, np.array([55, 34, 10, 1]))
...     return CanaryObservation(0.0, 60.0, weight, bounds, stable, canary)
>>> d = policy.decide(policy.start(), obs(0, 0), 60.0); d.action.value, d.weight
('raise', 10)
>>> d = policy.decide(d.state, obs(10, 9), 120.0); d.action.value, d.weight
('rollback', 0)
>>> d.reasons[0]
'errors: error rate x20 the stable one, worse than the acceptable x1.25 (e-value 2.4e+04 >= 300)'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.errors import ConfigError
from foresight.rollout.decision import CanaryAction, CanaryDecision
from foresight.rollout.evidence import (
    SequentialTest,
    gaussian_loglik,
    mann_whitney_auc,
    rate_ratio_loglik,
)
from foresight.rollout.observation import CanaryObservation, VersionSample

__all__ = ["ForesightPolicy", "ForesightSpec", "ForesightState", "Margins", "foresight_decide"]


class Margins(BaseModel):
    """What "worse" means on one metric: ``acceptable`` (θ0) is tolerated, ``bad`` (θ1) is not."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    acceptable: float = Field(description="θ0: the canary may be this much worse and still pass.")
    bad: float = Field(description="θ1: a version this much worse must not be promoted.")

    @model_validator(mode="after")
    def _ordered(self) -> Margins:
        if not self.acceptable < self.bad:
            raise ConfigError(f"margins: acceptable ({self.acceptable}) must be below bad ({self.bad})")
        return self


class ForesightSpec(BaseModel):
    """Foresight's rollout policy for one service (a ``RolloutPolicy`` spec's analysis part)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interval_s: float = Field(60.0, gt=0, description="Seconds between looks.")
    min_weight: int = Field(10, ge=1, le=50, description="Smallest canary weight (percent) while progressing.")
    max_weight: int = Field(50, ge=1, le=50, description="Largest weight before promotion (<= 50: most informative).")
    max_growth: float = Field(2.0, gt=1, description="The weight grows at most this factor per interval.")
    risk_budget_pct: float = Field(2.0, gt=0, le=50, description="Weight x P(bad) stays under this (percent).")
    alpha: float = Field(0.01, gt=0, lt=1, description="Bound on rolling back a good version (all metrics).")
    beta: float = Field(0.05, gt=0, lt=1, description="Bound on promoting a version bad on a metric.")
    latency_auc: Margins = Field(Margins(acceptable=0.52, bad=0.56), description="P(canary slower) margins.")
    slow_ratio: Margins = Field(Margins(acceptable=1.2, bad=2.0), description="Slow-request rate ratio margins.")
    slow_quantile: float = Field(0.95, gt=0.5, lt=1, description="'Slow' = above this quantile of the stable.")
    error_ratio: Margins = Field(Margins(acceptable=1.25, bad=2.5), description="5xx rate ratio margins.")
    misclassification_ratio: Margins | None = Field(
        Margins(acceptable=1.1, bad=1.5), description="Wrong-prediction rate ratio margins (None: no feedback)."
    )
    min_latency_requests: int = Field(10, ge=2, description="Fewer requests per side: the AUC test skips the interval.")

    @model_validator(mode="after")
    def _consistent(self) -> ForesightSpec:
        if self.min_weight > self.max_weight:
            raise ConfigError(f"min_weight {self.min_weight} exceeds max_weight {self.max_weight}")
        if not (0.5 < self.latency_auc.acceptable and self.latency_auc.bad < 1):
            raise ConfigError("latency_auc margins must lie in (0.5, 1): 0.5 means 'no difference'")
        for name in ("slow_ratio", "error_ratio", "misclassification_ratio"):
            margins = getattr(self, name)
            if margins is not None and margins.acceptable < 1:
                raise ConfigError(f"{name}: the acceptable ratio must be >= 1, got {margins.acceptable}")
        return self


@functools.lru_cache(maxsize=32)
def _tests(spec: ForesightSpec) -> Mapping[str, SequentialTest]:
    """The metrics' grids, built once per spec."""
    def ratio(m: Margins) -> SequentialTest:
        return SequentialTest.build(-3.0, 3.0, 0.05, math.log(m.acceptable), math.log(m.bad), 0.0, 0.7)

    tests = {
        "latency": SequentialTest.build(0.2, 0.9, 0.005, spec.latency_auc.acceptable, spec.latency_auc.bad, 0.5, 0.05),
        "slow": ratio(spec.slow_ratio),
        "errors": ratio(spec.error_ratio),
    }
    if spec.misclassification_ratio is not None:
        tests["accuracy"] = ratio(spec.misclassification_ratio)
    return MappingProxyType(tests)


@dataclass(frozen=True)
class ForesightState:
    """The policy's memory: phase, weight, and each metric's summed log-likelihood over its grid.

    ``stable_latency`` sums the stable's latency histogram over the intervals seen: its quantile
    defines "slow" for the next interval (decided before that interval's data, as the test needs).
    """

    phase: Literal["progressing", "promoted", "rolled-back"] = "progressing"
    weight: int = 0
    intervals: int = 0
    loglik: Mapping[str, np.ndarray] = field(default_factory=dict)
    stable_latency: np.ndarray | None = None


def _slow_counts(stable_history: np.ndarray, quantile: float, sample: VersionSample) -> tuple[int, int]:
    """Requests above the bucket where the stable's history reaches ``quantile``, and all requests."""
    cumulative = np.cumsum(stable_history)
    edge = int(np.searchsorted(cumulative, quantile * cumulative[-1], side="left"))
    return int(sample.latency_counts[edge + 1:].sum()), int(sample.latency_counts.sum())


def _interval_loglik(
    spec: ForesightSpec, tests: Mapping[str, SequentialTest], stable_history: np.ndarray | None,
    stable: VersionSample, canary: VersionSample,
) -> dict[str, np.ndarray]:
    """Each metric's log-likelihood of this interval's data (metrics without usable data are left out)."""
    out = {"errors": rate_ratio_loglik(tests["errors"].theta, canary.errors, canary.requests,
                                       stable.errors, stable.requests)}
    if "accuracy" in tests:
        out["accuracy"] = rate_ratio_loglik(tests["accuracy"].theta, canary.labelled - canary.correct,
                                            canary.labelled, stable.labelled - stable.correct, stable.labelled)
    if stable_history is not None and stable_history.sum() > 0:
        c_slow, c_all = _slow_counts(stable_history, spec.slow_quantile, canary)
        s_slow, s_all = _slow_counts(stable_history, spec.slow_quantile, stable)
        out["slow"] = rate_ratio_loglik(tests["slow"].theta, c_slow, c_all, s_slow, s_all)
    if min(canary.latency_counts.sum(), stable.latency_counts.sum()) >= spec.min_latency_requests:
        auc, se = mann_whitney_auc(canary.latency_counts, stable.latency_counts)
        if se > 0:
            out["latency"] = gaussian_loglik(tests["latency"].theta, auc, se)
    return out


def _describe(name: str, theta: float) -> str:
    if math.isnan(theta):
        return f"no {name} data yet"
    if name == "latency":
        return f"P(canary slower) {theta:.3f}"
    what = {"slow": "slow-request rate", "errors": "error rate", "accuracy": "wrong-prediction rate"}[name]
    return f"{what} x{math.exp(theta):.2g} the stable one"


def _margin(name: str, theta: float) -> str:
    return f"{theta:.3g}" if name == "latency" else f"x{math.exp(theta):.3g}"


def foresight_decide(spec: ForesightSpec, state: ForesightState, obs: CanaryObservation, now: float) -> CanaryDecision:
    """One interval of Foresight's policy (see the module docstring for the steps)."""
    if state.phase != "progressing":
        return CanaryDecision(state, CanaryAction.HOLD, 100 if state.phase == "promoted" else 0,
                        (f"release already {state.phase}",), None)
    weight = obs.weight
    next_check = now + spec.interval_s
    missing = [name for name, absent in (("stable", obs.stable is None or obs.stable.requests == 0),
                                         ("canary", obs.canary is None and weight > 0)) if absent]
    if missing:
        held = ForesightState("progressing", weight, state.intervals, state.loglik, state.stable_latency)
        why = (f"metrics source returned no data for {' and '.join(missing)}: holding the canary at {weight}% "
               "(never promoted on missing data)")
        return CanaryDecision(held, CanaryAction.HOLD, weight, (why,), next_check)

    tests = _tests(spec)
    stable = obs.stable
    assert stable is not None  # checked above
    loglik = {name: state.loglik.get(name, np.zeros_like(test.theta)) for name, test in tests.items()}
    past = state.stable_latency
    if past is not None and past.shape != stable.latency_counts.shape:
        past = None  # the histogram's buckets changed: "slow" is learnt again from this interval on
    informed = obs.canary is not None and obs.canary.requests > 0 and weight > 0
    if informed:
        assert obs.canary is not None
        for name, ll in _interval_loglik(spec, tests, past, stable, obs.canary).items():
            loglik[name] = loglik[name] + ll
    history = stable.latency_counts if past is None else past + stable.latency_counts
    nxt = ForesightState("progressing", weight, state.intervals + 1, MappingProxyType(loglik), history)

    figures = {name: test.read(loglik[name]) for name, test in tests.items()}
    evidence = {f"{name}.{key}": value for name, reading in figures.items()
                for key, value in reading._asdict().items()}

    harm_bar = math.log(len(tests) / spec.alpha)
    convicted = [name for name, reading in figures.items() if reading.log_harm >= harm_bar]
    if convicted:
        done = ForesightState("rolled-back", 0, nxt.intervals, nxt.loglik, history)
        reasons = tuple(
            f"{name}: {_describe(name, figures[name].estimate)}, worse than the acceptable "
            f"{_margin(name, tests[name].theta[tests[name].acceptable])} "
            f"(e-value {math.exp(figures[name].log_harm):.2g} >= {len(tests) / spec.alpha:g})" for name in convicted)
        return CanaryDecision(done, CanaryAction.ROLLBACK, 0, reasons, None, evidence)

    safe_bar = math.log(1 / spec.beta)
    if weight > 0 and all(reading.log_safety >= safe_bar for reading in figures.values()):
        done = ForesightState("promoted", 100, nxt.intervals, nxt.loglik, history)
        return CanaryDecision(done, CanaryAction.PROMOTE, 100, (
            f"every metric is better than its bad level (safety e-values >= {1 / spec.beta:g}): "
            + ", ".join(_describe(name, reading.estimate) for name, reading in figures.items()),), None, evidence)

    p_bad = min(1.0, sum(reading.p_bad for reading in figures.values()))
    worst = max(figures, key=lambda name: figures[name].p_bad)
    if weight > 0 and not informed:
        return CanaryDecision(nxt, CanaryAction.HOLD, weight, (f"the canary got no requests at {weight}%: holding",),
                        next_check, evidence)
    cap = min(spec.max_weight, max(spec.min_weight, math.floor(weight * spec.max_growth)))
    budgeted = math.floor(spec.risk_budget_pct / max(p_bad, 1e-9))
    target = int(min(cap, max(spec.min_weight, budgeted)))
    nxt = ForesightState("progressing", target, nxt.intervals, nxt.loglik, history)
    action = CanaryAction.RAISE if target > weight else CanaryAction.LOWER if target < weight else CanaryAction.HOLD
    if budgeted < spec.min_weight:
        limit = f"the minimum weight, {target}%, until the evidence settles"
    elif budgeted > cap:
        limit = f"{target}%, the most the growth and max-weight limits allow"
    else:
        limit = f"{target}%, which keeps weight x P(bad) under {spec.risk_budget_pct:g}%"
    why = f"P(bad) {p_bad:.3f}, mostly {worst} ({_describe(worst, figures[worst].estimate)}): {limit}"
    return CanaryDecision(nxt, action, target, (why,), next_check, evidence)


class ForesightPolicy:
    """:func:`foresight_decide` behind the :class:`~foresight.rollout.decision.TrafficPolicy` protocol."""

    name = "foresight"

    def __init__(self, spec: ForesightSpec) -> None:
        self.spec = spec

    def start(self) -> ForesightState:
        return ForesightState()

    def decide(self, state: ForesightState, obs: CanaryObservation, now: float) -> CanaryDecision:
        return foresight_decide(self.spec, state, obs, now)
