"""``foresight bench placement``: the FGD paper's protocol on the Alibaba openb GPU traces.

Protocol (FGD's simulator, re-implemented): the 1,213 GPU nodes of ``openb_node_list_gpu_node.csv``;
a trace's tasks shuffled by the seed, then inflated by tasks drawn at random from the trace until the
requested GPUs reach 130% of the cluster's (or thinned at random down to it); tasks placed one at a
time, none departs. After each task the allocation ratio (allocated milli-GPU / cluster milli-GPU) and
the arrived demand are recorded; the figure at ``x``% demand is the mean allocation ratio over the
events whose arrived demand rounds to ``x``%, exactly as the paper's analysis script computes it from
its logs. Fragmentation is measured against the trace's typical task mix (FGD's 95% popularity cut).
Ties between equally scored nodes go to the first in a random per-seed node order, as in the paper's
simulator (see :class:`~foresight.placement.Ties`).
The paper's own per-seed results (``fgd-expected-results/analysis_allo_discrete.csv``) are the target.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from foresight.bench.progress import Progress, silent
from foresight.errors import InputError
from foresight.placement import (
    BestFit,
    Cluster,
    ClusterState,
    DotProduct,
    Fgd,
    Foresight,
    GpuClustering,
    GpuPacking,
    Node,
    NodeFragCache,
    Placement,
    Policy,
    RandomFit,
    Task,
    TaskMix,
    Ties,
    place,
    shape_of,
    typical_mix,
)
from foresight.placement.mix import Shape

__all__ = [
    "PAPER_POLICY",
    "POLICIES",
    "TRACES",
    "RunResult",
    "bench_placement",
    "load_nodes",
    "load_tasks",
    "paper_results",
    "protocol_tasks",
    "run_once",
]

#: the 17 traces the paper ran (its ``generate_run_scripts.py``)
TRACES: tuple[str, ...] = (
    "default", "cpu050", "cpu100", "cpu200", "cpu250", "gpushare100", "gpushare40", "gpushare60", "gpushare80",
    "gpuspec10", "gpuspec20", "gpuspec25", "gpuspec33", "multigpu20", "multigpu30", "multigpu40", "multigpu50")
POLICIES: tuple[str, ...] = ("random", "dot-product", "gpu-clustering", "gpu-packing", "best-fit", "fgd", "foresight")
#: our policy names -> the paper's ``sc_policy`` column
PAPER_POLICY = {"random": "01-Random", "dot-product": "02-DotProd", "gpu-clustering": "03-GpuClustering",
                "gpu-packing": "04-GpuPacking", "best-fit": "05-BestFit", "fgd": "06-FGD"}
PAPER_SEEDS = tuple(range(42, 52))
TUNE_RATIO = 1.3
DEMAND_LEVELS = (100, 130)


def load_nodes(path: Path) -> list[Node]:
    """Nodes of an openb node list (``sn, cpu_milli, memory_mib, gpu, model``)."""
    rows = _rows(path, ("sn", "cpu_milli", "memory_mib", "gpu", "model"))
    try:
        return [Node(r["sn"], int(r["cpu_milli"]), int(r["memory_mib"]), int(r["gpu"]), r["model"] or "")
                for r in rows]
    except ValueError as e:
        raise InputError(f"{path}: a node row has a non-integer field ({e})") from e


def load_tasks(path: Path) -> list[Task]:
    """Tasks of an openb pod list (``name, cpu_milli, memory_mib, num_gpu, gpu_milli[, gpu_spec]``)."""
    rows = _rows(path, ("name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"))
    tasks = []
    for i, r in enumerate(rows, start=2):
        try:
            tasks.append(Task(r["name"], int(r["cpu_milli"]), int(r["memory_mib"]), int(r["num_gpu"]),
                              int(r["gpu_milli"]) if int(r["num_gpu"]) else 0,
                              frozenset(t for t in (r.get("gpu_spec") or "").split("|") if t)))
        except (ValueError, InputError) as e:
            raise InputError(f"{path}:{i}: {e}") from e
    return tasks


def _rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in required if c not in (reader.fieldnames or ())]
            if missing:
                raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
            return list(reader)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from e


def protocol_tasks(tasks: Sequence[Task], cluster_gpu_milli: int, rng: np.random.Generator,
                   shuffle: bool = True) -> list[Task]:
    """The arrival sequence of one run: the trace (shuffled), inflated or thinned to 130% of the GPUs.

    Inflation draws trace tasks at random and stops at the first that would pass the target (FGD's
    check compares the target with one GPU's share of the drawn task, which we keep); thinning drops
    random tasks until the demand is at most the target.
    """
    order = [tasks[i] for i in rng.permutation(len(tasks))] if shuffle else list(tasks)
    demand = sum(t.total_gpu_milli for t in order)
    target = TUNE_RATIO * cluster_gpu_milli
    while demand > target:
        demand -= order.pop(int(rng.integers(len(order)))).total_gpu_milli
    copy = 0
    while demand < target:
        drawn = tasks[int(rng.integers(len(tasks)))]
        if demand + drawn.gpu_milli > target:
            break
        order.append(Task(f"{drawn.name}-tuned-{copy}", drawn.cpu_milli, drawn.memory_mib, drawn.gpu_count,
                          drawn.gpu_milli, drawn.gpu_types))
        demand += drawn.total_gpu_milli
        copy += 1
    return order


@dataclass(frozen=True)
class RunResult:
    """One run: allocation ratio (%) and fragmentation (% of cluster GPUs) at each demand level."""

    alloc: dict[int, float]
    frag: dict[int, float]
    unplaced: int
    tasks: int
    violations: int
    seconds: float
    cpu_seconds: float


def _discrete(arrived: np.ndarray, values: np.ndarray, level: int) -> float:
    """The paper's reading of a curve at ``level``% demand: mean over events rounding to it (else +-1)."""
    hit = arrived == level
    if not hit.any():
        hit = (arrived >= level - 1) & (arrived <= level + 1)
    return float(np.round(values[hit].mean(), 2)) if hit.any() else float("nan")


def _violations(cluster: Cluster, placements: Iterable[Placement]) -> int:
    """Recount from the placements alone: GPU type not allowed, or a node/device over capacity."""
    cpu = np.zeros(len(cluster), dtype=np.int64)
    mem = np.zeros(len(cluster), dtype=np.int64)
    dev = np.zeros((len(cluster), cluster.width), dtype=np.int64)
    bad = 0
    for p in placements:
        cpu[p.node] += p.task.cpu_milli
        mem[p.node] += p.task.memory_mib
        for d in p.devices:
            dev[p.node, d] += p.task.gpu_milli
        if p.task.gpu_count and not cluster.allowed_nodes(p.task.gpu_types)[p.node]:
            bad += 1
    capacity = np.where(cluster.device_exists, 1000, 0)
    return bad + int((cpu > cluster.cpu).sum() + (mem > cluster.memory).sum() + (dev > capacity).sum())


def make_policy(name: str, cluster: Cluster, mix: TaskMix, prior: dict[Shape, float] | None = None) -> Policy:
    """A policy by name; FGD gets the workload's typical mix, Foresight the prior shape counts."""
    factories: dict[str, Callable[[], Policy]] = {
        "random": RandomFit, "dot-product": DotProduct, "gpu-clustering": GpuClustering,
        "gpu-packing": GpuPacking, "best-fit": BestFit, "fgd": lambda: Fgd(mix),
        "foresight": lambda: Foresight(cluster, prior=prior)}
    if name not in factories:
        raise InputError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    return factories[name]()


def run_once(cluster: Cluster, tasks: Sequence[Task], policy_name: str, seed: int, shuffle: bool = True) -> RunResult:
    """One run of the protocol for one policy and seed."""
    rng = np.random.default_rng(seed)
    mix = typical_mix(cluster, tasks)
    arrivals = protocol_tasks(tasks, cluster.total_gpu_milli, rng, shuffle)
    # Foresight's prior: the shape counts of the trace (the history FGD's typical mix is also drawn from)
    policy = make_policy(policy_name, cluster, mix, dict(Counter(shape_of(t) for t in tasks)))
    # the simulator prefixes node names with a random permutation and takes the first best node
    ties = Ties(rng, rank=rng.permutation(len(cluster)))
    state = ClusterState(cluster)
    frag_cache = NodeFragCache()
    start, cpu_start = time.perf_counter(), time.process_time()
    total = cluster.total_gpu_milli
    arrived = np.zeros(len(arrivals) + 1)
    used = np.zeros(len(arrivals) + 1)
    frag = np.zeros(len(arrivals) + 1)
    frag[0] = frag_cache.get(state, mix).sum()
    demand = used_milli = 0
    placements: list[Placement] = []
    unplaced = 0
    for i, task in enumerate(arrivals, start=1):
        demand += task.total_gpu_milli
        outcome = place(state, task, policy, ties)
        if isinstance(outcome, Placement):
            placements.append(outcome)
            used_milli += task.total_gpu_milli
            frag[i] = frag_cache.get(state, mix).sum()
        else:
            unplaced += 1
            frag[i] = frag[i - 1]
        arrived[i], used[i] = demand, used_milli
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    arrived_pct = np.round(arrived / total * 100)
    return RunResult(alloc={x: _discrete(arrived_pct, used / total * 100, x) for x in DEMAND_LEVELS},
                     frag={x: _discrete(arrived_pct, frag / total * 100, x) for x in DEMAND_LEVELS},
                     unplaced=unplaced, tasks=len(arrivals), violations=_violations(cluster, placements),
                     seconds=seconds, cpu_seconds=cpu_seconds)


def paper_results(data: Path) -> dict[tuple[str, str], dict[str, dict[int, float]]]:
    """(trace, paper policy) -> {"alloc"|"frag": {level: mean over the paper's 10 seeds}}."""
    out: dict[tuple[str, str], dict[str, dict[int, float]]] = {}
    for kind, name in (("alloc", "analysis_allo_discrete.csv"), ("frag", "analysis_frag_discrete.csv")):
        sums: dict[tuple[str, str], dict[int, list[float]]] = {}
        for r in _rows(data / "fgd-expected-results" / name, ("workload", "sc_policy", "seed")):
            key = (r["workload"].removeprefix("openb_pod_list_"), r["sc_policy"])
            for x in DEMAND_LEVELS:
                if r.get(str(x)):
                    sums.setdefault(key, {}).setdefault(x, []).append(float(r[str(x)]))
        for key, levels in sums.items():
            out.setdefault(key, {})[kind] = {x: float(np.mean(v)) for x, v in levels.items()}
    return out


#: how Foresight's policy was chosen: these runs were looked at while choosing it; report the others
FORESIGHT_CHOSEN_ON = {"traces": ["default", "gpushare100", "gpuspec33"], "seeds": list(range(100, 110)),
                       "note": "the CPU-bound fragmentation (and dropping the fill-the-node tie rule) was chosen "
                               "on seeds 100-109 of these traces, which this bench never runs; an earlier session "
                               "chose the forecast mix and integer score looking at default seeds 42-43, "
                               "gpushare100 seeds 42 and 44 and gpuspec33 seed 44; every other run is held out"}


def bench_placement(data: Path, traces: Sequence[str] = TRACES, policies: Sequence[str] = POLICIES,
                    seeds: int = 10, shuffle: bool = True, progress: Progress = silent) -> dict[str, Any]:
    """Run the protocol for every trace x policy x seed and compare with the paper's figures."""
    unknown = [t for t in traces if t not in TRACES]
    if unknown:
        raise InputError(f"unknown trace(s) {', '.join(unknown)}; choose from {', '.join(TRACES)}")
    bad = [p for p in policies if p not in POLICIES]
    if bad:
        raise InputError(f"unknown policy(ies) {', '.join(bad)}; choose from {', '.join(POLICIES)}")
    if not 1 <= seeds <= len(PAPER_SEEDS):
        raise InputError(f"--seeds must be in 1..{len(PAPER_SEEDS)}, got {seeds}")
    cluster = Cluster(load_nodes(data / "openb_node_list_gpu_node.csv"))
    paper = paper_results(data)
    figures: dict[str, Any] = {}
    worst = 0.0
    violations = 0
    seconds: list[float] = []
    total_runs, done = len(traces) * len(policies) * seeds, 0
    for trace in traces:
        tasks = load_tasks(data / f"openb_pod_list_{trace}.csv")
        for name in policies:
            runs = []
            for seed in PAPER_SEEDS[:seeds]:
                progress(f"{trace} {name} seed {seed}", done / total_runs)
                runs.append(run_once(cluster, tasks, name, seed, shuffle))
                done += 1
            violations += sum(r.violations for r in runs)
            seconds += [r.seconds for r in runs]
            entry: dict[str, Any] = {}
            ref = paper.get((trace, PAPER_POLICY.get(name, "")), {})
            for x in DEMAND_LEVELS:
                alloc = float(np.mean([r.alloc[x] for r in runs]))
                level: dict[str, Any] = {"alloc": round(alloc, 3),
                                         "frag": round(float(np.mean([r.frag[x] for r in runs])), 3)}
                if x == 130:
                    level["unallocated_gpus"] = round((1 - alloc / 100) * cluster.total_gpu_milli / 1000, 1)
                if "alloc" in ref:
                    level["paper_alloc"] = round(ref["alloc"][x], 3)
                    level["diff_pp"] = round(alloc - ref["alloc"][x], 3)
                    worst = max(worst, abs(alloc - ref["alloc"][x]))
                if "frag" in ref:
                    level["paper_frag"] = round(ref["frag"][x], 3)
                entry[str(x)] = level
            entry["unplaced_tasks"] = float(np.mean([r.unplaced for r in runs]))
            entry["arrivals"] = float(np.mean([r.tasks for r in runs]))
            entry["seconds_per_run"] = round(float(np.mean([r.seconds for r in runs])), 2)
            entry["cpu_seconds_per_run"] = round(float(np.mean([r.cpu_seconds for r in runs])), 2)
            figures.setdefault(name, {})[trace] = entry
    progress("done", 1.0)

    def headline(name: str) -> dict[str, Any] | None:
        level = figures.get(name, {}).get("default", {}).get("130")
        return None if level is None else {"alloc": level["alloc"], "unallocated_gpus": level["unallocated_gpus"]}

    return {"max_abs_diff_pp": round(worst, 3) if any(p in PAPER_POLICY for p in policies) else None,
            "policies": figures,
            "foresight_default_130": headline("foresight"), "fgd_default_130": headline("fgd"),
            "constraint_violations": violations,
            # wall seconds of the placement loop (the machine may be shared); per policy in ``policies``
            "seconds_per_run": round(float(np.mean(seconds)), 2) if seconds else None,
            "max_seconds_per_run": round(float(np.max(seconds)), 2) if seconds else None,
            "ran": {"traces": list(traces), "policies": list(policies), "seeds": list(PAPER_SEEDS[:seeds]),
                    "shuffled": shuffle},
            "foresight_chosen_on": FORESIGHT_CHOSEN_ON,
            "paper_seeds": "the paper's figures are the mean of its 10 seeds; ours use NumPy's generator with "
                           "the same seed numbers, so runs match in distribution, not event by event"}
