"""The live terminal view of a running demo: per-service load, capacity, replicas, latency, SLO.

Rendering is a pure function of a snapshot (:func:`render`), so it is tested without a terminal;
:class:`LiveView` only owns the rich ``Live`` display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

__all__ = ["render", "LiveView"]


def render(
    now_s: float,
    duration_s: float,
    services: Sequence[str],
    latest: Mapping[str, np.ndarray],
    slo_p95_s: Mapping[str, float],
    decisions: Sequence[str],
    anomaly: np.ndarray | None = None,
    max_rows: int = 25,
) -> Group:
    """A table of the latest values per service and a panel of the most recent decisions."""
    table = Table(title=f"simulated time {now_s / 3600.0:6.2f} h / {duration_s / 3600.0:.2f} h", expand=False)
    for col, justify in [("service", "left"), ("load req/s", "right"), ("capacity req/s", "right"),
                         ("replicas ready/desired", "right"), ("p95 ms", "right"), ("failed %", "right"),
                         ("SLO", "center"), ("anomaly", "right")]:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for i, name in enumerate(services[:max_rows]):
        offered = float(latest["foresight_offered_rps"][i])
        dropped = float(latest["foresight_dropped_rps"][i])
        violated = bool(latest["foresight_slo_violation"][i])
        p95_ms = 1000 * float(latest["foresight_latency_p95_seconds"][i])
        slo = slo_p95_s.get(name)
        table.add_row(
            name,
            f"{offered:,.1f}",
            f"{float(latest['foresight_capacity_rps'][i]):,.1f}",
            f"{int(latest['foresight_replicas_ready'][i])}/{int(latest['foresight_replicas_desired'][i])}",
            f"{p95_ms:,.0f}" + (f" / {1000 * slo:.0f}" if slo else ""),
            f"{100 * dropped / offered:.2f}" if offered > 0 else "0.00",
            "[red]violated[/]" if violated else "[green]ok[/]",
            "" if anomaly is None else (f"[red]{anomaly[i]:.2f}[/]" if anomaly[i] >= 0.9 else f"{anomaly[i]:.2f}"),
        )
    if len(services) > max_rows:
        table.caption = f"... and {len(services) - max_rows} more services"
    log = "\n".join(decisions[-8:]) if decisions else "no scaling decisions yet"
    return Group(table, Panel(log, title="recent decisions", border_style="blue"))


class LiveView:
    """Owns the rich ``Live`` display; a no-op console view when the terminal is not interactive."""

    def __init__(self, console: Console | None = None) -> None:
        self._live = Live(console=console or Console(), auto_refresh=False, transient=False)

    def __enter__(self) -> "LiveView":
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def show(self, view: Group) -> None:
        self._live.update(view, refresh=True)
