"""``foresight bench canary``: Foresight's canary policy against Flagger's analysis on simulated releases."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.canary import BENCH_FLAGGER, bench_canary
from foresight.cli.app import bench_app
from foresight.cli.params import positive

_ROWS = (
    ("bad_caught", "bad versions rolled back"),
    ("bad_caught_detectable", "  of the detectable ones"),
    ("bad_promoted", "bad versions promoted"),
    ("bad_exposure", "bad-version exposure (share x min)"),
    ("bad_exposure_while_analysed", "  of which during the analysis"),
    ("false_rollback_rate", "good versions rolled back"),
    ("good_promoted", "good versions promoted"),
    ("time_to_promote_minutes", "minutes to promote a good version"),
    ("wall_s", "wall time (s)"),
)


@bench_app.command("canary")
def canary(
    trials: Annotated[int, typer.Option(min=1, help="Simulated releases (40% good, 60% bad).")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the release mix and the simulation.")] = 0,
    horizon_min: Annotated[float, typer.Option("--horizon", min=1, help="Minutes each release runs.")] = 60.0,
    label_delay: Annotated[int, typer.Option(min=0, max=60, help="Intervals before label feedback arrives.")] = 0,
    flagger_threshold: Annotated[int, typer.Option(min=1, help="Flagger `threshold`.")] = BENCH_FLAGGER.threshold,
    flagger_p99_ms: Annotated[float, typer.Option(
        callback=positive, help="Flagger request-duration max (ms).")] = BENCH_FLAGGER.max_p99_ms,
    flagger_min_accuracy: Annotated[float, typer.Option(
        min=0, max=1, help="Flagger's accuracy check min (0: no check).")] = 0.85,
    json_out: Annotated[bool, typer.Option("--json", help="Print {\"flagger\": {...}, \"foresight\": {...}}.")] = False,
) -> None:
    """Canary analysis: bad versions caught, exposure to them, false rollbacks, time to promote."""
    flagger = BENCH_FLAGGER.model_copy(update={
        "threshold": flagger_threshold, "max_p99_ms": flagger_p99_ms,
        "min_accuracy": flagger_min_accuracy or None,
    })
    figures = bench_canary(trials, seed, horizon_min, flagger=flagger, label_delay_intervals=label_delay)
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=f"canary releases: {trials} trials, {horizon_min:g} min each")
    table.add_column("figure")
    for name in figures:
        table.add_column(name, justify="right")
    for key, label in _ROWS:
        table.add_row(label, *(str(figures[name][key]) for name in figures))
    ours = figures["foresight"]
    targets = ", ".join(f"{k.replace('_', ' ')}: {'yes' if ok else 'NO'}" for k, ok in ours["targets_met"].items())  # type: ignore[union-attr]
    ratio = ours["bad_exposure_vs_flagger"]
    share = "n/a (Flagger had none)" if ratio is None else f"{ratio:.0%} of Flagger's"
    table.caption = f"Foresight's bad-version exposure: {share}; {targets}"
    console = Console()
    console.print(table)
    effects = Table(title="caught rate by effect (all / detectable)")
    effects.add_column("bad version")
    effects.add_column("trials (detectable)", justify="right")
    for name in figures:
        effects.add_column(name, justify="right")
    by_effect = {name: figures[name]["caught_by_effect"] for name in figures}
    for effect, row in by_effect["foresight"].items():  # type: ignore[union-attr]
        cells = [f"{by_effect[n][effect]['caught']} / {by_effect[n][effect]['caught_detectable']}" for n in figures]  # type: ignore[index]
        effects.add_row(effect, f"{row['trials']} ({row['detectable']})", *cells)
    console.print(effects)
