"""The HTML drift report: the verdicts table, then reference-vs-current distributions per feature.

One self-contained file (plotly.js embedded once), as the demo's report does. Distributions are
binned here (numeric: 40 equal-width bins over both samples' 0.5-99.5% range; categorical: the
40 most frequent categories), so the page stays small at any row count.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from foresight.drift.columns import Categorical, Column, as_column, category_counts
from foresight.drift.report import DriftReport, FeatureDrift
from foresight.report_page import standalone_page

__all__ = ["render_html", "write_html"]

_BINS = 40
_MAX_CATEGORIES = 40


def _numeric_shares(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]  # missing and infinite values are not plotted
    both = np.concatenate([ref, cur])
    lo, hi = np.quantile(both, [0.005, 0.995]) if both.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, _BINS + 1)
    shares = []
    for x in (ref, cur):
        x = np.clip(x, lo, hi)
        counts = np.histogram(x, edges)[0]
        shares.append(counts / max(counts.sum(), 1))
    return (edges[:-1] + edges[1:]) / 2, shares[0], shares[1]


def _categorical_shares(ref: Categorical, cur: Categorical) -> tuple[list[str], np.ndarray, np.ndarray]:
    labels = tuple(dict.fromkeys(ref.categories + cur.categories))
    r, c = category_counts(ref, labels).astype(float), category_counts(cur, labels).astype(float)
    r, c = r / max(r.sum(), 1), c / max(c.sum(), 1)
    top = np.argsort(-(r + c), kind="stable")[:_MAX_CATEGORIES]
    return [labels[i] for i in top], r[top], c[top]


def _figure(feature: FeatureDrift, ref: Column, cur: Column) -> str:
    if isinstance(ref, Categorical) and isinstance(cur, Categorical):
        x, r, c = _categorical_shares(ref, cur)
    else:
        x, r, c = _numeric_shares(np.asarray(ref, dtype=float), np.asarray(cur, dtype=float))
    fig = go.Figure([go.Bar(x=x, y=r, name="reference", opacity=0.6), go.Bar(x=x, y=c, name="current", opacity=0.6)])
    fig.update_layout(
        title=f"{feature.name}: {feature.summary}",
        barmode="overlay", height=300, margin={"l": 40, "r": 20, "t": 40, "b": 40}, yaxis_title="share",
    )
    return fig.to_html(full_html=False, include_plotlyjs=False)


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))


def _counts(f: FeatureDrift) -> tuple[str, str]:
    """Valid and missing rows, for the features whose columns were both read."""
    if f.status not in ("compared", "empty"):
        return "", ""
    return f"{f.rows_ref} / {f.rows_cur}", f"{f.missing_ref} / {f.missing_cur}"


def _table(report: DriftReport) -> str:
    head = ["feature", "status", "kind", "drifted", "test", "value", "threshold", "PSI", "rows ref / cur",
            "missing ref / cur", "note"]
    rows = []
    for f in report.features:
        drifted = "" if f.drifted is None else ("yes" if f.drifted else "no")
        cells = [f.name, f.status, f.kind or "", drifted, f.test or "", _fmt(f.value), _fmt(f.threshold),
                 _fmt(f.stats.get("psi")), *_counts(f), f.note]
        style = ' class="drifted"' if f.drifted else ""
        rows.append(f"<tr{style}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def render_html(report: DriftReport, reference: Mapping[str, Column], current: Mapping[str, Column],
                title: str = "Foresight drift report") -> str:
    """The page as a string; plots for the compared features only."""
    figures = [
        _figure(f, as_column(reference[f.name]), as_column(current[f.name])) for f in report.compared
    ]
    verdict = "DRIFTED" if report.dataset_drifted else "no dataset drift"
    body = f"""<p><b>{verdict}</b>: {len(report.drifted_columns)} of {len(report.compared)} compared features drifted
({report.drifted_share:.0%}; the dataset drifts at {report.drift_share:.0%}).</p>
<h2>Features</h2>{_table(report)}
<h2>Distributions</h2>
{''.join(f'<div class="feature">{f}</div>' for f in figures)}"""
    return standalone_page(title, body, extra_css="tr.drifted td { background: #fde8e8; }\n")


def write_html(path: Path, report: DriftReport, reference: Mapping[str, Column], current: Mapping[str, Column]) -> Path:
    """Write :func:`render_html` to ``path`` (parents created) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, reference, current), encoding="utf-8")
    return path
