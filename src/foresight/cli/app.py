"""The typer applications every command module registers on (``foresight`` and ``foresight bench``)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="foresight",
    help="Foresight: a predictive control plane for cloud-native AI platforms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks: figures and ratios against baselines, side by side.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
