"""The progress bar of the long benchmarks, on stderr, drawn from their :data:`~foresight.bench.progress.Progress`.

It says what runs now, how much is done, the time so far and an estimate of the time left, and
goes away when the benchmark ends. It is drawn only when stderr is a terminal: piped to a file or
read by CI, stderr would fill with redrawn lines nobody watches. stdout is never touched, so
``--json`` output stays one JSON document; when stdout is the same terminal, what the command
prints there meanwhile (a table per trace) appears above the bar.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from foresight.bench.progress import Progress as Report
from foresight.bench.progress import silent

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(title: str, console: Console | None = None) -> Iterator[Report]:
    """A bar titled ``title`` on ``console`` (default: stderr) for the block; the callback to give the benchmark."""
    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield silent
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, redirect_stdout=sys.stdout.isatty(),
                  redirect_stderr=False) as bar:
        task = bar.add_task(title, total=1.0)

        def report(what: str, done: float) -> None:
            bar.update(task, description=f"{title}: {what}", completed=min(max(done, 0.0), 1.0))

        yield report
