"""The live view renders what a person needs to see, from a snapshot, without a terminal."""

from __future__ import annotations

import numpy as np
from rich.console import Console

from foresight.demo.live import render
from foresight.runtime.anomaly import Alert


def test_live_view_shows_services_replicas_and_slo() -> None:
    latest = {
        "foresight_offered_rps": np.array([120.0, 30.0]),
        "foresight_dropped_rps": np.array([0.0, 3.0]),
        "foresight_slo_violation": np.array([0.0, 1.0]),
        "foresight_latency_p95_seconds": np.array([0.12, 0.9]),
        "foresight_capacity_rps": np.array([200.0, 25.0]),
        "foresight_replicas_ready": np.array([4.0, 1.0]),
        "foresight_replicas_desired": np.array([4.0, 2.0]),
    }
    console = Console(record=True, width=140)
    console.print(render(7200.0, 86400.0, ["api", "model"], latest, {"api": 0.3}, ["  2.00 h  model: 1 -> 2"]))
    text = console.export_text()
    assert "api" in text and "model" in text
    assert "1/2" in text and "violated" in text and "ok" in text
    assert "10.00" in text  # 3 of 30 requests failed
    assert "model: 1 -> 2" in text


def _latest(violated: list[float], failed: list[float]) -> dict[str, np.ndarray]:
    n = len(violated)
    return {
        "foresight_offered_rps": np.full(n, 200.0),
        "foresight_dropped_rps": 2.0 * np.array(failed),
        "foresight_slo_violation": np.array(violated),
        "foresight_latency_p95_seconds": np.full(n, 0.2),
        "foresight_capacity_rps": np.full(n, 210.0),
        "foresight_replicas_ready": np.full(n, 2.0),
        "foresight_replicas_desired": np.full(n, 2.0),
    }


def test_an_open_alert_shows_though_the_steps_score_is_back_to_zero() -> None:
    """Seed 0 at 5.67 h: six services violated their SLO, alerts open on them, every score 0.00 (the
    detector scores an incident's onset). The view shows the open alert, not a bare 0.00."""
    alert = Alert(20376.0, "llm-chat", "foresight_error_ratio", 0.9315)
    console = Console(record=True, width=160)
    console.print(render(20412.0, 86400.0, ["gateway", "llm-chat"], _latest([1.0, 1.0], [7.5, 13.8]), {}, [],
                         np.zeros(2), [None, alert]))
    text = console.export_text()
    rows = {line.split()[1]: line for line in text.splitlines() if "gateway" in line or "llm-chat" in line}
    assert "alert: errors 0.93" in rows["llm-chat"]
    assert "0.00" in rows["gateway"] and "alert" not in rows["gateway"]
    assert "an open alert" in text  # the caption tells SLO and anomaly apart


def test_columns_keep_their_width_when_a_service_starts_violating_or_alerting() -> None:
    def header(violated: float, alert: Alert | None) -> str:
        console = Console(record=True, width=160)
        console.print(render(3600.0, 86400.0, ["api"], _latest([violated], [0.0]), {"api": 0.3}, [],
                             np.array([0.1]), [alert]))
        return console.export_text().splitlines()[1]

    calm = header(0.0, None)
    assert header(1.0, None) == calm
    assert header(1.0, Alert(3600.0, "api", "foresight_replicas_ready", 1.0)) == calm
