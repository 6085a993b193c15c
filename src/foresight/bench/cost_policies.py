"""The controllers ``foresight bench cost`` compares, each a :data:`~foresight.sim.coldstart.Controller`.

* :class:`AlwaysWarm`: KEDA/HPA with ``minReplicas: 1``: never below one replica, more for the
  request rate of the last minute at the target utilisation, released after the HPA's default
  5-minute scale-down stabilisation.
* :class:`KnativeKpa`: Knative's autoscaler with its defaults: replicas for the average concurrency
  over the 60 s stable window at 70% of ``containerConcurrency``; no request over the window, then
  the 30 s scale-to-zero grace period, and the revision goes to zero (the activator brings it back).
* :class:`ForesightScaleToZero`: :func:`foresight.autoscale.scale_to_zero.decide` fed with the
  requests it has seen, the last minute's request rate (a floor when it sizes the pool) and, where the
  history allows, a HoltWinters forecast of the request rate (daily season, 5-minute steps); with a :class:`~foresight.autoscale.spot.SpotSpec`, each decision's
  replicas are split between spot and on demand by :func:`foresight.autoscale.spot.place`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from foresight.autoscale.scale_to_zero import (
    LoadTimes,
    ScaleToZeroSpec,
    ScaleToZeroState,
    decide,
    observe,
)
from foresight.autoscale.spot import SpotSpec, place
from foresight.forecast import HistoryTooShort, HoltWinters
from foresight.sim.coldstart import Desired, WorkloadView

__all__ = ["FORECAST_STEP_S", "AlwaysWarm", "ForesightScaleToZero", "KnativeKpa"]

FORECAST_STEP_S = 300.0
_TARGET_UTILISATION = 0.7  # Knative's container-concurrency-target-percentage and the HPA target used here
#: the HPA's default scale-down stabilisation (behavior.scaleDown.stabilizationWindowSeconds), which also
#: acts on the replicas KEDA's scaler asks for
SCALE_DOWN_WINDOW_S = 300.0


class _Stabilised:
    """The HPA's scale-down stabilisation: the highest recommendation of the last ``window_s``."""

    def __init__(self, window_s: float = SCALE_DOWN_WINDOW_S) -> None:
        self.window_s = window_s
        self.recommendations: deque[tuple[float, int]] = deque()

    def __call__(self, now: float, replicas: int) -> int:
        while self.recommendations and self.recommendations[0][0] < now - self.window_s:
            self.recommendations.popleft()
        while self.recommendations and self.recommendations[-1][1] <= replicas:
            self.recommendations.pop()  # dominated: a higher one now outlasts it
        self.recommendations.append((now, replicas))
        return self.recommendations[0][1]


class _RecentArrivals:
    """The request times of the last ``window_s``."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.times: deque[float] = deque()
        self.last: float = -math.inf

    def add(self, view: WorkloadView) -> int:
        self.times.extend(view.arrivals.tolist())
        if view.arrivals.size:
            self.last = float(view.arrivals[-1])
        while self.times and self.times[0] < view.now - self.window_s:
            self.times.popleft()
        return len(self.times)


@dataclass
class AlwaysWarm:
    """``minReplicas: 1``, sized for the last minute's rate (an HPA on the request rate, its default
    5-minute scale-down stabilisation)."""

    capacity_rps: float
    concurrency: int

    def __post_init__(self) -> None:
        self._recent = _RecentArrivals(60.0)
        self._stable = _Stabilised()

    def __call__(self, view: WorkloadView) -> Desired:
        rate = self._recent.add(view) / 60.0
        wanted = max(1, math.ceil(rate / self.capacity_rps), math.ceil(view.in_flight / self.concurrency))
        return Desired(self._stable(view.now, wanted))


@dataclass
class KnativeKpa:
    """Knative's KPA: stable window, target concurrency, scale-to-zero grace (defaults 60 s, 70%, 30 s)."""

    service_s: float
    concurrency: int
    stable_window_s: float = 60.0
    grace_s: float = 30.0

    def __post_init__(self) -> None:
        self._recent = _RecentArrivals(self.stable_window_s)

    def __call__(self, view: WorkloadView) -> Desired:
        seen = self._recent.add(view)
        if view.in_flight == 0 and view.now - self._recent.last >= self.stable_window_s + self.grace_s:
            return Desired(0)
        average_concurrency = seen * self.service_s / self.stable_window_s
        return Desired(max(1, math.ceil(average_concurrency / (self.concurrency * _TARGET_UTILISATION))))


class ForesightScaleToZero:
    """The scale-to-zero policy in a loop: learns from what it sees, forecasts, decides, places on spot."""

    def __init__(self, spec: ScaleToZeroSpec, load_times: LoadTimes, history: np.ndarray, history_span_s: float,
                 service_s: float, spot: SpotSpec | None = None) -> None:
        self.spec, self.load_times, self.spot, self.service_s = spec, load_times, spot, service_s
        self.state = observe(spec, ScaleToZeroState(), history)
        bins = int(history_span_s // FORECAST_STEP_S)
        counts = np.bincount((history // FORECAST_STEP_S).astype(int), minlength=bins)[:bins].astype(float)
        self.model = HoltWinters(seasons_steps=(int(86400 / FORECAST_STEP_S),), max_horizon_steps=3,
                                 min_history_steps=2 * int(86400 / FORECAST_STEP_S))
        try:
            self.forecast_state = self.model.fit(counts[None, :]) if bins else None
        except HistoryTooShort:
            self.forecast_state = None
        self.bin_end = bins * FORECAST_STEP_S
        self.bin_count = 0
        self.forecast: np.ndarray = self._predict()
        self.reasons: list[str] = []
        self._recent = _RecentArrivals(60.0)
        self._stable = _Stabilised()

    def _predict(self) -> np.ndarray:
        if self.forecast_state is None:
            return np.empty(0)
        return self.model.predict(self.forecast_state, 2, [0.5])[0, :, 0] / FORECAST_STEP_S

    def __call__(self, view: WorkloadView) -> Desired:
        self.state = observe(self.spec, self.state, view.arrivals)
        for t in view.arrivals:  # the forecaster learns each 5-minute count once the step is over
            while t >= self.bin_end + FORECAST_STEP_S:
                self._close_bin()
            self.bin_count += 1
        while view.now >= self.bin_end + FORECAST_STEP_S:
            self._close_bin()
        recent_rps = self._recent.add(view) / 60.0
        decision = decide(self.spec, self.state, self.load_times, now=view.now, in_flight=view.in_flight,
                          forecast_rps=self.forecast, forecast_step_s=FORECAST_STEP_S, recent_rps=recent_rps)
        self.reasons.append(decision.mode)
        # the HPA under KEDA keeps a scaled-out pool for its stabilisation window; zero is KEDA's own decision
        replicas = self._stable(view.now, decision.replicas) if decision.replicas else 0
        if self.spot is None:
            return Desired(replicas)
        placement = place(self.spot, replicas=replicas, service_s=self.service_s,
                          load_time_s=self.load_times.quantile(0.99))
        return Desired(replicas, placement.spot)

    def _close_bin(self) -> None:
        if self.forecast_state is not None:
            self.forecast_state = self.model.update(self.forecast_state, np.array([[float(self.bin_count)]]))
            self.forecast = self._predict()
        self.bin_count = 0
        self.bin_end += FORECAST_STEP_S
