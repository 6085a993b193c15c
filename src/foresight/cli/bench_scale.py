"""``foresight bench scale``: sharded scoring on NATS JetStream against the single process, and a worker killed."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foresight.cli.app import bench_app


@bench_app.command("scale")
def scale(
    nats_url: Annotated[str, typer.Option(help="NATS server with JetStream (the bench makes and deletes its own "
                                          "streams).")] = "nats://127.0.0.1:4222",
    series: Annotated[int, typer.Option(help="Synthetic series.", min=1)] = 8192,
    steps: Annotated[int, typer.Option(help="Samples per series.", min=10)] = 200,
    partitions: Annotated[int, typer.Option(help="Partitions of the sample stream.", min=1)] = 8,
    rate: Annotated[float | None, typer.Option(help="Samples/s published in the kill phase (default: half the "
                                               "measured 2-worker throughput).", min=1)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the data.", min=0)] = 0,
    steps_per_message: Annotated[int, typer.Option(help="Scrapes of every series one sample message carries "
                                                   "(a remote-write request or a poll of that many steps).",
                                                   min=1)] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Workers 1 and 2 against the single-process detector; latency; kill -9 of a worker (lost, duplicates, recovery)."""
    from foresight.bench.scale import bench_scale

    figures = bench_scale(nats_url, series=series, steps=steps, partitions=partitions, rate=rate, seed=seed,
                          steps_per_message=steps_per_message)
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=f"scale-out on NATS JetStream: {series} series x {steps} steps, {partitions} partitions")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value))
    table.caption = (f"targets: speedup >= 1.8 ({figures['speedup_2_workers']}), broker overhead <= 0.2 "
                     f"({figures['broker_overhead']}), 0 lost ({figures['lost_samples']}), 0 duplicate alerts "
                     f"({figures['duplicate_alerts']}), recovery <= 10 s ({figures['recovery_s']})")
    Console().print(table)
