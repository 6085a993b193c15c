"""Feature monitoring and the streaming ingest as Prometheus gauges, for Grafana and alert rules.

- ``foresight_feature_view_freshness_seconds{view}``: age of the view's newest online value
  (+Inf when it has none), beside ``foresight_feature_view_freshness_slo_seconds{view}`` so an
  alert rule is ``freshness > slo`` without restating the SLO;
- ``foresight_feature_missing_ratio{view, feature}``: share of sampled entities served None/NaN;
- ``foresight_feature_view_healthy{view}``: 1 while the view has no problem;
- ``foresight_feature_ingest_events{view, outcome}``: events of the streaming ingest so far,
  ``accepted`` or a rejection reason (a gauge set from the ingest's counters, which live in the
  pure core);
- drift of online values against the training reference goes through
  :class:`foresight.adapters.drift_gauges.DriftGauges`, model label ``featureview/<view>``.
"""

from __future__ import annotations

import math

from prometheus_client import CollectorRegistry, Gauge

from foresight.adapters.drift_gauges import DriftGauges
from foresight.features.ingest import IngestStats
from foresight.features.monitor import ViewHealth

__all__ = ["FeatureGauges"]


class FeatureGauges:
    """The feature gauges on ``registry``; :meth:`publish` after each monitoring pass, :meth:`publish_ingest` per batch."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.freshness = Gauge(
            "foresight_feature_view_freshness_seconds", "Age of the feature view's newest online value.", ["view"],
            registry=registry,
        )
        self.slo = Gauge(
            "foresight_feature_view_freshness_slo_seconds", "Freshness SLO of the feature view.", ["view"],
            registry=registry,
        )
        self.missing = Gauge(
            "foresight_feature_missing_ratio", "Share of sampled entities served no value (None or NaN).",
            ["view", "feature"], registry=registry,
        )
        self.healthy = Gauge(
            "foresight_feature_view_healthy", "1 while the feature view is fresh, complete and undrifted.", ["view"],
            registry=registry,
        )
        self.ingest = Gauge(
            "foresight_feature_ingest_events", "Events of the streaming ingest by outcome.", ["view", "outcome"],
            registry=registry,
        )
        self.drift = DriftGauges(registry)

    def publish(self, health: ViewHealth) -> None:
        """Set one view's gauges from its latest :class:`ViewHealth`."""
        self.freshness.labels(health.view).set(math.inf if health.freshness_s is None else health.freshness_s)
        self.slo.labels(health.view).set(health.slo_s)
        for feature, rate in health.missing_rate.items():
            self.missing.labels(health.view, feature).set(rate)
        self.healthy.labels(health.view).set(0.0 if health.problems else 1.0)
        if health.drift is not None:
            self.drift.publish(f"featureview/{health.view}", health.drift)

    def publish_ingest(self, view: str, stats: IngestStats) -> None:
        """Set the ingest's event counts by outcome."""
        self.ingest.labels(view, "accepted").set(stats.accepted)
        for reason, count in stats.rejected.items():
            self.ingest.labels(view, reason).set(count)
