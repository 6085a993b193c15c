"""A demo run end to end on a small cluster: summary, report, audit log, and Ctrl-C."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from foresight.adapters.audit_log import AuditLog
from foresight.control.audit import AuditRecord
from foresight.demo.runner import DemoOptions, run_demo
from foresight.errors import ConfigError


def _audit(path: Path) -> list[AuditRecord]:
    """Every record of the run's audit log, read as operators and the API read it."""
    with AuditLog(path) as log:
        return log.query()


def _audit_rows(path: Path, controllers: tuple[str, ...] = ("hpa", "predictive")) -> int:
    """The scaling controllers' audit records (the canary controller writes its own beside them)."""
    return sum(1 for r in _audit(path) if r.controller in controllers)


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
    rows = Counter(r.target for r in _audit(tmp_path / "audit.db") if r.controller.startswith("rollout/"))
    releases = {f"{t.release.model}-{t.release.version}": len(t.steps) for t in result.releases}
    assert {target: rows.get(target) for target in releases} == releases
    # the model feedback loop's canary is audited beside the releases, under its own target
    assert set(rows) - set(releases) == {f"{result.model_loop.model}-v2"}


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


def test_split_runs_the_predictive_controller_beside_the_hpa_and_reports_its_forecasts(tmp_path: Path) -> None:
    result = run_demo(DemoOptions(duration_s=6 * 3600, services=4, seed=1, out_dir=tmp_path))
    assert result.controllers == {name: kind for name, kind in zip(
        result.controllers, ("hpa", "predictive", "hpa", "predictive"))}
    predictive = [n for n, c in result.controllers.items() if c == "predictive"]
    periods = 6 * 3600 // 15
    assert _audit_rows(tmp_path / "audit.db", ("hpa",)) == 2 * periods
    assert _audit_rows(tmp_path / "audit.db", ("predictive",)) == 2 * periods
    reasons = [r.reason for r in _audit(tmp_path / "audit.db") if r.controller == "predictive"]
    assert any("history too short" in r for r in reasons)  # the first two hours: the floor alone, and it says so
    assert any(r.startswith("forecast q0.95") for r in reasons)
    assert [f.service for f in result.forecasts] == predictive
    for f in result.forecasts:
        assert f.times.size > 0 and f.coverage is not None and f.coverage > 0.5
    page = result.report.read_text()
    assert "forecast vs actual" in page and "forecast-0" in page


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ConfigError, match="policy must be one of hpa, predictive, split"):
        DemoOptions(policy="magic")  # type: ignore[arg-type]
