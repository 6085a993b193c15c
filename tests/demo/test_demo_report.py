"""The demo's HTML report reads well: rounded numbers, times on one line, canaries zoomed to their minutes,
faults the run ended too soon to judge, and the spans an anomaly alert was open."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from foresight.demo.report import _releases_figure, write_report
from foresight.demo.summary import RunSummary, ServiceSummary
from foresight.runtime.anomaly import FaultDetection
from foresight.runtime.releases import demo_releases


def _page(tmp_path: Path, **extra: object) -> str:
    steps = 240  # one simulated hour of 15 s steps
    history = {"foresight_offered_rps": np.full((steps, 1), 100.0), "foresight_capacity_rps": np.full((steps, 1), 120.0)}
    service = ServiceSummary("api", 12.3456, 549.525, 3, 123.4567, 0.0123456, 0.1234567)
    summary = RunSummary(3600.0, 12.3456, 549.525, 3, (service,))
    path = write_report(tmp_path / "report.html", title="t", summary=summary, history=history, services=["api"],
                        step_s=15.0, slo_p95_s={"api": 0.3}, events=[(21672.0, "node-loss: n1")], decisions=[],
                        **extra)  # type: ignore[arg-type]
    return path.read_text()


def test_numbers_are_rounded_and_times_never_wrap(tmp_path: Path) -> None:
    page = _page(tmp_path)
    assert "549.525" not in page and "<td>550</td>" in page and "<td>12.3</td>" in page and "<td>123.5</td>" in page
    assert "<td>6.02 h</td>" in page and "td:first-child { white-space: nowrap; }" in page


def test_a_fault_the_run_ended_too_soon_to_judge_says_so(tmp_path: Path) -> None:
    page = _page(tmp_path, faults=[FaultDetection(2700.0, "node-loss: n1", None)])
    assert "not in the 15 min the run went on" in page and "not within 2 h" not in page


def test_the_open_alert_is_drawn_under_the_anomaly_score(tmp_path: Path) -> None:
    alerting = np.zeros((240, 1), dtype=bool)
    alerting[100:160] = True
    page = _page(tmp_path, anomaly_scores=np.zeros((240, 1)), anomaly_alerting=alerting)
    assert "alert open" in page


def test_the_canary_chart_spans_the_releases_minutes_not_the_run() -> None:
    tracks = demo_releases(86400.0, "fraud-scorer", 0, None)  # releases at 6 h and 14.4 h
    for track in tracks:
        track.advance_to(track.release.start_s + 3600.0)
    fig = _releases_figure(tracks)
    assert fig is not None
    spans = [fig.layout[axis].range for axis in ("xaxis", "xaxis2")]
    assert all(0 <= lo and hi <= 60 for lo, hi in spans), spans  # minutes since each release, not 8 h
    assert _releases_figure(demo_releases(86400.0, "m", 0, None)) is None  # none started yet
