"""``foresight bench api``: how fast ``foresight serve`` answers on reused (keep-alive) connections.

A dashboard, Prometheus and KEDA poll the API over connections they keep open, so the figure that
matters is the latency of a request on a connection that already exists, not the connection set-up.
This starts ``serve --simulate`` in this process (uvicorn in a thread, a free port, the controllers
stepping as usual), and, in a child process so that the load generator does not compete with the
server for this process' interpreter lock, opens ``clients`` keep-alive connections (one
``httpx.AsyncClient`` each) and lets every client send ``rate_per_client`` requests a second for
``duration_s``, cycling through ``routes`` (client ``i`` starts at route ``i``). Each client's
first request opens its connection and is not counted. Latency is measured from the send to the
last byte of the body; percentiles are nearest-rank over all counted requests of a route.

Pacing matters: with closed-loop clients sending as fast as they can, the latency is only the
queue length over the throughput (Little's law), whatever the server does per request. At a
paced rate, a server that answers in a millisecond shows a millisecond. ``rate_per_client=0``
sends back to back, which measures the throughput instead.

Memory: before the measured run the same clients load the server for ``load_warmup_s`` (caches,
pools and the interpreter's arenas fill), then the server process' resident set is read (after a
full garbage collection, from ``/proc``), and again at the end of the run. Growth beyond
:data:`RSS_GROWTH_TARGET_PCT` between the two is what a leak per request would show; the simulated
platform steps meanwhile, so its history grows a little too (a few KiB a step), counted in.
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

from foresight.api.server import start_in_thread
from foresight.config import load_settings
from foresight.serve.service import build_service

__all__ = ["ROUTES", "bench_api"]

#: The routes polled most: the liveness probe, the dashboard's table, Prometheus' scrape.
ROUTES = ("/healthz", "/api/v1/workloads", "/metrics")
#: the most the server's resident memory may grow from after the warm-up load to the end of the run
RSS_GROWTH_TARGET_PCT = 10.0


def _rss_bytes() -> int:
    """This process' resident set now (Linux ``/proc``), after a full collection; 0 where unknown."""
    gc.collect()
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of an ascending, non-empty list.

    >>> _percentile([1.0, 2.0, 3.0, 4.0], 50), _percentile([1.0, 2.0, 3.0, 4.0], 99)
    (2.0, 4.0)
    """
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


async def _client(url: str, routes: tuple[str, ...], first: int, phase: float, rate_per_client: float,
                  deadline: float, latencies: dict[str, list[float]], errors: list[str]) -> None:
    """One keep-alive connection: a request per slot of ``1 / rate_per_client`` s until ``deadline``,
    the first slot ``phase`` (0-1) of an interval after the connection opened."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10.0) as client:
        opening = await client.get(routes[first % len(routes)])  # opens the connection: not counted
        if opening.status_code != 200:
            errors.append(f"{opening.request.url.path}: HTTP {opening.status_code}")
            return
        interval = 1.0 / rate_per_client if rate_per_client > 0 else 0.0
        slot = time.perf_counter() + interval * phase
        i = first
        while True:
            if interval:
                await asyncio.sleep(max(0.0, slot - time.perf_counter()))
                slot += interval
            if time.perf_counter() >= deadline:
                return
            route = routes[i % len(routes)]
            i += 1
            t0 = time.perf_counter()
            response = await client.get(route)
            elapsed = time.perf_counter() - t0
            if response.status_code != 200:
                errors.append(f"{route}: HTTP {response.status_code}")
                continue
            latencies[route].append(elapsed)


async def _drive(url: str, routes: tuple[str, ...], clients: int, rate_per_client: float,
                 duration_s: float) -> tuple[dict[str, list[float]], list[str], float]:
    latencies: dict[str, list[float]] = {r: [] for r in routes}
    errors: list[str] = []
    t0 = time.perf_counter()
    # the clients' phases spread over one interval, so they do not all send at the same instant
    await asyncio.gather(*(_client(url, routes, i, i / clients, rate_per_client, t0 + duration_s, latencies, errors)
                           for i in range(clients)))
    return latencies, errors, time.perf_counter() - t0


def _load(url: str, routes: tuple[str, ...], clients: int, rate_per_client: float,
          duration_s: float) -> tuple[dict[str, list[float]], list[str], float]:
    """The clients' whole run (in the child process): latencies per route, errors, wall seconds."""
    return asyncio.run(_drive(url, routes, clients, rate_per_client, duration_s))


def bench_api(*, clients: int = 20, rate_per_client: float = 10.0, duration_s: float = 10.0, services: int = 8,
              warmup_s: float = 3600.0, routes: tuple[str, ...] = ROUTES,
              load_warmup_s: float = 3.0) -> dict[str, object]:
    """Serve a simulated platform in-process and measure the routes over keep-alive connections.

    Returns the settings, ``requests_per_s`` over the whole run, p50/p99 over every counted request,
    per route the counted requests with their p50/p95/p99 latency in milliseconds, and the server's
    resident memory after ``load_warmup_s`` of warm-up load and at the end (growth in %).
    """
    with tempfile.TemporaryDirectory(prefix="foresight-bench-api-") as tmp:
        settings = load_settings(None, simulate={"services": services, "warmup_s": warmup_s},
                                 audit_url=str(Path(tmp) / "audit.db"))
        server = start_in_thread(build_service(settings, simulate=True))
        try:
            early: list[str] = []  # errors of the warm-up load count too
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
                if load_warmup_s > 0:
                    _, early, _ = pool.submit(_load, server.url, routes, clients, rate_per_client,
                                                      load_warmup_s).result()
                rss_warm = _rss_bytes()
                latencies, errors, wall_s = pool.submit(_load, server.url, routes, clients, rate_per_client,
                                                        duration_s).result()
                rss_end = _rss_bytes()
        finally:
            server.stop()
    total = sum(len(v) for v in latencies.values())
    every = sorted(x for v in latencies.values() for x in v)
    per_route: dict[str, dict[str, float | int]] = {}
    for route, values in latencies.items():
        values.sort()
        per_route[route] = {"requests": len(values)} | ({
            f"p{q}_ms": round(_percentile(values, q) * 1000.0, 2) for q in (50, 95, 99)} if values else {})
    return {
        "clients": clients,
        "rate_per_client": rate_per_client,
        "duration_s": round(wall_s, 2),
        "services": services,
        "requests": total,
        "requests_per_s": round(total / wall_s, 1),
        "p50_ms": round(_percentile(every, 50) * 1000.0, 2) if every else None,
        "p99_ms": round(_percentile(every, 99) * 1000.0, 2) if every else None,
        "rss_after_warmup_mib": round(rss_warm / 2**20, 1),
        "rss_at_end_mib": round(rss_end / 2**20, 1),
        "rss_growth_pct": round(100.0 * (rss_end - rss_warm) / rss_warm, 2) if rss_warm else None,
        "rss_growth_target_pct": RSS_GROWTH_TARGET_PCT,
        "errors": (early + errors)[:10],
        "routes": per_route,
    }
