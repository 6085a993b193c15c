"""Predictive scaling: replicas for the load that will arrive by the time new pods are ready.

A reactive HPA sees a burst one sync period late and its new pods serve one start-up delay
after that. This policy sizes for the forecast instead. Each period, for workload ``w`` at ``now``:

1. **Forecast.** The load history (``foresight_offered_rps``) on a regular grid
   (``forecast_step_s``) feeds a forecaster; the policy keeps its state per workload and updates
   it online with each completed step (for all workloads at once: :meth:`PredictivePolicy.decide_many`
   fits, updates and predicts the workloads on one grid as one array, each getting exactly the
   numbers it would alone, and sizes them for their SLOs in one search), refitting from the whole lookback every
   ``refit_every_s`` (sooner while the history is young: whenever it has doubled since the
   last fit, so the daily season joins as soon as two days exist).
2. **Size.** ``peak`` = the highest ``quantile`` forecast over ``[now, now + startup_delay_s +
   sync_period_s]`` (pods asked for now serve after the start-up delay, and the next chance to
   correct comes one period later); ``predicted`` = the replicas that serve ``peak``. The
   quantile is the cost knob: higher buys headroom against misses with replicas.
   **Calibrated online** (``calibration_window`` > 0): each forecast peak is kept until the load
   over its look-ahead has been seen, and their ratio (the miss) joins the workload's last
   ``calibration_window`` misses; once ``calibration_min`` are seen, ``peak`` is multiplied by
   their ``calibration_quantile`` (:func:`calibrated_margin`, a split-conformal quantile) instead
   of ``1 + headroom``: a volatile workload, whose rises within a start-up delay the forecast
   misses, buys itself headroom; a smooth one, whose forecast holds, releases it.
3. **Reactive floor.** What the load of *now* needs, so a missed forecast degrades to reactive
   scaling, never below it.
4. **Stabilise.** The result is the highest of ``max(predicted, floor)`` over the last
   ``stabilisation_window_s``: scale-ups are immediate, scale-downs wait out the window.

**One capacity definition** sizes both the forecast and the floor, chosen per workload:

* with an :class:`SloModel`, the fewest replicas whose M/M/c queue (the simulator's model,
  :mod:`foresight.capacity.queueing`) meets the latency and error SLO at that load
  (:func:`slo_replicas`): ~86% busy is safe at 2 replicas, ~95% at 20, so a fixed target
  over-provisions large services and under-provisions small ones. The floor sizes the load seen
  now (the latest load sample, or ``cpu x ready x capacity_rps`` if larger, plus its last-minute
  rise projected ``floor_trend_s`` ahead, or, with ``floor_window_s``, the highest load of that
  window if larger: bursts come in clusters, so the capacity one burst needed is kept for the
  next) the same way. Both loads are first multiplied by
  ``1 + headroom``: the SLO edge leaves no room for a rise within a start-up delay that neither
  the forecast nor the floor saw coming;
* without one, the HPA's arithmetic: ``ceil(peak / (capacity_rps x target))`` and a floor of
  ``ceil(ready x cpu / target)``.

**Bad input.** Without a usable forecast (too little history, no load samples) the floor
decides alone and the reason says why; with neither load nor CPU the replicas stay as they are.
Gaps, NaNs and counter resets are read as gaps and rates (:mod:`foresight.forecast.prepare`). When
the load stops arriving (a scrape target vanished, Prometheus is down and a
:class:`~foresight.forecast.history.IncrementalHistory` serves its last points) the forecast
carries on for ``load_hold_s`` past the newest sample, then is set aside and the floor decides
alone until samples return; a CPU sample older than ``load_hold_s`` is no sample. Each case is
in the reason, so in the audit record.

**History within Prometheus' limits.** The policy reads ``lookback_s`` of load every period; a
loop whose source is wrapped in :class:`~foresight.forecast.history.IncrementalHistory` fetches
it once (in chunks of at most 11,000 points, by the Prometheus adapter) and then only the new points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from string import Template
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.autoscale.policy import Observation, Recommendation
from foresight.autoscale.recent import Recent
from foresight.capacity import (
    SloModel,
    slo_replicas,
    slo_replicas_each,
    utilisation_replicas,
)
from foresight.errors import ConfigError
from foresight.forecast import Forecaster, HistoryTooShort, HoltWinters
from foresight.forecast.prepare import counter_rate, to_grid
from foresight.forecast.protocol import Stacking
from foresight.series import Series

__all__ = [
    "PredictivePolicy",
    "PredictiveSpec",
    "PredictiveState",
    "ServiceCapacity",
    "calibrated_margin",
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
        80.0, gt=0, le=100, description="CPU utilisation to size for, in percent (as the HPA's target); unused with slo."
    )
    slo: SloModel | None = Field(None, description="Size replicas for this SLO (queueing model) instead of the target.")
    load_query: str | None = Field(
        None, description="This workload's own load query, complete (no $workload); None: the policy's template."
    )
    cpu_query: str | None = Field(
        None, description="This workload's own CPU query, complete; None: the policy's template ('' reads no CPU)."
    )


class PredictiveSpec(BaseModel):
    """Settings of the predictive policy; ``services`` maps each workload to its capacity.

    The defaults are the settings ``foresight bench autoscale`` chose on its fit traces (one rule:
    fewest SLO-violation minutes at no more replica-minutes than the HPA; README): the demo, the
    benchmark, ``foresight serve`` and the operator's ScalingPolicies all run them unless told
    otherwise, so what the benchmark measures is what runs.
    """

    model_config = _FROZEN

    services: dict[str, ServiceCapacity] = Field(description="Per workload: capacity and start-up delay.")
    quantile: float = Field(0.95, gt=0, lt=1, description="Forecast quantile sized for: the cost knob.")
    sync_period_s: float = Field(15.0, gt=0, description="The control loop's period.")
    stabilisation_window_s: float = Field(120.0, ge=0, description="Scale-downs wait this long.")
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
        description="Average CPU of the ready pods as a fraction of their request ('' reads no CPU).",
    )
    load_is_counter: bool = Field(False, description="load_query returns a cumulative request counter.")
    headroom: float = Field(
        0.1, ge=0, le=1, description="SLO sizing: size for the load times 1 + headroom (bursts within a start-up delay)."
    )
    floor_trend_s: float | None = Field(
        None, ge=0, description="SLO floor: the load now plus its rise over the last minute projected this far ahead "
        "(None: each workload's start-up delay + sync_period_s, when its new pods would serve; 0: off).",
    )
    floor_window_s: float = Field(
        600.0, ge=0, description="SLO floor: at least the highest load sample of this many seconds (0: the latest only)."
    )
    load_hold_s: float = Field(
        600.0, gt=0, description="The forecast carries on this long past the newest load sample, then the floor decides."
    )
    calibration_window: int = Field(
        0, ge=0, description="Size the forecast by its own last N misses (0: by the fixed headroom); see calibrated_margin."
    )
    calibration_quantile: float = Field(0.9, gt=0, lt=1, description="Quantile of the recent misses sized for.")
    calibration_min: int = Field(30, ge=1, description="Misses needed before the calibration replaces the fixed headroom.")
    calibration_bounds: tuple[float, float] = Field(
        (0.9, 2.0), description="The calibrated multiplier of the forecast peak stays within these bounds."
    )

    @model_validator(mode="after")
    def _consistent(self) -> PredictiveSpec:
        for query in (self.load_query, self.cpu_query):
            if query == "" and query is self.cpu_query:
                continue
            template = Template(query)
            if not template.is_valid() or template.get_identifiers() != ["workload"]:
                raise ConfigError(f"predictive policy: query {query!r} must contain $workload and no other $name")
        low, high = self.calibration_bounds
        if not 0 < low <= high:
            raise ConfigError(f"predictive policy: calibration_bounds {self.calibration_bounds} must be 0 < low <= high")
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
    ``grid_start`` and it has learned every step that ends by ``learned_until``. For the online
    calibration: ``recent_load`` holds the last learned grid steps (start, load), ``pending`` the
    forecast peaks (decision time, peak) whose look-ahead has not yet been seen, ``ratios`` the
    last seen misses (actual peak / forecast peak).
    """

    forecast: Any | None = None
    grid_start: float = 0.0
    learned_until: float = 0.0
    fitted_at: float = -math.inf
    fitted_history_s: float = 0.0
    recent: tuple[tuple[float, int], ...] = ()
    last_load_at: float = -math.inf
    recent_load: tuple[tuple[float, float], ...] = ()
    pending: tuple[tuple[float, float], ...] = ()
    ratios: tuple[float, ...] = ()

    def evolve(self, **changes: Any) -> PredictiveState:
        """This state with ``changes``: :func:`dataclasses.replace` without its per-field ``__init__``
        call (a workload's round makes three, 10,000 workloads 30,000 a period; the fields need no
        checking, the policy builds every value).

        >>> PredictiveState(learned_until=60.0).evolve(grid_start=0.0, ratios=(1.1,)).ratios
        (1.1,)
        """
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"PredictiveState has no field {sorted(unknown)}")
        new = object.__new__(PredictiveState)
        new.__dict__.update(self.__dict__, **changes)
        return new


def reactive_floor(ready: int, cpu: float | None, target_percent: float) -> int | None:
    """Replicas the HPA asks for now: ``ceil(ready x cpu / target)``; None without a CPU sample.

    >>> reactive_floor(4, 0.9, 60.0), reactive_floor(4, 0.3, 60.0), reactive_floor(4, None, 60.0)
    (6, 2, None)
    """
    if cpu is None:
        return None
    return math.ceil(ready * 100.0 * cpu / target_percent - 1e-9)


def predicted_replicas(peak_rps: float, capacity: ServiceCapacity) -> int:
    """Replicas that serve ``peak_rps``: by the SLO when ``capacity.slo`` is set, else at the target.

    >>> predicted_replicas(450.0, ServiceCapacity(capacity_rps=100, startup_delay_s=60, target_utilisation_percent=75))
    6
    >>> slo = SloModel(base_latency_s=0.2, slo_latency_p95_s=0.4)
    >>> predicted_replicas(450.0, ServiceCapacity(capacity_rps=100, startup_delay_s=60, slo=slo))
    5
    """
    if capacity.slo is not None:
        return int(slo_replicas(np.array([peak_rps]), capacity.capacity_rps, capacity.slo)[0])
    return int(utilisation_replicas(peak_rps, capacity.capacity_rps, capacity.target_utilisation_percent))


def calibrated_margin(ratios: Sequence[float], quantile: float, bounds: tuple[float, float]) -> float:
    """The multiplier of the forecast peak that would have covered ``quantile`` of the recent misses.

    A split-conformal quantile: with ``n`` misses (actual peak over a decision's look-ahead divided
    by that decision's forecast peak), the ``ceil((n + 1) x quantile)``-th smallest, so that a new
    miss exchangeable with them falls below it with probability at least ``quantile``; clipped to
    ``bounds``. A volatile workload's misses are wide and buy it headroom, a smooth one's are
    narrow and release it.

    >>> calibrated_margin([0.9, 1.0, 1.05, 1.1, 1.3], 0.5, (0.8, 2.0))
    1.05
    >>> calibrated_margin([0.9, 1.0, 1.05, 1.1, 1.3], 0.9, (0.8, 1.2))
    1.2
    """
    if not ratios:
        raise ValueError("calibrated_margin: no ratios")
    ordered = np.sort(np.asarray(ratios, dtype=np.float64))
    k = min(math.ceil((ordered.size + 1) * quantile), ordered.size) - 1
    return float(np.clip(ordered[max(k, 0)], *bounds))


def stabilise(
    now: float, wanted: int, recent: Sequence[tuple[float, int]], window_s: float
) -> tuple[int, tuple[tuple[float, int], ...]]:
    """The highest recommendation within ``window_s`` (``wanted`` included) and the kept history.

    >>> stabilise(600.0, 3, [(200.0, 9), (400.0, 5)], 300.0)
    (5, ((400.0, 5), (600.0, 3)))
    """
    cut = now - window_s
    kept = (*[x for x in recent if x[0] > cut], (now, wanted))
    return max([n for _, n in kept]), kept


class PredictivePolicy:
    """The predictive policy as a :class:`~foresight.autoscale.policy.ReplicaPolicy` (module docstring).

    ``forecaster`` defaults to :class:`~foresight.forecast.HoltWinters` with ``spec.seasons_s``
    on the forecast grid. A load cycling every 30 minutes is about to rise; replicas serve 50
    req/s each at 75% CPU and take two minutes to start:

    >>> from foresight.ports import Scale
    >>> api = ServiceCapacity(capacity_rps=50, startup_delay_s=120, target_utilisation_percent=75)
    >>> policy = PredictivePolicy(PredictiveSpec(services={"api": api}, min_history_s=3600, seasons_s=(1800,),
    ...                                          quantile=0.9))
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
        self._queries: dict[str, dict[str, str]] = {}

    def queries(self, workload: str) -> dict[str, str]:
        """The load (and, unless switched off with ``''``, CPU) query of ``workload``: its own, else the template's.

        Made once per workload (the spec is frozen): the loop asks every period, for every workload,
        and the same mapping each time lets it see at a glance that its read plan still holds.
        """
        found = self._queries.get(workload)
        if found is None:
            found = self._queries[workload] = self._make_queries(workload)
        return found

    def _make_queries(self, workload: str) -> dict[str, str]:
        own = self.spec.services.get(workload)
        load = own.load_query if own is not None and own.load_query is not None else None
        cpu = own.cpu_query if own is not None and own.cpu_query is not None else None
        found = {
            "load": load if load is not None else Template(self.spec.load_query).substitute(workload=workload),
            "cpu": cpu if cpu is not None else Template(self.spec.cpu_query).substitute(workload=workload),
        }
        return {name: query for name, query in found.items() if query}

    def decide(self, state: PredictiveState | None, obs: Observation) -> tuple[Recommendation, PredictiveState]:
        (result,) = self.decide_many([(state, obs)])
        if isinstance(result, Exception):
            raise result
        return result

    def decide_many(
        self, items: Sequence[tuple[PredictiveState | None, Observation]]
    ) -> list[tuple[Recommendation, PredictiveState] | Exception]:
        """:meth:`decide` for many workloads at once, each answer (or its error) in the order of ``items``.

        Each workload decides alone, but the forecaster learns and predicts once for all whose
        states it can stack (:class:`~foresight.forecast.protocol.Stacking`), which gives each the
        numbers it would get alone; a call that fails for the group is made again one workload at
        a time, so only the workload at fault fails.
        """
        out: list[tuple[Recommendation, PredictiveState] | Exception | None] = [None] * len(items)
        learning: list[tuple[int, PredictiveState, str, _Learn | None]] = []
        loads = None if self.spec.load_is_counter else Recent.of([obs.series.get("load", []) for _, obs in items])
        newest = loads.newest().tolist() if loads is not None else [math.nan] * len(items)
        for i, (state, obs) in enumerate(items):
            try:
                self._capacity(obs.workload)
                learning.append((i, *self._learn_begin(state or PredictiveState(), obs, newest[i], loads is not None)))
            except Exception as exc:  # noqa: BLE001 - that workload's error, the others go on
                out[i] = exc
        jobs = [(i, state, job) for i, state, _, job in learning if job is not None]
        self._new_steps(loads, [(i, job) for i, _, job in jobs if job.grid is None], items)
        learned = {**self._fits([(i, job.grid) for i, _, job in jobs if job.fit]),
                   **self._updates([(i, state.forecast, job.grid) for i, state, job in jobs if not job.fit])}
        peaks: list[tuple[int, PredictiveState, str, float, float]] = []
        for i, state, note, job in learning:
            obs = items[i][1]
            if job is not None:
                forecast = learned[i]
                if isinstance(forecast, HistoryTooShort) and job.fit:
                    step = self.spec.forecast_step_s
                    state, note = state.evolve(forecast=None), (
                        f"history too short: {forecast.have * step:.0f} s of load, need {forecast.need * step:.0f} s")
                elif isinstance(forecast, Exception):
                    out[i] = forecast
                    continue
                elif job.fit:
                    state = PredictiveState(forecast, job.start, job.end, obs.now, job.end - job.start, state.recent,
                                            state.last_load_at, self._remember(state, job.start, job.grid),
                                            state.pending, state.ratios)
                else:
                    state = state.evolve(forecast=forecast, learned_until=job.end, last_load_at=job.last_load_at,
                                         recent_load=self._remember(state, job.start, job.grid))
            lookahead_s = self._capacity(obs.workload).startup_delay_s + self.spec.sync_period_s
            peaks.append((i, state, note, obs.now - state.last_load_at, lookahead_s))
        wanted = [(i, state, self._horizon(state, items[i][1].now, lookahead_s))
                  for i, state, _, silent_s, lookahead_s in peaks
                  if state.forecast is not None and silent_s <= self.spec.load_hold_s]
        predicted = self._predictions(wanted)
        floor_reads = self._floor_reads(loads, items)
        drafts: list[tuple[int, _Draft]] = []
        for i, state, note, silent_s, lookahead_s in peaks:
            peak = predicted.get(i)
            if isinstance(peak, Exception):
                out[i] = peak
                continue
            try:
                drafts.append((i, self._draft(state, note, items[i][1], silent_s, lookahead_s, peak, *floor_reads[i])))
            except Exception as exc:  # noqa: BLE001 - that workload's error, the others go on
                out[i] = exc
        for (i, draft), sized in zip(drafts, self._sized([d for _, d in drafts])):
            try:
                out[i] = sized if isinstance(sized, Exception) else self._decision(draft, *sized)
            except Exception as exc:  # noqa: BLE001 - that workload's error, the others go on
                out[i] = exc
        assert all(x is not None for x in out), "every workload is answered"
        return [x for x in out if x is not None]

    def _capacity(self, workload: str) -> ServiceCapacity:
        capacity = self.spec.services.get(workload)
        if capacity is None:
            raise ConfigError(
                f"predictive policy: no capacity for workload {workload!r}; known: {sorted(self.spec.services)}"
            )
        return capacity

    def _draft(self, state: PredictiveState, forecast_note: str, obs: Observation, silent_s: float,
               lookahead_s: float, peak: float | None, cpu_read: float | None, load_read: float | None) -> _Draft:
        """The decision once the forecast is learned and its ``peak`` known (None: none, or set
        aside), up to the loads still to be sized (all workloads' at once, :meth:`_sized`).
        ``cpu_read``, ``load_read``: the latest CPU and the SLO floor's load as :meth:`_floor_reads`
        read them for all workloads at once (NaN: unknown there, read here; None: none)."""
        capacity = self._capacity(obs.workload)
        hold = self.spec.load_hold_s
        if state.forecast is not None and silent_s > hold:
            forecast_note = f"no load sample for {silent_s:.0f} s, over the {hold:.0f} s hold: forecast set aside"
        state = self._calibrate(state, obs.now, lookahead_s, peak)
        margin, margin_words = self._forecast_margin(capacity, state) if peak is not None else (1.0, "")
        since = obs.now - self.spec.load_hold_s
        cpu = _latest(obs.series.get("cpu", []), since) if cpu_read is not None and math.isnan(cpu_read) else cpu_read
        load = now_rps = None
        if capacity.slo is not None:
            load = load_read
            if load is not None and math.isnan(load):
                load = _latest_load(obs.series.get("load", []), since, self.spec.load_is_counter,
                                    self._floor_trend_s(capacity), self.spec.floor_window_s)
            served = None if cpu is None else cpu * obs.scale.ready * capacity.capacity_rps
            seen = [x for x in (load, served) if x is not None]
            now_rps = max(seen) if seen else None
        return _Draft(obs, capacity, state, forecast_note, silent_s, lookahead_s, peak, margin, margin_words, cpu,
                      load, now_rps)

    def _sized(self, drafts: Sequence[_Draft]) -> list[tuple[int | None, int | None] | Exception]:
        """Per draft the replicas of its forecast peak and of its SLO floor's load (None where it has
        none), or the error of sizing one: the SLO searches of all drafts at once, each as alone."""
        loads: list[float] = []
        rates: list[float] = []
        slos: list[SloModel] = []
        where: list[tuple[list[int | None], int]] = []
        out: list[list[int | None]] = []
        headroom = 1.0 + self.spec.headroom
        for draft in drafts:
            slo = draft.capacity.slo
            row: list[int | None] = [None, None]
            out.append(row)
            # the forecast peak and the floor's load, each times its margin (1 + headroom: SLO sizing)
            for k, load in ((0, None if draft.peak is None else draft.peak * draft.margin),
                            (1, None if draft.now_rps is None else draft.now_rps * (headroom if slo is not None else 1.0))):
                if load is None:
                    continue
                if slo is not None and math.isfinite(load) and load >= 0:
                    loads.append(load)
                    rates.append(draft.capacity.capacity_rps)
                    slos.append(slo)
                    where.append((row, k))
                else:
                    row[k] = -1  # sized alone below
        need = slo_replicas_each(np.array(loads), np.array(rates), slos).tolist() if loads else []
        for (row, k), n in zip(where, need):
            row[k] = n if n > 0 else -1  # not met: sized alone below, for its own error
        result: list[tuple[int | None, int | None] | Exception] = []
        for draft, row in zip(drafts, out):
            try:
                if row[0] == -1:
                    row[0] = predicted_replicas(draft.peak * draft.margin, draft.capacity)  # type: ignore[operator]
                if row[1] == -1:
                    row[1] = predicted_replicas(draft.now_rps * self._margin(draft.capacity),  # type: ignore[operator]
                                                draft.capacity)
                result.append((row[0], row[1]))
            except Exception as exc:  # noqa: BLE001 - that workload's error, the others go on
                result.append(exc)
        return result

    def _decision(self, draft: _Draft, predicted: int | None, slo_floor: int | None
                  ) -> tuple[Recommendation, PredictiveState]:
        """The recommendation of ``draft`` with its forecast peak sized to ``predicted`` replicas and,
        sizing for an SLO, its floor's load to ``slo_floor``."""
        obs, peak = draft.obs, draft.peak
        inputs: dict[str, float] = {"quantile": self.spec.quantile, "lookahead_s": draft.lookahead_s}
        words = []
        hold = self.spec.load_hold_s
        if peak is not None:
            inputs.update(peak_rps=peak, predicted=predicted, margin=draft.margin)  # type: ignore[dict-item]
            q = self.spec.quantile
            words.append(f"forecast q{q:.2f} peak {peak:.1f} req/s within {draft.lookahead_s:.0f} s"
                         f"{draft.margin_words} needs {predicted}")
            if draft.silent_s > self.spec.forecast_step_s * 2:
                words.append(f"no load sample for {draft.silent_s:.0f} s (hold {hold:.0f} s)")
        else:
            words.append(f"no forecast ({draft.note})")
        floor, floor_words = self._floor(draft, slo_floor, inputs)
        words.append(floor_words)
        if predicted is None and floor is None:
            wanted = obs.scale.desired
            words.append(f"keep {wanted}")
        else:
            wanted = max(predicted or 0, floor or 0)
        replicas, recent = stabilise(obs.now, wanted, draft.state.recent, self.spec.stabilisation_window_s)
        if replicas > wanted:
            words.append(f"stabilisation ({self.spec.stabilisation_window_s:.0f} s) holds {replicas}")
        return (Recommendation(replicas, f"{'; '.join(words)}: {replicas}", inputs),
                draft.state.evolve(recent=recent))

    def _fits(self, fits: list[tuple[int, np.ndarray]]) -> dict[int, Any]:
        """Each item's forecaster state fitted on its load grid (or the error): grids of one length
        fitted at once where the forecaster can stack. A group that is refused as too short is
        fitted again without the members whose usable history was the shortest, which are fitted
        alone (each gets its own error); any other failure is made again one workload at a time."""
        out: dict[int, Any] = {}
        forecaster = self.forecaster
        if isinstance(forecaster, Stacking):
            groups: dict[int, list[tuple[int, np.ndarray]]] = {}
            for i, grid in fits:
                groups.setdefault(grid.size, []).append((i, grid))
            for members in groups.values():
                while len(members) >= 2:
                    history = np.stack([grid for _, grid in members])
                    try:
                        states = forecaster.unstack(forecaster.fit(history))
                    except HistoryTooShort as exc:
                        usable = np.isfinite(history).sum(axis=1)
                        longer = [m for m, n in zip(members, usable) if n > exc.have]
                        if len(longer) == len(members):
                            break
                        members = longer
                        continue
                    except Exception:  # noqa: BLE001 - fitted one by one below, so only the culprit fails
                        break
                    out.update((i, state) for (i, _), state in zip(members, states))
                    break
        for i, grid in fits:
            if i not in out:
                try:
                    out[i] = forecaster.fit(grid[None, :])
                except Exception as exc:  # noqa: BLE001 - that workload's error, the others go on
                    out[i] = exc
        return out

    def _updates(self, updates: list[tuple[int, Any, np.ndarray]]) -> dict[int, Any]:
        """Each item's forecaster state after learning its new points (or the error): items (index,
        state, new points) stacked and updated once per group where the forecaster can stack."""
        out: dict[int, Any] = {}
        forecaster = self.forecaster
        if isinstance(forecaster, Stacking):
            groups: dict[Any, list[tuple[int, Any, np.ndarray]]] = {}
            for i, state, new in updates:
                groups.setdefault((forecaster.stack_key(state), new.size), []).append((i, state, new))
            for members in groups.values():
                if len(members) < 2:
                    continue
                try:
                    stacked = forecaster.update(forecaster.stack([s for _, s, _ in members]),
                                                np.stack([n for _, _, n in members]))
                except Exception:  # noqa: BLE001, S112 - made again one by one below, so only the culprit fails
                    continue
                for (i, _, _), one in zip(members, forecaster.unstack(stacked)):
                    out[i] = one
        for i, state, new in updates:
            if i not in out:
                try:
                    out[i] = forecaster.update(state, new[None, :])
                except Exception as exc:  # noqa: BLE001 - that workload's error, the others go on
                    out[i] = exc
        return out

    def _predictions(self, wanted: list[tuple[int, PredictiveState, int]]) -> dict[int, float | Exception]:
        """Each item's forecast peak, the highest ``quantile`` forecast over its horizon, predicted once
        per group of stackable states up to the group's longest horizon (each series' values are its own)."""
        out: dict[int, float | Exception] = {}
        forecaster, q = self.forecaster, [self.spec.quantile]
        if isinstance(forecaster, Stacking):
            groups: dict[Any, list[tuple[int, PredictiveState, int]]] = {}
            for item in wanted:
                groups.setdefault(forecaster.stack_key(item[1].forecast), []).append(item)
            for members in groups.values():
                if len(members) < 2:
                    continue
                horizons = np.array([h for _, _, h in members])
                if horizons.min() < 1:
                    continue  # one by one below: the culprit gets its own error
                try:
                    quantiles = forecaster.predict(forecaster.stack([s.forecast for _, s, _ in members]),
                                                   int(horizons.max()), q)
                except Exception:  # noqa: BLE001, S112 - made again one by one below, so only the culprit fails
                    continue
                # each row's highest forecast over its own horizon, all rows at once
                ahead = np.arange(quantiles.shape[1])[None, :] < horizons[:, None]
                peaks = np.max(np.where(ahead, quantiles[:, :, 0], -np.inf), axis=1).tolist()
                for (i, _, _), peak in zip(members, peaks):
                    out[i] = peak
        for i, state, horizon in wanted:
            if i not in out:
                try:
                    out[i] = float(self.forecaster.predict(state.forecast, horizon, q)[0, :, 0].max())
                except Exception as exc:  # noqa: BLE001 - that workload's error, the others go on
                    out[i] = exc
        return out

    def _forecast_margin(self, capacity: ServiceCapacity, state: PredictiveState) -> tuple[float, str]:
        """The forecast peak's multiplier and its words: calibrated on the workload's own recent
        misses once ``calibration_min`` are seen (when enabled), else the fixed ``1 + headroom``."""
        spec = self.spec
        if spec.calibration_window and len(state.ratios) >= spec.calibration_min:
            margin = calibrated_margin(state.ratios, spec.calibration_quantile, spec.calibration_bounds)
            return margin, f" x {margin:.2f} (q{spec.calibration_quantile:.2f} of its last {len(state.ratios)} misses)"
        return self._margin(capacity), ""

    def _calibrate(self, state: PredictiveState, now: float, lookahead_s: float, peak: float | None) -> PredictiveState:
        """Score the pending forecast peaks whose look-ahead the learned load now covers, and keep
        ``peak`` (one per forecast step) to be scored later. A no-op without calibration."""
        window = self.spec.calibration_window
        if not window:
            return state
        step = self.spec.forecast_step_s
        ratios, pending = list(state.ratios), []
        for t, forecast_peak in state.pending:
            if t + lookahead_s > state.learned_until:
                if t > now - lookahead_s - 2 * step - self.spec.load_hold_s:
                    pending.append((t, forecast_peak))
                continue
            seen = [v for s, v in state.recent_load if s + step > t and s < t + lookahead_s and math.isfinite(v)]
            if seen and forecast_peak > 0:
                ratios.append(max(seen) / forecast_peak)
        if peak is not None and peak > 0 and (not pending or math.floor(pending[-1][0] / step) < math.floor(now / step)):
            pending.append((now, peak))
        return state.evolve(ratios=tuple(ratios[-window:]), pending=tuple(pending))

    def _remember(self, state: PredictiveState, start: float, values: np.ndarray) -> tuple[tuple[float, float], ...]:
        """``state.recent_load`` with the grid steps ``values`` from ``start`` appended, the last few kept."""
        if not self.spec.calibration_window:
            return ()
        keep = self.spec.max_lookahead_steps + 4
        step = self.spec.forecast_step_s
        tail = values[-keep:]
        first = start + (values.size - tail.size) * step
        new = tuple((first + i * step, float(v)) for i, v in enumerate(tail))
        return (tuple(x for x in state.recent_load if x[0] < first) + new)[-keep:]

    def _margin(self, capacity: ServiceCapacity) -> float:
        """What a load is multiplied by before it is sized: ``1 + headroom`` for SLO sizing, else 1
        (a target utilisation already holds its headroom)."""
        return 1.0 + self.spec.headroom if capacity.slo is not None else 1.0

    def _floor(self, draft: _Draft, slo_floor: int | None, inputs: dict[str, float]) -> tuple[int | None, str]:
        """The reactive floor (None without a fresh sample), and its words; adds what it read to ``inputs``."""
        capacity, cpu, ready = draft.capacity, draft.cpu, draft.obs.scale.ready
        if capacity.slo is None:
            floor = reactive_floor(ready, cpu, capacity.target_utilisation_percent)
            if cpu is None or floor is None:  # both or neither
                return None, "no cpu sample"
            inputs.update(cpu=cpu, reactive_floor=floor)
            target = capacity.target_utilisation_percent
            return floor, f"reactive floor {floor} (cpu {100 * cpu:.0f}% of {ready} ready, target {target:.0f}%)"
        now_rps, load = draft.now_rps, draft.load
        if now_rps is None or slo_floor is None:  # both or neither
            return None, "no load or cpu sample"
        inputs.update(load_now_rps=now_rps, reactive_floor=slo_floor, **({} if cpu is None else {"cpu": cpu}))
        source = "load" if load is not None and now_rps == load else f"cpu {100 * (cpu or 0):.0f}% of {ready} ready"
        return slo_floor, f"reactive floor {slo_floor} ({now_rps:.1f} req/s now from {source}, sized for the SLO)"

    def _learn_begin(self, state: PredictiveState, obs: Observation, newest: float = math.nan,
                     defer: bool = False) -> tuple[PredictiveState, str, _Learn | None]:
        """What learning the load steps completed by ``obs.now`` takes: the state so far, a note on
        the forecast, and the grid its forecaster is still to fit or learn (:meth:`decide_many`
        fits and updates many workloads at once), None when nothing is. ``newest``: the time of the
        newest load sample, when read already (NaN: read here); ``defer``: an update's new steps are
        left for :meth:`_new_steps` to read (its grid None).

        Steps without a sample (the series is missing, or has a gap) are learned as gaps, so a
        forecast carries on through a short outage while the reactive floor guards it.
        """
        step = self.spec.forecast_step_s
        end = math.floor(obs.now / step) * step
        series = obs.series.get("load", [])
        if math.isnan(newest):
            newest = max((float(s.timestamps[i]) for s in series if (i := _last_finite(s.values)) >= 0),
                         default=-math.inf)
        if newest > obs.now:  # a sample from the future (clock skew) counts as now
            newest = obs.now
        last_load_at = max(state.last_load_at, newest) if end >= state.learned_until else newest
        due = min(self.spec.refit_every_s, state.fitted_history_s)
        if state.forecast is None or obs.now - state.fitted_at >= due or end < state.learned_until:
            state = state.evolve(last_load_at=last_load_at)
            start = end - math.floor(self.spec.lookback_s / step) * step
            grid = _load_grid(series, step, start, end, self.spec.load_is_counter)
            finite = np.flatnonzero(np.isfinite(grid))
            if finite.size == 0:
                return state.evolve(forecast=None), "no load samples", None
            grid, start = grid[finite[0] :], start + finite[0] * step
            return state, "refitted", _Learn(True, grid, start, end, last_load_at)
        if end > state.learned_until:  # ``last_load_at`` joins the state with what it learns
            grid = None if defer else _load_grid(series, step, state.learned_until, end, self.spec.load_is_counter)
            return state, "updated", _Learn(False, grid, state.learned_until, end, last_load_at)
        return state.evolve(last_load_at=last_load_at), "current", None

    def _new_steps(self, loads: Recent | None, jobs: list[tuple[int, _Learn]],
                   items: Sequence[tuple[PredictiveState | None, Observation]]) -> None:
        """Fill in the grids of the updates ``jobs`` (item index, job) left unread: from ``loads``'
        tails for all the jobs over one range at once, one workload at a time where a tail falls short."""
        ranges: dict[tuple[float, float], list[tuple[int, _Learn]]] = {}
        for i, job in jobs:
            ranges.setdefault((job.start, job.end), []).append((i, job))
        step = self.spec.forecast_step_s
        for (start, end), members in ranges.items():
            rows = np.array([i for i, _ in members], dtype=np.int64)
            known = loads.grid_known(rows, start).tolist() if loads is not None else [False] * len(members)
            grids = loads.grids(rows, start, end, step) if loads is not None and any(known) else None
            for k, (i, job) in enumerate(members):
                if known[k] and grids is not None:
                    job.grid = grids[k]
                else:
                    job.grid = _load_grid(items[i][1].series.get("load", []), step, start, end,
                                          self.spec.load_is_counter)

    def _floor_reads(self, loads: Recent | None, items: Sequence[tuple[PredictiveState | None, Observation]]
                     ) -> list[tuple[float | None, float | None]]:
        """Per item, the latest CPU and the SLO floor's load (:func:`_latest`, :func:`_latest_load`),
        read off all workloads' tails at once: None where there is none, NaN where the tails cannot
        say (:meth:`_draft` reads those one workload at a time)."""
        n = len(items)
        since = np.array([obs.now for _, obs in items], dtype=np.float64) - self.spec.load_hold_s
        cpus = Recent.of([obs.series.get("cpu", []) for _, obs in items])
        cpu_known, cpu = cpus.latest_known(), cpus.latest(since)
        cpu_none = cpu_known & np.isnan(cpu)
        cpu = np.where(cpu_known, cpu, np.nan)
        if loads is not None:
            trend = np.array([self._floor_trend_s(self.spec.services[obs.workload])
                              if obs.workload in self.spec.services else 0.0 for _, obs in items], dtype=np.float64)
            load, load_known = loads.floor_load(since, trend, self.spec.floor_window_s)
            load_none = load_known & np.isnan(load)
        else:
            load, load_none = np.full(n, np.nan), np.zeros(n, bool)
        return [(None if cn else c, None if ln else lv)
                for c, cn, lv, ln in zip(cpu.tolist(), cpu_none.tolist(), load.tolist(), load_none.tolist())]

    def _floor_trend_s(self, capacity: ServiceCapacity) -> float:
        """How far ahead the SLO floor projects the load's last-minute rise for a workload of ``capacity``."""
        trend_s = self.spec.floor_trend_s
        return capacity.startup_delay_s + self.spec.sync_period_s if trend_s is None else trend_s

    def _horizon(self, state: PredictiveState, now: float, lookahead_s: float) -> int:
        """Forecast steps covering ``[now, now + lookahead_s]``: the forecaster has learned every
        step before the one holding ``now``, so its first forecast step is the current one."""
        return math.floor((now + lookahead_s - state.learned_until) / self.spec.forecast_step_s) + 1


@dataclass(slots=True)
class _Draft:
    """One workload's decision before its loads are sized: what :meth:`PredictivePolicy._draft` read."""

    obs: Observation
    capacity: ServiceCapacity
    state: PredictiveState
    note: str
    silent_s: float
    lookahead_s: float
    peak: float | None
    margin: float
    margin_words: str
    cpu: float | None
    load: float | None  # the SLO floor's load series now (None: none, or not sizing for an SLO)
    now_rps: float | None  # the SLO floor's load: the larger of load and what the CPU says is served


@dataclass(slots=True)
class _Learn:
    """What a workload's forecaster is to learn this period: ``fit`` a fresh state on ``grid``, or
    update its state with it; the grid's steps span ``[start, end)`` (None: still to be read, by
    :meth:`PredictivePolicy._new_steps`)."""

    fit: bool
    grid: np.ndarray | None
    start: float
    end: float
    last_load_at: float  # the newest load sample's time, as the state is to hold it once learned


def _load_grid(series: Sequence[Series], step_s: float, start: float, end: float, counter: bool) -> np.ndarray:
    """The summed load of ``series`` per grid step over ``[start, end)``; NaN where none reported."""
    grids = []
    for s in series:
        if counter:
            timestamps, values = counter_rate(s.timestamps, s.values)
        else:  # the samples before ``start`` count for no step: left out unread (a round's update reads minutes of days)
            first = int(s.timestamps.searchsorted(start))
            timestamps, values = s.timestamps[first:], s.values[first:]
        grids.append(to_grid(timestamps, values, step_s, start, end))
    if len(grids) == 1:  # one series (the usual case): the sum below is 0.0 + its grid, NaN where it has none
        return 0.0 + grids[0]
    stacked = np.vstack([np.full(max(0, round((end - start) / step_s)), np.nan), *grids])
    return np.where(np.isnan(stacked).all(axis=0), np.nan, np.nansum(stacked, axis=0))


def _latest(series: Sequence[Series], since: float = -math.inf) -> float | None:
    """Mean over the series of each one's last finite sample at or after ``since``; None when none has one."""
    last = []
    for s in series:
        i = _last_finite(s.values)
        if i >= 0 and s.timestamps[i] >= since:
            last.append(float(s.values[i]))
    return sum(last) / len(last) if last else None


def _last_finite(values: np.ndarray, tail: int = 16) -> int:
    """The index of the last finite value (-1: none), looked for among the last ``tail`` first:
    a round reads the newest sample of days of them.

    >>> _last_finite(np.array([1.0, np.nan, 3.0, np.nan]), tail=1), _last_finite(np.array([np.nan]))
    (2, -1)
    """
    if values.size and math.isfinite(values[-1]):  # the usual case, without an array op
        return values.size - 1
    for part in (values[-tail:], values):
        found = np.flatnonzero(np.isfinite(part))
        if found.size:
            return values.size - part.size + int(found[-1])
    return -1


def _latest_load(
    series: Sequence[Series], since: float, counter: bool, trend_s: float = 0.0, window_s: float = 0.0
) -> float | None:
    """The summed latest rate of the load series sampled at or after ``since`` (a counter's last
    rate), plus, when ``trend_s`` > 0, each one's rise over the last minute (never a fall) projected
    ``trend_s`` ahead: a ramp the forecast missed is met one start-up delay earlier. With
    ``window_s`` > 0, each series counts at least its highest rate within ``window_s`` of its
    latest sample."""
    total, seen = 0.0, False
    for s in series:
        if counter and len(s) <= 1:
            continue
        timestamps, values = counter_rate(s.timestamps, s.values) if counter else (s.timestamps, s.values)
        last = _last_finite(values)
        if last < 0 or timestamps[last] < since:
            continue
        # only the samples within a minute or window_s of the newest finite one count: read as plain
        # floats (a few dozen of them; array operations' fixed cost was a fifth of a round)
        newest = float(timestamps[last])
        first = int(timestamps.searchsorted(min(newest - 60.0, newest - window_s)))
        points = [(t, v) for t, v in zip(timestamps[first : last + 1].tolist(), values[first : last + 1].tolist())
                  if math.isfinite(v)]
        now = points[-1][1]
        if trend_s > 0:
            recent = [(t, v) for t, v in points if t >= newest - 60.0]
            if len(recent) >= 2:
                slope = (now - recent[0][1]) / (newest - recent[0][0])
                now += max(0.0, slope) * trend_s
        if window_s > 0:
            now = max(now, max(v for t, v in points if t >= newest - window_s))
        total, seen = total + now, True
    return total if seen else None
