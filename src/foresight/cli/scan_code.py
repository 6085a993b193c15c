"""``foresight bench scan-code``: the Python code scanner's OWASP-style score on labelled programs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.code_cases import CATEGORIES
from foresight.cli.app import bench_app

__all__ = ["bench_scan_code_command"]


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _column(figures: dict[str, Any] | None, category: str) -> str:
    if figures is None:
        return "–"
    row = figures["categories"].get(category)
    if row is None:
        return "–"
    return f"{_rate(row['tpr'])} / {_rate(row['fpr'])} = {_rate(row['score'])}"


@bench_app.command("scan-code")
def bench_scan_code_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Score the Python code scanner per CWE category: TPR - FPR, averaged x 100, and time per file.

    ``dev`` is the corpus written with the scanner (optimistic); ``heldout`` was written apart and is
    only scored. A program is detected when a finding carries its category's CWE.
    """
    from foresight.bench.code_scan import bench_code_scan

    figures = bench_code_scan()
    if as_json:
        typer.echo(json.dumps(figures))
        return
    dev, heldout = figures["dev"], figures["heldout"]
    table = Table(title="bench scan-code: TPR / FPR = score per category")
    table.add_column("category (CWE)")
    table.add_column(f"dev ({dev['cases']} programs)", justify="right")
    table.add_column(f"held-out ({heldout['cases']} programs)" if heldout else "held-out", justify="right")
    for category, cwe in CATEGORIES.items():
        table.add_row(f"{category} ({cwe})", _column(dev, category), _column(heldout, category))
    table.add_row("score (mean x 100)", _rate(dev["score"]), _rate(heldout["score"]) if heldout else "–")
    table.add_row("categories above 0", f"{dev['categories_above_zero']}/{dev['categories_scored']}",
                  f"{heldout['categories_above_zero']}/{heldout['categories_scored']}" if heldout else "–")
    table.add_row("ms per file (mean / max)", f"{dev['ms_per_file_mean']:.2f} / {dev['ms_per_file_max']:.2f}",
                  f"{heldout['ms_per_file_mean']:.2f} / {heldout['ms_per_file_max']:.2f}" if heldout else "–")
    table.caption = figures["note"]
    Console(width=120).print(table)
