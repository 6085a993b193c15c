"""Scale-to-zero for model-serving workloads: zero replicas, a warm pool, or scaling ahead.

A GPU model server that scales to zero pays a cold start (image pull + model load, tens of
seconds for a base model) for the first requests that find it gone; one that never scales to zero
pays a GPU for every idle hour. Each period, for one workload at ``now``:

1. **Horizon.** ``W = load_time(cold_start_quantile) + period_s``: a replica asked for now is
   ready after its load time, and the next chance to act is one period later.
2. **Will a request come within W?** Two estimates, the higher kept (a cold start costs more than
   a period of GPU):

   * *idle-gap hazard*: from the workload's histogram of gaps between requests,
     ``P(gap <= tau + W | gap > tau) = (S(tau) - S(tau + W)) / S(tau)`` with ``tau`` the time
     since the last request and ``S`` the survival of the gaps (the keep-alive of "Serverless in
     the Wild", ATC'20, as a probability instead of a fixed window);
   * *forecast*: ``1 - exp(-sum(rate_hat) * step)`` over ``W``, a Poisson count from any
     forecaster's predicted request rate (a daily cycle seen in the history raises it before the
     morning's first request: the scale-up comes ahead of the arrival).

3. **Decide.** Requests in flight or forecast load above zero -> **serve**: the replicas for the
   ``burst_quantile`` Poisson count of arrivals within ``W`` (a warm pool that absorbs a burst
   while new replicas load), and enough to clear the requests in flight within ``W`` (a replica
   started for a backlog that clears sooner would only be ready after it); idle but ``p >= keep_probability`` -> **warm** (one replica kept) or
   **ahead** (one started before the request arrives); otherwise -> **zero** (or ``min_replicas``).
   ``keep_probability`` is the cost knob: lower keeps replicas longer and hits fewer cold starts.

Too few gaps seen (``min_gaps``) and no forecast: one replica stays warm, and the reason says so.

>>> spec = ScaleToZeroSpec(capacity_rps=1.0, period_s=30.0, min_gaps=1)
>>> times = LoadTimes.from_samples([20.0, 30.0, 40.0])
>>> state = observe(spec, ScaleToZeroState(), [0.0, 10.0, 20.0, 30.0])
>>> decide(spec, state, times, now=40.0, in_flight=0, forecast_rps=[]).mode
'warm'
>>> decide(spec, state, times, now=4000.0, in_flight=0, forecast_rps=[]).mode
'zero'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import poisson

from foresight.errors import InputError

__all__ = [
    "GAP_EDGES_S",
    "LoadTimes",
    "ScaleToZeroDecision",
    "ScaleToZeroSpec",
    "ScaleToZeroState",
    "arrival_probability",
    "decide",
    "expected_arrivals",
    "gap_hazard",
    "keep_alive_s",
    "observe",
]

#: Edges of the idle-gap histogram: 0 s, then log-spaced from 1 s to 8 days (the last bin is open).
GAP_EDGES_S: np.ndarray = np.concatenate(([0.0], np.geomspace(1.0, 8 * 86400.0, 64)))
GAP_EDGES_S.flags.writeable = False

Mode = Literal["zero", "warm", "ahead", "serve"]


class ScaleToZeroSpec(BaseModel):
    """Settings of the scale-to-zero policy for one model-serving workload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    capacity_rps: float = Field(gt=0, description="Requests per second one ready replica serves within the SLO.")
    period_s: float = Field(10.0, gt=0, description="The control period (KEDA's pollingInterval, the loop's period).")
    keep_probability: float = Field(
        0.02, gt=0, lt=1, description="Keep (or start) a replica while P(a request within the horizon) is at least this."
    )
    cold_start_quantile: float = Field(0.9, gt=0, lt=1, description="Quantile of the load time that sets the horizon.")
    burst_quantile: float = Field(
        0.99, gt=0, lt=1, description="Serving: size for this quantile of the Poisson count of arrivals in the horizon."
    )
    concurrency: int = Field(1, ge=1, description="Requests one replica serves at once (batch slots).")
    min_gaps: int = Field(20, ge=1, description="Idle gaps to see before their histogram is trusted.")
    min_replicas: int = Field(0, ge=0, description="A warm floor that is never released (0 allows scale to zero).")
    max_replicas: int = Field(10, ge=1, description="Never more replicas than this.")


@dataclass(frozen=True)
class LoadTimes:
    """Quantiles of a model's cold-start time (image pull + model load), in seconds."""

    levels: tuple[float, ...]
    seconds: tuple[float, ...]

    @classmethod
    def from_samples(cls, samples_s: Sequence[float] | np.ndarray) -> LoadTimes:
        """The percentiles 1..99 of measured load times; InputError on none or a negative one.

        >>> LoadTimes.from_samples([10.0, 20.0, 30.0]).quantile(0.5)
        20.0
        """
        values = np.asarray(samples_s, dtype=np.float64)
        if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise InputError("load times: need at least one finite, non-negative sample (seconds)")
        levels = np.arange(1, 100) / 100.0
        return cls(tuple(levels.tolist()), tuple(np.quantile(values, levels).tolist()))

    def quantile(self, level: float) -> float:
        """The load time at ``level`` (interpolated between the stored percentiles)."""
        return float(np.interp(level, self.levels, self.seconds))


@dataclass(frozen=True)
class ScaleToZeroState:
    """What the policy learned of one workload: its idle-gap histogram and its last request."""

    gap_counts: tuple[int, ...] = field(default=(0,) * len(GAP_EDGES_S))
    last_arrival_s: float | None = None
    requests: int = 0

    @property
    def gaps(self) -> int:
        return sum(self.gap_counts)


@dataclass(frozen=True)
class ScaleToZeroDecision:
    """The replicas wanted, the kind of decision, and its inputs and reason (the audit record)."""

    replicas: int
    mode: Mode
    reason: str
    arrival_probability: float
    horizon_s: float


def observe(spec: ScaleToZeroSpec, state: ScaleToZeroState, arrivals_s: Sequence[float]) -> ScaleToZeroState:
    """The state after also seeing the requests that arrived at ``arrivals_s`` (sorted, after the last seen).

    Learning changes the state; :func:`decide` never does.
    """
    if len(arrivals_s) == 0:
        return state
    times = np.asarray(arrivals_s, dtype=np.float64)
    if np.any(np.diff(times) < 0) or (state.last_arrival_s is not None and times[0] < state.last_arrival_s):
        raise InputError("scale-to-zero: arrivals must be sorted and newer than the last one seen")
    previous = times[:-1] if state.last_arrival_s is None else np.concatenate(([state.last_arrival_s], times[:-1]))
    gaps = times[-len(previous):] - previous if len(previous) else np.empty(0)
    bins = np.clip(np.searchsorted(GAP_EDGES_S, gaps, side="right") - 1, 0, len(GAP_EDGES_S) - 1)
    counts = np.asarray(state.gap_counts, dtype=np.int64) + np.bincount(bins, minlength=len(GAP_EDGES_S))
    return replace(state, gap_counts=tuple(int(c) for c in counts), last_arrival_s=float(times[-1]),
                   requests=state.requests + len(times))


def gap_hazard(gap_counts: Sequence[int], idle_s: float | np.ndarray, horizon_s: float) -> np.ndarray:
    """``P(gap <= idle + horizon | gap > idle)`` from a histogram over :data:`GAP_EDGES_S` (vectorised on idle).

    Up to ``u = horizon_s`` the gaps' survival ``S`` is the histogram's (gaps spread evenly within a
    bin). Past ``u`` a handful of long silences cannot be trusted bin by bin (the hazard of the
    histogram jumps to 1 just before its longest gap), so the tail is a Pareto fit:
    ``S(t) = S(u) (u / t) ** alpha`` with ``alpha`` the Hill estimate of the gaps above ``u`` (1, a
    scale-free tail, with fewer than 5 of them). The hazard then falls as the silence lasts:
    ``1 - (t / (t + horizon)) ** alpha``.

    >>> counts = [0] * len(GAP_EDGES_S); counts[10] = 100  # every gap in [6.8, 8.5) s
    >>> gap_hazard(counts, np.array([0.0, 7.0]), 10.0).round(3).tolist()
    [1.0, 1.0]
    """
    counts = np.asarray(gap_counts, dtype=np.float64)
    idle = np.asarray(idle_s, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return np.ones_like(idle)
    u = max(horizon_s, 1.0)
    alpha = _tail_index(counts, u)
    at_edges = np.append(np.cumsum(counts[::-1])[::-1], 0.0) / total  # S at each edge, then 0 past the last bin
    s_u = float(np.interp(u, _EDGES_AND_END_S, at_edges))

    def survival(t: np.ndarray) -> np.ndarray:
        tail = s_u * (u / np.maximum(t, u)) ** alpha
        return np.where(t <= u, np.interp(t, _EDGES_AND_END_S, at_edges), tail)

    s_now, s_then = survival(idle), survival(idle + horizon_s)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(s_now > 0.0, 1.0 - s_then / s_now, 1.0 - (idle / (idle + horizon_s)) ** alpha)
    return np.clip(hazard, 0.0, 1.0)


def _tail_index(counts: np.ndarray, u: float) -> float:
    """Hill's estimate of the Pareto index of the gaps longer than ``u`` (bin by bin, geometric mid-points)."""
    upper = _EDGES_AND_END_S[1:]
    mids = np.sqrt(np.maximum(GAP_EDGES_S, 1e-3) * upper)
    above = mids > u
    k = counts[above].sum()
    if k < 5:
        return 1.0
    return float(np.clip(k / max(float(np.dot(counts[above], np.log(mids[above] / u))), 1e-9), 0.2, 5.0))


_EDGES_AND_END_S = np.append(GAP_EDGES_S, GAP_EDGES_S[-1] * 2.0)  # the open last bin ends at twice its edge
_IDLE_GRID_S = np.concatenate(([0.0], np.geomspace(1.0, 8 * 86400.0, 600)))


def keep_alive_s(gap_counts: Sequence[int], horizon_s: float, keep_probability: float) -> float:
    """How long to keep a replica after a request (a keep-alive learned per workload): the idle time
    past which the hazard of a request within ``horizon_s`` stays below ``keep_probability``.

    Not the first time it dips below: a workload whose gaps cluster around a minute has a low hazard
    at ten seconds of silence and a high one at fifty; releasing the replica at the dip and starting it
    again before the peak would pay a model load for nothing.

    >>> counts = [0] * len(GAP_EDGES_S); counts[15], counts[35] = 90, 10  # gaps of ~22 s and ~26 min
    >>> round(keep_alive_s(counts, 60.0, 0.2), 1), round(keep_alive_s(counts, 60.0, 0.05), 1)
    (24.8, 334.9)
    """
    return _keep_alive_s(tuple(int(c) for c in gap_counts), float(horizon_s), float(keep_probability))


@functools.lru_cache(maxsize=1024)  # the same histogram is asked about every period until a request comes
def _keep_alive_s(gap_counts: tuple[int, ...], horizon_s: float, keep_probability: float) -> float:
    hazard = gap_hazard(gap_counts, _IDLE_GRID_S, horizon_s)
    above = np.flatnonzero(hazard >= keep_probability)
    if above.size == 0:
        return 0.0
    return math.inf if above[-1] + 1 == _IDLE_GRID_S.size else float(_IDLE_GRID_S[above[-1] + 1])


def expected_arrivals(forecast_rps: Sequence[float], step_s: float, horizon_s: float) -> float:
    """Requests expected within ``horizon_s`` from a rate forecast holding ``step_s`` per value.

    >>> expected_arrivals([0.01, 0.02], 60.0, 90.0)
    1.2
    """
    rates = np.clip(np.nan_to_num(np.asarray(forecast_rps, dtype=np.float64)), 0.0, None)
    if rates.size == 0:
        return 0.0
    covered = np.clip(horizon_s - step_s * np.arange(rates.size), 0.0, step_s)
    return float(np.dot(rates, covered))


def arrival_probability(forecast_rps: Sequence[float], step_s: float, horizon_s: float) -> float:
    """``1 - exp(-expected arrivals within horizon_s)``: a Poisson count's chance of at least one.

    >>> round(arrival_probability([0.01, 0.01], 60.0, 90.0), 3)
    0.593
    """
    return float(1.0 - math.exp(-expected_arrivals(forecast_rps, step_s, horizon_s)))


def decide(
    spec: ScaleToZeroSpec,
    state: ScaleToZeroState,
    load_times: LoadTimes,
    *,
    now: float,
    in_flight: int,
    forecast_rps: Sequence[float],
    forecast_step_s: float = 60.0,
    recent_rps: float = 0.0,
) -> ScaleToZeroDecision:
    """The replicas for one workload now; see the module docstring. Pure: ``state`` is only read.

    ``recent_rps``, the rate seen over the last minute, is a floor under the forecast's arrivals when
    the pool is sized: a burst the forecast missed (or a workload with no forecast yet) is still served.
    """
    horizon = load_times.quantile(spec.cold_start_quantile) + spec.period_s
    idle = math.inf if state.last_arrival_s is None else max(0.0, now - state.last_arrival_s)
    expected = expected_arrivals(forecast_rps, forecast_step_s, horizon)
    p_forecast = 1.0 - math.exp(-expected)
    trusted = state.gaps >= spec.min_gaps
    keep_s = keep_alive_s(state.gap_counts, horizon, spec.keep_probability) if trusted else math.inf
    p_gap = float(gap_hazard(state.gap_counts, idle, horizon)) if trusted and idle < keep_s else 0.0
    p = max(p_gap, p_forecast)
    sized = max(expected, max(recent_rps, 0.0) * horizon)
    need = int(poisson.ppf(spec.burst_quantile, sized)) if sized > 0 else 0
    pool = math.ceil(need / (spec.capacity_rps * horizon)) if need else 0
    why = f"P(request within {horizon:.0f} s) = {p:.3f} (idle-gap hazard {p_gap:.3f} within the learned " \
          f"keep-alive of {keep_s:.0f} s, forecast {p_forecast:.3f})"
    if in_flight > 0 or pool > 1:
        # a backlog that the replicas serve within the horizon needs no new one: it would be ready too late
        backlog = math.ceil(in_flight / (spec.capacity_rps * horizon))
        serving = max(1, pool, backlog)
        mode: Mode = "serve"
        reason = f"serve: {in_flight} in flight ({backlog} replicas clear them within {horizon:.0f} s), warm pool " \
                 f"of {serving} for the p{spec.burst_quantile * 100:g} count of forecast arrivals ({need})"
        replicas = serving
    elif not math.isfinite(idle) and p_forecast < spec.keep_probability:
        mode, replicas = "zero", 0
        reason = f"zero: no request seen yet and the forecast gives P(request within {horizon:.0f} s) = " \
                 f"{p_forecast:.3f} < {spec.keep_probability:g}"
    elif not trusted and p_forecast < spec.keep_probability:
        mode, replicas = "warm", 1
        reason = f"warm: {state.gaps} idle gaps seen (< {spec.min_gaps}), too few to risk a cold start; {why}"
    elif idle < keep_s or p_forecast >= spec.keep_probability:
        mode = "warm" if idle < keep_s else "ahead"  # "ahead": the forecast alone asks for it
        replicas = 1
        reason = f"{mode}: {why} >= {spec.keep_probability:g}"
    else:
        mode, replicas = "zero", 0
        idle_text = "no request yet" if not math.isfinite(idle) else f"idle {idle:.0f} s"
        reason = f"zero: {why} < {spec.keep_probability:g}; {idle_text}"
    bounded = min(spec.max_replicas, max(spec.min_replicas, replicas))
    if bounded != replicas:
        reason += f"; held within [{spec.min_replicas}, {spec.max_replicas}]"
    return ScaleToZeroDecision(bounded, mode, reason, p, horizon)
