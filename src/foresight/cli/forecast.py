"""``foresight bench forecast``: rolling-origin backtest of every forecaster on load traces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.forecast import (
    BUILTIN_TRACES,
    HORIZONS_MIN,
    MODELS,
    TraceWindow,
    available_models,
    bench_forecast,
)
from foresight.cli.app import bench_app
from foresight.cli.progress import progress_bar

DATA_BESIDE_CHECKOUT = Path("..") / "shared" / "data"


@bench_app.command("forecast")
def forecast(
    traces: Annotated[
        list[Path] | None,
        typer.Option("--trace", help="A 'time,value' CSV trace (repeat). Default: the built-in set under --data-dir."),
    ] = None,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Folder holding traces/ and nab/ for the built-in set.")
    ] = DATA_BESIDE_CHECKOUT,
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help=f"Repeat to pick (default: all that can run here of {', '.join(MODELS)})."),
    ] = None,
    train_days: Annotated[float, typer.Option(help="Most history fitted on before the test part.")] = 21.0,
    test_days: Annotated[float, typer.Option(help="Test part (a quarter of a shorter trace).")] = 7.0,
    refit_days: Annotated[float, typer.Option(help="Models are fitted again this often (the policy: daily).")] = 1.0,
    lookback_days: Annotated[float, typer.Option(help="Each fit sees at most this much of the latest history.")] = 7.0,
    json_out: Annotated[bool, typer.Option("--json", help="Print every figure as JSON.")] = False,
) -> None:
    """MASE (scaled by in-sample daily seasonal naive) and pinball loss per model and horizon."""
    windows = [TraceWindow(p.stem, str(p.resolve())) for p in traces] if traces else list(BUILTIN_TRACES)
    chosen = models or available_models()
    with progress_bar(f"bench forecast ({len(windows)} traces)") as progress:
        figures = bench_forecast(windows, data_dir, chosen, train_days, test_days, progress, refit_days, lookback_days)
    if json_out:
        typer.echo(json.dumps(figures, indent=1))
        return
    summary = figures["summary"]
    assert isinstance(summary, dict)
    count = len(summary["traces"])
    console = Console()
    for metric, title in (("mase", "MASE"), ("pinball", "scaled pinball loss")):
        table = Table(title=f"{title}, geometric mean over {count} traces (lower is better)")
        table.add_column("model")
        for minutes in HORIZONS_MIN:
            table.add_column(f"{minutes} min", justify="right")
        if metric == "mase" and "beats_seasonal_naive" in summary:
            table.add_column("beats s-naive, 5 min", justify="right")
        for model in chosen:
            cells = [f"{v:.3f}" if (v := summary[metric][model].get(str(m))) is not None else "-" for m in HORIZONS_MIN]
            if metric == "mase" and "beats_seasonal_naive" in summary:
                cells.append(f"{summary['beats_seasonal_naive'][model]['5']}/{count}")
            table.add_row(model, *cells)
        console.print(table)

    detail = Table(title="MASE per trace at 5 minutes (or the nearest horizon), and seconds on the trace")
    detail.add_column("trace")
    for model in chosen:
        detail.add_column(model, justify="right")
    by_trace: dict[str, dict[str, str]] = {}
    for row in figures["results"]:  # type: ignore[attr-defined]
        mase = row.get("mase")
        cell = f"{mase.get('5', next(iter(mase.values()))):.3f} ({row['seconds']:.1f} s)" if mase else "skipped"
        name = row["trace"] + ("" if row.get("held_out", True) else " (dev)")
        by_trace.setdefault(name, {})[row["model"]] = cell
    for trace, per_model in by_trace.items():
        detail.add_row(trace, *(per_model.get(m, "-") for m in chosen))
    console.print(detail)
