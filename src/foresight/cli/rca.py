"""``foresight bench rca``: root-cause ranking from metrics and topology on labelled fault data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from foresight.bench.rca import bench_rca
from foresight.cli.app import bench_app
from foresight.errors import InputError

#: the Nezha Online Boutique data beside the checkout (``../shared/data/rca/...``)
NEZHA_BESIDE_CHECKOUT = Path("..") / "shared" / "data" / "rca" / "nezha-onlineboutique"


def _default_data() -> Path:
    """The default data folder: beside the current directory, else beside the checkout this module lives in."""
    here = Path(__file__).resolve()
    for base in (Path.cwd(), *here.parents):
        candidate = (base / NEZHA_BESIDE_CHECKOUT).resolve()
        if candidate.is_dir():
            return candidate
    raise InputError(f"no --data given and {NEZHA_BESIDE_CHECKOUT} was found neither from {Path.cwd()} nor "
                     "beside the checkout; pass --data DIR (a Nezha rca_data/ folder or the PetShop folder)")


def _fmt(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


@bench_app.command("rca")
def bench_rca_command(
    data: Annotated[Path | None, typer.Option(
        "--data", help=f"Nezha layout (rca_data/<date>/metric/*.csv, *fault*.json) or PetShop layout "
        f"(dataset/<scenario>/graph.csv). Default: {NEZHA_BESIDE_CHECKOUT}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Rank root-cause services from metrics and the call graph; top-1/3/5 per fault type, specificity, speed.

    The method and its one threshold were chosen on Nezha 2022-08-22 and PetShop's train issues;
    ``held_out`` gives the figures on the rest. top-k: the ranking when the incident is taken as
    real; strict top-k: the method's own verdict, "nothing wrong" on a real fault counted as a miss;
    detected: how often it named a cause for a real fault; specificity: how often it stayed silent
    on fault-free windows.
    """
    figures = bench_rca(data if data is not None else _default_data())
    if as_json:
        typer.echo(json.dumps(figures))
        return
    alone = figures["without_topology"]
    speed = figures["seconds_per_incident"]
    table = Table(title=f"bench rca: {figures['system']} ({figures['layout']} layout), {figures['faults']} faults",
                  caption=f"{figures['chosen_on']['note']}; {figures['note']}; without the call graph: top-1 "
                          f"{_fmt(alone['top1'])}, top-3 {_fmt(alone['top3'])}; "
                          + (f"{speed * 1000:.1f} ms per incident" if speed is not None else "no incidents"))
    for column in ("part", "faults", "top-1", "top-3", "top-5", "strict top-1", "strict top-3", "detected",
                   "specificity"):
        table.add_column(column, justify="left" if column == "part" else "right")

    def row(name: str, f: dict[str, Any]) -> None:
        table.add_row(name, str(f["faults"]), *(_fmt(f.get(k)) for k in ("top1", "top3", "top5")),
                      *(_fmt(f["strict"].get(k)) for k in ("top1", "top3")),
                      *(_fmt(f.get(k)) for k in ("detected", "specificity")))

    row("all", figures)
    row(f"chosen on: {', '.join(figures['chosen_on']['parts']) or '-'}", figures["chosen_on"])
    row(f"held out: {', '.join(figures['held_out']['parts']) or '-'}", figures["held_out"])
    for kind, f in figures["by_type"].items():
        row(f"  type {kind}", f)
    for part, f in figures["by_part"].items():
        row(f"  part {part}", f)
    Console(width=150).print(table)
