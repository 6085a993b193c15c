"""The core's training phase: a run in a cluster is waited for across ticks, timed out, failed, cooled down."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.feedback import LoopAction, DecaySignal, LoopPolicy, LoopState, Phase, decide
from foresight.feedback.decide import Done, Failed, Tick, Trained, TrainingPending, TrainingStarted

DRIFT = DecaySignal(True, 0.4, "PSI 0.4 > 0.2")
CALM = DecaySignal(False, 0.02, "")
POLICY = LoopPolicy(cooldown_s=3600, training_timeout_s=1800)


def _training(at: float = 0.0) -> LoopState:
    """The state right after a retrain at ``at`` started run ``r-1``."""
    s = decide(POLICY, LoopState(), Tick(DRIFT), at)
    assert s.action is LoopAction.RETRAIN
    s = decide(POLICY, s.state, TrainingStarted("r-1", "Job default/r-1 running"), at)
    assert s.action is LoopAction.WAIT and s.state.phase is Phase.TRAINING
    assert s.state.run == "r-1" and s.state.training_since_s == at and s.state.last_retrain_s == at
    return s.state


def test_a_run_is_polled_every_tick_and_drift_meanwhile_starts_nothing() -> None:
    state = _training()
    for t in (60.0, 120.0, 1799.0):
        s = decide(POLICY, state, Tick(DRIFT, 0.5), t)
        assert s.action is LoopAction.POLL_TRAINING and "r-1 under way since 0 s" in s.reason
        s = decide(POLICY, s.state, TrainingPending("Job default/r-1 running (active 1)"), t)
        assert s.action is LoopAction.WAIT and s.state == state


def test_a_finished_run_with_its_own_version_goes_straight_to_the_gate() -> None:
    s = decide(POLICY, decide(POLICY, _training(), Tick(CALM), 600.0).state, Trained(version=7), 600.0)
    assert s.action is LoopAction.GATE and s.state.version == 7 and s.state.phase is Phase.WATCHING
    assert s.state.run is None and "training run r-1 registered version 7" in s.reason


def test_a_run_past_its_timeout_is_stopped_then_the_cooldown_holds() -> None:
    s = decide(POLICY, _training(), Tick(CALM), 1800.0)
    assert s.action is LoopAction.STOP_TRAINING and s.state.phase is Phase.WATCHING
    assert s.reason == "training run r-1 timed out: running 1800 s, limit 1800 s (started at 0 s)"
    assert s.state.run == "r-1"  # kept until the driver has cancelled it
    s = decide(POLICY, s.state, Done(LoopAction.STOP_TRAINING), 1800.0)
    assert s.state.run is None and s.state.training_since_s is None
    assert decide(POLICY, s.state, Tick(DRIFT), 1900.0).action is LoopAction.SUPPRESS
    assert decide(POLICY, s.state, Tick(DRIFT), 3600.0).action is LoopAction.RETRAIN


def test_a_failed_run_is_discarded_with_its_reason_and_the_cooldown_holds() -> None:
    s = decide(POLICY, _training(), Tick(CALM), 300.0)
    s = decide(POLICY, s.state, Failed(LoopAction.POLL_TRAINING, "Job default/r-1 failed: BackoffLimitExceeded", False), 300.0)
    assert s.action is LoopAction.DISCARD and s.state.phase is Phase.WATCHING and s.state.run is None
    assert "BackoffLimitExceeded" in s.reason
    assert decide(POLICY, s.state, Tick(DRIFT), 400.0).action is LoopAction.SUPPRESS


def test_a_run_that_cannot_be_polled_stays_in_training_and_still_times_out() -> None:
    s = decide(POLICY, _training(), Tick(CALM), 300.0)
    s = decide(POLICY, s.state, Failed(LoopAction.POLL_TRAINING, "Kubernetes API unreachable", True), 300.0)
    assert s.action is LoopAction.HOLD and s.state.phase is Phase.TRAINING and s.state.run == "r-1"
    assert decide(POLICY, s.state, Tick(CALM), 360.0).action is LoopAction.POLL_TRAINING
    assert decide(POLICY, s.state, Tick(CALM), 1800.0).action is LoopAction.STOP_TRAINING


def test_a_failed_cancel_is_retried_with_the_run_kept() -> None:
    s = decide(POLICY, _training(), Tick(CALM), 1800.0)
    s = decide(POLICY, s.state, Failed(LoopAction.STOP_TRAINING, "API down", True), 1800.0)
    assert s.action is LoopAction.HOLD and s.state.run == "r-1"
    retry = decide(POLICY, s.state, Tick(CALM), 1800.0 + POLICY.retry_s)
    assert retry.action is LoopAction.STOP_TRAINING and retry.state.run == "r-1"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 900), st.booleans(), st.booleans()), min_size=1, max_size=30))
def test_training_never_retrains_and_never_outlives_its_timeout(ticks: list[tuple[float, bool, bool]]) -> None:
    """Whatever the signal and however the polls go, no second retrain starts while a run is under way,
    and the run is stopped at the first tick at or past its timeout."""
    state, now = _training(), 0.0
    for gap, drifted, poll_ok in ticks:
        now += gap
        s = decide(POLICY, state, Tick(DRIFT if drifted else CALM), now)
        assert s.action is not LoopAction.RETRAIN
        if now >= POLICY.training_timeout_s:
            assert s.action is LoopAction.STOP_TRAINING
            return
        assert s.action is LoopAction.POLL_TRAINING
        answer = TrainingPending("running") if poll_ok else Failed(LoopAction.POLL_TRAINING, "API down", True)
        state = decide(POLICY, s.state, answer, now).state
        assert state.phase is Phase.TRAINING
