"""Gate policies: thresholds, champion tolerance, clear reasons; gated promotion on the registry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foresight.errors import ConfigError
from foresight.adapters.local_registry import LocalRegistry
from foresight.registry import CHALLENGER, CHAMPION, GATE_TAG, GatePolicy, evaluate_gates, promote


def test_a_blocked_gate_names_metric_value_and_threshold() -> None:
    result = evaluate_gates(GatePolicy.parse(["accuracy>=0.9"]), {"accuracy": 0.874}, None)
    assert not result.passed
    assert result.reason == "accuracy 0.874 < threshold 0.9"


def test_lower_is_better_metrics() -> None:
    policy = GatePolicy.parse(["p95_ms<=50"], tolerances={"p95_ms": 5})
    assert evaluate_gates(policy, {"p95_ms": 48}, {"p95_ms": 44}).passed
    blocked = evaluate_gates(policy, {"p95_ms": 49.5}, {"p95_ms": 40})
    assert not blocked.passed and "worse than the champion 40 by 9.5" in blocked.reason


def test_a_missing_metric_blocks() -> None:
    result = evaluate_gates(GatePolicy.parse(["accuracy>=0.9"]), {"f1": 0.99}, None)
    assert not result.passed and "accuracy missing" in result.reason


def test_no_champion_skips_the_comparison_and_says_so() -> None:
    result = evaluate_gates(GatePolicy.parse([], tolerances={"accuracy": 0.01}), {"accuracy": 0.5}, None)
    assert result.passed and "no champion" in result.reason


@pytest.mark.parametrize("rule", ["accuracy>0.9", "accuracy >= high", ">=0.9", "accuracy=>0.9"])
def test_malformed_rules_are_config_errors(rule: str) -> None:
    with pytest.raises(ConfigError, match="gate"):
        GatePolicy.parse([rule])


@given(value=st.floats(0, 1), champion=st.floats(0, 1), tolerance=st.floats(0, 0.5), threshold=st.floats(0, 1))
def test_verdict_is_the_conjunction_of_both_checks(value: float, champion: float, tolerance: float, threshold: float) -> None:
    policy = GatePolicy.parse([f"accuracy>={threshold!r}"], tolerances={"accuracy": tolerance})
    result = evaluate_gates(policy, {"accuracy": value}, {"accuracy": champion})
    assert result.passed == (value >= threshold and champion - value <= tolerance + 1e-12)
    assert len(result.checks) == 2


def _reg(tmp_path, *accuracies: float) -> LocalRegistry:
    reg = LocalRegistry(tmp_path / "r.db")
    for acc in accuracies:
        reg.register("m", params={}, metrics={"accuracy": acc}, code_commit="unknown", data_version="x", seed=0)
    return reg


def test_promote_moves_the_champion_only_through_the_gate(tmp_path) -> None:
    reg = _reg(tmp_path, 0.93, 0.88, 0.925)
    policy = GatePolicy.parse(["accuracy>=0.9"], tolerances={"accuracy": 0.01})
    assert promote(reg, "m", 1, policy).promoted
    blocked = promote(reg, "m", 2, policy)
    assert not blocked.promoted and blocked.previous_champion == 1
    assert reg.get_alias("m", CHAMPION).version == 1
    assert reg.get("m", 2).tags[GATE_TAG] == "blocked: " + blocked.gate.reason
    reg.set_alias("m", CHALLENGER, 3)
    assert promote(reg, "m", 3, policy).promoted  # 0.925 is within 0.01 of 0.93
    assert reg.get_alias("m", CHAMPION).version == 3 and reg.get_alias("m", CHALLENGER) is None


def test_promote_with_re_evaluated_champion_metrics(tmp_path) -> None:
    reg = _reg(tmp_path, 0.95, 0.90)
    policy = GatePolicy.parse(["accuracy>=0.85"], tolerances={"accuracy": 0.01})
    promote(reg, "m", 1, policy)
    assert not promote(reg, "m", 2, policy, dry_run=True).promoted  # registered 0.95 vs 0.90
    # after drift the champion only reaches 0.71 on today's data
    assert promote(reg, "m", 2, policy, champion_metrics={"accuracy": 0.71}).promoted


def test_a_candidate_better_than_the_champion_is_called_better_not_within() -> None:
    policy = GatePolicy.parse(["accuracy>=0.6"], tolerances={"accuracy": 0.01})
    better = evaluate_gates(policy, {"accuracy": 0.8617}, {"accuracy": 0.675})
    assert better.passed and "accuracy 0.8617 better than the champion 0.675" in better.reason
    assert "within" not in better.reason
    slightly_worse = evaluate_gates(policy, {"accuracy": 0.925}, {"accuracy": 0.93})
    assert slightly_worse.passed
    assert "accuracy 0.925 is worse than the champion 0.93 by 0.005, within the tolerance 0.01" in slightly_worse.reason
    assert "equal to the champion 0.93" in evaluate_gates(policy, {"accuracy": 0.93}, {"accuracy": 0.93}).reason
    lower = GatePolicy.parse(["p95_ms<=50"], tolerances={"p95_ms": 5})
    assert "p95_ms 40 better than the champion 44" in evaluate_gates(lower, {"p95_ms": 40}, {"p95_ms": 44}).reason


def test_a_non_finite_metric_is_named_as_such_not_as_missing() -> None:
    result = evaluate_gates(GatePolicy.parse(["accuracy>=0.9"]), {"accuracy": float("nan")}, None)
    assert not result.passed and result.reason == "accuracy is nan in the candidate's metrics, not a finite number (needs >= 0.9)"
