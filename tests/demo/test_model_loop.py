"""The demo's model loop: drift at a known time is caught, the retrained model is gated, canaried, promoted."""

from __future__ import annotations

import time

from foresight.adapters.audit_log import AuditLog
from foresight.demo.model_loop import model_loop_figures, model_loop_html
from foresight.runtime.model_loop import demo_model_loop


def _run(seed: int = 0, duration_s: float = 86400.0, until_s: float | None = None):
    audit = AuditLog("sqlite://")
    demo = demo_model_loop(duration_s, seed, audit)
    new_steps = []
    for now in range(0, int(duration_s if until_s is None else until_s) + 1, 300):
        new_steps.extend(demo.advance_to(float(now)))
    return demo, audit, new_steps


def test_drift_is_caught_retrained_and_promoted_within_the_hour() -> None:
    start = time.perf_counter()
    demo, audit, new_steps = _run()
    assert time.perf_counter() - start < 5.0
    summary = demo.to_json()
    assert new_steps == demo.steps  # advance_to returns each step exactly once
    assert summary["outcome"] == "v2 promoted" and summary["retrains"] == 1
    assert 0 < summary["detection_delay_minutes"] <= 30
    assert summary["registration_retries"] >= 1  # the injected registry outage was held, then retried
    acc = summary["champion_accuracy"]
    assert acc["before_drift"] > 0.85 and acc["lowest_after_drift"] < 0.75 and acc["last_hour"] > 0.8
    whats = [s.what for s in demo.steps]
    for expected in ("drift", "retrain", "hold", "gate", "start_canary", "canary", "promote"):
        assert expected in whats, expected
    assert whats.index("drift") <= whats.index("retrain") < whats.index("gate") < whats.index("promote")
    versions = summary["versions"]
    assert versions[1]["aliases"] == ["champion"] and versions[1]["gate"].startswith("passed")
    assert versions[0]["data_version"] != versions[1]["data_version"]
    reasons = [r.reason for r in audit.query(target="fraud-scorer", controller="feedback")]
    assert any(r.startswith("retrain: PSI of x3") for r in reasons)
    assert any(r.startswith("promote:") for r in reasons)


def test_nothing_happens_before_the_drift_and_runs_are_deterministic() -> None:
    short, _, _ = _run(seed=3, until_s=0.39 * 86400)  # the inputs drift at 40% of the day
    assert [s.what for s in short.steps] == ["register"]
    a, _, _ = _run(seed=5)
    b, _, _ = _run(seed=5)
    assert [(s.time_s, s.what) for s in a.steps] == [(s.time_s, s.what) for s in b.steps]


def test_report_fragment_has_both_figures_and_the_events() -> None:
    demo, _, _ = _run(seed=1)
    figures = model_loop_figures(demo)
    assert len(figures) == 2 and figures[0].layout.shapes  # threshold and event lines
    fragment = model_loop_html(demo)
    assert "model-loop-0" in fragment and "promote" in fragment and "<script src" not in fragment


def test_a_drift_after_the_stop_is_not_reached_not_undetected() -> None:
    """Ctrl-C at 12.8 h of a one-week run: the drift at 67.2 h never happened."""
    stopped, _, _ = _run(duration_s=7 * 86400.0, until_s=12.8 * 3600)
    assert stopped.drift_status == "not reached" and stopped.to_json()["drift"] == "not reached"
    assert "not reached" in model_loop_html(stopped) and "not detected" not in model_loop_html(stopped)
    just_after = demo_model_loop(86400.0, 0, None)
    just_after.advance_to(just_after.drift_at_s + 120.0)  # two minutes on: no tick has seen it yet
    assert just_after.drift_status == "not detected"
    assert just_after.drift_words().endswith("not detected in the 2 min the run went on")
    done, _, _ = _run(seed=1)
    assert done.drift_status == "detected" and "detected after" in done.drift_words()
