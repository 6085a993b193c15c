"""``foresight version``."""

from __future__ import annotations

import typer

from foresight import __version__
from foresight.cli.app import app


@app.command()
def version() -> None:
    """Print Foresight's version."""
    typer.echo(__version__)
