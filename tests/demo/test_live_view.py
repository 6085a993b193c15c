"""The live view renders what a person needs to see, from a snapshot, without a terminal."""

from __future__ import annotations

import numpy as np
from rich.console import Console

from foresight.demo.live import render


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
