"""The demo's anomaly watch: one alert per incident, none while learning, on the right service."""

from __future__ import annotations

import numpy as np

from foresight.demo.anomaly import SIGNALS, AnomalyWatch


def _latest(rng: np.random.Generator, n: int, spike: int | None = None) -> dict[str, np.ndarray]:
    values = {s: 1.0 + 0.01 * rng.standard_normal(n) for s in SIGNALS}
    if spike is not None:
        values["foresight_latency_p95_seconds"][spike] = 50.0
    return values


def test_a_spike_after_warmup_opens_one_alert_on_its_service() -> None:
    rng = np.random.default_rng(0)
    watch = AnomalyWatch(["api", "db", "cache"], warmup_steps=100)
    for k in range(600):
        watch.observe(15.0 * k, _latest(rng, 3))
    quiet_alerts = len(watch.alerts)
    for k in range(600, 605):  # a five-step incident on "db"
        watch.observe(15.0 * k, _latest(rng, 3, spike=1))
    new = watch.alerts[quiet_alerts:]
    assert [a.service for a in new] == ["db"]
    assert new[0].signal == "foresight_latency_p95_seconds"
    assert watch.scores.shape == (605, 3)
    assert np.all((watch.scores >= 0) & (watch.scores <= 1))


def test_no_alert_during_warmup() -> None:
    rng = np.random.default_rng(1)
    watch = AnomalyWatch(["api"], warmup_steps=50)
    for k in range(40):
        watch.observe(15.0 * k, _latest(rng, 1, spike=0 if k % 7 == 6 else None))
    assert watch.alerts == []
