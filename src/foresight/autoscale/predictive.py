"""Predictive scaling: replicas for the load that will arrive by the time new pods are ready.

A reactive HPA sees a burst one sync period late and its new pods serve one start-up delay
after that. This policy sizes for the forecast instead. Each period, for workload ``w`` at ``now``:

1. **Forecast.** The load history (``foresight_offered_rps``) on a regular grid
   (``forecast_step_s``) feeds a forecaster; the policy keeps its state per workload and updates
   it online with each completed step, refitting from the whole lookback every
   ``refit_every_s`` (sooner while the history is young: whenever it has doubled since the
   last fit, so the daily season joins as soon as two days exist).
2. **Size.** ``peak`` = the highest ``quantile`` forecast over ``[now, now + startup_delay_s +
   sync_period_s]`` (pods asked for now serve after the start-up delay, and the next chance to
   correct comes one period later); ``predicted = ceil(peak / (capacity_rps x target))``.
   The quantile is the cost knob: higher buys headroom against misses with replicas.
3. **Reactive floor.** ``floor = ceil(ready x cpu / target)``, what the HPA asks for right now,
   so a missed forecast degrades to reactive scaling, never below it.
4. **Stabilise.** The result is the highest of ``max(predicted, floor)`` over the last
   ``stabilisation_window_s``: scale-ups are immediate, scale-downs wait out the window.

Without a usable forecast (too little history, or the load series is missing) the floor decides
alone and the reason says why; with neither load nor CPU the replicas stay as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from string import Template
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.control.policy import Observation, Recommendation
from foresight.errors import ConfigError
from foresight.forecast import Forecaster, HistoryTooShort, HoltWinters
from foresight.forecast.prepare import counter_rate, to_grid
from foresight.series import Series

__all__ = [
    "PredictivePolicy",
    "PredictiveSpec",
    "PredictiveState",
    "ServiceCapacity",
    "predicted_replicas",
    "reactive_floor",
    "stabilise",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ServiceCapacity(BaseModel):
    """What one workload can serve and how long it takes to grow."""

    model_config = _FROZEN

    capacity_rps: float = Field(gt=0, description="Requests per second one replica serves at 100% CPU.")
    startup_delay_s: float = Field(ge=0, description="Seconds from asking for a pod until it serves.")
    target_utilisation_percent: float = Field(
        80.0, gt=0, le=100, description="CPU utilisation to size for, in percent (as the HPA's target)."
    )


class PredictiveSpec(BaseModel):
    """Settings of the predictive policy; ``services`` maps each workload to its capacity."""

    model_config = _FROZEN

    services: dict[str, ServiceCapacity] = Field(description="Per workload: capacity and start-up delay.")
    quantile: float = Field(0.9, gt=0, lt=1, description="Forecast quantile sized for: the cost knob.")
    sync_period_s: float = Field(15.0, gt=0, description="The control loop's period.")
    stabilisation_window_s: float = Field(300.0, ge=0, description="Scale-downs wait this long.")
    forecast_step_s: float = Field(60.0, gt=0, description="Grid step the load is forecast on.")
    lookback_s: float = Field(15 * 86400.0, gt=0, description="History read and fitted on.")
    min_history_s: float = Field(7200.0, gt=0, description="Less load history than this: reactive only.")
    refit_every_s: float = Field(86400.0, gt=0, description="Longest time between two refits.")
    seasons_s: tuple[float, ...] = Field((86400.0, 604800.0), description="Seasonal periods of the load.")
    load_query: str = Field(
        'foresight_offered_rps{service="$workload"}',
        description="Offered load in requests per second ($workload is replaced; $$ is a literal $).",
    )
    cpu_query: str = Field(
        'foresight_cpu_utilisation{service="$workload"}',
        description="Average CPU of the ready pods as a fraction of their request.",
    )
    load_is_counter: bool = Field(False, description="load_query returns a cumulative request counter.")

    @model_validator(mode="after")
    def _consistent(self) -> PredictiveSpec:
        for query in (self.load_query, self.cpu_query):
            template = Template(query)
            if not template.is_valid() or template.get_identifiers() != ["workload"]:
                raise ConfigError(f"predictive policy: query {query!r} must contain $workload and no other $name")
        if self.min_history_s > self.lookback_s:
            raise ConfigError(
                f"predictive policy: min_history_s ({self.min_history_s}) exceeds lookback_s ({self.lookback_s})"
            )
        if self.min_history_s < 2 * self.max_lookahead_steps * self.forecast_step_s:
            raise ConfigError(
                f"predictive policy: min_history_s ({self.min_history_s}) must cover twice the longest "
                f"lookahead (startup_delay_s + sync_period_s, {self.max_lookahead_steps} forecast steps)"
            )
        return self

    @property
    def max_lookahead_steps(self) -> int:
        """Forecast steps needed to cover ``[now, now + startup_delay_s + sync_period_s]``, at most."""
        delay = max((s.startup_delay_s for s in self.services.values()), default=0.0)
        return math.floor((delay + self.sync_period_s) / self.forecast_step_s) + 2


@dataclass(frozen=True)
class PredictiveState:
    """One workload's memory: the forecaster's state and the recent recommendations.

    ``forecast`` is None until the history suffices; its grid index 0 is the step starting at
    ``grid_start`` and it has learned every step that ends by ``learned_until``.
    """

    forecast: Any | None = None
    grid_start: float = 0.0
    learned_until: float = 0.0
    fitted_at: float = -math.inf
    fitted_history_s: float = 0.0
    recent: tuple[tuple[float, int], ...] = ()


def reactive_floor(ready: int, cpu: float | None, target_percent: float) -> int | None:
    """Replicas the HPA asks for now: ``ceil(ready x cpu / target)``; None without a CPU sample.

    >>> reactive_floor(4, 0.9, 60.0), reactive_floor(4, 0.3, 60.0), reactive_floor(4, None, 60.0)
    (6, 2, None)
    """
    if cpu is None:
        return None
    return math.ceil(ready * 100.0 * cpu / target_percent - 1e-9)


def predicted_replicas(peak_rps: float, capacity: ServiceCapacity) -> int:
    """Replicas that serve ``peak_rps`` at the target utilisation.

    >>> predicted_replicas(450.0, ServiceCapacity(capacity_rps=100, startup_delay_s=60, target_utilisation_percent=75))
    6
    """
    per_replica = capacity.capacity_rps * capacity.target_utilisation_percent / 100.0
    return math.ceil(peak_rps / per_replica - 1e-9)


def stabilise(
    now: float, wanted: int, recent: Sequence[tuple[float, int]], window_s: float
) -> tuple[int, tuple[tuple[float, int], ...]]:
    """The highest recommendation within ``window_s`` (``wanted`` included) and the kept history.

    >>> stabilise(600.0, 3, [(200.0, 9), (400.0, 5)], 300.0)
    (5, ((400.0, 5), (600.0, 3)))
    """
    kept = tuple((t, n) for t, n in recent if t > now - window_s) + ((now, wanted),)
    return max(n for _, n in kept), kept


class PredictivePolicy:
    """The predictive policy as a :class:`~foresight.control.policy.ScalingPolicy` (module docstring).

    ``forecaster`` defaults to :class:`~foresight.forecast.HoltWinters` with ``spec.seasons_s``
    on the forecast grid. A load cycling every 30 minutes is about to rise; replicas serve 50
    req/s each at 75% CPU and take two minutes to start:

    >>> from foresight.ports import Scale
    >>> api = ServiceCapacity(capacity_rps=50, startup_delay_s=120, target_utilisation_percent=75)
    >>> policy = PredictivePolicy(PredictiveSpec(services={"api": api}, min_history_s=3600, seasons_s=(1800,)))
    >>> t = np.arange(0.0, 4 * 3600.0, 15.0)
    >>> load = Series({}, t, 200.0 + 100.0 * np.sin(2 * np.pi * t / 1800.0))
    >>> cpu = Series({}, t[-1:], [0.67])     # 6 ready replicas serve the 200 req/s of now
    >>> rec, state = policy.decide(None, Observation("api", 4 * 3600.0, Scale(6, 6, 6), {"load": [load], "cpu": [cpu]}))
    >>> rec.replicas
    7
    >>> rec.reason
    'forecast q0.90 peak 247.6 req/s within 135 s needs 7; reactive floor 6 (cpu 67% of 6 ready, target 75%): 7'
    """

    name = "predictive"

    def __init__(self, spec: PredictiveSpec, forecaster: Forecaster[Any] | None = None) -> None:
        self.spec = spec
        step = spec.forecast_step_s
        self.forecaster: Forecaster[Any] = forecaster or HoltWinters(
            seasons_steps=[round(s / step) for s in spec.seasons_s],
            max_horizon_steps=spec.max_lookahead_steps,
            error_window_steps=round(7 * 86400 / step),
            min_history_steps=math.floor(spec.min_history_s / step),
        )
        if self.forecaster.max_horizon_steps < spec.max_lookahead_steps:
            raise ConfigError(
                f"predictive policy: the forecaster predicts {self.forecaster.max_horizon_steps} steps "
                f"ahead, the longest lookahead needs {spec.max_lookahead_steps}"
            )
        self.lookback_s = spec.lookback_s

    def queries(self, workload: str) -> dict[str, str]:
        return {
            "load": Template(self.spec.load_query).substitute(workload=workload),
            "cpu": Template(self.spec.cpu_query).substitute(workload=workload),
        }

    def decide(self, state: PredictiveState | None, obs: Observation) -> tuple[Recommendation, PredictiveState]:
        capacity = self.spec.services.get(obs.workload)
        if capacity is None:
            raise ConfigError(
                f"predictive policy: no capacity for workload {obs.workload!r}; "
                f"known: {sorted(self.spec.services)}"
            )
        state = state or PredictiveState()
        state, forecast_note = self._learn(state, obs)
        lookahead_s = capacity.startup_delay_s + self.spec.sync_period_s
        peak = self._peak(state, obs.now, lookahead_s)
        cpu = _latest(obs.series.get("cpu", []))
        floor = reactive_floor(obs.scale.ready, cpu, capacity.target_utilisation_percent)
        inputs: dict[str, float] = {"quantile": self.spec.quantile, "lookahead_s": lookahead_s}
        words = []
        predicted = None
        if peak is not None:
            predicted = predicted_replicas(peak, capacity)
            inputs.update(peak_rps=peak, predicted=predicted)
            q = self.spec.quantile
            words.append(f"forecast q{q:.2f} peak {peak:.1f} req/s within {lookahead_s:.0f} s needs {predicted}")
        else:
            words.append(f"no forecast ({forecast_note})")
        if cpu is not None and floor is not None:  # both or neither
            inputs.update(cpu=cpu, reactive_floor=floor)
            target, ready = capacity.target_utilisation_percent, obs.scale.ready
            words.append(f"reactive floor {floor} (cpu {100 * cpu:.0f}% of {ready} ready, target {target:.0f}%)")
        else:
            words.append("no cpu sample")
        if predicted is None and floor is None:
            wanted = obs.scale.desired
            words.append(f"keep {wanted}")
        else:
            wanted = max(predicted or 0, floor or 0)
        replicas, recent = stabilise(obs.now, wanted, state.recent, self.spec.stabilisation_window_s)
        if replicas > wanted:
            words.append(f"stabilisation ({self.spec.stabilisation_window_s:.0f} s) holds {replicas}")
        return Recommendation(replicas, f"{'; '.join(words)}: {replicas}", inputs), replace(state, recent=recent)

    def _learn(self, state: PredictiveState, obs: Observation) -> tuple[PredictiveState, str]:
        """The state after learning the load steps completed by ``obs.now``, and a note on the forecast.

        Steps without a sample (the series is missing, or has a gap) are learned as gaps, so a
        forecast carries on through a short outage while the reactive floor guards it.
        """
        step = self.spec.forecast_step_s
        end = math.floor(obs.now / step) * step
        series = obs.series.get("load", [])
        due = min(self.spec.refit_every_s, state.fitted_history_s)
        if state.forecast is None or obs.now - state.fitted_at >= due or end < state.learned_until:
            start = end - math.floor(self.spec.lookback_s / step) * step
            grid = _load_grid(series, step, start, end, self.spec.load_is_counter)
            finite = np.flatnonzero(np.isfinite(grid))
            if finite.size == 0:
                return replace(state, forecast=None), "no load samples"
            grid, start = grid[finite[0] :], start + finite[0] * step
            try:
                forecast = self.forecaster.fit(grid[None, :])
            except HistoryTooShort as exc:
                note = f"history too short: {exc.have * step:.0f} s of load, need {exc.need * step:.0f} s"
                return replace(state, forecast=None), note
            return PredictiveState(forecast, start, end, obs.now, end - start, state.recent), "refitted"
        if end > state.learned_until:
            new = _load_grid(series, step, state.learned_until, end, self.spec.load_is_counter)
            forecast = self.forecaster.update(state.forecast, new[None, :])
            return replace(state, forecast=forecast, learned_until=end), "updated"
        return state, "current"

    def _peak(self, state: PredictiveState, now: float, lookahead_s: float) -> float | None:
        """The highest forecast quantile over ``[now, now + lookahead_s]``; None without a forecast.

        The forecaster has learned every step before the one holding ``now``: its first
        forecast step is the current one.
        """
        if state.forecast is None:
            return None
        horizon = math.floor((now + lookahead_s - state.learned_until) / self.spec.forecast_step_s) + 1
        quantiles = self.forecaster.predict(state.forecast, horizon, [self.spec.quantile])
        return float(quantiles[0, :, 0].max())


def _load_grid(series: Sequence[Series], step_s: float, start: float, end: float, counter: bool) -> np.ndarray:
    """The summed load of ``series`` per grid step over ``[start, end)``; NaN where none reported."""
    grids = [np.full(max(0, round((end - start) / step_s)), np.nan)]
    for s in series:
        timestamps, values = counter_rate(s.timestamps, s.values) if counter else (s.timestamps, s.values)
        grids.append(to_grid(timestamps, values, step_s, start, end))
    stacked = np.vstack(grids)
    return np.where(np.isnan(stacked).all(axis=0), np.nan, np.nansum(stacked, axis=0))


def _latest(series: Sequence[Series]) -> float | None:
    """Mean over the series of each one's last finite sample; None when none has one."""
    last = [float(s.values[np.isfinite(s.values)][-1]) for s in series if np.isfinite(s.values).any()]
    return sum(last) / len(last) if last else None

