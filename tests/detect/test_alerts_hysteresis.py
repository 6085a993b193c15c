"""The alert machine: fire after k high samples, hold between thresholds, resolve after m normal
samples (low score and the value back in range), warm-up, severity, and the payloads."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from foresight.detect.alerts import (
    AlertRule,
    AlertState,
    advance,
    alert_labels,
    payload,
    rfc3339,
)
from foresight.errors import ConfigError

RULE = AlertRule(
    fire_threshold=0.8, resolve_threshold=0.5, fire_after=2, resolve_after=2, critical_threshold=0.95, warmup_samples=0
)
IN_RANGE = 10.0  # the expected range in these tables is [5, 15]
OUT = 40.0


def _run(rule: AlertRule, samples: list[tuple[float, float] | None]) -> str:
    """Feed one series; per sample, the state after it: '.' idle, 'F' fired now, 'f' firing,
    'R' resolved now. ``None`` is a missing sample."""
    state = AlertState.init(1)
    marks = ""
    for i, sample in enumerate(samples):
        valid = np.array([sample is not None])
        score, value = sample if sample is not None else (0.0, math.nan)
        step = advance(
            rule,
            state,
            valid,
            np.array([score]),
            np.array([value]),
            np.array([float(i)]),
            np.array([5.0]),
            np.array([15.0]),
        )
        if step.fired.size:
            marks += "F"
        elif step.resolved.size:
            marks += "R"
        else:
            marks += "f" if state.firing[0] else "."
    return marks


HI, MID, LO = (0.9, OUT), (0.6, IN_RANGE), (0.1, IN_RANGE)


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        pytest.param([HI, HI, LO, LO], ".FfR", id="fire-after-2-resolve-after-2"),
        pytest.param([HI, LO, HI, LO, HI, LO], "......", id="isolated-high-samples-never-fire"),
        pytest.param([HI, HI, MID, MID, MID, LO, LO], ".FffffR", id="between-thresholds-holds"),
        pytest.param([HI, HI, LO, MID, LO, LO], ".FfffR", id="a-mid-sample-breaks-the-resolve-streak"),
        pytest.param([HI, None, HI, LO, None, LO], "..FffR", id="missing-samples-are-no-evidence"),
        pytest.param([HI, HI, (0.1, OUT), (0.1, OUT), LO, LO], ".FfffR", id="low-score-but-out-of-range-holds"),
        pytest.param([HI, HI, LO, LO, HI, HI], ".FfR.F", id="fires-again-after-resolving"),
    ],
)
def test_hysteresis_table(samples, expected):
    assert _run(RULE, samples) == expected


def test_no_alert_opens_during_warm_up():
    rule = RULE.model_copy(update={"warmup_samples": 3, "fire_after": 1})
    assert _run(rule, [HI, HI, HI, HI, LO, LO]) == "...FfR"


def test_severity_comes_from_the_peak_score_of_the_streak_and_is_kept_until_resolved():
    state = AlertState.init(3)
    scores = [np.array([0.85, 0.99, 0.85]), np.array([0.97, 0.85, 0.85]), np.array([0.1, 0.1, 0.99])]
    values = np.array([OUT, OUT, OUT])
    for i, s in enumerate(scores):
        advance(RULE, state, np.ones(3, bool), s, values, np.full(3, float(i)), np.full(3, 5.0), np.full(3, 15.0))
    # row 0: peak 0.97 in its streak -> critical; row 1: 0.99 first -> critical;
    # row 2: fired at 0.85 (warning), a later 0.99 raises the peak, not the severity
    assert state.severity.tolist() == [2, 2, 1]
    assert state.score.tolist() == [0.97, 0.99, 0.99]
    assert state.starts_at.tolist() == [0.0, 0.0, 0.0]


def test_rows_are_independent_and_the_state_round_trips():
    state = AlertState.init(2)
    advance(
        RULE,
        state,
        np.array([True, False]),
        np.array([0.9, 0.9]),
        np.array([OUT, OUT]),
        np.zeros(2),
        np.full(2, 5.0),
        np.full(2, 15.0),
    )
    again = AlertState.from_dict(state.to_dict())
    assert again.streak.tolist() == [1, 0] and again.seen.tolist() == [1, 0]
    assert np.array_equal(again.sent_at, state.sent_at)


def test_payload_of_a_firing_alert_is_alertmanagers_postable_alert():
    rule = AlertRule(resend_interval_s=30.0)
    state = AlertState.init(1)
    advance(
        rule.model_copy(update={"warmup_samples": 0}),
        state,
        np.ones(1, bool),
        np.array([0.9]),
        np.array([1e300]),
        np.array([1000.0]),
        np.array([-1.0]),
        np.array([1.0]),
    )
    assert state.firing[0]
    labels = alert_labels({"__name__": "http_latency", "job": "api", "severity": "mine"}, "http_latency", "Anomaly")
    p = payload(rule, state, 0, labels, now=1010.0, detector="surprise", generator_url="http://prom/graph")
    assert p["labels"] == {
        "job": "api",
        "metric": "http_latency",
        "query": "http_latency",
        "alertname": "Anomaly",
        "severity": "warning",
    }
    assert p["startsAt"] == rfc3339(1000.0) and p["endsAt"] == rfc3339(1010.0 + 4 * 30.0)
    assert p["annotations"]["score"] == "0.900" and p["annotations"]["expected_range"] == "-1 to 1"
    assert p["annotations"]["value"] == "1e+300" and "outside" in p["annotations"]["summary"]
    assert p["generatorURL"] == "http://prom/graph"


def test_payload_of_a_resolved_alert_ends_now_and_never_before_it_started():
    state = AlertState.init(1)
    state.starts_at[0], state.severity[0], state.value[0] = 500.0, 1, 3.0
    p = payload(AlertRule(), state, 0, {"alertname": "A"}, now=400.0, detector="ewma")
    assert p["endsAt"] == p["startsAt"] == rfc3339(500.0)
    assert p["annotations"]["expected_range"] == "unknown" and "generatorURL" not in p


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"resolve_threshold": 0.9, "fire_threshold": 0.8}, ConfigError),
        ({"critical_threshold": 0.7, "fire_threshold": 0.8}, ConfigError),
        ({"fire_after": 0}, ValidationError),
        ({"resend_interval_s": 0}, ValidationError),
    ],
)
def test_impossible_rules_are_refused(changes, error):
    with pytest.raises(error):
        AlertRule(**changes)
