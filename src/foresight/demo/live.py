"""The live terminal view of a running demo: per-service load, capacity, replicas, latency, SLO, anomaly.

Rendering is a pure function of a snapshot (:func:`render`), so it is tested without a terminal;
:class:`LiveView` only owns the rich ``Live`` display.

The SLO and anomaly columns answer two different questions, and the caption says so: *SLO* is
whether the service meets its targets now; *anomaly* is whether Foresight has an alert open on it.
An alert shows with the signal that opened it and that alert's score, for as long as it is open:
the step's own score is the detector's onset signal, which falls back to 0 a step or two into a
lasting incident, so a column of scores alone read "0.00" beside six violated SLOs, as if Foresight
had seen nothing. Without an open alert the column shows the step's score.

Every column has a fixed width, so the table does not jump when a value ("violated", an alert)
is longer than the one before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from foresight.runtime.anomaly import Alert

__all__ = ["LiveView", "render"]

#: Short names of the signals an alert can open on, as the view shows them.
SIGNAL_WORDS = {
    "foresight_latency_p95_seconds": "p95",
    "foresight_error_ratio": "errors",
    "foresight_memory_utilisation": "memory",
    "foresight_replicas_ready": "pods lost",
}
#: (header, justification, width): wide enough for the longest value each column shows.
COLUMNS = (("service", "left", 12), ("load req/s", "right", 10), ("capacity req/s", "right", 14),
           ("ready/desired", "right", 13), ("p95 ms / SLO", "right", 13), ("failed %", "right", 8),
           ("SLO", "center", 8), ("anomaly", "left", 22))
CAPTION = ("SLO: the service's p95 and failed-request targets, now.  anomaly: an open alert (the signal "
           "that opened it, its score) or, without one, this step's score (0-1, how unexpected it is).")


def _anomaly_cell(score: float | None, alert: Alert | None) -> str:
    """The anomaly column: the open alert if there is one, else the step's score.

    >>> _anomaly_cell(0.0, Alert(20400.0, "api", "foresight_error_ratio", 0.93))
    '[red]alert: errors 0.93[/]'
    >>> _anomaly_cell(0.12, None)
    '0.12'
    """
    if alert is not None:
        return f"[red]alert: {SIGNAL_WORDS.get(alert.signal, alert.signal)} {alert.score:.2f}[/]"
    return "" if score is None else f"{score:.2f}"


def render(
    now_s: float,
    duration_s: float,
    services: Sequence[str],
    latest: Mapping[str, np.ndarray],
    slo_p95_s: Mapping[str, float],
    decisions: Sequence[str],
    anomaly: np.ndarray | None = None,
    alerts: Sequence[Alert | None] = (),
    max_rows: int = 25,
) -> Group:
    """A table of the latest values per service and a panel of the most recent decisions.

    ``anomaly`` holds each service's score of the step, ``alerts`` each service's open alert
    (None: none), both in the order of ``services``.
    """
    table = Table(title=f"simulated time {now_s / 3600.0:6.2f} h / {duration_s / 3600.0:.2f} h", expand=False,
                  caption=CAPTION)
    for header, justify, width in COLUMNS:
        table.add_column(header, justify=justify, min_width=width, max_width=width, no_wrap=True)  # type: ignore[arg-type]
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
            _anomaly_cell(None if anomaly is None else float(anomaly[i]), alerts[i] if i < len(alerts) else None),
        )
    if len(services) > max_rows:
        table.caption = f"... and {len(services) - max_rows} more services.  {CAPTION}"
    log = "\n".join(decisions[-8:]) if decisions else "no scaling decisions yet"
    return Group(table, Panel(log, title="recent decisions", border_style="blue"))


class LiveView:
    """Owns the rich ``Live`` display; a no-op console view when the terminal is not interactive."""

    def __init__(self, console: Console | None = None) -> None:
        self._live = Live(console=console or Console(), auto_refresh=False, transient=False)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.__exit__(None, None, None)

    def show(self, view: Group) -> None:
        self._live.update(view, refresh=True)
