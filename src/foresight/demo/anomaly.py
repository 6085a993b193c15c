"""Anomaly detection in the demo: every service's signals scored each step, alerts, and how soon
each injected fault was noticed.

A service's anomaly score is the highest score of its signals (p95 latency, failed fraction,
memory utilisation), each scored by a streaming detector that sees only data up to the step.
An alert opens when the score reaches ``threshold`` and closes once it has stayed below
``resolve_below`` for ``resolve_after_steps`` steps, so one incident is one alert, not a storm.
No alert opens during the first ``warmup_steps`` (the detectors are still learning what normal
is, like NAB's probationary period). A slow fault (a memory leak) shows only as it builds up, so
a fault counts as detected by the first alert within two hours of its start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from foresight.detect import BEST, make_detector

__all__ = ["SIGNALS", "Alert", "FaultDetection", "AnomalyWatch", "detection_delays"]

SIGNALS = ("foresight_latency_p95_seconds", "foresight_error_ratio", "foresight_memory_utilisation")
#: Event kinds (``Event.kind`` of the simulator) that are injected faults, not their ends.
FAULT_KINDS = ("memory-leak", "node-loss", "spot-preemption", "latency-regression")


@dataclass(frozen=True)
class Alert:
    """One alert: when it opened, on which service, and the signal and score that opened it."""

    time_s: float
    service: str
    signal: str
    score: float


@dataclass(frozen=True)
class FaultDetection:
    """An injected fault and the first alert after it (``None`` when none came within the horizon)."""

    time_s: float
    fault: str
    alert: Alert | None

    @property
    def delay_s(self) -> float | None:
        return None if self.alert is None else self.alert.time_s - self.time_s


class AnomalyWatch:
    """Scores all services' signals in one vectorised detector state; keeps scores and alerts."""

    def __init__(self, services: Sequence[str], detector: str = BEST, threshold: float = 0.9,
                 resolve_below: float = 0.5, resolve_after_steps: int = 20, warmup_steps: int = 480) -> None:
        self.services = tuple(services)
        self.warmup_steps = warmup_steps
        self.threshold, self.resolve_below, self.resolve_after_steps = threshold, resolve_below, resolve_after_steps
        self._detector = make_detector(detector)
        self._state = self._detector.init(len(self.services) * len(SIGNALS))
        self._open = np.zeros(len(self.services), dtype=bool)
        self._quiet_steps = np.zeros(len(self.services), dtype=np.int64)
        self._scores: list[np.ndarray] = []
        self.alerts: list[Alert] = []

    def observe(self, now_s: float, latest: Mapping[str, np.ndarray]) -> np.ndarray:
        """Learn this step's values and return each service's score (the max over its signals)."""
        x = np.concatenate([np.asarray(latest[s], dtype=float) for s in SIGNALS])
        per_signal = self._detector.update(self._state, x, np.full(x.size, now_s)).reshape(len(SIGNALS), -1)
        score = per_signal.max(axis=0)
        self._scores.append(score)
        opening = (score >= self.threshold) & ~self._open & (len(self._scores) > self.warmup_steps)
        for i in np.flatnonzero(opening):
            signal = SIGNALS[int(per_signal[:, i].argmax())]
            self.alerts.append(Alert(now_s, self.services[i], signal, round(float(score[i]), 4)))
        self._quiet_steps = np.where(score < self.resolve_below, self._quiet_steps + 1, 0)
        self._open = (self._open | opening) & (self._quiet_steps < self.resolve_after_steps)
        return score

    @property
    def scores(self) -> np.ndarray:
        """Scores so far, [steps, services]."""
        return np.array(self._scores).reshape(len(self._scores), len(self.services))

    @property
    def open_alerts(self) -> np.ndarray:
        return self._open.copy()


def detection_delays(events: Sequence[tuple[float, str]], alerts: Sequence[Alert],
                     horizon_s: float = 7200.0) -> list[FaultDetection]:
    """For each injected fault, the first alert within ``horizon_s`` after it.

    >>> alerts = [Alert(130.0, "api", "foresight_latency_p95_seconds", 0.97)]
    >>> [d.delay_s for d in detection_delays([(100.0, "node-loss: node n1 is gone"), (9000.0, "latency-regression: x")], alerts)]
    [30.0, None]
    """
    out = []
    for t, what in events:
        if what.split(":", 1)[0] not in FAULT_KINDS:
            continue
        first = next((a for a in alerts if t <= a.time_s <= t + horizon_s), None)
        out.append(FaultDetection(t, what, first))
    return out
