"""``foresight bench loop``: one reconcile round at platform scale, per size and policy."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.loop import POLICIES, bench_loop
from foresight.cli.app import bench_app
from foresight.errors import InputError


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--workloads {text!r}: expected sizes separated by commas, such as 100,1000,10000") from None
    if not sizes or min(sizes) < 4:
        raise InputError(f"--workloads {text!r}: every size must be at least 4 (the smallest default cluster)")
    return sizes


@bench_app.command("loop")
def loop(
    workloads: Annotated[str, typer.Option(help="Sizes to run, separated by commas.")] = "100,1000,10000",
    rounds: Annotated[int, typer.Option(help="Timed rounds per size and policy (after one first round).", min=1)] = 5,
    period_s: Annotated[float, typer.Option("--period", help="Seconds per round and simulator step.", min=1)] = 60.0,
    warmup_h: Annotated[float, typer.Option("--warmup", help="Simulated hours before the rounds (> 2: "
                                                             "the predictive policy's minimum history).", min=0)] = 2.5,
    seed: Annotated[int, typer.Option(help="Seed of the cluster and its traffic.", min=0)] = 0,
    policies: Annotated[list[str] | None, typer.Option("--policy", help=f"Repeat to pick of {', '.join(POLICIES)} "
                                                                         "(default: both).")] = None,
    prometheus: Annotated[int, typer.Option(help="Also run against a real Prometheus holding this many "
                                                 "workloads' remote-written series (0: not).", min=0)] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Reconcile round time (median, p95), per-workload cost, build time and memory for the HPA and the
    predictive policy through the real loop, against the simulator, audit to SQLite."""
    err = Console(stderr=True)
    chosen = policies or list(POLICIES)
    unknown = sorted(set(chosen) - set(POLICIES))
    if unknown:
        raise InputError(f"--policy {', '.join(unknown)}: expected one of {', '.join(POLICIES)}")
    figures = bench_loop(_sizes(workloads), rounds=rounds, period_s=period_s, warmup_s=warmup_h * 3600.0, seed=seed,
                         policies=chosen, prometheus_workloads=prometheus, progress=(lambda line: err.print(line)) if sys.stderr.isatty() else None)
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=f"reconcile round, one process ({rounds} rounds, audit to SQLite)")
    for column in ("workloads", "build s", "sim build s", "policy", "first round s", "median s", "p95 s", "CPU s",
                   "us/workload", "queries/round", "failed", "RSS MB"):
        table.add_column(column, justify="right")
    for n, size in figures["sizes"].items():
        for policy in chosen:
            f = size[policy]
            table.add_row(n, f"{size['build_s']:.2f}", f"{size['sim_build_s']:.2f}", policy, f"{f['first_round_s']:.3f}",
                          f"{f['round_s_median']:.3f}", f"{f['round_s_p95']:.3f}", f"{f['cpu_s_median']:.3f}",
                          f"{f['us_per_workload']:.0f}",
                          str(f["queries_per_round"]), str(f["failed_records"]), f"{size['rss_mb']:.0f}")
    ratio = figures["linearity_10k_over_1k"]
    table.caption = (f"10k/1k ratio {ratio if ratio is not None else '–'} (target <= 12); "
                     f"targets met: {', '.join(k for k, v in figures['targets'].items() if v) or 'none'}")
    console = Console()
    console.print(table)
    if "prometheus" in figures:
        real = figures["prometheus"]
        prom = Table(title=f"against a real Prometheus: {real['workloads']} workloads, {real['samples_written']:,} samples")
        for column in ("policy", "first round s", "first queries", "first bytes", "median s", "p95 s", "CPU s",
                       "queries/round", "bytes/round", "failed"):
            prom.add_column(column, justify="right")
        for policy in chosen:
            f = real[policy]
            prom.add_row(policy, f"{f['first_round_s']:.3f}", str(f["first_round_queries"]), f"{f['first_round_bytes']:,}",
                         f"{f['round_s_median']:.3f}", f"{f['round_s_p95']:.3f}", f"{f['cpu_s_median']:.3f}",
                         str(f["queries_per_round"]), f"{f['bytes_per_round']:,}", str(f["failed_records"]))
        console.print(prom)
