"""The ``foresight`` command line: typer lives here and nowhere else.

User errors (:class:`foresight.errors.ForesightError`) become a one-line message on stderr and a
non-zero exit code; a traceback means a bug.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from foresight.cli.app import app
from foresight.errors import ForesightError

# Command modules register themselves on ``app`` when imported.
from foresight.cli import autoscale, bench, deliver, demo, detect, drift, forecast, model, operator, render, rollout, serve, version, watch  # noqa: E402,F401

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``foresight`` script."""
    try:
        app()
    except ForesightError as exc:
        console = Console(stderr=True, highlight=False)
        console.print("[bold red]error:[/]", escape(str(exc)))
        sys.exit(exc.exit_code)
