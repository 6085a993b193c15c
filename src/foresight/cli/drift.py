"""``foresight drift``, ``foresight bench drift`` and ``foresight bench drift-monitor``."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.drift import bench_monitor, bench_report
from foresight.cli.app import app, bench_app
from foresight.cli.progress import progress_bar
from foresight.drift.html import write_html
from foresight.drift.monitor import MonitorSpec
from foresight.drift.report import DriftReport, drift_report, require_compared
from foresight.drift.table import read_table
from foresight.errors import InputError


class Format(str, Enum):
    html = "html"
    json = "json"


def _print_table(report: DriftReport) -> None:
    table = Table(title="drift per feature")
    for column in ("feature", "status", "drifted", "test", "value", "threshold", "psi", "missing ref/cur", "note"):
        table.add_column(column)
    for f in report.features:
        drifted = "" if f.drifted is None else ("yes" if f.drifted else "no")
        value = "" if f.value is None else f"{f.value:.4g}"
        psi = f"{f.stats['psi']:.3f}" if "psi" in f.stats else ""
        table.add_row(f.name, f.status, drifted, f.test or "", value, "" if f.threshold is None else f"{f.threshold:g}",
                      psi, f"{f.missing_ref}/{f.missing_cur}" if f.status in ("compared", "empty") else "", f.note)
    verdict = "DRIFTED" if report.dataset_drifted else "no dataset drift"
    table.caption = (f"{verdict}: {len(report.drifted_columns)} of {len(report.compared)} compared features drifted "
                     f"(dataset drifts at {report.drift_share:.0%})")
    Console().print(table)


@app.command("drift")
def drift(
    reference: Annotated[Path, typer.Argument(help="Reference table: CSV (header row) or Parquet (.parquet).")],
    current: Annotated[Path, typer.Argument(help="Current table, same format rules.")],
    format: Annotated[Format, typer.Option("--format", help="html: a report file with plots; json: the report as JSON.")] = Format.html,
    out: Annotated[Path | None, typer.Option("--out", help="Output file (html default: foresight-out/drift/report.html; json default: stdout).")] = None,
    drift_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of drifted features at which the dataset drifts.")] = 0.5,
    bins: Annotated[int, typer.Option(min=2, help="Reference-quantile bins for PSI / KL / Jensen-Shannon.")] = 10,
) -> None:
    """Per-feature drift of CURRENT against REFERENCE: statistics, verdicts, and the dataset verdict.

    Schema differences (missing, extra, retyped columns), empty columns and missing values
    (infinities count as missing) are reported per feature. Exit code 0 whether or not drift is
    found; 2 when no feature could be compared (the message says why for each column) or a file
    names a column twice.
    """
    ref_table, cur_table = read_table(reference), read_table(current)
    try:
        report = require_compared(drift_report(ref_table.columns, cur_table.columns, bins=bins, drift_share=drift_share,
                                               unsupported={**cur_table.unsupported, **ref_table.unsupported}))
    except InputError as exc:
        raise InputError(f"{reference} vs {current}: {exc}") from None
    if format is Format.json:
        text = json.dumps({"reference": str(reference), "current": str(current), **report.to_dict()})
        if out is None:
            typer.echo(text)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n", encoding="utf-8")
            typer.echo(f"report -> {out}")
        return
    path = write_html(out or Path("foresight-out") / "drift" / "report.html", report, ref_table.columns, cur_table.columns)
    _print_table(report)
    typer.echo(f"report -> {path}")


@bench_app.command("drift")
def bench_drift(
    rows: Annotated[int, typer.Option(min=10, help="Rows in each of the reference and current tables.")] = 1_000_000,
    cols: Annotated[int, typer.Option(min=3, help="Columns (every fifth categorical); drift in num_00, num_01, cat_00.")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the synthetic data.")] = 0,
    no_evidently: Annotated[bool, typer.Option("--no-evidently", help="Time Foresight alone (Evidently not needed).")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Foresight's drift report against Evidently's DataDriftPreset on the same data, side by side."""
    with progress_bar("bench drift") as progress:
        figures = bench_report(rows, cols, seed, evidently=not no_evidently, progress=progress)
    _print_figures(figures, json_out, f"drift report: {rows:,} rows x {cols} columns, known drift in 3")


@bench_app.command("drift-monitor")
def bench_drift_monitor(
    seeds: Annotated[int, typer.Option(min=1, help="Seeds (one stationary stream and one shifted stream each).")] = 20,
    days: Annotated[float, typer.Option(min=0.01, help="Stationary days per seed (false alarms).")] = 1.0,
    features: Annotated[int, typer.Option(min=1, help="Features in the stream; the shift hits one.")] = 20,
    rate_hz: Annotated[float, typer.Option("--rate", min=0.001, help="Rows per second (the sample rate).")] = 1.0,
    step_s: Annotated[float, typer.Option("--step", min=1.0, help="Seconds between monitor updates.")] = 60.0,
    reference_rows: Annotated[int, typer.Option(min=10, help="Reference window rows.")] = 3000,
    window_rows: Annotated[int, typer.Option(min=10, help="Current window rows.")] = 600,
    alpha: Annotated[float, typer.Option(help="BH-adjusted KS p-value below which a feature is flagged.")] = 1e-4,
    persistence: Annotated[int, typer.Option(min=1, help="Consecutive flagged steps before the verdict.")] = 3,
    json_out: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Streaming monitor: detection delay of a 1 sd step in one feature, and false alarms per day."""
    names = tuple(f"f{i:02d}" for i in range(features))
    spec = MonitorSpec(features=names, reference_rows=reference_rows, window_rows=window_rows, alpha=alpha,
                       persistence=persistence)
    with progress_bar("bench drift-monitor") as progress:
        figures = bench_monitor(seeds=seeds, days=days, features=features, rate_hz=rate_hz, step_s=step_s, spec=spec,
                                progress=progress)
    _print_figures(figures, json_out,
                   f"drift monitor: {features} features at {rate_hz:g} rows/s, update every {step_s:g} s")


def _print_figures(figures: dict[str, Any], json_out: bool, title: str) -> None:
    """A benchmark's figures: one JSON object on stdout, or a two-column table for people."""
    if json_out:
        typer.echo(json.dumps(figures))
        return
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        table.add_row(key, str(value))
    Console().print(table)
