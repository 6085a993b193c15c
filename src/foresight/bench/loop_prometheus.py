"""The reconcile round against a real Prometheus: queries and bytes per round, and their time.

A simulated platform of ``workloads`` services runs ``warmup_s`` plus the rounds first; its CPU
and load series are then remote-written into a Prometheus process of its own (the Debian package,
:class:`~foresight.bench.prometheus_server.ServiceLauncher`), stamped so the run ends now. Each
policy's loop, built by the runtime's builders over
:class:`~foresight.adapters.prometheus.PrometheusSource`, then reconciles every ``period_s`` of that
history (a manual clock steps it; the simulator is the scale target and its history does not move).
The HTTP transport counts the requests and the bytes downloaded in each round: with the loop's
grouped reads, one query per metric whatever the number of workloads.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from foresight.adapters.audit_log import AuditLog
from foresight.adapters.prometheus import PrometheusSource
from foresight.bench.live_sim import RemoteWrite
from foresight.bench.prometheus_server import (
    PROMETHEUS_BIN,
    ServiceLauncher,
    missing_binary,
)
from foresight.bench.rounds import timed_rounds
from foresight.clock import ManualClock
from foresight.errors import ServiceUnavailable
from foresight.runtime.autoscale import (
    capacity_of,
    hpa_reconciler,
    limits_of,
    predictive_reconciler,
)
from foresight.series import Series
from foresight.sim import Simulator, default_cluster

__all__ = ["bench_loop_prometheus"]

_WRITTEN = ("foresight_cpu_utilisation", "foresight_offered_rps")  # what the two policies read
_SAMPLES_PER_PUSH = 100_000


class _CountingTransport(httpx.BaseTransport):
    """httpx's transport, counting the requests sent and the bytes received (as sent: compressed)."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.requests = 0
        self.bytes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        try:
            body = b"".join(response.stream)  # type: ignore[union-attr]  # a sync transport's stream
        finally:
            response.close()
        self.requests += 1
        self.bytes += len(body)
        return httpx.Response(response.status_code, headers=response.headers, content=body,
                              extensions=response.extensions)

    def close(self) -> None:
        self._inner.close()


def bench_loop_prometheus(
    workloads: int = 1000,
    rounds: int = 5,
    period_s: float = 60.0,
    warmup_s: float = 2.5 * 3600.0,
    seed: int = 0,
    policies: Sequence[str] = ("hpa", "predictive"),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Per policy: round time (median, p95), CPU, requests and bytes per round against a real
    Prometheus holding ``workloads`` services' series; raises ServiceUnavailable without Prometheus."""
    missing = missing_binary(PROMETHEUS_BIN)
    if missing:
        raise ServiceUnavailable(missing)
    say = progress or (lambda _: None)
    duration_s = warmup_s + (rounds + 2) * period_s
    spec = default_cluster(workloads, seed, duration_s=duration_s)
    sim = Simulator(spec, step_s=period_s, duration_s=duration_s, seed=seed,
                    start=float(int(time.time() // period_s * period_s) - duration_s))
    say(f"prometheus: simulating {workloads} workloads")
    while not sim.done:
        sim.step()
    by_name = {s.name: s for s in spec.services}
    out: dict[str, Any] = {"workloads": workloads}
    with tempfile.TemporaryDirectory(prefix="foresight-bench-loop-prom-") as tmp:
        launcher = ServiceLauncher(Path(tmp))
        try:
            server = launcher.prometheus()
            say("prometheus: remote-writing the history")
            out["samples_written"] = _write_history(server.url, sim)
            for policy in policies:
                say(f"prometheus: {policy}")
                out[policy] = _rounds(server.url, sim, by_name, policy, rounds, period_s, warmup_s, Path(tmp))
        finally:
            launcher.close()
    return out


def _write_history(url: str, sim: Simulator) -> int:
    """Every step of the series the policies read, pushed in batches; the samples written."""
    writer = RemoteWrite(url, timeout_s=60.0)
    try:
        history, stamps = sim.history, sim.timestamps
        batch: list[Series] = []
        for metric in _WRITTEN:
            for i, service in enumerate(sim.service_names):
                batch.append(Series({"__name__": metric, "service": service}, stamps, history[metric][:, i]))
                if len(batch) * stamps.size >= _SAMPLES_PER_PUSH:
                    writer.push(batch)
                    batch = []
        if batch:
            writer.push(batch)
        return writer.samples
    finally:
        writer.close()


def _rounds(url: str, sim: Simulator, by_name: dict[str, Any], policy: str, rounds: int, period_s: float,
            warmup_s: float, tmp: Path) -> dict[str, Any]:
    transport = _CountingTransport()
    clock = ManualClock(sim.start + warmup_s)
    with PrometheusSource(url, timeout_s=120.0, transport=transport) as source, \
            AuditLog(tmp / f"audit-prometheus-{policy}.db", flush_every=1_000_000, max_delay_s=None) as audit:
        if policy == "hpa":
            loop = hpa_reconciler(by_name, source, sim, audit, clock, period_s=period_s)
        else:
            loop = predictive_reconciler({k: capacity_of(s) for k, s in by_name.items()}, source, sim,
                                         {k: limits_of(s) for k, s in by_name.items()}, audit, clock, period_s=period_s)
        timed = timed_rounds(loop, audit, rounds, lambda: (transport.requests, transport.bytes),
                             lambda: clock.advance(period_s))
    requests, received = zip(*timed.counted, strict=True)
    summary = timed.summary()
    return {
        "first_round_s": summary["first_round_s"],
        "first_round_queries": requests[0],
        "first_round_bytes": received[0],
        "round_s_median": summary["round_s_median"],
        "round_s_p95": summary["round_s_p95"],
        "cpu_s_median": summary["cpu_s_median"],
        "queries_per_round": max(requests[1:]),
        "bytes_per_round": round(statistics.median(received[1:])),
        "failed_records": timed.failed,
    }
