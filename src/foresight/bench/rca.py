"""``foresight bench rca``: root-cause ranking from metrics and topology on labelled fault data.

Two layouts (:mod:`foresight.bench.rca_data`), one method (:func:`foresight.correlate.rca.rank_root_causes`):

* **Nezha** (one folder per date): for each injected fault, every pod's series in the 30 minutes
  before it (baseline) and the 4 minutes from it (window: a fault lasts 3 minutes). Series by column
  name, so another system in the same layout runs unchanged: ``*ServerLatency*`` (P90, P95 and P99
  of a pod must agree) propagates to callers as latency, ``*SuccessRate*`` (read as the failed
  share) as errors; ``*CpuUsageRate*`` and ``*MemoryUsageRate*`` stay local; ``Node*`` columns (the
  node, not the pod) and client-side latency (a callee's delay shows there) are not evidence. The
  per-edge latency the callers measure (``source_50.csv``, when present) is latency evidence for the
  callee that every caller must agree on. Specificity: windows every 30 minutes that lie at least
  30 minutes (plus the baseline) away from every fault: the method must name no cause.
* **PetShop** (one folder per scenario): an issue's baseline is the scenario's normal period and its
  window the two 5-minute rows from the issue's third row (upstream's trigger row) on; latency
  (every statistic) and unavailability (100 - availability, as errors) of every component
  propagate. X-Ray's ``*_remote`` and ``*_client`` nodes are a caller's view of a call, not a
  component: not candidates, bridged over in the call graph. Specificity follows upstream's
  protocol: the normal period split every tenth from its middle on, the rows before as baseline and
  the same window shape after; the method must name no cause. The two temporal scenarios have no
  normal period of their own here: high_traffic's stands in (said in the output).

Two questions, answered apart. *Where is the fault?* ``top1/top3/top5``: the ranking when the
incident is taken as real, as the Nezha paper's methods (the anchors) rank. *Is anything wrong at
all?* ``specificity`` (silent on fault-free windows) and ``detected`` (not silent on faults);
``strict`` is the top-k of the method's own verdict, "nothing wrong" counted as a miss.
``without_topology`` ranks the same series with no call graph, measured in the same run: what the
topology adds. ``seconds_per_incident``: building the series and ranking, one core, files read
beforehand. Honest evaluation: the
method and its one threshold were chosen on Nezha's 2022-08-22 and PetShop's ``train`` issues; the
figures on the other parts are reported apart (``held_out``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from foresight.bench.rca_data import (
    NezhaDay,
    PetShopScenario,
    Table,
    load_nezha,
    load_petshop,
)
from foresight.correlate.graph import ServiceGraph
from foresight.correlate.rca import RcaSettings, Series, rank_root_causes
from foresight.errors import InputError

__all__ = ["CHOSEN_ON", "ONLINE_BOUTIQUE", "Outcome", "bench_rca", "detect_layout", "evaluate_nezha",
           "evaluate_petshop"]

#: the parts of the data the method and its setting were chosen on (everything else is held out)
CHOSEN_ON = {"nezha": ("2022-08-22",), "petshop": ("train", "normal")}
#: Nezha's parts count as chosen-on only for this system: another system's 2022-08-22 is held out too
ONLINE_BOUTIQUE = frozenset({"adservice", "cartservice", "checkoutservice", "currencyservice", "emailservice",
                             "frontend", "paymentservice", "productcatalogservice", "recommendationservice",
                             "shippingservice"})
BASELINE_S = 1800.0
WINDOW_S = 240.0
QUIET_STEP_S = 1800.0
QUIET_MARGIN_S = 1800.0
TOP_K = (1, 3, 5)
_NO_GRAPH = ServiceGraph.of([])
PETSHOP_WINDOW_ROWS = slice(2, 4)



@dataclass(frozen=True)
class Outcome:
    """One labelled incident: where the cause was ranked (None: not named, or "nothing wrong")."""

    part: str
    kind: str
    truth: str
    #: where the cause was ranked when the incident is taken as real (as the Nezha paper's methods rank)
    rank: int | None
    #: where the method's own verdict ranked it: None also when it answered "nothing wrong"
    verdict_rank: int | None
    seconds: float
    named: tuple[str, ...] = ()
    #: PetShop's scenario (Nezha: the date again)
    scenario: str = ""
    #: the same series ranked without the call graph (every service on its own): what topology adds
    rank_without_graph: int | None = None


@dataclass
class _Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    #: (part, silent) per fault-free window: did the method say "nothing wrong"
    quiet: list[tuple[str, bool]] = field(default_factory=list)

    def figures(self, parts: Iterable[str] | None = None) -> dict[str, Any]:
        chosen = set(parts) if parts is not None else None
        picked = [o for o in self.outcomes if chosen is None or o.part in chosen]
        out: dict[str, Any] = {"faults": len(picked)}
        strict: dict[str, Any] = {}
        alone: dict[str, Any] = {}
        for k in TOP_K:
            out[f"top{k}"] = _share([o.rank is not None and o.rank < k for o in picked])
            strict[f"top{k}"] = _share([o.verdict_rank is not None and o.verdict_rank < k for o in picked])
            alone[f"top{k}"] = _share([o.rank_without_graph is not None and o.rank_without_graph < k for o in picked])
        out["detected"] = _share([bool(o.named) for o in picked])
        out["strict"] = strict
        out["without_topology"] = alone
        silent = [ok for part, ok in self.quiet if chosen is None or part in chosen]
        out["specificity"] = round(float(np.mean(silent)), 3) if silent else None
        out["specificity_windows"] = len(silent)
        return out


def _share(hits: Sequence[bool]) -> float | None:
    return round(float(np.mean(hits)), 3) if hits else None


def _window(table: Table, start_s: float, end_s: float) -> np.ndarray:
    return table.values[(table.times >= start_s) & (table.times <= end_s)]


def _nezha_role(column: str) -> tuple[str | None, int] | None:
    """(signal, direction) of a pod metric column, or None when it is no evidence of its own."""
    if column.startswith("Node"):
        return None
    if "ServerLatency" in column:
        return "latency", 1
    if "SuccessRate" in column:
        return "errors", -1  # read as its failed share, 100 - rate
    if "CpuUsageRate" in column or "MemoryUsageRate" in column:
        return None, 1
    return None


def nezha_series(day: NezhaDay, at_s: float) -> list[Series]:
    """Every pod's evidence series around ``at_s``: 30 minutes before as baseline, 4 minutes from it as window."""
    out = []
    for pod in day.pods:
        base = _window(pod.table, at_s - BASELINE_S, at_s)
        win = _window(pod.table, at_s, at_s + WINDOW_S)
        for c, column in enumerate(pod.table.columns):
            role = _nezha_role(column)
            if role is None:
                continue
            signal, direction = role
            b, w = (base[:, c], win[:, c]) if direction > 0 else (100.0 - base[:, c], 100.0 - win[:, c])
            # P90, P95 and P99 of one pod must all move: one slow request lifts P99 alone
            agree = f"server latency of {pod.pod}" if "ServerLatency" in column else None
            out.append(Series(pod.service, column, b, w, signal=signal, component=pod.pod, agree=agree))
    if day.edges is not None:
        base = _window(day.edges, at_s - BASELINE_S, at_s)
        win = _window(day.edges, at_s, at_s + WINDOW_S)
        for c, (caller, callee) in enumerate(day.edge_ends):
            # every caller must see the callee slow: one caller's own trouble lifts its edge alone
            out.append(Series(callee, f"latency of calls from {caller}", base[:, c], win[:, c], agree="callers"))
    return out


def _quiet_times(day: NezhaDay) -> list[float]:
    """Window starts every 30 minutes whose baseline and window lie 30 minutes clear of every fault."""
    start = min(float(p.table.times[0]) for p in day.pods if p.table.times.size)
    end = max(float(p.table.times[-1]) for p in day.pods if p.table.times.size)
    faults = np.array([f.at_s for f in day.faults])
    quiet = []
    for q in np.arange(start + BASELINE_S, end - WINDOW_S, QUIET_STEP_S):
        near = (faults > q - BASELINE_S - QUIET_MARGIN_S) & (faults < q + WINDOW_S + QUIET_MARGIN_S)
        if not near.any():
            quiet.append(float(q))
    return quiet


def _rank_of(truth: str, named: Sequence[str]) -> int | None:
    return named.index(truth) if truth in named else None


def evaluate_nezha(days: Sequence[NezhaDay], settings: RcaSettings) -> _Tally:
    tally = _Tally()
    for day in days:
        for fault in day.faults:
            started = time.perf_counter()
            series = nezha_series(day, fault.at_s)
            named = tuple(c.service for c in rank_root_causes(series, day.graph, settings))
            seconds = time.perf_counter() - started
            given = tuple(c.service for c in rank_root_causes(series, day.graph, settings, certain=True))
            alone = tuple(c.service for c in rank_root_causes(series, _NO_GRAPH, settings, certain=True))
            tally.outcomes.append(Outcome(day.date, fault.kind, fault.service, _rank_of(fault.service, given),
                                          _rank_of(fault.service, named), seconds, named[:5], day.date,
                                          _rank_of(fault.service, alone)))
        for q in _quiet_times(day):
            tally.quiet.append((day.date, not rank_root_causes(nezha_series(day, q), day.graph, settings)))
    return tally


def _is_component(node: str) -> bool:
    return not (node.endswith(("_remote", "_client")))


def petshop_series(
    columns: Sequence[tuple[str, str, str]], window: np.ndarray,
    normal_columns: Sequence[tuple[str, str, str]], baseline: np.ndarray,
) -> list[Series]:
    """Latency and availability of every component: the normal period as baseline, ``window`` rows under suspicion."""
    where = {c: i for i, c in enumerate(normal_columns)}
    out = []
    for j, (node, metric, statistic) in enumerate(columns):
        k = where.get((node, metric, statistic))
        if metric not in ("latency", "availability") or k is None or not _is_component(node):
            continue
        if metric == "availability":  # what propagates is the failed share: 100 % -> 97 % is 0 -> 3 %
            out.append(Series(node, f"unavailability {statistic}", 100.0 - baseline[:, k], 100.0 - window[:, j],
                              signal="errors"))
        else:
            out.append(Series(node, f"{metric} {statistic}", baseline[:, k], window[:, j]))
    return out


def _component_graph(graph: ServiceGraph) -> ServiceGraph:
    """The call graph with caller-side ``_remote``/``_client`` nodes bridged over (their callers call their callees)."""
    edges = set(graph.edges)
    for node in {n for e in graph.edges for n in e if not _is_component(n)}:
        callers = {a for a, b in edges if b == node}
        callees = {b for a, b in edges if a == node}
        edges = {(a, b) for a, b in edges if node not in (a, b)} | {(a, b) for a in callers for b in callees}
    return ServiceGraph.of(edges)


def evaluate_petshop(scenarios: Sequence[PetShopScenario], settings: RcaSettings) -> _Tally:
    tally = _Tally()
    for scenario in scenarios:
        graph = _component_graph(scenario.graph)
        for issue in scenario.issues:
            started = time.perf_counter()
            series = petshop_series(issue.columns, issue.table.values[PETSHOP_WINDOW_ROWS],
                                    scenario.normal_columns, scenario.normal.values)
            named = tuple(c.service for c in rank_root_causes(series, graph, settings))
            seconds = time.perf_counter() - started
            given = tuple(c.service for c in rank_root_causes(series, graph, settings, certain=True))
            alone = tuple(c.service for c in rank_root_causes(series, _NO_GRAPH, settings, certain=True))
            tally.outcomes.append(Outcome(issue.split, issue.target_metric, issue.root_cause,
                                          _rank_of(issue.root_cause, given), _rank_of(issue.root_cause, named),
                                          seconds, named[:5], scenario.name, _rank_of(issue.root_cause, alone)))
        if scenario.normal_from != scenario.name:
            continue  # a borrowed normal period was already checked under its own scenario
        rows = scenario.normal.values.shape[0]
        for split in range(rows // 2, rows - 3, max(1, rows // 10)):
            window = scenario.normal.values[split:split + PETSHOP_WINDOW_ROWS.stop][PETSHOP_WINDOW_ROWS]
            series = petshop_series(scenario.normal_columns, window, scenario.normal_columns,
                                    scenario.normal.values[:split])
            tally.quiet.append(("normal", not rank_root_causes(series, graph, settings)))
    return tally


def detect_layout(root: Path) -> str:
    """``nezha`` (``rca_data/``) or ``petshop`` (``dataset/<scenario>/graph.csv``)."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder (give --data the Nezha or PetShop data folder)")
    if (root / "rca_data").is_dir():
        return "nezha"
    if any((p / "graph.csv").is_file() for p in (root / "dataset").glob("*")):
        return "petshop"
    raise InputError(f"{root}: neither the Nezha layout (rca_data/<date>/metric/) nor the PetShop layout "
                     "(dataset/<scenario>/graph.csv)")


def _summary(tally: _Tally, parts: Iterable[str] | None, key: Callable[[Outcome], str]) -> dict[str, Any]:
    chosen = set(parts) if parts is not None else None
    groups: dict[str, _Tally] = {}
    for o in tally.outcomes:
        if chosen is None or o.part in chosen:
            groups.setdefault(key(o), _Tally()).outcomes.append(o)
    return {name: groups[name].figures() for name in sorted(groups)}


def bench_rca(root: Path, settings: RcaSettings | None = None) -> dict[str, Any]:
    """The figures of ``foresight bench rca --json`` for the data under ``root``."""
    settings = settings or RcaSettings()
    layout = detect_layout(root)
    if layout == "nezha":
        days = load_nezha(root)
        tally = evaluate_nezha(days, settings)
        seen = [d.date for d in days if d.date in CHOSEN_ON[layout]
                and {p.service for p in d.pods} == ONLINE_BOUTIQUE]
        note = "specificity: windows every 30 min, 30 min clear of any fault and its baseline"
    else:
        scenarios = load_petshop(root)
        tally = evaluate_petshop(scenarios, settings)
        seen = list(CHOSEN_ON[layout])
        borrowed = sorted({f"{s.name} <- {s.normal_from}" for s in scenarios if s.normal_from != s.name})
        note = ("specificity: each scenario's normal period split every tenth from its middle on (upstream's "
                f"protocol); normal period borrowed: {', '.join(borrowed) or 'none'}")
    parts = sorted({o.part for o in tally.outcomes} | {part for part, _ in tally.quiet})
    chosen = [p for p in parts if p in seen]
    held = [p for p in parts if p not in seen]
    seconds = [o.seconds for o in tally.outcomes]
    figures: dict[str, Any] = {
        "system": root.name,
        "layout": layout,
        **tally.figures(),
        "seconds_per_incident": round(float(np.mean(seconds)), 5) if seconds else None,
        "seconds_per_incident_max": round(float(np.max(seconds)), 5) if seconds else None,
        "by_type": _summary(tally, None, lambda o: o.kind),
        "by_part": _summary(tally, None, lambda o: o.part),
        "chosen_on": {"parts": chosen, "note": f"method and threshold ({settings.threshold}) chosen on Nezha "
                      f"Online Boutique {', '.join(CHOSEN_ON['nezha'])} and PetShop {', '.join(CHOSEN_ON['petshop'])}"
                      + ("" if chosen else "; none of it is in this data: all of it is held out"),
                      **tally.figures(chosen)},
        "held_out": {"parts": held, **tally.figures(held), "by_type": _summary(tally, held, lambda o: o.kind)},
        "note": note,
    }
    if layout == "petshop":
        figures["by_scenario"] = _summary(tally, None, lambda o: o.scenario)
        figures["held_out"]["by_scenario"] = _summary(tally, held, lambda o: o.scenario)
    return figures
