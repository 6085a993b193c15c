"""``foresight bench sim``: the simulator's own speed (other benchmarks register beside it)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.sim import bench_sim
from foresight.cli.app import bench_app


@bench_app.command("sim")
def sim(
    days: Annotated[float, typer.Option(help="Simulated days.")] = 7.0,
    services: Annotated[int, typer.Option(help="Services in the simulated platform.")] = 50,
    step_s: Annotated[float, typer.Option("--step", help="Step in seconds.")] = 15.0,
    seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Simulator throughput: simulated service-steps per second, against the 7 d x 50 services < 10 s target."""
    figures = bench_sim(days=days, services=services, step_s=step_s, seed=seed)
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title="simulator throughput (one core, replicas fixed, faults on)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value))
    ratio = figures["service_steps_per_s"] / figures["target_service_steps_per_s"]  # type: ignore[operator]
    table.caption = f"{ratio:.2f}x the target rate"
    Console().print(table)
