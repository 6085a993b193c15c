"""Load forecasts for every workload, kept current each forecast step: the "forecast" controller.

Every ``step_s`` the watch reads each workload's load over its lookback through the metrics
port, learns the steps completed since last time (one vectorised Holt-Winters state for all
workloads; refitted from the whole lookback every ``refit_every_s``) and predicts the next
``horizon_s`` as quantiles. It keeps, per workload, the latest horizon and the line "what was
predicted ``lead_s`` ahead", which the dashboard draws against the load that came, and which is
published as ``ai_predicted_load`` (exporter for an HPA, the KEDA scaler's store).

A failed read keeps the last forecast and says why (``note``); too little history says how much
more is needed. Nothing here acts on a workload.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from string import Template

import numpy as np

from foresight.errors import ServiceUnavailable
from foresight.forecast import HistoryTooShort, HoltWinters
from foresight.forecast.prepare import to_grid
from foresight.ports import MetricsSource

__all__ = ["QUANTILES", "ForecastWatch", "WorkloadForecast"]

#: Quantile levels kept for each horizon step: a 80% band and the median.
QUANTILES = (0.1, 0.5, 0.9)

#: Called with (workload, predicted load at the lead, made at) after each prediction.
Publish = Callable[[str, float, float], None]


@dataclass(frozen=True)
class WorkloadForecast:
    """One workload's latest forecast: ``times`` [H] with ``quantiles`` [H, len(QUANTILES)]."""

    workload: str
    made_at: float
    times: tuple[float, ...]
    quantiles: tuple[tuple[float, ...], ...]
    at_lead: float


class ForecastWatch:
    """Forecasts the load of ``workloads`` (see the module docstring)."""

    name = "forecast/holt-winters"

    def __init__(
        self,
        workloads: Sequence[str],
        load_query: str,
        *,
        step_s: float = 60.0,
        horizon_s: float = 1800.0,
        lead_s: float = 300.0,
        lookback_s: float = 8 * 86400.0,
        min_history_s: float = 3600.0,
        refit_every_s: float = 6 * 3600.0,
        seasons_s: Sequence[float] = (86400.0, 604800.0),
        keep_s: float = 86400.0,
        queries: Mapping[str, str] | None = None,
    ) -> None:
        self.workloads = tuple(workloads)
        self._query = Template(load_query)
        self._queries = dict(queries or {})  # per-workload queries (policies), instead of load_query
        self.step_s, self.lead_s, self.lookback_s = float(step_s), float(lead_s), float(lookback_s)
        self.horizon_steps = max(1, math.ceil(horizon_s / step_s))
        self.refit_every_s = refit_every_s
        self.model = HoltWinters(
            seasons_steps=[max(2, round(s / step_s)) for s in seasons_s],
            max_horizon_steps=self.horizon_steps,
            error_window_steps=max(1, round(86400 / step_s)),
            min_history_steps=max(2 * self.horizon_steps, math.ceil(min_history_s / step_s)),
        )
        self._state: object | None = None
        self._learned_until = -math.inf
        self._fitted_at = -math.inf
        self._fitted_span_s = 0.0
        self.note = "not run yet"
        self.latest: dict[str, WorkloadForecast] = {}
        keep = max(1, round(keep_s / step_s))
        self.at_lead: dict[str, deque[tuple[float, float]]] = {w: deque(maxlen=keep) for w in self.workloads}

    def due(self, now: float) -> bool:
        """Whether a forecast step has completed since the last one learned."""
        return math.floor(now / self.step_s) * self.step_s > self._learned_until

    def observe(self, source: MetricsSource, now: float, publish: Publish | None = None) -> str:
        """Learn the completed steps, predict, publish; returns (and keeps in ``note``) what happened."""
        end = math.floor(now / self.step_s) * self.step_s
        refit = (
            self._state is None
            or now - self._fitted_at >= min(self.refit_every_s, max(self._fitted_span_s, self.step_s))
        )
        start = end - math.floor(self.lookback_s / self.step_s) * self.step_s if refit else self._learned_until
        if end <= start:
            return self.note
        try:
            grid = self._read(source, start, end)
        except ServiceUnavailable as exc:
            self.note = f"load not read ({exc}); keeping the forecast made at {self._made_at()}"
            return self.note
        if refit:
            finite = np.flatnonzero(np.isfinite(grid).any(axis=0))
            if finite.size == 0:
                self.note = "no load samples yet"
                return self.note
            grid = grid[:, finite[0] :]
            try:
                self._state = self.model.fit(grid)
            except HistoryTooShort as exc:
                self.note = (f"history too short: {exc.have * self.step_s / 60:.0f} min of load, "
                             f"need {exc.need * self.step_s / 60:.0f} min")
                return self.note
            self._fitted_at, self._fitted_span_s = now, grid.shape[1] * self.step_s
            self.note = f"refitted on {grid.shape[1] * self.step_s / 3600:.1f} h of load"
        else:
            self._state = self.model.update(self._state, grid)
            self.note = "updated"
        self._learned_until = end
        self._predict(end, now, publish)
        return self.note

    def _read(self, source: MetricsSource, start: float, end: float) -> np.ndarray:
        """[workloads, steps] of load over ``[start, end)``; NaN where a workload reported nothing."""
        rows = []
        for workload in self.workloads:
            query = self._queries.get(workload) or self._query.substitute(workload=workload)
            found = source.query_range(query, start, end, self.step_s / 4)  # several samples per step
            row = np.full(round((end - start) / self.step_s), np.nan)
            for s in found:
                g = to_grid(s.timestamps, s.values, self.step_s, start, end)
                row = np.where(np.isnan(row), g, np.where(np.isnan(g), row, row + g))
            rows.append(row)
        return np.vstack(rows)

    def _predict(self, end: float, now: float, publish: Publish | None) -> None:
        q = self.model.predict(self._state, self.horizon_steps, QUANTILES)  # type: ignore[arg-type]
        times = tuple(end + self.step_s * (h + 1) for h in range(self.horizon_steps))
        lead = min(self.horizon_steps, max(1, round(self.lead_s / self.step_s))) - 1
        median = QUANTILES.index(0.5)
        for i, workload in enumerate(self.workloads):
            at_lead = float(q[i, lead, median])
            self.latest[workload] = WorkloadForecast(
                workload, now, times, tuple(tuple(float(v) for v in row) for row in q[i]), at_lead
            )
            self.at_lead[workload].append((times[lead], at_lead))
            if publish is not None and math.isfinite(at_lead):
                publish(workload, at_lead, now)

    def _made_at(self) -> str:
        made = [f.made_at for f in self.latest.values()]
        return f"t={max(made):.0f}" if made else "no forecast yet"
