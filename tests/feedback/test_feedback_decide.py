"""The loop's pure core: triggers, persistence, cool-down (no retrain storm), retries, the happy path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.feedback import LoopAction, DecaySignal, LoopPolicy, LoopState, Phase, decide
from foresight.feedback.decide import CanaryEnded, Done, Failed, Gated, Registered, Tick, Trained

DRIFT = DecaySignal(True, 0.4, "PSI 0.4 > 0.2")
CALM = DecaySignal(False, 0.02, "")


def test_no_trigger_waits_and_resets_the_streak() -> None:
    step = decide(LoopPolicy(consecutive=2), LoopState(streak=1), Tick(CALM, 0.95), 0.0)
    assert step.action is LoopAction.WAIT and step.state.streak == 0


def test_accuracy_decay_alone_triggers() -> None:
    step = decide(LoopPolicy(min_accuracy=0.9), LoopState(), Tick(CALM, 0.8), 0.0)
    assert step.action is LoopAction.RETRAIN and "accuracy 0.8 below 0.9" in step.reason


def test_a_trigger_must_persist() -> None:
    policy = LoopPolicy(consecutive=3)
    state = LoopState()
    actions = []
    for t in range(3):
        step = decide(policy, state, Tick(DRIFT), float(t))
        state = step.state
        actions.append(step.action)
    assert actions == [LoopAction.WAIT, LoopAction.WAIT, LoopAction.RETRAIN]


def test_the_whole_happy_path() -> None:
    p = LoopPolicy()
    s = decide(p, LoopState(), Tick(DRIFT), 0.0)
    assert s.action is LoopAction.RETRAIN
    s = decide(p, s.state, Trained(), 0.0)
    assert s.action is LoopAction.REGISTER
    s = decide(p, s.state, Registered(4), 0.0)
    assert s.action is LoopAction.GATE and s.state.version == 4
    s = decide(p, s.state, Gated(True, "accuracy 0.9 >= threshold 0.85"), 0.0)
    assert s.action is LoopAction.START_CANARY and s.state.phase is Phase.CANARY
    s = decide(p, decide(p, s.state, Done(LoopAction.START_CANARY), 0.0).state, Tick(DRIFT), 60.0)
    assert s.action is LoopAction.CANARY_STEP  # drift during the canary does not retrain
    s = decide(p, s.state, CanaryEnded(True, "all metrics safe"), 600.0)
    assert s.action is LoopAction.PROMOTE and s.state.phase is Phase.WATCHING


def test_a_blocked_gate_discards_with_the_reason() -> None:
    s = decide(LoopPolicy(), LoopState(version=3), Gated(False, "accuracy 0.8 < threshold 0.85"), 0.0)
    assert s.action is LoopAction.DISCARD and "version 3 blocked: accuracy 0.8 < threshold 0.85" == s.reason


def test_failed_registration_holds_backs_off_and_retries() -> None:
    p = LoopPolicy(retry_s=60, max_retry_s=200)
    state = LoopState()
    retry_times = []
    for attempt in range(4):
        s = decide(p, state, Failed(LoopAction.REGISTER, "MLflow down"), 1000.0)
        assert s.action is LoopAction.HOLD and s.state.phase is Phase.HOLDING
        retry_times.append(s.state.retry_at_s - 1000.0)
        state = s.state
    assert retry_times == [60, 120, 200, 200]
    assert decide(p, state, Tick(DRIFT), 1100.0).action is LoopAction.WAIT
    retry = decide(p, state, Tick(DRIFT), 1200.0)
    assert retry.action is LoopAction.REGISTER and "attempt 5" in retry.reason
    done = decide(p, retry.state, Registered(1), 1200.0)
    assert done.state.phase is Phase.WATCHING and done.state.attempts == 0 and done.state.retry_action is None


def test_a_retried_promotion_is_not_repeated_after_it_succeeds() -> None:
    p = LoopPolicy()
    held = decide(p, LoopState(version=2), Failed(LoopAction.PROMOTE, "down"), 0.0).state
    s = decide(p, held, Tick(CALM), 100.0)
    assert s.action is LoopAction.PROMOTE
    after = decide(p, s.state, Done(LoopAction.PROMOTE), 100.0).state
    assert after.phase is Phase.WATCHING and decide(p, after, Tick(CALM), 200.0).action is LoopAction.WAIT


@settings(max_examples=60, deadline=None)
@given(flags=st.lists(st.booleans(), min_size=1, max_size=300), cooldown_min=st.integers(0, 120))
def test_no_retrain_storm_whatever_the_signal(flags: list[bool], cooldown_min: int) -> None:
    """A noisy signal (any on/off sequence, one tick a minute) retrains at most once per cool-down."""
    policy = LoopPolicy(cooldown_s=60.0 * cooldown_min, min_accuracy=None)
    state, retrains = LoopState(), []
    for minute, drifted in enumerate(flags):
        now = 60.0 * minute
        step = decide(policy, state, Tick(DecaySignal(drifted, 1.0 if drifted else 0.0, "noise")), now)
        state = step.state
        if step.action is LoopAction.RETRAIN:
            retrains.append(now)
            # the retrain is discarded at once (gate blocked): the cool-down still holds
            state = decide(policy, state, Failed(LoopAction.RETRAIN, "blocked", retryable=False), now).state
    assert all(b - a >= policy.cooldown_s for a, b in zip(retrains, retrains[1:]))
    span = 60.0 * (len(flags) - 1)
    assert len(retrains) <= (span // policy.cooldown_s + 1 if policy.cooldown_s else len(flags))
    if any(flags):
        assert retrains and retrains[0] == 60.0 * flags.index(True)


def test_the_drift_monitor_plugs_in_with_one_line() -> None:
    import numpy as np

    from foresight.drift import DriftMonitor, MonitorSpec

    rng = np.random.default_rng(0)
    monitor = DriftMonitor(MonitorSpec(features=("a", "b"), reference_rows=1000, window_rows=300))
    monitor.update(rng.normal(size=(1300, 2)))
    for _ in range(10):
        status = monitor.update(rng.normal([0.0, 1.0], 1.0, size=(60, 2)))
    signal = DecaySignal.from_drift_status(status)
    assert signal.drifted and signal.score > 0.1 and "b" in signal.reason
    assert decide(LoopPolicy(), LoopState(), Tick(signal), 0.0).action is LoopAction.RETRAIN
