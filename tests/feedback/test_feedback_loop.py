"""The loop's driver on the local registry: audited steps, gates, outages kept and retried, canaries."""

from __future__ import annotations

from typing import Any

import numpy as np

from foresight.clock import ManualClock
from foresight.adapters.audit_log import AuditLog
from foresight.errors import ServiceUnavailable
from foresight.feedback import (
    CanaryEnded, Candidate, DecaySignal, FeedbackLoop, LoopPolicy,
)
from foresight.adapters.local_registry import LocalRegistry
from foresight.registry import CHALLENGER, CHAMPION
from foresight.runtime.canary import RolloutCanary
from foresight.sim.canary import VersionBehaviour

DRIFT = DecaySignal(True, 0.4, "PSI 0.4 > 0.2")
CALM = DecaySignal(False, 0.01, "")


class ScriptedCanary:
    """A canary whose outcome the test chooses, after ``intervals`` looks (the Canary port)."""

    def __init__(self, promote: bool, intervals: int = 2) -> None:
        self.promote, self.intervals, self.started, self.looks = promote, intervals, [], 0

    def start(self, version: int, now_s: float) -> None:
        self.started.append(version)
        self.looks = 0

    def advance_to(self, now_s: float) -> CanaryEnded | None:
        self.looks += 1
        if self.looks < self.intervals:
            return None
        return CanaryEnded(self.promote, "promote: all metrics safe" if self.promote else "rollback: errors x5")


class FlakyRegistry(LocalRegistry):
    """The local registry with an outage: the first ``failures`` registrations raise ServiceUnavailable."""

    def __init__(self, *args: Any, failures: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures

    def register(self, *args: Any, **kwargs: Any):
        if self.failures > 0:
            self.failures -= 1
            raise ServiceUnavailable("MLflow at http://mlflow:5000: register failed: connection refused")
        return super().register(*args, **kwargs)


def _retrain(accuracy: float):
    def retrain(now: float) -> Candidate:
        return Candidate(model={"trained_at": now}, params={"C": 1.0}, metrics={"accuracy": accuracy},
                         data_version="abc", seed=1, champion_metrics={"accuracy": 0.7})
    return retrain


def _setup(tmp_path, accuracy=0.9, promote=True, failures=0, **policy: Any):
    clock = ManualClock(0.0)
    registry = FlakyRegistry(tmp_path / "r.db", failures=0, clock=clock)
    v1 = registry.register("m", params={}, metrics={"accuracy": 0.93}, code_commit="c", data_version="old", seed=0)
    registry.set_alias("m", CHAMPION, v1.version)
    registry.failures = failures  # the outage starts now
    audit = AuditLog("sqlite://")
    canary = ScriptedCanary(promote)
    promoted: list[int] = []
    loop = FeedbackLoop("m", LoopPolicy(**policy), registry, _retrain(accuracy), canary, clock, audit=audit,
                        on_promote=lambda v, c: promoted.append(v))
    return loop, clock, registry, audit, canary, promoted


def test_drift_to_promotion_every_step_audited(tmp_path) -> None:
    loop, clock, registry, audit, canary, promoted = _setup(tmp_path)
    steps = loop.tick(DRIFT, 0.7)
    assert [s.action for s in steps] == ["retrain", "register", "gate", "start_canary"]
    assert registry.get_alias("m", CHALLENGER).version == 2
    assert registry.get("m", 2).parent == 1 and registry.get("m", 2).tags["foresight.gate"].startswith("passed")
    clock.advance(60)
    assert [s.action for s in loop.tick(DRIFT, 0.7)] == ["canary_step"]
    clock.advance(60)
    assert [s.action for s in loop.tick(DRIFT, 0.7)] == ["canary_step", "promote"]
    assert registry.get_alias("m", CHAMPION).version == 2 and registry.get_alias("m", CHALLENGER) is None
    assert promoted == [2]
    records = audit.query(target="m", controller="feedback")
    assert [r.reason.split(":")[0] for r in records] == [
        "retrain", "register", "gate", "start_canary", "canary_step", "canary_step", "promote"]
    assert records[0].inputs["drift_score"] == 0.4 and "PSI 0.4 > 0.2" in records[0].reason


def test_a_blocked_gate_keeps_the_champion_and_says_why(tmp_path) -> None:
    loop, _, registry, audit, canary, _ = _setup(tmp_path, accuracy=0.8)
    steps = loop.tick(DRIFT, 0.7)
    assert [s.action for s in steps] == ["retrain", "register", "gate", "discard"]
    assert "accuracy 0.8 < threshold 0.85" in steps[-1].reason
    assert registry.get_alias("m", CHAMPION).version == 1 and canary.started == []


def test_a_rollback_clears_the_challenger(tmp_path) -> None:
    loop, clock, registry, _, _, promoted = _setup(tmp_path, promote=False)
    loop.tick(DRIFT, 0.7)
    clock.advance(60)
    loop.tick(CALM, 0.7)
    clock.advance(60)
    assert loop.tick(CALM, 0.7)[-1].action == "rollback"
    assert registry.get_alias("m", CHALLENGER) is None and registry.get_alias("m", CHAMPION).version == 1
    assert registry.get("m", 2).tags["foresight.canary"].startswith("rolled back")
    assert promoted == []


def test_an_unreachable_registry_holds_and_retries_the_pending_registration(tmp_path) -> None:
    loop, clock, registry, audit, _, _ = _setup(tmp_path, failures=2, retry_s=60)
    steps = loop.tick(DRIFT, 0.7)
    assert [s.action for s in steps] == ["retrain", "register", "hold"]
    assert steps[1].error and "connection refused" in steps[1].error
    pending = loop.pending
    clock.advance(30)
    assert loop.tick(DRIFT, 0.7) == []  # waiting for the retry time; no second retrain
    clock.advance(30)
    assert [s.action for s in loop.tick(DRIFT, 0.7)] == ["register", "hold"]  # 2nd failure, back-off 120 s
    clock.advance(120)
    assert [s.action for s in loop.tick(DRIFT, 0.7)] == ["register", "gate", "start_canary"]
    assert loop.pending is pending  # the same trained candidate, never lost or retrained
    assert [v.version for v in registry.list_versions("m")] == [1, 2]
    errors = [r for r in audit.query(controller="feedback") if r.error]
    assert len(errors) == 2


def test_a_crashing_retrain_is_recorded_and_the_loop_goes_on(tmp_path) -> None:
    loop, clock, *_ = _setup(tmp_path, cooldown_s=600)

    def broken(now: float) -> Candidate:
        raise ValueError("training data empty")

    loop.retrain = broken
    steps = loop.tick(DRIFT, 0.7)
    assert [s.action for s in steps] == ["retrain", "discard"] and "training data empty" in steps[0].error
    clock.advance(60)
    assert [s.action for s in loop.tick(DRIFT, 0.7)] == ["suppress"]  # cool-down: no storm of retries


def test_rollout_canary_promotes_a_better_model_and_rejects_a_worse_one() -> None:
    def better(v: int):
        return VersionBehaviour(accuracy=0.70), VersionBehaviour(accuracy=0.90)

    def worse(v: int):
        return VersionBehaviour(accuracy=0.90), VersionBehaviour(accuracy=0.70)

    outcomes = {}
    for name, behaviours in (("better", better), ("worse", worse)):
        canary = RolloutCanary("m", behaviours, seed=3)
        canary.start(2, 0.0)
        result = None
        for minute in range(1, 181):
            result = canary.advance_to(60.0 * minute)
            if result is not None:
                break
        outcomes[name] = result
        assert np.all(np.diff([s.time_s for s in canary.steps]) == 60.0)
    assert outcomes["better"].promoted and not outcomes["worse"].promoted
