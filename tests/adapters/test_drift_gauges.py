"""Drift gauges read back the way Prometheus scrapes them (generate_latest)."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from foresight.adapters.drift_gauges import DriftGauges
from foresight.drift.monitor import DriftMonitor, MonitorSpec
from foresight.drift.report import drift_report


def _families(registry: CollectorRegistry) -> dict[str, dict[tuple[str, ...], float]]:
    """Each drift family by name: its samples keyed by their label values (model, feature[, stat])."""
    text = generate_latest(registry).decode()
    return {family.name: {tuple(s.labels[k] for k in ("model", "feature", "stat") if k in s.labels): s.value
                          for s in family.samples}
            for family in text_string_to_metric_families(text)}


def test_report_statistics_and_verdicts_are_separate_gauges() -> None:
    rng = np.random.default_rng(0)
    report = drift_report({"x": rng.normal(size=2000), "y": rng.normal(size=2000)},
                          {"x": rng.normal(size=2000), "y": rng.normal(1.0, 1.0, size=2000)})
    registry = CollectorRegistry()
    DriftGauges(registry).publish("churn", report)
    families = _families(registry)
    assert families["foresight_feature_drifted"] == {("churn", "y"): 1.0, ("churn", "x"): 0.0}
    statistics = families["foresight_feature_drift_statistic"]
    assert statistics[("churn", "y", "wasserstein")] == report.features[1].stats["wasserstein"]
    assert {stat for _, _, stat in statistics} == {"ks", "ks_p", "wasserstein", "psi", "kl", "js"}
    assert families["foresight_feature_drift_flagged"] == {}  # a batch report has no per-step flag


def test_monitor_status_becomes_gauges_per_model() -> None:
    rng = np.random.default_rng(1)
    monitor = DriftMonitor(MonitorSpec(features=("a", "b"), reference_rows=300, window_rows=100))
    status = monitor.update(rng.normal(size=(400, 2)))
    registry = CollectorRegistry()
    gauges = DriftGauges(registry)
    gauges.publish("m1", status)
    gauges.publish("m2", status)
    families = _families(registry)
    assert families["foresight_feature_drift_statistic"][("m1", "a", "ks_p")] == status.per_feature["a"].value
    assert families["foresight_feature_drift_flagged"][("m2", "b")] == 0.0
    assert families["foresight_feature_drifted"] == {(m, f): 0.0 for m in ("m1", "m2") for f in ("a", "b")}
