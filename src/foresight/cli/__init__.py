"""The ``foresight`` command line: typer lives here and nowhere else.

``app`` holds every command (command modules register on it when imported); ``cli`` is what a user
runs: the same commands behind the one error boundary (:mod:`foresight.cli.boundary`), so every
failure is one line on stderr and an exit status that says its kind, never a traceback.
"""

from __future__ import annotations

# Command modules register themselves on ``app`` when imported.
from foresight.cli import (  # noqa: F401
    autoscale,
    bench,
    bench_scale,
    cost,
    deliver,
    demo,
    detect,
    drift,
    edge,
    features,
    forecast,
    heal,
    incidents,
    ingest,
    loop,
    model,
    operator,
    placement,
    rca,
    render,
    rollout,
    scan,
    scan_code,
    scheduler,
    serve,
    version,
    watch,
    worker,
)
from foresight.cli.app import ROOT, ForesightTyper, app
from foresight.cli.boundary import ErrorBoundary

__all__ = ["app", "cli", "main"]

cli = ForesightTyper(cls=ErrorBoundary, **ROOT)
cli.add_typer(app, name=None)  # no name: app's commands are cli's own


def main() -> None:
    """Entry point of the ``foresight`` script."""
    cli(prog_name="foresight")
