"""Anomaly detection on the simulated platform (``foresight demo``, ``serve --simulate``): every
service's symptoms scored each step, alerts, and how soon each injected fault was noticed.

Each service has three symptom signals, each put on a scale where equal steps mean equal harm:

* ``log(p95 latency)``: a slowdown is a ratio, whatever the service's usual latency;
* ``log10(max(error ratio, 0.1%))``: fractions below a tenth of the default 1 % error SLO are
  noise (they move by decades with load), so they are floored;
* memory utilisation (fraction of the limit), as is.

and one symptom that needs no learning: **pods lost**, ``min(previous ready, desired) - ready``
replicas. Ready replicas only fall below both what was ready and what is asked for when pods
vanish without a scale-down: a node lost, a spot node reclaimed, an OOM kill. Kubernetes never
does that on its own, so one whole pod lost opens an alert (score 1) at once, whatever the load.

Every signal is scored by a streaming detector (``BEST``) that sees only data up to the step. Its
probability ``p = v / (1 + v)`` reaches 0.5 exactly when ``v = 1``: the sample is beyond anything
the series has shown so far (see :mod:`foresight.detect.surprise`), a threshold with a meaning
rather than a fitted constant. Surprise alone is not enough to wake someone: a service whose
error ratio has never moved is "surprised" by 0.2 %. So an alert also needs a *practical effect*:
the signal must sit at least ``MIN_EFFECT`` above a slow baseline (an exponential mean over
``baseline_s``, the last hour): p95 latency 1.5 times its baseline, the error ratio ten times
its (floored) baseline, so at least the 1 % SLO, memory 15 points of the limit. Statistically
surprising and big enough to matter, both.

A service's score is the highest over its signals of ``p * min(effect, 1)`` (``effect`` in units of
the minimal effect, 0 below the baseline). Alerts come from the same state machine as every other
Foresight alert (:func:`foresight.detect.alerts.advance`), one row per service so that one incident
is one alert: a service is *high* when a signal is both surprising (``p >= threshold``) and large
(``effect >= 1``), or a pod is lost, and its alert opens on the first high step; it is *normal*
when every signal is back within ``resolve_below`` of its minimal effect (the machine's expected
range, in effect units) and no pod is lost, and its alert resolves after ``resolve_after_steps``
normal steps. No alert opens during the first ``warmup_steps`` (the detectors are still learning
what normal is, like NAB's probationary period). A slow fault (a memory leak) shows only as it
builds up, so a fault counts as detected by the first alert within two hours of its start.
Missing (NaN) values score 0 and leave every baseline as it was.

The score is the detector's *onset* signal: ``surprise`` scores a lasting change only while it is
new, so during a long incident the score falls back to 0 while the alert stays open. What a person
should read is therefore the alert (:attr:`AnomalyWatch.open_alerts`, :meth:`AnomalyWatch.ongoing`),
not the score of the last step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from foresight.detect import BEST, make_detector
from foresight.detect.alerts import AlertRule, AlertState, advance
from foresight.errors import InputError

__all__ = [
    "FAULT_KINDS",
    "MIN_EFFECT",
    "REPLICAS",
    "SCORED",
    "SIGNALS",
    "Alert",
    "AnomalyWatch",
    "FaultDetection",
    "detection_delays",
    "stray_alerts",
]

#: The signals scored by the detector, then the replica counts the pod-loss symptom reads: every
#: metric :meth:`AnomalyWatch.observe` needs, one value per service.
SCORED = ("foresight_latency_p95_seconds", "foresight_error_ratio", "foresight_memory_utilisation")
REPLICAS = ("foresight_replicas_ready", "foresight_replicas_desired")
SIGNALS = SCORED + REPLICAS
#: The smallest change of each (transformed) scored signal worth an alert, in the order of ``SCORED``.
MIN_EFFECT = (float(np.log(1.5)), 1.0, 0.15)
ERROR_FLOOR = 1e-3  # a tenth of the default 1 % error-ratio SLO
#: Event kinds (``Event.kind`` of the simulator) that are injected faults, not their ends.
FAULT_KINDS = ("memory-leak", "node-loss", "spot-preemption", "latency-regression")
#: The event that ends each kind of fault (a node loss has none: it ends when its pods are back).
FAULT_ENDS = {"memory-leak": "memory-leak-fixed", "latency-regression": "latency-regression-end",
              "spot-preemption": "node-replaced"}


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


def symptoms(latest: Mapping[str, np.ndarray]) -> np.ndarray:
    """The scored symptoms, then ready and desired replicas: ``[len(SIGNALS), services]`` (NaN: missing).

    >>> symptoms({"foresight_latency_p95_seconds": np.array([np.e]), "foresight_error_ratio": np.array([1e-5]),
    ...           "foresight_memory_utilisation": np.array([0.4]), "foresight_replicas_ready": np.array([2.0]),
    ...           "foresight_replicas_desired": np.array([3.0])}).ravel().tolist()
    [1.0, -3.0, 0.4, 2.0, 3.0]
    """
    missing = [s for s in SIGNALS if s not in latest]
    if missing:
        raise InputError(f"anomaly watch: no values for {', '.join(missing)} (needs {', '.join(SIGNALS)})")
    raw = [np.asarray(latest[s], dtype=np.float64) for s in SIGNALS]
    if len({r.shape for r in raw}) != 1 or raw[0].ndim != 1:
        raise InputError(f"anomaly watch: signals must be 1-d and the same length, got shapes {[r.shape for r in raw]}")
    with np.errstate(divide="ignore", invalid="ignore"):
        latency = np.log(np.maximum(raw[0], 1e-9))
        errors = np.log10(np.fmax(raw[1], ERROR_FLOOR))
    return np.stack([latency, errors, *raw[2:]])


class AnomalyWatch:
    """Scores all services' symptoms in one vectorised detector state; keeps scores and alerts."""

    def __init__(self, services: Sequence[str], detector: str = BEST, threshold: float = 0.5,
                 resolve_below: float = 0.5, resolve_after_steps: int = 20, warmup_steps: int = 480,
                 baseline_s: float = 3600.0) -> None:
        self.services = tuple(services)
        self.threshold, self.resolve_below = threshold, resolve_below
        self.baseline_s = baseline_s
        # Everything above ``threshold`` is high; below it a service is normal only with every signal
        # back in range, which the range (``resolve_below`` in effect units) decides, not the score.
        self.rule = AlertRule(alertname="ForesightDemoAnomaly", fire_threshold=threshold, resolve_threshold=threshold,
                              critical_threshold=max(threshold, 0.95), fire_after=1,
                              resolve_after=resolve_after_steps, warmup_samples=warmup_steps)
        self._detector = make_detector(detector)
        self._state = self._detector.init(len(self.services) * len(SCORED))
        self._alerts = AlertState.init(len(self.services))
        self._min_effect = np.array(MIN_EFFECT)[:, None]
        self._baseline = np.full((len(SCORED), len(self.services)), np.nan)
        self._ready = np.full(len(self.services), np.nan)
        self._last_s: float | None = None
        self._ongoing: list[Alert | None] = [None] * len(self.services)
        self._scores: list[np.ndarray] = []
        self._open: list[np.ndarray] = []
        self.alerts: list[Alert] = []

    def observe(self, now_s: float, latest: Mapping[str, np.ndarray]) -> np.ndarray:
        """Learn this step's values and return each service's score (the max over its signals)."""
        every = symptoms(latest)
        if every.shape[1] != len(self.services):
            raise InputError(f"anomaly watch: {every.shape[1]} values per signal for {len(self.services)} services")
        x, (ready, desired) = every[: len(SCORED)], every[len(SCORED) :]
        p = self._detector.update(self._state, x.ravel(), np.full(x.size, now_s)).reshape(x.shape)
        with np.errstate(invalid="ignore"):
            effect = np.nan_to_num((x - self._baseline) / self._min_effect, nan=0.0)
            lost = np.nan_to_num(np.fmin(self._ready, desired) - ready, nan=0.0) >= 0.5  # a whole pod
        self._learn_baseline(now_s, x)
        self._ready = np.where(np.isfinite(ready), ready, self._ready)

        # One row per symptom: the scored signals, then pods lost (certain: probability 1).
        score = np.maximum((p * np.clip(effect, 0.0, 1.0)).max(axis=0), lost)
        self._scores.append(score)
        firing = np.vstack([np.where((p >= self.threshold) & (effect >= 1.0), p, 0.0), lost.astype(np.float64)])
        n = len(self.services)
        step = advance(self.rule, self._alerts, np.ones(n, dtype=bool), firing.max(axis=0), effect.max(axis=0),
                       np.full(n, now_s), np.full(n, -np.inf), np.full(n, self.resolve_below))
        for i in step.fired:
            k = int(firing[:, i].argmax())
            alert = Alert(now_s, self.services[i], SIGNALS[k], round(float(firing[k, i]), 4))
            self._ongoing[i] = alert
            self.alerts.append(alert)
        for i in step.resolved:
            self._ongoing[i] = None
        self._open.append(self._alerts.firing.copy())
        return score

    def _learn_baseline(self, now_s: float, x: np.ndarray) -> None:
        """Exponential mean over ``baseline_s`` of time (steps may be irregular); NaN leaves it as is."""
        dt = 0.0 if self._last_s is None else max(now_s - self._last_s, 0.0)
        self._last_s = now_s
        weight = -np.expm1(-dt / self.baseline_s)
        seen = np.isfinite(x)
        fresh = seen & ~np.isfinite(self._baseline)
        self._baseline = np.where(fresh, x, np.where(seen, self._baseline + weight * (x - self._baseline), self._baseline))

    @property
    def scores(self) -> np.ndarray:
        """Scores so far, [steps, services]."""
        return np.array(self._scores).reshape(len(self._scores), len(self.services))

    @property
    def alerting(self) -> np.ndarray:
        """Whether each service's alert was open after each step so far, [steps, services]."""
        return np.array(self._open, dtype=bool).reshape(len(self._open), len(self.services))

    @property
    def open_alerts(self) -> np.ndarray:
        """Whether each service's alert is open now."""
        return self._alerts.firing.copy()

    def ongoing(self) -> list[Alert | None]:
        """Per service, the alert that opened its incident still in progress (None: no open alert)."""
        return list(self._ongoing)


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


def stray_alerts(events: Sequence[tuple[float, str]], alerts: Sequence[Alert], settle_s: float = 1800.0) -> list[Alert]:
    """The alerts that no injected fault explains: outside every fault's span, from its start to its
    end event (a fix, a rollback, a replacement node; none for a node loss) plus ``settle_s``.

    They are not all false: a traffic burst that breaks the latency SLO is a real incident, just not
    an injected one. Their count is the honest price of the detections.

    >>> events = [(100.0, "latency-regression: x"), (5000.0, "latency-regression-end: x")]
    >>> alerts = [Alert(t, "api", SIGNALS[0], 0.7) for t in (50.0, 130.0, 6500.0, 7000.0)]
    >>> [a.time_s for a in stray_alerts(events, alerts)]
    [50.0, 7000.0]
    """
    spans = []
    for t, what in events:
        kind = what.split(":", 1)[0]
        if kind in FAULT_KINDS:
            end = next((u for u, w in events if u >= t and w.split(":", 1)[0] == FAULT_ENDS.get(kind)), t)
            spans.append((t, end + settle_s))
    return [a for a in alerts if not any(start <= a.time_s <= stop for start, stop in spans)]
