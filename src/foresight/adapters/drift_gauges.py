"""Drift as Prometheus gauges: statistics, verdicts and flags, each under a name of its own.

An adapter: the drift package itself never imports ``prometheus_client``. Three series, because a statistic
and a 0/1 verdict under one name cannot be aggregated or alerted on without first filtering by a
label (a ``max`` over a feature's series would mix a PSI of 0.3 with a verdict of 1):

- ``foresight_feature_drift_statistic{model, feature, stat}``: each statistic of each compared
  feature; ``stat`` is ``wasserstein``, ``ks``, ``ks_p``, ``psi``, ... from a batch
  :class:`~foresight.drift.report.DriftReport`, ``ks_p`` and ``ks`` from a streaming
  :class:`~foresight.drift.monitor.DriftStatus`. Non-finite values are published as they are
  (Prometheus has +Inf and NaN);
- ``foresight_feature_drifted{model, feature}``: 1 while the feature is judged drifted (the
  report's verdict per feature; the monitor's verdict, with hysteresis, on each of its features);
- ``foresight_feature_drift_flagged{model, feature}``: the monitor only, 1 when this step flagged
  the feature (before hysteresis).

A :class:`DriftGauges` owns the three on a given registry (a gauge can be registered once per registry).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from foresight.drift.monitor import DriftStatus
from foresight.drift.report import DriftReport

__all__ = ["DriftGauges"]


class DriftGauges:
    """The drift gauges on ``registry`` (module docstring); call :meth:`publish` after each report or step."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.statistic = Gauge(
            "foresight_feature_drift_statistic",
            "Drift statistic of a model's input or output feature, current window vs reference.",
            ["model", "feature", "stat"],
            registry=registry,
        )
        self.drifted = Gauge(
            "foresight_feature_drifted",
            "1 while the model's feature is judged drifted, 0 otherwise.",
            ["model", "feature"],
            registry=registry,
        )
        self.flagged = Gauge(
            "foresight_feature_drift_flagged",
            "1 when the streaming monitor's last step flagged the feature (before hysteresis), 0 otherwise.",
            ["model", "feature"],
            registry=registry,
        )

    def publish(self, model: str, result: DriftReport | DriftStatus) -> None:
        """Set every statistic and verdict of every compared feature of ``result`` for ``model``."""
        if isinstance(result, DriftReport):
            for f in result.compared:
                for stat, value in f.stats.items():
                    self.statistic.labels(model, f.name, stat).set(value)
                self.drifted.labels(model, f.name).set(1.0 if f.drifted else 0.0)
            return
        for name, feature in result.per_feature.items():
            self.statistic.labels(model, name, feature.stat).set(feature.value)
            self.statistic.labels(model, name, "ks").set(feature.statistic)
            self.flagged.labels(model, name).set(1.0 if feature.flagged else 0.0)
            self.drifted.labels(model, name).set(1.0 if result.drifted else 0.0)
