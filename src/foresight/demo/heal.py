"""The self-healing demo: a memory leak predicted and its pod replaced before the OOMKill that reactive Kubernetes gets.

Two twins of one cluster (:class:`~foresight.sim.healing.HealingCluster`, same seed): in one,
Kubernetes only reacts; in the other the heal controller ``foresight serve`` runs
(:class:`~foresight.runtime.heal.HealController`, an acting HealingPolicy) reads the pods' memory
every minute, predicts, and acts through the same port the Kubernetes adapter implements. The run
yields the timeline (prediction with its time to failure, the replacement, the reactive run's
OOMKill), a per-minute frame for the live terminal view (:func:`frame`) and an HTML report with the
leaking pod's memory in both runs.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from rich.table import Table

from foresight.control.audit import AuditRecord
from foresight.report_page import standalone_page
from foresight.runtime.heal import HealController
from foresight.sim.healing import MIB, HealingCluster
from foresight.specs.healing import HealingPolicy

__all__ = ["HealDemo", "frame", "run_heal_demo", "write_heal_report"]

#: the leaking pod climbs from 35% of its 1 GiB limit by 0.8% a minute: its limit in about 80 minutes
LIMIT, BASE, LEAK_PER_MIN = 1024 * MIB, 0.35, 0.008


@dataclass
class _Kept:
    records: list[AuditRecord] = field(default_factory=list)

    def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)


@dataclass
class HealDemo:
    """What the two runs did: OOMKills each, the actions and their audit, and the leaking pod's memory."""

    minutes: int
    reactive_oomkills: int
    foresight_oomkills: int
    reactive_killed_at_s: list[float]
    actions: list[AuditRecord]
    memory: dict[str, dict[str, list[float]]]  # run -> pod -> fraction of its limit per minute (NaN: not there)
    times_s: list[float]
    report: Path | None = None

    def to_json(self) -> dict[str, Any]:
        first = self.actions[0] if self.actions else None
        return {"minutes": self.minutes, "reactive_oomkills": self.reactive_oomkills,
                "foresight_oomkills": self.foresight_oomkills, "reactive_killed_at_s": self.reactive_killed_at_s,
                "actions": [{"time_s": r.time, "target": r.target, "reason": r.reason, "applied": r.applied,
                             "ttf_s": r.inputs.get("ttf_s"), "ttf_low_s": r.inputs.get("ttf_low_s"),
                             "ttf_high_s": r.inputs.get("ttf_high_s")} for r in self.actions],
                "replaced_before_oomkill_s": (self.reactive_killed_at_s[0] - first.time
                                              if first is not None and self.reactive_killed_at_s else None),
                "report": str(self.report) if self.report else None}


def _cluster(seed: int) -> HealingCluster:
    c = HealingCluster(seed=seed)
    c.add_workload("shop", "cart", replicas=3, node="node-a", limit=LIMIT, base=BASE, leak_per_min=(LEAK_PER_MIN,))
    c.add_workload("shop", "search", replicas=2, node="node-b", limit=2 * LIMIT, base=0.5)
    return c


def _fractions(c: HealingCluster) -> dict[str, float]:
    return {name: c.history[(ns, name)].memory[-1] / pod.limit for (ns, name), pod in c.pods.items()
            if c.history[(ns, name)].memory}


def run_heal_demo(minutes: int = 120, seed: int = 0,
                  progress: Callable[[float, dict[str, float], list[AuditRecord]], None] | None = None) -> HealDemo:
    """Both runs for ``minutes``; ``progress(now, memory fractions, audit so far)`` after each minute."""
    reactive, healed, audit = _cluster(seed), _cluster(seed), _Kept()
    heal = HealController(healed, audit, healed)
    heal.set_policies([HealingPolicy.model_validate({"metadata": {"name": "heal", "namespace": "shop"},
                                                     "spec": {"dryRun": False}})])
    memory: dict[str, dict[str, list[float]]] = {"reactive": {}, "foresight": {}}
    times: list[float] = []
    for k in range(minutes):
        for run, c in (("reactive", reactive), ("foresight", healed)):
            c.advance(60.0)
            now = _fractions(c)
            for pod in set(memory[run]) | set(now):
                memory[run].setdefault(pod, [float("nan")] * k).append(now.get(pod, float("nan")))
        times.append(healed.now)
        heal.step(healed.now)
        if progress is not None:
            progress(healed.now, _fractions(healed), audit.records)
    return HealDemo(minutes, reactive.oomkills, healed.oomkills, [t for t, _ in reactive.killed],
                    [r for r in audit.records if r.applied], memory, times)


def frame(now: float, memory: dict[str, float], records: list[AuditRecord]) -> Table:
    """The live view after one minute: each pod's memory, its latest prediction and what was done."""
    latest = {r.target.split("/", 1)[1]: r for r in records}
    table = Table(title=f"self-healing demo, minute {now / 60:.0f}: memory vs limit, predictions, actions")
    for col in ("pod", "memory", "prediction (time to failure)", "action"):
        table.add_column(col)
    for pod in sorted(set(memory) | set(latest)):
        r = latest.get(pod)
        ttf = r.inputs.get("ttf_s") if r is not None else None
        said = "-" if r is None else (f"{r.inputs['failure']} in {ttf / 60:.0f} min "
                                      f"({(r.inputs.get('ttf_low_s') or 0) / 60:.0f}-"
                                      f"{(r.inputs.get('ttf_high_s') or 0) / 60:.0f})" if ttf is not None else "?")
        table.add_row(pod, f"{memory[pod]:.0%}" if pod in memory else "evicted", said, "-" if r is None else
                      ("replaced" if r.applied else r.reason.split(";")[0][:60]))
    return table


def write_heal_report(demo: HealDemo, path: Path) -> Path:
    """An HTML page: the leaking pod's memory in both runs, the prediction with its time to failure, the kill."""
    fig = go.Figure()
    minutes = [t / 60 for t in demo.times_s]
    for run, dash in (("reactive", "dot"), ("foresight", "solid")):
        for pod, values in sorted(demo.memory[run].items()):
            if pod.startswith("cart"):
                fig.add_trace(go.Scatter(x=minutes, y=[v * 100 for v in values], name=f"{run}: {pod}",
                                         line={"dash": dash}))
    fig.add_hline(y=100, line_color="red", annotation_text="memory limit (OOMKill)")
    for t in demo.reactive_killed_at_s:
        fig.add_vline(x=t / 60, line_color="red", line_dash="dot", annotation_text="reactive: OOMKilled")
    for r in demo.actions:
        ttf = r.inputs.get("ttf_s")
        fig.add_vline(x=r.time / 60, line_color="green",
                      annotation_text=f"predicted OOMKill in {ttf / 60:.0f} min: replaced" if ttf else "replaced")
    fig.update_layout(xaxis_title="minute", yaxis_title="working set, % of limit", height=480)
    rows = "".join(f"<tr><td>{r.time / 60:.0f}</td><td>{html.escape(r.target)}</td><td>{html.escape(r.reason)}</td></tr>"
                   for r in demo.actions)
    body = (f"<p>Reactive Kubernetes: {demo.reactive_oomkills} OOMKill(s). Foresight: {demo.foresight_oomkills}.</p>"
            + fig.to_html(full_html=False, include_plotlyjs=False)
            + f"<table><tr><th>minute</th><th>pod</th><th>audit reason</th></tr>{rows}</table>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(standalone_page("Foresight self-healing: a leak predicted, the pod replaced", body),
                    encoding="utf-8")
    demo.report = path
    return path
