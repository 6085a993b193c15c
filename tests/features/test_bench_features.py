"""``foresight bench features`` end to end on a tiny load: every figure present and consistent (not timed)."""

from __future__ import annotations

import pytest
from features.conftest import redis_up, require_feast
from features.test_stream_ingest import nats_up
from conftest import require_service

pytestmark = pytest.mark.integration

KEYS = ("online_p50_ms_1", "online_p99_ms_1", "online_p50_ms_100", "online_p99_ms_100", "freshness_p50_s",
        "freshness_p99_s", "events_per_s", "server_p50_ms_1", "server_p99_ms_100", "online_cpu_ms_1", "online_cpu_ms_100",
        "online_floor_p50_ms", "online_floor_cpu_ms", "ingest_cpu_us_per_event")


def test_bench_features_small() -> None:
    require_feast()
    require_service(redis_up(), "Redis on 127.0.0.1:6379")
    require_service(nats_up(), "NATS JetStream on 127.0.0.1:4222")
    from foresight.bench.features import bench_features

    figures = bench_features(entities=200, reads=10, rate=200.0, duration_s=1.0, backlog=400)
    for key in KEYS:
        assert isinstance(figures[key], float) and figures[key] > 0, key
    assert figures["online_p50_ms_100"] <= figures["online_p99_ms_100"]
    assert figures["sustained_events"] == 200 and figures["rejected"] == {}
    assert figures["served_features_of_card_0"] == 10  # the batch view materialised, the streamed one ingested
