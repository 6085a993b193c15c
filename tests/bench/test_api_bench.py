"""``foresight bench api``: a short run against a real in-process server gives figures for every route."""

from __future__ import annotations

from foresight.bench.api import ROUTES, bench_api


def test_bench_api_measures_every_route_on_kept_alive_connections() -> None:
    figures = bench_api(clients=3, rate_per_client=20.0, duration_s=1.5, services=4, warmup_s=0.0, load_warmup_s=0.5)
    assert figures["errors"] == [] and figures["clients"] == 3
    routes = figures["routes"]
    assert set(routes) == set(ROUTES)  # type: ignore[arg-type]
    for f in routes.values():  # type: ignore[attr-defined]
        assert f["requests"] > 0 and 0 < f["p50_ms"] <= f["p95_ms"] <= f["p99_ms"]
    assert figures["requests"] == sum(f["requests"] for f in routes.values())  # type: ignore[attr-defined]
    assert 0 < figures["requests_per_s"] <= 3 * 20.0 * 1.2  # paced: about clients x rate, never a burst
    assert figures["p50_ms"] <= figures["p99_ms"]  # type: ignore[operator]
    assert figures["rss_after_warmup_mib"] > 10 and figures["rss_at_end_mib"] > 10  # type: ignore[operator]
    growth = 100 * (figures["rss_at_end_mib"] - figures["rss_after_warmup_mib"]) / figures["rss_after_warmup_mib"]  # type: ignore[operator]
    assert abs(figures["rss_growth_pct"] - growth) < 0.5  # type: ignore[operator]
