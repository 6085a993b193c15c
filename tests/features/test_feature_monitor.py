"""Feature monitoring: freshness against each view's SLO, missing values, drift from the training reference, gauges."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from foresight.adapters.feature_gauges import FeatureGauges
from foresight.features.ingest import IngestStats
from foresight.features.monitor import view_health
from foresight.features.windows import Row


def test_stale_incomplete_and_drifted_views_are_flagged(payments) -> None:
    view = payments.view("card_activity")  # SLO 5 s
    rng = np.random.default_rng(3)
    reference = {"amount_sum": rng.normal(100, 10, 2000), "amount_max": rng.normal(50, 5, 2000)}
    same = {"amount_sum": list(rng.normal(100, 10, 500)), "amount_max": list(rng.normal(50, 5, 500))}
    values = {f.name: [1.0] * 500 for f in view.features} | same
    healthy = view_health(view, values, newest_ts=98.0, now=100.0, reference=reference)
    assert healthy.problems == () and healthy.fresh and healthy.drifted == ()

    stale = view_health(view, values, newest_ts=90.0, now=100.0, reference=reference)
    assert not stale.fresh and stale.problems == ("newest value 10.0 s old, SLO 5 s",)
    assert view_health(view, values, newest_ts=None, now=100.0).freshness_s is None

    shifted = values | {"amount_sum": list(rng.normal(130, 10, 500))}
    drifted = view_health(view, shifted, newest_ts=99.0, now=100.0, reference=reference)
    assert drifted.drifted == ("amount_sum",)

    holes = values | {"amount_max": [None] * 100 + [float("nan")] * 50 + [1.0] * 350}
    incomplete = view_health(view, holes, newest_ts=99.0, now=100.0)
    assert incomplete.missing_rate["amount_max"] == pytest.approx(0.3)
    assert incomplete.problems == ("amount_max: 30% of values missing (allowed 5%)",)

    registry = CollectorRegistry()
    gauges = FeatureGauges(registry)
    for health in (stale, drifted):
        gauges.publish(health)
    stats = IngestStats(accepted=7)
    stats.rejected["future"] += 2
    gauges.publish_ingest("card_activity", stats)
    sample = registry.get_sample_value
    assert sample("foresight_feature_view_freshness_seconds", {"view": "card_activity"}) == pytest.approx(1.0)
    assert sample("foresight_feature_view_freshness_slo_seconds", {"view": "card_activity"}) == 5.0
    assert sample("foresight_feature_view_healthy", {"view": "card_activity"}) == 0.0
    assert sample("foresight_feature_drifted", {"model": "featureview/card_activity", "feature": "amount_sum"}) == 1.0
    assert sample("foresight_feature_ingest_events", {"view": "card_activity", "outcome": "future"}) == 2.0


@pytest.mark.integration
def test_freshness_read_from_feast(feast_store) -> None:
    now = datetime.now(UTC).timestamp()
    values = {"txn_count": 1, "amount_sum": 2.0, "amount_mean": 2.0, "amount_max": 2.0, "last_merchant": 3}
    feast_store.write_rows("card_activity", [Row((1,), 0.0, int((now - 30) * 1e6), values)])
    feast_store.write_rows("card_activity", [Row((2,), 0.0, int((now - 2) * 1e6), values)])
    read = feast_store.read_view("card_activity", [{"card_id": c} for c in (1, 2, 3)])
    assert read.newest_ts == pytest.approx(now - 2, abs=1.0)
    health = view_health(feast_store.spec.view("card_activity"), read.values, read.newest_ts, time.time())
    assert health.fresh
    assert health.missing_rate["txn_count"] == pytest.approx(1 / 3)  # card 3 has nothing online
