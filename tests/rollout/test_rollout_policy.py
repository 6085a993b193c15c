"""Foresight's policy: missing data holds, bad canaries roll back, good ones promote, weights stay in bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from foresight.errors import ConfigError
from foresight.rollout.decision import CanaryAction
from foresight.rollout.observation import CanaryObservation, VersionSample
from foresight.rollout.policy import (
    ForesightPolicy,
    ForesightSpec,
    ForesightState,
    Margins,
    foresight_decide,
)
from foresight.sim.canary import CanaryBatch, CanaryScenario, VersionBehaviour

SPEC = ForesightSpec()


def run(canary: VersionBehaviour, intervals: int = 60, seed: int = 0, rate: float = 40.0):
    """Decisions of one simulated release under the default spec, until a final verdict."""
    batch = CanaryBatch([CanaryScenario(canary=canary, rate_rps=rate)], seed=seed)
    state, weight, decisions = ForesightState(), 0, []
    for k in range(intervals):
        sample = batch.step(np.array([weight]))
        o = CanaryObservation(60.0 * k, 60.0 * (k + 1), weight, batch.bounds, sample.version(0, 0), sample.version(0, 1))
        d = foresight_decide(SPEC, state, o, 60.0 * (k + 1))
        decisions.append(d)
        state, weight = d.state, d.weight
        if d.action.final:
            break
    return decisions


@pytest.mark.parametrize("bad, metric", [
    (VersionBehaviour(error_rate=0.04), "errors"),
    (VersionBehaviour(latency_median_ms=180.0), "latency"),
    (VersionBehaviour(slow_fraction=0.2), "slow"),
    (VersionBehaviour(accuracy=0.80), "accuracy"),
])
def test_a_clearly_bad_canary_is_rolled_back_naming_its_metric(bad: VersionBehaviour, metric: str) -> None:
    decisions = run(bad)
    assert decisions[-1].action is CanaryAction.ROLLBACK and decisions[-1].weight == 0
    assert any(reason.startswith(metric) for reason in decisions[-1].reasons)
    assert len(decisions) <= 15


def test_a_good_canary_is_promoted_and_its_weight_stays_within_bounds_until_then() -> None:
    decisions = run(VersionBehaviour())
    assert decisions[-1].action is CanaryAction.PROMOTE
    weights = [d.weight for d in decisions[:-1]]
    assert all(SPEC.min_weight <= w <= SPEC.max_weight for w in weights)
    assert all(b <= max(SPEC.min_weight, a * SPEC.max_growth) for a, b in itertools.pairwise(weights))


def _obs(weight: int, stable: VersionSample | None, canary: VersionSample | None) -> CanaryObservation:
    return CanaryObservation(0.0, 60.0, weight, np.array([100.0, 200.0]), stable, canary)


SAMPLE = VersionSample(1000, 2, np.array([600, 350, 50]), labelled=300, correct=276)


@pytest.mark.parametrize("stable, canary, missing", [
    (None, SAMPLE, "stable"), (SAMPLE, None, "canary"), (None, None, "stable and canary"),
    (VersionSample(0, 0, np.zeros(3, dtype=int)), SAMPLE, "stable"),
])
def test_missing_data_holds_and_says_so(stable, canary, missing) -> None:
    d = foresight_decide(SPEC, ForesightState(weight=20), _obs(20, stable, canary), 60.0)
    assert (d.action, d.weight) == (CanaryAction.HOLD, 20)
    assert d.reason.startswith(f"metrics source returned no data for {missing}") and "never promoted" in d.reason


def test_a_source_that_returns_nothing_never_promotes() -> None:
    state = ForesightState(weight=50)
    for k in range(200):
        d = foresight_decide(SPEC, state, _obs(50, None, None), 60.0 * k)
        assert d.action is CanaryAction.HOLD
        state = d.state


def test_a_canary_without_requests_holds() -> None:
    empty = VersionSample(0, 0, np.zeros(3, dtype=int))
    d = foresight_decide(SPEC, ForesightState(weight=10), _obs(10, SAMPLE, empty), 60.0)
    assert (d.action, d.weight) == (CanaryAction.HOLD, 10) and "no requests" in d.reason


def test_without_label_feedback_the_accuracy_metric_holds_the_promotion() -> None:
    """Feedback enabled but no labels arrive: every other metric may clear, the release does not promote."""
    no_labels = VersionSample(1000, 2, np.array([600, 350, 50]))
    state = ForesightState()
    for k in range(60):
        d = foresight_decide(SPEC, state, _obs(state.weight, no_labels, no_labels), 60.0 * k)
        assert d.action is not CanaryAction.PROMOTE
        state = d.state
    assert "accuracy" in d.reason
    relaxed = SPEC.model_copy(update={"misclassification_ratio": None})
    state = ForesightState()
    for k in range(60):
        d = foresight_decide(relaxed, state, _obs(state.weight, no_labels, no_labels), 60.0 * k)
        state = d.state
        if d.action.final:
            break
    assert d.action is CanaryAction.PROMOTE


def test_decide_is_pure() -> None:
    state = ForesightState()
    for _ in range(3):
        state = foresight_decide(SPEC, state, _obs(state.weight, SAMPLE, SAMPLE), 0.0).state
    o = _obs(state.weight, SAMPLE, SAMPLE)
    before = {k: v.copy() for k, v in state.loglik.items()}
    first, second = foresight_decide(SPEC, state, o, 0.0), foresight_decide(SPEC, state, o, 0.0)
    assert (first.action, first.weight, first.reasons) == (second.action, second.weight, second.reasons)
    assert all(np.array_equal(before[k], state.loglik[k]) for k in before)


def test_a_change_of_histogram_buckets_restarts_the_slow_request_boundary() -> None:
    state = foresight_decide(SPEC, ForesightState(), _obs(0, SAMPLE, SAMPLE), 0.0).state
    finer = VersionSample(1000, 2, np.array([300, 300, 350, 50]), labelled=300, correct=276)
    o = CanaryObservation(0.0, 60.0, state.weight, np.array([50.0, 100.0, 200.0]), finer, finer)
    d = foresight_decide(SPEC, state, o, 60.0)
    assert d.state.stable_latency.tolist() == finer.latency_counts.tolist()


def test_a_finished_release_stays_finished() -> None:
    d = ForesightPolicy(SPEC).decide(ForesightState(phase="promoted"), _obs(0, SAMPLE, SAMPLE), 0.0)
    assert (d.action, d.weight, d.next_check_at) == (CanaryAction.HOLD, 100, None)


@pytest.mark.parametrize("changes", [
    {"min_weight": 40, "max_weight": 30},
    {"latency_auc": Margins(acceptable=0.45, bad=0.55)},
    {"error_ratio": Margins(acceptable=0.9, bad=2.0)},
])
def test_impossible_specs_are_refused(changes) -> None:
    with pytest.raises(ConfigError):
        ForesightSpec(**changes)
    with pytest.raises(ConfigError):
        Margins(acceptable=2.0, bad=1.5)
