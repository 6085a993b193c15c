"""The demo's anomaly watch: one alert per incident, none while learning, on the right service."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.detect.alerts import AlertRule
from foresight.errors import InputError
from foresight.runtime.anomaly import SIGNALS, AnomalyWatch


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


def _steady(rng: np.random.Generator, n: int, errors: float = 1e-5) -> dict[str, np.ndarray]:
    return {
        "foresight_latency_p95_seconds": 0.2 * np.exp(0.02 * rng.standard_normal(n)),
        "foresight_error_ratio": errors * np.exp(0.3 * rng.standard_normal(n)),
        "foresight_memory_utilisation": 0.4 + 0.01 * rng.standard_normal(n),
        "foresight_replicas_ready": np.full(n, 3.0),
        "foresight_replicas_desired": np.full(n, 3.0),
    }


def _watch_through(change: dict[str, float], steps: int = 5, **options: int) -> AnomalyWatch:
    rng = np.random.default_rng(2)
    watch = AnomalyWatch(["api"], warmup_steps=100, **options)
    for k in range(700):
        watch.observe(15.0 * k, _steady(rng, 1))
    for k in range(700, 700 + steps):
        latest = _steady(rng, 1)
        for signal, value in change.items():
            latest[signal] = np.array([value])
        watch.observe(15.0 * k, latest)
    return watch


def test_errors_jumping_past_the_slo_open_an_alert_on_the_error_signal() -> None:
    before = len(_watch_through({}).alerts)
    watch = _watch_through({"foresight_error_ratio": 0.3})  # a node is lost: 30 % of requests fail
    assert [a.signal for a in watch.alerts[before:]] == ["foresight_error_ratio"]


def test_a_surprising_but_harmless_change_opens_no_alert() -> None:
    # errors from 0.001 % to 0.05 %: never seen before, yet far below the 1 % SLO; latency +10 %
    quiet = len(_watch_through({}).alerts)
    watch = _watch_through({"foresight_error_ratio": 5e-4, "foresight_latency_p95_seconds": 0.22})
    assert len(watch.alerts) == quiet


def test_missing_values_neither_alert_nor_break_the_scores() -> None:
    quiet = len(_watch_through({}, steps=50).alerts)
    watch = _watch_through({"foresight_latency_p95_seconds": float("nan")}, steps=50)
    assert np.all(np.isfinite(watch.scores)) and len(watch.alerts) == quiet


def test_an_alert_resolves_once_the_symptom_is_gone() -> None:
    watch = _watch_through({"foresight_latency_p95_seconds": 2.0})
    assert watch.open_alerts.tolist() == [True]
    rng = np.random.default_rng(3)
    for k in range(800, 830):
        watch.observe(15.0 * k, _steady(rng, 1))
    assert watch.open_alerts.tolist() == [False]


def test_a_missing_signal_or_a_wrong_length_is_a_precise_input_error() -> None:
    watch = AnomalyWatch(["api", "db"])
    latest = _steady(np.random.default_rng(4), 2)
    with pytest.raises(InputError, match="foresight_error_ratio"):
        watch.observe(0.0, {k: v for k, v in latest.items() if k != "foresight_error_ratio"})
    with pytest.raises(InputError, match="3 values per signal for 2 services"):
        watch.observe(0.0, _steady(np.random.default_rng(4), 3))


def test_a_pod_lost_without_a_scale_down_alerts_at_once_but_a_scale_down_does_not() -> None:
    quiet = len(_watch_through({}).alerts)
    scale_down = _watch_through({"foresight_replicas_desired": 2.0, "foresight_replicas_ready": 3.0}, steps=1)
    assert len(scale_down.alerts) == quiet
    rng = np.random.default_rng(5)
    then_gone = {**_steady(rng, 1), "foresight_replicas_desired": np.array([2.0]), "foresight_replicas_ready": np.array([2.0])}
    scale_down.observe(15.0 * 701, then_gone)  # the pod the scale-down removed stops being ready
    assert len(scale_down.alerts) == quiet
    lost = _watch_through({"foresight_replicas_ready": 2.0}, steps=1)  # a node took a pod with it
    assert [(a.signal, a.score) for a in lost.alerts[quiet:]] == [("foresight_replicas_ready", 1.0)]


def test_alerts_come_from_the_shared_alert_machine_and_resolve_after_its_normal_steps() -> None:
    """One alert state machine in Foresight: the watch's rule is a detect.alerts rule, and the alert
    resolves on exactly its ``resolve_after``-th normal step, the opening alert kept until then."""
    watch = _watch_through({"foresight_latency_p95_seconds": 2.0}, resolve_after_steps=7)
    assert isinstance(watch.rule, AlertRule) and watch.rule.resolve_after == 7
    (opened,) = watch.alerts[-1:]
    rng = np.random.default_rng(3)
    for k in range(6):
        watch.observe(15.0 * (800 + k), _steady(rng, 1))
        assert watch.open_alerts.tolist() == [True] and watch.ongoing() == [opened]
    watch.observe(15.0 * 806, _steady(rng, 1))
    assert watch.open_alerts.tolist() == [False] and watch.ongoing() == [None]
    assert watch.alerting[-8:, 0].tolist() == [True] * 7 + [False]
