"""A demo run end to end on a small cluster: summary, report, audit log, and Ctrl-C."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from foresight.demo.runner import DemoOptions, run_demo


def _audit_rows(path: Path) -> int:
    """The HPA controller's audit records (the canary controller writes its own beside them)."""
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from foresight_audit where controller = 'hpa'").fetchone()[0])


def test_demo_run_writes_report_audit_and_summary(tmp_path: Path) -> None:
    opts = DemoOptions(duration_s=4 * 3600, services=5, seed=3, out_dir=tmp_path)
    result = run_demo(opts)
    assert not result.interrupted
    assert result.simulated_s == pytest.approx(4 * 3600)
    page = result.report.read_text()
    assert "plotly" in page and "gateway" in page and "Summary" in page
    # one audit record per workload per 15 s period
    assert _audit_rows(tmp_path / "audit.db") == 5 * (4 * 3600 // 15)
    data = result.to_json()
    for key in ("slo_violation_minutes", "replica_minutes", "scaling_actions", "report"):
        assert key in data
    assert data["replica_minutes"] > 0
    assert data["scaling_actions"] == sum(s["scaling_actions"] for s in data["services"])


def test_demo_releases_promote_the_good_model_and_roll_back_the_bad_one(tmp_path: Path) -> None:
    result = run_demo(DemoOptions(duration_s=12 * 3600, services=6, seed=0, out_dir=tmp_path))
    outcomes = {r["version"]: (r["good"], r["outcome"]) for r in result.to_json()["releases"]}
    assert outcomes == {"v2": (True, "promoted"), "v3": (False, "rolled back")}
    page = result.report.read_text()
    assert "Model releases" in page and "rolled back" in page
    with sqlite3.connect(tmp_path / "audit.db") as db:
        rollout_rows = db.execute("select count(*) from foresight_audit where controller like 'rollout/%'").fetchone()[0]
    assert rollout_rows == sum(len(t.steps) for t in result.releases)


def test_demo_is_deterministic_per_seed(tmp_path: Path) -> None:
    a = run_demo(DemoOptions(duration_s=2 * 3600, services=4, seed=7, out_dir=tmp_path / "a")).to_json()
    b = run_demo(DemoOptions(duration_s=2 * 3600, services=4, seed=7, out_dir=tmp_path / "b")).to_json()
    for key in ("slo_violation_minutes", "replica_minutes", "scaling_actions", "services"):
        assert a[key] == b[key]


def test_interrupted_demo_keeps_its_audit_log_and_report(tmp_path: Path) -> None:
    calls = []

    def interrupt(sim, anomalies, recent):  # the user presses Ctrl-C an hour in
        calls.append(sim.now)
        if sim.now >= 3600:
            raise KeyboardInterrupt

    result = run_demo(DemoOptions(duration_s=86400, services=4, seed=1, out_dir=tmp_path), progress=interrupt,
                      progress_every=40)
    assert result.interrupted
    assert result.simulated_s == pytest.approx(3600)
    assert result.report.exists() and "interrupted" in result.report.read_text()
    assert _audit_rows(tmp_path / "audit.db") == 4 * (3600 // 15)
