"""Drift gauges read back the way Prometheus scrapes them (generate_latest)."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from foresight.drift.exporter import DriftGauges
from foresight.drift.monitor import DriftMonitor, MonitorSpec
from foresight.drift.report import drift_report


def _samples(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    text = generate_latest(registry).decode()
    return {
        (s.labels["model"], s.labels["feature"], s.labels["stat"]): s.value
        for family in text_string_to_metric_families(text) if family.name == "foresight_feature_drift"
        for s in family.samples
    }


def test_report_statistics_become_gauges() -> None:
    rng = np.random.default_rng(0)
    report = drift_report({"x": rng.normal(size=2000), "y": rng.normal(size=2000)},
                          {"x": rng.normal(size=2000), "y": rng.normal(1.0, 1.0, size=2000)})
    registry = CollectorRegistry()
    DriftGauges(registry).publish("churn", report)
    samples = _samples(registry)
    assert samples[("churn", "y", "drifted")] == 1.0
    assert samples[("churn", "x", "drifted")] == 0.0
    assert samples[("churn", "y", "wasserstein")] == report.features[1].stats["wasserstein"]
    assert {stat for _, _, stat in samples} == {"ks", "ks_p", "wasserstein", "psi", "kl", "js", "drifted"}


def test_monitor_status_becomes_gauges_per_model() -> None:
    rng = np.random.default_rng(1)
    monitor = DriftMonitor(MonitorSpec(features=("a", "b"), reference_rows=300, window_rows=100))
    status = monitor.update(rng.normal(size=(400, 2)))
    registry = CollectorRegistry()
    gauges = DriftGauges(registry)
    gauges.publish("m1", status)
    gauges.publish("m2", status)
    samples = _samples(registry)
    assert samples[("m1", "a", "ks_p")] == status.per_feature["a"].value
    assert samples[("m2", "b", "flagged")] == 0.0
