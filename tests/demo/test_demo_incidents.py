"""The demo's injected faults cascade through the call graph and come out as incidents naming the fault."""

from __future__ import annotations

from pathlib import Path

from foresight.adapters.audit_log import AuditLog
from foresight.demo.runner import DemoOptions, run_demo


def test_a_latency_regression_becomes_one_incident_naming_the_slowed_service(tmp_path: Path) -> None:
    result = run_demo(DemoOptions(duration_s=6 * 3600, services=6, seed=0, out_dir=tmp_path))
    [regression] = [f for f in result.fault_incidents if f.fault == "latency-regression"]
    assert regression.incident is not None and regression.named, regression
    assert regression.opened_after_s is not None and regression.opened_after_s < 600.0
    incident = next(i for i in result.incidents if i.id == regression.incident)
    assert regression.place in incident.services and len(incident.alerts) > 1  # it reached the callers
    assert set(incident.suppressed) == set(incident.alerts) - {
        a for a in incident.alerts if a.startswith(f"anomaly/{regression.place}/")}  # the callers' are explained

    report = result.report.read_text()
    assert "Incidents: injected fault &rarr; incident" in report and regression.incident in report
    summary = result.to_json()["incidents"]
    assert summary["count"] == len(result.incidents) and summary["faults"][-1]["fault"] == "latency-regression"
    with AuditLog(result.audit) as audit:
        reasons = [r.reason for r in audit.query(controller="incidents", target=regression.incident)]
    assert reasons[0].startswith(f"opened incident {regression.incident}: root cause {regression.place}")
