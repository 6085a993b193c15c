"""``foresight bench autoscale``: predictive vs reactive HPA vs static vs oracle on real traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.autoscale import (
    PolicyResult,
    Scenario,
    TraceResult,
    bench_autoscale,
    default_traces,
    describe,
)
from foresight.cli.app import bench_app
from foresight.cli.progress import progress_bar
from foresight.errors import InputError

DATA_BESIDE_CHECKOUT = Path("..") / "shared" / "data"


@bench_app.command("autoscale")
def autoscale(
    traces: Annotated[
        list[Path] | None,
        typer.Option("--trace", help="A 'time,value' CSV trace (repeat for several). Default: the traces under --data."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help=f"Public data folder (traces/, nab/). Default: {DATA_BESIDE_CHECKOUT} from the current directory."),
    ] = None,
    days: Annotated[float, typer.Option("--days", help="Evaluated days at the end of each trace (7 for a week: ~7x slower).")] = 1.0,
    replicas_at_peak: Annotated[
        int, typer.Option("--replicas-at-peak", help="Replicas the evaluated window's peak needs at a 70% target.")
    ] = 20,
    calibration_window: Annotated[int, typer.Option(
        "--calibration-window", help="Predictive: size the forecast by its own last N misses (0: fixed headroom).")] = 0,
    calibration_quantile: Annotated[float, typer.Option(
        "--calibration-quantile", help="Predictive: the quantile of those misses sized for.")] = 0.95,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON only.")] = False,
) -> None:
    """Simulate each trace under static, HPA (targets 50-90%), predictive (through the HPA, and direct) and
    the oracle; report SLO-violation minutes, replica-minutes and scaling actions, side by side.

    Forecasters see only the load recorded before each decision (no look-ahead).
    """
    if days <= 0 or replicas_at_peak < 1:
        raise InputError("--days must be > 0 and --replicas-at-peak at least 1")
    if calibration_window < 0 or not 0 < calibration_quantile < 1:
        raise InputError("--calibration-window must be >= 0 and --calibration-quantile within (0, 1)")
    scenario = Scenario(days=days, replicas_at_peak=replicas_at_peak, calibration_window=calibration_window,
                        calibration_quantile=calibration_quantile)
    if traces:
        missing = [str(p) for p in traces if not p.is_file()]
        if missing:
            raise InputError(f"trace file(s) not found: {', '.join(missing)}")
        paths = list(traces)
    else:
        paths = default_traces(data if data is not None else DATA_BESIDE_CHECKOUT)
    console = Console(width=130)
    if not as_json:
        for what, words in describe(scenario).items():
            console.print(f"[bold]{what}[/]: {words}", highlight=False)
    results: list[TraceResult] = []

    def show(result: TraceResult) -> None:
        results.append(result)
        if not as_json:
            console.print(trace_table(result))

    with progress_bar(f"bench autoscale ({len(paths)} traces)") as progress:
        report = bench_autoscale(paths, scenario, done=show, progress=progress)
    if as_json:
        typer.echo(json.dumps(report))
        return
    console.print(summary_table(results))
    console.print(pooled_table(report))


def _ratio(a: float, b: float) -> str:
    return "-" if b == 0 else f"{a / b:.2f}"


def trace_table(result: TraceResult) -> Table:
    """One trace: every policy's figures and its ratios to the headline HPA and to the oracle."""
    hpa, oracle = result.policies["hpa"], result.policies["oracle"]
    table = Table(
        title=f"{result.name}: {result.evaluated_days:.2f} d evaluated after {result.history_days:.2f} d of history, "
        f"peak {result.peak_rps:g} req/s",
    )
    for column in ("policy", "SLO-violation min", "replica-min", "actions", "violations / hpa", "replica-min / hpa",
                   "replica-min / oracle"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    rows: list[tuple[str, PolicyResult]] = [("static", result.policies["static"])]
    rows += [(f"hpa@{t}" + (" (hpa)" if r is hpa else ""), r) for t, r in sorted(result.sweep.items())]
    rows += [(k, r) for k, r in result.policies.items() if k not in ("static", "hpa")]
    headline = result.policies["predictive"]
    rows += [(f"predictive@{h:g}", r) for h, r in sorted(result.headroom_sweep.items()) if r is not headline]
    for label, r in rows:
        table.add_row(label, f"{r.slo_violation_minutes:.2f}", f"{r.replica_minutes:,.0f}", str(r.scaling_actions),
                      _ratio(r.slo_violation_minutes, hpa.slo_violation_minutes),
                      _ratio(r.replica_minutes, hpa.replica_minutes), _ratio(r.replica_minutes, oracle.replica_minutes))
    matched = result.hpa_at_matched_violations()
    p = result.policies["predictive"]
    at_matched = ("no HPA target in the sweep violates as little as predictive" if matched is None else
                  f"HPA at predictive's violations: {matched:,.0f} replica-min (predictive {_ratio(p.replica_minutes, matched)}x)")
    at_cost = result.predictive_at_hpa_cost()
    at_hpa_cost = ("no predictive headroom in the sweep costs what the HPA costs" if at_cost is None else
                   f"predictive at the HPA's replica-min: {at_cost:.2f} violation-min "
                   f"({_ratio(at_cost, hpa.slo_violation_minutes)}x the HPA's)")
    met = "; ".join(f"{k}: {'met' if ok else 'missed'}" for k, ok in result.targets().items())
    table.caption = f"{at_matched}\n{at_hpa_cost}\ntargets: {met}"
    return table


def summary_table(results: list[TraceResult]) -> Table:
    """Every trace: the headline predictive against the HPA, the oracle and the HPA at matched violations."""
    table = Table(title="predictive (through the HPA) per trace")
    for column in ("trace", "violations / hpa", "replica-min / hpa", "replica-min / oracle",
                   "replica-min / hpa at matched violations", "violations / hpa at the hpa's cost", "actions / hpa",
                   "up-down-up", "targets met"):
        table.add_column(column, justify="left" if column == "trace" else "right")
    for r in results:
        p, hpa, oracle = (r.policies[k] for k in ("predictive", "hpa", "oracle"))
        matched, at_cost = r.hpa_at_matched_violations(), r.predictive_at_hpa_cost()
        table.add_row(r.name, _ratio(p.slo_violation_minutes, hpa.slo_violation_minutes),
                      _ratio(p.replica_minutes, hpa.replica_minutes), _ratio(p.replica_minutes, oracle.replica_minutes),
                      "-" if matched is None else _ratio(p.replica_minutes, matched),
                      "-" if at_cost is None else _ratio(at_cost, hpa.slo_violation_minutes),
                      _ratio(p.scaling_actions, hpa.scaling_actions), str(p.up_down_up), f"{sum(r.targets().values())}/3")
    return table


def pooled_table(report: dict[str, Any]) -> Table:
    """The Pareto figures pooled over every trace and over the held-out ones (requested core-minutes)."""
    table = Table(title="predictive against the HPA, pooled (requested core-minutes; held out: "
                  f"{', '.join(report['split']['held_out']) or 'none'})")
    keys = ("cost_ratio_at_matched_slo", "violation_ratio_at_hpa_cost", "cost_ratio_to_oracle", "actions_ratio_to_hpa",
            "max_actions_ratio_to_hpa")
    for column in ("traces", *keys, "worse than the hpa on"):
        table.add_column(column.replace("_", " "), justify="left" if column == "traces" else "right")
    for label, pooled in (("all", report["pooled"]), ("held out", report["pooled_held_out"])):
        if pooled is not None:
            table.add_row(label, *("-" if pooled[k] is None else f"{pooled[k]:.2f}" for k in keys),
                          ", ".join(pooled["worse_than_hpa"]) or "none")
    return table
