"""How long one reconcile round takes at platform scale: the figure a control plane's period rests on.

For each size the default cluster of that many services is built (``build_s``: ``default_cluster``
alone; ``sim_build_s``: the simulator over it), run for ``warmup_s`` so the predictive policy has
the history it needs to forecast, then each policy scales every service through the real
:class:`~foresight.control.loop.Reconciler`, built by the runtime's own builders
(:func:`~foresight.runtime.autoscale.hpa_reconciler`, :func:`~foresight.runtime.autoscale.predictive_reconciler`),
with its audit records written to a SQLite file. The HPA runs first, then the predictive policy
on the same simulator (its state after the HPA's rounds). A round is timed from the loop's
first read to the audit flushed at its end; the simulator then steps one period, untimed. The
predictive policy's first round fits every workload's forecaster: it is reported apart
(``first_round_s``), the steady rounds after it (learn one step, predict, decide) are the figures.

``prometheus_queries_per_round`` counts the range queries that reach the source in a steady
round (the loop's :class:`~foresight.forecast.history.IncrementalHistory` included): what a real
Prometheus would be asked, and what one was asked when the bench also runs against one. ``cpu_s_median`` is the process's CPU time per round: on a machine
shared with other work, the figure closest to what the round costs one core. Memory is the process's resident set after each size (simulator
included). Target (issue 21): a round for 10,000 workloads in under a second for both policies,
the 10k/1k time ratio at most 12.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from foresight.adapters.audit_log import AuditLog
from foresight.bench.loop_prometheus import bench_loop_prometheus
from foresight.bench.rounds import timed_rounds
from foresight.control.loop import Reconciler
from foresight.runtime.autoscale import (
    capacity_of,
    hpa_reconciler,
    limits_of,
    predictive_reconciler,
)
from foresight.series import Series
from foresight.sim import Simulator, default_cluster

__all__ = ["POLICIES", "TARGET_RATIO", "TARGET_ROUND_S", "bench_loop"]

POLICIES = ("hpa", "predictive")
TARGET_ROUND_S = 1.0
TARGET_RATIO = 12.0
_TARGET_SIZE = 10_000


class _CountingSource:
    """The simulator as a :class:`~foresight.ports.MetricsSource` that counts the queries reaching it."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.queries = 0

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        self.queries += 1
        return self.sim.query_range(query, start, end, step_s)


def bench_loop(
    workloads: Sequence[int] = (100, 1000, 10_000),
    rounds: int = 5,
    period_s: float = 60.0,
    warmup_s: float = 2.5 * 3600.0,
    seed: int = 0,
    policies: Sequence[str] = POLICIES,
    prometheus_workloads: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Round times of both policies at each size in ``workloads``; figures as in the module docstring.

    The simulator steps ``period_s`` (one step per round, so every round learns one new load
    step); ``warmup_s`` must exceed the predictive policy's ``min_history_s`` (2 h) for it to forecast.
    With ``prometheus_workloads``, the same loops also run against a real Prometheus holding that
    many workloads' series (:mod:`foresight.bench.loop_prometheus`), and ``prometheus_queries_per_round``
    is what that server was asked.
    """
    say = progress or (lambda _: None)
    sizes: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="foresight-bench-loop-") as tmp:
        for n in workloads:
            say(f"{n} workloads: building")
            sizes[str(n)] = _one_size(n, rounds, period_s, warmup_s, seed, policies, Path(tmp), say)
    figures: dict[str, Any] = {"rounds": rounds, "period_s": period_s, "warmup_s": warmup_s, "sizes": sizes}
    for policy in POLICIES:
        at = sizes.get(str(_TARGET_SIZE), {}).get(policy)
        figures[f"round_s_{_TARGET_SIZE}_{policy}"] = at["round_s_median"] if at else None
    figures[f"build_s_{_TARGET_SIZE}"] = sizes.get(str(_TARGET_SIZE), {}).get("build_s")
    ratios = [_ratio(sizes, policy) for policy in POLICIES]
    figures["linearity_10k_over_1k"] = max((r for r in ratios if r is not None), default=None)
    largest = sizes[str(max(workloads))] if workloads else {}
    figures["prometheus_queries_per_round"] = {p: largest[p]["queries_per_round"] for p in POLICIES if p in largest}
    if prometheus_workloads:
        real = bench_loop_prometheus(prometheus_workloads, rounds=rounds, period_s=period_s, warmup_s=warmup_s,
                                     seed=seed, policies=policies, progress=progress)
        figures["prometheus"] = real
        figures["prometheus_queries_per_round"] = {p: real[p]["queries_per_round"] for p in POLICIES if p in real}
    figures["targets"] = {
        "round_under_1s": all(figures[f"round_s_{_TARGET_SIZE}_{p}"] is not None
                              and figures[f"round_s_{_TARGET_SIZE}_{p}"] < TARGET_ROUND_S for p in POLICIES),
        "ratio_at_most_12": figures["linearity_10k_over_1k"] is not None
        and figures["linearity_10k_over_1k"] <= TARGET_RATIO,
        "build_under_5s": figures[f"build_s_{_TARGET_SIZE}"] is not None and figures[f"build_s_{_TARGET_SIZE}"] < 5.0,
    }
    return figures


def _ratio(sizes: dict[str, dict[str, Any]], policy: str) -> float | None:
    big, small = sizes.get(str(_TARGET_SIZE), {}).get(policy), sizes.get("1000", {}).get(policy)
    if not big or not small:
        return None
    return round(big["round_s_median"] / small["round_s_median"], 2)


def _one_size(n: int, rounds: int, period_s: float, warmup_s: float, seed: int, policies: Sequence[str], tmp: Path,
              say: Callable[[str], None]) -> dict[str, Any]:
    duration_s = warmup_s + (2 * rounds + 3) * period_s
    t0 = time.perf_counter()
    spec = default_cluster(n, seed, duration_s=duration_s)
    t1 = time.perf_counter()
    sim = Simulator(spec, step_s=period_s, duration_s=duration_s, seed=seed)
    t2 = time.perf_counter()
    say(f"{n} workloads: simulating {warmup_s / 3600:g} h of warm-up")
    sim.run_until(sim.start + warmup_s)
    t3 = time.perf_counter()
    source = _CountingSource(sim)
    by_name = {s.name: s for s in spec.services}
    out: dict[str, Any] = {"build_s": round(t1 - t0, 3), "sim_build_s": round(t2 - t1, 3),
                           "warmup_s": round(t3 - t2, 3)}
    for policy in policies:
        say(f"{n} workloads: {policy}")
        with AuditLog(tmp / f"audit-{n}-{policy}.db", flush_every=1_000_000, max_delay_s=None) as audit:
            if policy == "hpa":
                loop = hpa_reconciler(by_name, source, sim, audit, sim.clock, period_s=period_s)
            else:
                loop = predictive_reconciler({k: capacity_of(s) for k, s in by_name.items()}, source, sim,
                                             {k: limits_of(s) for k, s in by_name.items()}, audit, sim.clock,
                                             period_s=period_s)
            out[policy] = _rounds(loop, sim, source, audit, rounds, n)
    out["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _rounds(loop: Reconciler, sim: Simulator, source: _CountingSource, audit: AuditLog, rounds: int,
            n: int) -> dict[str, Any]:
    """One untimed-apart first round, then ``rounds`` timed ones, each followed by one simulator step."""
    timed = timed_rounds(loop, audit, rounds, lambda: (source.queries,), lambda: sim.run_until(sim.now + loop.period_s))
    summary = timed.summary()
    return {**summary, "us_per_workload": round(1e6 * summary["round_s_median"] / n, 1),
            "queries_per_round": timed.counted[-1][0], "failed_records": timed.failed}
