"""The HTML report of a run: a summary table, what happened, the decisions, and per-service plots.

One self-contained file (plotly.js embedded once, in the head), so it opens offline in any browser and can be
archived beside the audit log. Numbers are shown to the precision they mean (minutes to a tenth, replica-minutes
whole), times never wrap ("6.02 h" on one line), and the canary chart has one panel per release in minutes since
it started: releases last minutes, hours apart, so a shared hour axis drew them as two vertical lines.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from foresight.demo.incidents import FaultIncident
from foresight.demo.model_loop import model_loop_html
from foresight.demo.summary import ForecastTrace, RunSummary
from foresight.report_page import standalone_page
from foresight.runtime.anomaly import FaultDetection
from foresight.runtime.model_loop import ModelLoopDemo
from foresight.runtime.releases import ReleaseTrack

__all__ = ["write_report"]

_MAX_POINTS = 1500


def _downsample(x: np.ndarray, y: np.ndarray, how: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """Bins long series for plotting; ``max`` keeps peaks (what capacity must meet) visible."""
    if x.size <= _MAX_POINTS:
        return x, y
    bins = int(np.ceil(x.size / _MAX_POINTS))
    n = (x.size // bins) * bins
    yb = y[:n].reshape(-1, bins)
    reduce = np.nanmax if how == "max" else np.nanmean
    return x[:n:bins], reduce(yb, axis=1)


def _service_figure(name: str, hours: np.ndarray, h: Mapping[str, np.ndarray], i: int, slo_p95_s: float | None,
                    anomaly: np.ndarray | None, alerting: np.ndarray | None = None) -> go.Figure:
    """Load and capacity, replicas, p95 latency, and the anomaly score with the spans its alert was open
    (the score marks an incident's onset and falls back to 0 while the alert stays open)."""
    fig = make_subplots(
        rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.36, 0.24, 0.2, 0.2],
        subplot_titles=("load vs ready capacity (req/s)", "replicas", "p95 latency (s)", "anomaly score"),
    )
    lines = [
        (1, "offered load", "foresight_offered_rps", "max", "#1f77b4"),
        (1, "ready capacity", "foresight_capacity_rps", "max", "#2ca02c"),
        (1, "dropped / failed", "foresight_dropped_rps", "max", "#d62728"),
        (2, "desired", "foresight_replicas_desired", "max", "#9467bd"),
        (2, "ready", "foresight_replicas_ready", "max", "#17becf"),
        (3, "p95 latency", "foresight_latency_p95_seconds", "max", "#ff7f0e"),
    ]
    for row, label, key, how, colour in lines:
        if key not in h:
            continue
        x, y = _downsample(hours, h[key][:, i], how)
        shape = "hv" if row == 2 else "linear"
        fig.add_trace(
            go.Scatter(x=x, y=y, name=label, mode="lines", line={"color": colour, "width": 1.4, "shape": shape},
                       legendgroup=label, showlegend=True),
            row=row, col=1,
        )
    if anomaly is not None and anomaly.size:
        x, y = _downsample(hours[: anomaly.size], anomaly, "max")
        fig.add_trace(go.Scatter(x=x, y=y, name="anomaly score", mode="lines",
                                 line={"color": "#8c564b", "width": 1.2}), row=4, col=1)
        fig.update_yaxes(range=[0, 1.02], row=4, col=1)
    if alerting is not None and alerting.any():
        x, y = _downsample(hours[: alerting.size], alerting.astype(np.float64), "max")
        fig.add_trace(go.Scatter(x=x, y=y, name="alert open", mode="lines", fill="tozeroy",
                                 line={"color": "rgba(214, 39, 40, 0.5)", "width": 0, "shape": "hv"}), row=4, col=1)
    if slo_p95_s is not None:
        fig.add_hline(y=slo_p95_s, line_dash="dot", line_color="#d62728", row=3, col=1,
                      annotation_text="SLO", annotation_position="top left")
    fig.update_layout(title=name, height=760, margin={"l": 50, "r": 20, "t": 60, "b": 40},
                      legend={"orientation": "h", "y": -0.08})
    fig.update_xaxes(title_text="hours since start", row=4, col=1)
    return fig


def _forecasts_html(forecasts: Sequence[ForecastTrace], controllers: Mapping[str, str]) -> str:
    """Which controller scaled each service; per predictive service, its forecast peak against the
    load that then came, and how often the forecast covered it."""
    parts = []
    if controllers:
        parts.append(_table(["service", "scaled by"], [[n, c] for n, c in controllers.items()]))
    if not forecasts:
        return "".join(parts) + "<p>no predictive service made a forecast</p>"
    rows = []
    for f in forecasts:
        coverage, error = f.coverage, f.median_error
        rows.append([f.service, f.times.size, "-" if coverage is None else f"{100 * coverage:.1f}%",
                     "-" if error is None else f"{100 * error:.1f}%"])
    parts.append(_table(["service", "decisions with a forecast", "forecast peak >= actual peak", "median |error|"], rows))
    for i, f in enumerate(forecasts):
        if not f.times.size:
            continue
        fig = go.Figure()
        hours = f.times / 3600.0
        for label, y, colour in (("actual peak load ahead", f.actual_peak_rps, "#1f77b4"),
                                 ("forecast peak load ahead", f.forecast_peak_rps, "#ff7f0e")):
            known = np.isfinite(y)
            x, yy = _downsample(hours[known], y[known], "max")
            fig.add_trace(go.Scatter(x=x, y=yy, name=label, mode="lines", line={"color": colour, "width": 1.3}))
        fig.update_layout(title=f"{f.service}: forecast vs actual (req/s, peak over start-up delay + period)",
                          height=300, margin={"l": 50, "r": 20, "t": 50, "b": 40}, xaxis_title="hours since start",
                          legend={"orientation": "h", "y": -0.25})
        parts.append(fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"forecast-{i}"))
    return "".join(parts)


def _releases_figure(releases: Sequence[ReleaseTrack]) -> go.Figure | None:
    """Canary weight per release, one panel each in minutes since it started (None: none started)."""
    started = [track for track in releases if track.steps]
    if not started:
        return None
    titles = [f"{t.release.model} {t.release.version} at {t.release.start_s / 3600.0:.2f} h "
              f"({'good' if t.release.good else 'bad'}): {t.outcome}" for t in started]
    fig = make_subplots(rows=1, cols=len(started), shared_yaxes=True, subplot_titles=titles)
    for col, track in enumerate(started, start=1):
        xs = [0.0] + [(s.time_s - track.release.start_s) / 60.0 for s in track.steps]
        ys = [0] + [s.weight for s in track.steps]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", line={"shape": "hv"}, showlegend=False),
                      row=1, col=col)
        fig.update_xaxes(title_text="minutes since the release started", range=[0, max(xs) * 1.05 + 0.5],
                         row=1, col=col)
    fig.update_layout(title="canary traffic weight (%)", height=340, margin={"l": 50, "r": 20, "t": 80, "b": 40})
    fig.update_yaxes(range=[0, 105])
    return fig


def _releases_html(releases: Sequence[ReleaseTrack]) -> str:
    """A weight-over-time chart per release and, per release, each interval's verdict and reason."""
    if not releases:
        return "<p>no releases</p>"
    fig = _releases_figure(releases)
    parts = [] if fig is None else [fig.to_html(full_html=False, include_plotlyjs=False, div_id="releases")]
    for track in releases:
        r = track.release
        outcome = track.outcome if track.steps else f"not reached (planned at {r.start_s / 3600.0:.2f} h)"
        parts.append(f"<h3>{html.escape(r.model)} {html.escape(r.version)} "
                     f"({'good' if r.good else 'bad'} version): {html.escape(outcome)}</h3>")
        if track.steps:
            parts.append(_table(["time", "canary weight %", "action", "reason"],
                                [[_hours(s.time_s), s.weight, s.action, s.reason] for s in track.steps]))
    return "".join(parts)


def _hours(t_s: float) -> str:
    """A time of the run, as the report writes it.

    >>> _hours(21672.0)
    '6.02 h'
    """
    return f"{t_s / 3600.0:.2f} h"


def _detected(fault: FaultDetection, end_s: float, horizon_s: float = 7200.0) -> str:
    """How soon a fault was detected; a fault with no alert says how long the run went on after it.

    >>> _detected(FaultDetection(3600.0, "node-loss: n1", None), end_s=4500.0)
    'not in the 15 min the run went on'
    """
    if fault.delay_s is not None:
        return f"{fault.delay_s / 60.0:.1f} min"
    if fault.time_s + horizon_s > end_s:
        return f"not in the {(end_s - fault.time_s) / 60.0:.0f} min the run went on"
    return f"not within {horizon_s / 3600.0:g} h"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(
    path: Path,
    *,
    title: str,
    summary: RunSummary,
    history: Mapping[str, np.ndarray],
    services: Sequence[str],
    step_s: float,
    slo_p95_s: Mapping[str, float],
    events: Sequence[tuple[float, str]],
    decisions: Sequence[Mapping[str, object]],
    anomaly_scores: np.ndarray | None = None,
    anomaly_alerting: np.ndarray | None = None,
    faults: Sequence[FaultDetection] = (),
    releases: Sequence[ReleaseTrack] = (),
    controllers: Mapping[str, str] | None = None,
    forecasts: Sequence[ForecastTrace] = (),
    model_loop: ModelLoopDemo | None = None,
    incidents: Sequence[FaultIncident] = (),
    incident_count: int = 0,
) -> Path:
    """Write the report to ``path`` (parents created) and return it.

    ``anomaly_scores`` and ``anomaly_alerting`` are ``[steps, services]``: each step's anomaly score and
    whether the service's alert was open.
    """
    steps = next(iter(history.values())).shape[0] if history else 0
    hours = (np.arange(steps) + 1) * step_s / 3600.0
    totals = _table(
        ["SLO-violation minutes", "replica-minutes", "scaling actions", "simulated hours"],
        [[f"{summary.slo_violation_minutes:,.1f}", f"{summary.replica_minutes:,.0f}", summary.scaling_actions,
          f"{summary.duration_s / 3600.0:.2f}"]],
    )
    per_service = _table(
        ["service", "SLO-violation min", "replica-min", "actions", "peak load (req/s)", "failed %", "median p95 (ms)"],
        [[s.service, f"{s.slo_violation_minutes:,.1f}", f"{s.replica_minutes:,.0f}", s.scaling_actions,
          f"{s.peak_offered_rps:,.1f}", f"{100 * s.dropped_fraction:.3f}", f"{1000 * s.p95_latency_s_median:,.1f}"]
         for s in summary.services],
    )
    event_rows = [[_hours(t), what] for t, what in events]
    decision_rows = [[_hours(float(d["time"])), d["target"], d["controller"], d["decision"], d["reason"]]
                     for d in decisions]
    fault_rows = [
        [_hours(f.time_s), f.fault, _detected(f, steps * step_s),
         "" if f.alert is None else f"{f.alert.service} ({f.alert.signal}, score {f.alert.score})"]
        for f in faults
    ]
    incident_rows = [
        [_hours(f.time_s), f.fault, f.place, f.incident or "none",
         "" if f.opened_after_s is None else f"{f.opened_after_s / 60.0:.1f} min", f.root_cause or "",
         "yes" if f.named else f"rank {f.rank}" if f.rank else "no", f"{f.alerts} ({f.suppressed} suppressed)"]
        for f in incidents
    ]
    figures = []
    for i, name in enumerate(services):
        scores = None if anomaly_scores is None else anomaly_scores[:, i]
        alerting = None if anomaly_alerting is None else anomaly_alerting[:, i]
        fig = _service_figure(name, hours, history, i, slo_p95_s.get(name), scores, alerting)
        figures.append(fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"svc-{i}"))
    release_html = _releases_html(releases)
    page = standalone_page(title, f"""<h2>Summary</h2>{totals}{per_service}
<h2>Events</h2><div class="scroll">{_table(["time", "event"], event_rows) if event_rows else "<p>none</p>"}</div>
<h2>Injected faults and their detection</h2>
{_table(["time", "fault", "detected after", "first alert"], fault_rows) if fault_rows else "<p>no faults injected</p>"}
<h2>Incidents: injected fault &rarr; incident &rarr; named root cause</h2>
<p>{incident_count} incident(s) opened from the anomaly alerts, correlated over the call graph.</p>
{_table(["time", "fault", "injected at", "incident", "opened after", "root cause", "named", "alerts"],
        incident_rows) if incident_rows else "<p>no faults injected</p>"}
<h2>Predictive scaling: forecast vs actual</h2>
{_forecasts_html(forecasts, controllers or {})}
<h2>Model releases (canary analysis)</h2>
{release_html}
<h2>Model feedback loop (drift, retrain, gate, canary)</h2>
{model_loop_html(model_loop) if model_loop is not None else "<p>not run</p>"}
<h2>Scaling decisions that changed replicas</h2>
<div class="scroll">{_table(["time", "service", "controller", "decision", "reason"], decision_rows) if decision_rows else "<p>none</p>"}</div>
<h2>Services</h2>
{''.join(f'<div class="service">{f}</div>' for f in figures)}""",
                           extra_css=".scroll { max-height: 22rem; overflow-y: auto; display: inline-block; }\n"
                                     "td:first-child { white-space: nowrap; }\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
