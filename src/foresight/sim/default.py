"""A plausible AI platform of any size, for the demo and the benchmarks: ``default_cluster(n, seed)``.

Tiers, callers before callees: entry services (gateway, frontends; ~8 %), mid-tier services in
two layers (~52 %), model servers needing one GPU each (~15 %), and backends (~25 %: feature
stores and vector databases that call caches and databases). Every non-entry service has at
least one caller; fan-outs are drawn in [0.2, 1.5] (model calls in [0.1, 0.8]).

Sizing follows the traffic: the seasonal peak load of each service (propagated without losses)
needs ``r`` replicas at 60 % utilisation, ``r`` drawn in 3..10, which sets ``capacity_rps``;
replicas start at ``r``, may go from 2 to ``max(2r, r + 4)``. The external peak is large enough
that the quietest service still gets 100 req/s at peak. A replica serves at least 2 requests at
once (``capacity_rps x base_latency_s >= 2``: the base latency is raised where needed), as a queue
of one server per pod would time out at moderate load. SLOs: p95 at twice the zero-load critical
path plus 20 ms, 1 % errors; a request queued longer than the SLO times out. Nodes: on-demand
and spot CPU nodes (16 cores, 64 GiB; 60/40) and 4-GPU nodes, 1.5 times what the peak needs.

The fault schedule holds one fault of each kind, spread over ``duration_s``: a memory leak (15 %
to 25 % of the run, fast enough to OOM-kill within it), a node loss (35 %), a spot pre-emption
(55 %) and a latency regression of a model server (75 % to 85 %).
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Any

import numpy as np

from foresight.errors import ConfigError
from foresight.sim.faults import LatencyRegression, MemoryLeak, NodeLoss, SpotPreemption
from foresight.sim.spec import ClusterSpec, NodePoolSpec, ServiceSpec
from foresight.sim.topology import Topology
from foresight.sim.traffic import SyntheticTraffic

__all__ = ["default_cluster"]

_NAMES = {
    "entry": ["gateway", "web-frontend", "mobile-bff", "partner-api", "admin-console"],
    "mid": ["search", "recommend", "catalog", "checkout", "profile", "ranking", "personalise", "ads", "pricing",
            "inventory", "orders", "reviews", "sessions", "auth", "notify", "payments", "chat-orchestrator",
            "rag-retriever", "moderation", "billing"],
    "model": ["llm-chat", "embedder", "reranker", "vision-tagger", "speech-to-text", "fraud-scorer", "ctr-model",
              "translator"],
    "store": ["feature-store", "vector-db", "search-index", "session-store"],
    "leaf": ["cache", "postgres", "object-store", "kv-store", "event-log"],
}
# per tier: base latency range (s), start-up delay range (s), CPU cores, memory MiB, GPUs
_SHAPE = {
    "entry": ((0.004, 0.015), (20, 45), (0.5, 1.0), (512, 1024), 0),
    "mid": ((0.008, 0.05), (20, 60), (0.5, 2.0), (512, 2048), 0),
    "model": ((0.04, 0.25), (120, 300), (4.0, 4.0), (16384, 16384), 1),
    "store": ((0.002, 0.01), (30, 90), (1.0, 4.0), (2048, 8192), 0),
    "leaf": ((0.001, 0.006), (30, 90), (1.0, 4.0), (2048, 8192), 0),
}
_TARGET_UTILISATION = 0.6
_QUIETEST_PEAK_RPS = 100.0
_MIN_SERVERS_PER_REPLICA = 2.0
_CPU_NODE = (16.0, 65536.0)
# Up to this size peak loads come from the closure (I - F)^-1 as before (cubic: 0.1 s at 1,000), so
# clusters of the sizes benchmarks published stay bit-identical; above it, call by call (linear).
_EXACT_CLOSURE_UP_TO = 1000
_GPU_NODE = (48.0, 196608.0, 4)


def _names(tier: str, n: int) -> list[str]:
    vocab = _NAMES[tier]
    return [vocab[i % len(vocab)] + (f"-{i // len(vocab) + 1}" if i >= len(vocab) else "") for i in range(n)]


def _tiers(n: int) -> dict[str, list[str]]:
    entry, model = max(1, round(0.08 * n)), max(1, round(0.15 * n))
    backends = max(2, round(0.25 * n)) if n >= 5 else 1
    store = backends // 3 if backends >= 3 else 0
    mid = n - entry - model - backends
    return {"entry": _names("entry", entry), "mid": _names("mid", mid), "model": _names("model", model),
            "store": _names("store", store), "leaf": _names("leaf", backends - store)}


def default_cluster(n_services: int = 20, seed: int = 0, duration_s: float = 86400.0) -> ClusterSpec:
    """A cluster of ``n_services`` (at least 4) whose faults fall inside a run of ``duration_s``.

    >>> spec = default_cluster(12, seed=1)
    >>> [s.name for s in spec.services][:4], sorted({f.kind for f in spec.faults})
    (['gateway', 'search', 'recommend', 'catalog'], ['latency-regression', 'memory-leak', 'node-loss', 'spot-preemption'])
    """
    if n_services < 4:
        raise ConfigError(f"default_cluster: n_services must be at least 4, got {n_services}")
    rng = np.random.default_rng(seed)
    tiers = _tiers(n_services)
    mid = tiers["mid"]
    mid_a, mid_b = mid[: max(1, len(mid) // 2)], mid[max(1, len(mid) // 2):]
    callees = {  # who each tier may call, nearest first
        "entry": [mid_a, tiers["model"]],
        "mid_a": [mid_b, tiers["model"], tiers["store"], tiers["leaf"]],
        "mid_b": [tiers["model"], tiers["store"], tiers["leaf"]],
        "model": [tiers["store"], tiers["leaf"]],
        "store": [tiers["leaf"]],
        "leaf": [],
    }
    layer_of = {n: "mid_a" for n in mid_a} | {n: "mid_b" for n in mid_b}
    tier_of = {n: t for t, names in tiers.items() for n in names}
    order = [n for t in ("entry", "mid", "model", "store", "leaf") for n in tiers[t]]
    calls: dict[str, dict[str, float]] = {n: {} for n in order}

    def fanout(target: str) -> float:
        low, high = (0.1, 0.8) if tier_of[target] == "model" else (0.2, 1.5)
        return round(float(rng.uniform(low, high)), 2)

    # Draws index into the concatenation of a layer's callee groups without building it: the same
    # draws as choosing from the list, in time independent of the cluster's size.
    layers = {layer: _Concat(groups) for layer, groups in callees.items()}
    for name in order:
        options = layers[layer_of.get(name, tier_of[name])]
        if len(options):
            k = min(len(options), int(rng.integers(1, 4)))
            for j in rng.choice(len(options), size=k, replace=False):
                target = options[int(j)]
                calls[name][target] = fanout(target)
    called = {t for c in calls.values() for t in c}
    # Who may call each service: every service of a layer whose callee groups hold it, in ``order``.
    layer_spans: dict[str, tuple[int, int]] = {}
    for i, name in enumerate(order):
        layer = layer_of.get(name, tier_of[name])
        first, _ = layer_spans.get(layer, (i, i))
        layer_spans[layer] = (first, i + 1)
    spans = sorted(layer_spans.items(), key=lambda item: item[1])
    group_callers = {id(g): [span for layer, span in spans if any(g is h for h in callees[layer])]
                     for groups in callees.values() for g in groups}
    group_of = {n: id(g) for groups in callees.values() for g in groups for n in g}
    for i, name in enumerate(order):
        if tier_of[name] != "entry" and name not in called:
            callers = _Concat([order[a:min(b, i)] for a, b in group_callers[group_of[name]] if a < i])
            calls[callers[int(rng.choice(len(callers)))]][name] = fanout(name)

    entries = tiers["entry"]
    shares = rng.dirichlet(np.full(len(entries), 4.0))
    share_of = {n: float(share) for n, share in zip(entries, shares)}
    draft = [
        ServiceSpec(name=n, capacity_rps=1, base_latency_s=1, slo_latency_p95_s=1, calls=calls[n],
                    traffic_share=share_of.get(n, 1.0))
        for n in order
    ]
    if n_services <= _EXACT_CLOSURE_UP_TO:  # the simulator's own closure: sizes as every published figure had them
        topo = Topology.of(draft)
        unit = np.array([share_of.get(n, 0.0) for n in topo.names])
        unit_peak = dict(zip(topo.names, unit @ topo.closure))
    else:
        unit_peak = _peak_load(order, calls, share_of)
    total_peak = max(500.0, _QUIETEST_PEAK_RPS / min(unit_peak.values()))

    services: list[dict[str, Any]] = []
    base: dict[str, float] = {}
    for s in draft:
        tier = tier_of[s.name]
        (lat_lo, lat_hi), (up_lo, up_hi), (cpu_lo, cpu_hi), (mem_lo, mem_hi), gpus = _SHAPE[tier]
        r = int(rng.integers(3, 11))
        capacity = round(total_peak * unit_peak[s.name] / (r * _TARGET_UTILISATION), 3)
        floor = math.ceil(_MIN_SERVERS_PER_REPLICA / capacity * 1e4) / 1e4
        base[s.name] = max(round(float(rng.uniform(lat_lo, lat_hi)), 4), floor)
        services.append({
            "name": s.name, "calls": s.calls, "traffic_share": s.traffic_share, "base_latency_s": base[s.name],
            "capacity_rps": capacity,
            "startup_delay_s": float(rng.integers(up_lo, up_hi + 1)),
            "min_replicas": 2, "initial_replicas": r, "max_replicas": max(2 * r, r + 4),
            "cpu_cores": float(rng.choice(np.arange(cpu_lo, cpu_hi + 0.01, 0.25))),
            "memory_mib": float(rng.choice(np.arange(mem_lo, mem_hi + 1, 512))), "gpus": gpus,
        })
    critical = _critical_path(order, calls, base)
    specs = []
    for fields in services:
        slo = round(2.0 * critical[fields["name"]] + 0.02, 3)
        specs.append(ServiceSpec(**fields, slo_latency_p95_s=slo, slo_error_ratio=0.01, timeout_s=slo))

    pools = _node_pools(specs)
    leaky = next(s for s in specs if tier_of[s.name] == "mid")
    hours_to_oom = min(1.5, 0.06 * duration_s / 3600.0)
    faults = (
        MemoryLeak(at_s=0.15 * duration_s, until_s=0.25 * duration_s, service=leaky.name,
                   mib_per_hour=round(0.55 * leaky.memory_mib / hours_to_oom, 1)),
        NodeLoss(at_s=0.35 * duration_s, node=pools[0].node_names()[0]),
        SpotPreemption(at_s=0.55 * duration_s, node=pools[1].node_names()[0], replace_after_s=180.0),
        LatencyRegression(at_s=0.75 * duration_s, until_s=0.85 * duration_s, service=tiers["model"][0], factor=1.6),
    )
    return ClusterSpec(services=tuple(specs), node_pools=pools, faults=faults,
                       traffic=SyntheticTraffic(daily_peak_rps=round(total_peak, 1)))


def _peak_load(order: list[str], calls: dict[str, dict[str, float]], shares: dict[str, float]) -> dict[str, float]:
    """Requests reaching each service per external request, without losses: callers first (``order``
    is topological), each passing its load times the fan-out to its callees. Linear in the calls,
    where the closure ``(I - F)^-1`` of :class:`~foresight.sim.topology.Topology` is cubic; equal to
    ``shares @ closure`` up to the last bits, which can move a capacity's third decimal."""
    load = {n: shares.get(n, 0.0) for n in order}
    for name in order:
        for target, fan in calls[name].items():
            load[target] += load[name] * fan
    return load


def _critical_path(order: list[str], calls: dict[str, dict[str, float]], own: dict[str, float]) -> dict[str, float]:
    """Each service's own latency plus its slowest downstream call's, callees first."""
    out: dict[str, float] = {}
    for name in reversed(order):
        out[name] = own[name] + max((out[t] for t in calls[name]), default=0.0)
    return out


class _Concat:
    """Lists read as their concatenation, by index, without copying them."""

    def __init__(self, parts: list[list[str]]) -> None:
        self._parts = [p for p in parts if p]
        self._ends = list(itertools.accumulate(len(p) for p in self._parts))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, i: int) -> str:
        part = bisect.bisect_right(self._ends, i)
        return self._parts[part][i - (self._ends[part - 1] if part else 0)]


def _node_pools(specs: list[ServiceSpec]) -> tuple[NodePoolSpec, ...]:
    """On-demand and spot CPU pools and a GPU pool, 1.5 times the peak's requests."""
    cpu = sum(s.initial_replicas * s.cpu_cores for s in specs if not s.gpus)
    mem = sum(s.initial_replicas * s.memory_mib for s in specs if not s.gpus)
    cpu_nodes = math.ceil(1.5 * max(cpu / _CPU_NODE[0], mem / _CPU_NODE[1])) + 1
    spot = max(1, round(0.4 * cpu_nodes))
    gpus = sum(s.initial_replicas * s.gpus for s in specs)
    gpu_cpu, gpu_mem, per_node = _GPU_NODE
    return (
        NodePoolSpec(name="cpu-ondemand", count=cpu_nodes - spot, cpu_cores=_CPU_NODE[0], memory_mib=_CPU_NODE[1]),
        NodePoolSpec(name="cpu-spot", count=spot, cpu_cores=_CPU_NODE[0], memory_mib=_CPU_NODE[1], spot=True),
        NodePoolSpec(name="gpu", count=max(2, math.ceil(1.5 * gpus / per_node)), cpu_cores=gpu_cpu,
                     memory_mib=gpu_mem, gpus=per_node),
    )
