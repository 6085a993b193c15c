"""The Flagger baseline, step by step as Flagger's scheduler runs an analysis."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.errors import ConfigError
from foresight.rollout.decision import CanaryAction
from foresight.rollout.flagger import (
    FlaggerPolicy,
    FlaggerSpec,
    FlaggerState,
    flagger_decide,
)
from foresight.rollout.observation import CanaryObservation, VersionSample

BOUNDS = np.array([100.0, 250.0, 500.0, 1000.0])
FAST = np.array([150, 45, 5, 0, 0])  # p99 within (250, 500]
SLOW = np.array([100, 40, 40, 20, 0])  # p99 within (500, 1000]


def obs(weight: int, *, errors: int = 0, latency: np.ndarray = FAST, labelled: int = 0, correct: int = 0,
        canary: bool = True) -> CanaryObservation:
    sample = VersionSample(int(latency.sum()), errors, latency, labelled, correct) if canary else None
    return CanaryObservation(0.0, 60.0, weight, BOUNDS, stable=None, canary=sample)


def run(spec: FlaggerSpec, observations: list[CanaryObservation]) -> list[tuple[str, int, int]]:
    state, out = FlaggerState(), []
    for k, o in enumerate(observations):
        d = flagger_decide(spec, state, o, 60.0 * (k + 1))
        state = d.state
        out.append((d.action.value, d.weight, state.failed_checks))
    return out


def test_a_clean_analysis_steps_to_max_weight_then_promotes() -> None:
    steps = run(FlaggerSpec(), [obs(w) for w in (0, 10, 20, 30, 40, 50)])
    assert steps == [("raise", 10, 0), ("raise", 20, 0), ("raise", 30, 0), ("raise", 40, 0), ("raise", 50, 0),
                     ("promote", 100, 0)]


def test_failed_checks_hold_accumulate_and_roll_back_one_interval_after_the_threshold() -> None:
    spec = FlaggerSpec(threshold=2)
    steps = run(spec, [obs(0), obs(10, errors=5), obs(10), obs(20, latency=SLOW), obs(20)])
    assert steps == [("raise", 10, 0), ("hold", 10, 1), ("raise", 20, 1), ("hold", 20, 2), ("rollback", 0, 2)]


def test_the_start_runs_no_checks() -> None:
    assert run(FlaggerSpec(), [obs(0, errors=100)]) == [("raise", 10, 0)]


def test_no_canary_data_is_a_failed_check() -> None:
    d = flagger_decide(FlaggerSpec(), FlaggerState(weight=10, intervals=1), obs(10, canary=False), 120.0)
    assert (d.action, d.state.failed_checks) == (CanaryAction.HOLD, 1)
    assert "no values found" in d.reason


def test_the_success_rate_threshold_is_inclusive() -> None:
    ok = obs(10, errors=2, latency=np.array([150, 45, 5, 0, 0]))  # 99.0% exactly
    assert flagger_decide(FlaggerSpec(), FlaggerState(weight=10, intervals=1), ok, 120.0).action is CanaryAction.RAISE


def test_p99_comes_from_the_histogram_as_promql_computes_it() -> None:
    d = flagger_decide(FlaggerSpec(max_p99_ms=500), FlaggerState(weight=10, intervals=1), obs(10, latency=SLOW), 0.0)
    assert d.reason == "Halt advancement: request-duration 950 ms > 500 ms"


def test_the_accuracy_check_reads_its_window_of_feedback() -> None:
    spec = FlaggerSpec(min_accuracy=0.9, accuracy_window_intervals=2)
    steps = run(spec, [obs(0), obs(10, labelled=10, correct=8), obs(10, labelled=30, correct=30)])
    # window 2: (8 + 30) / 40 = 0.95 passes on the third interval; 8/10 fails on the second
    assert steps == [("raise", 10, 0), ("hold", 10, 1), ("raise", 20, 1)]
    d = flagger_decide(spec, FlaggerState(weight=10, intervals=1), obs(10), 0.0)
    assert "no values found for accuracy" in d.reason


def test_the_policy_reads_the_weight_from_the_route_not_its_status() -> None:
    d = FlaggerPolicy(FlaggerSpec()).decide(FlaggerState(weight=10, intervals=1), obs(30), 0.0)
    assert d.weight == 40


def test_a_finished_analysis_stays_finished() -> None:
    d = flagger_decide(FlaggerSpec(), FlaggerState(phase="failed"), obs(0), 0.0)
    assert (d.action, d.weight, d.next_check_at) == (CanaryAction.HOLD, 0, None)


def test_a_step_above_max_weight_is_refused() -> None:
    with pytest.raises(ConfigError):
        FlaggerSpec(step_weight=60, max_weight=50)
