"""The model feedback loop's part of the demo report: the drift statistic and the champion's and
challenger's accuracy over the run, with the loop's events (the loop itself is
:class:`foresight.runtime.model_loop.ModelLoopDemo`)."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from foresight.runtime.model_loop import ModelLoopDemo

__all__ = ["model_loop_figures", "model_loop_html"]


def model_loop_figures(demo: ModelLoopDemo) -> list[go.Figure]:
    """Drift statistic with its threshold, champion vs challenger accuracy, both with the loop's events."""
    t = [row[0] / 3600.0 for row in demo.ticks]
    drift = go.Figure()
    drift.add_trace(go.Scatter(x=t, y=[row[1] for row in demo.ticks], mode="lines", name="max PSI over features",
                               text=[row[2] for row in demo.ticks], hovertemplate="%{x:.2f} h: PSI %{y:.3f} (%{text})"))
    drift.add_hline(y=demo.threshold, line_dash="dash", line_color="red", annotation_text=f"threshold {demo.threshold:g}")
    accuracy = go.Figure()
    accuracy.add_trace(go.Scatter(x=t, y=[row[3] for row in demo.ticks], mode="lines", name="champion (serving)"))
    accuracy.add_trace(go.Scatter(x=t, y=[np.nan if row[4] is None else row[4] for row in demo.ticks],
                                  mode="lines+markers", name="challenger (canary, shadow-scored)"))
    colours = {"drift": "orange", "retrain": "purple", "hold": "grey", "discard": "red", "start_canary": "blue",
               "promote": "green", "rollback": "red"}
    window = f"last {demo.window_s / 60:g} min"
    for fig, title, ytitle in ((drift, f"input drift (PSI, {window} vs the champion's training data)", "PSI"),
                               (accuracy, f"model accuracy on the live stream ({window})", "accuracy")):
        fig.add_vline(x=demo.drift_at_s / 3600.0, line_dash="dot", line_color="black")
        for step in demo.steps:
            if step.what in colours:
                fig.add_vline(x=step.time_s / 3600.0, line_color=colours[step.what], opacity=0.5)
        fig.update_layout(title=title, height=300, margin={"l": 50, "r": 20, "t": 50, "b": 40},
                          xaxis_title="hours since start (dotted: injected drift)", yaxis_title=ytitle)
    return [drift, accuracy]


def model_loop_html(demo: ModelLoopDemo) -> str:
    """An HTML fragment for the report: both figures (plotly.js not included) and the events table."""
    parts = [fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"model-loop-{i}")
             for i, fig in enumerate(model_loop_figures(demo))]
    parts.append(f"<p>{html.escape(demo.drift_words().capitalize())}; outcome: {html.escape(demo.outcome)}.</p>")
    rows = "".join(f"<tr><td>{s.time_s / 3600:.2f} h</td><td>{html.escape(s.what)}</td>"
                   f"<td>{html.escape(s.detail)}</td></tr>" for s in demo.steps)
    parts.append(f"<table><thead><tr><th>time</th><th>step</th><th>detail</th></tr></thead><tbody>{rows}</tbody></table>")
    return "".join(parts)

