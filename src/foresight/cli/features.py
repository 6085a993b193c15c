"""``foresight bench features``: Feast online retrieval latency and the streaming ingest's freshness and throughput."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foresight.cli.app import bench_app


@bench_app.command("features")
def features(
    spec: Annotated[Path | None, typer.Option(help="FeatureSet YAML (default: examples/features/payments.yaml).")] = None,
    entities: Annotated[int, typer.Option(help="Entities (cards) in the store.", min=100)] = 10_000,
    reads: Annotated[int, typer.Option(help="Timed online reads per size (1 and 100 entities).", min=10)] = 500,
    rate: Annotated[float, typer.Option(help="Sustained event rate of the freshness run, events/s.", min=1)] = 5000.0,
    duration: Annotated[float, typer.Option(help="Seconds of the sustained run.", min=1)] = 10.0,
    backlog: Annotated[int, typer.Option(help="Events of the throughput run (drained as fast as possible).",
                                         min=100)] = 50_000,
    nats_url: Annotated[str, typer.Option("--nats", help="NATS JetStream server.")] = "nats://127.0.0.1:4222",
    redis: Annotated[str, typer.Option(help="Redis for Feast's online store (host:port[,db=N]).")] = "127.0.0.1:6379",
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Feast on the real Redis (needs requirements-feast.txt): online p50/p99 for 1 and 100 entities x 10 features
    through the SDK, and streaming freshness (published -> readable online) p50/p99 at a sustained rate from JetStream."""
    from foresight.bench.features import EXAMPLE, bench_features

    figures = bench_features(
        spec_path=spec or EXAMPLE, entities=entities, reads=reads, rate=rate, duration_s=duration, backlog=backlog,
        nats_url=nats_url, redis=redis,
    )
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=f"Feast on Redis: {entities:,} entities, {figures['features_per_read']} features per read")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    for key, value in figures.items():
        if key != "targets":
            table.add_row(key, str(value), str(figures["targets"].get(key, "")))
    Console().print(table)
