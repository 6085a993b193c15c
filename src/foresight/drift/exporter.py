"""Drift statistics as Prometheus gauges: ``foresight_feature_drift{model, feature, stat}``.

The one place ``prometheus_client`` enters the drift package. A :class:`DriftGauges` owns the
gauge on a given registry (a gauge can be registered once per registry), and publishes either a
batch :class:`~foresight.drift.report.DriftReport` or a streaming
:class:`~foresight.drift.monitor.DriftStatus`: each statistic of each feature as one sample
(``stat`` = ``wasserstein``, ``ks``, ``psi``, ...), plus ``stat="drifted"`` (0/1, the report's
verdict) or, from the monitor, ``stat="ks_p"``, ``stat="ks"`` and ``stat="flagged"`` (0/1, this step's flag before
hysteresis; the monitor's verdict is the status's ``drifted``). Non-finite
values are published as they are (Prometheus has +Inf and NaN).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from foresight.drift.monitor import DriftStatus
from foresight.drift.report import DriftReport

__all__ = ["DriftGauges"]


class DriftGauges:
    """``foresight_feature_drift`` on ``registry``; call :meth:`publish` after each report or step."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.gauge = Gauge(
            "foresight_feature_drift",
            "Drift statistic of a model's input or output feature, current window vs reference.",
            ["model", "feature", "stat"],
            registry=registry,
        )

    def publish(self, model: str, result: DriftReport | DriftStatus) -> None:
        """Set every statistic of every compared feature of ``result`` for ``model``."""
        if isinstance(result, DriftReport):
            for f in result.compared:
                for stat, value in f.stats.items():
                    self.gauge.labels(model, f.name, stat).set(value)
                self.gauge.labels(model, f.name, "drifted").set(1.0 if f.drifted else 0.0)
            return
        for name, feature in result.per_feature.items():
            self.gauge.labels(model, name, feature.stat).set(feature.value)
            self.gauge.labels(model, name, "ks").set(feature.statistic)
            self.gauge.labels(model, name, "flagged").set(1.0 if feature.flagged else 0.0)
