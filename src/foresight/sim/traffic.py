"""External traffic on the entry services: a seeded generator, or a replayed CSV trace.

The generator (:class:`SyntheticTraffic`) multiplies independent effects, at Unix time ``t``::

    rate(t) = B * D(t) * W(t) * G(t) * N(t) * U(t)
    D(t) = 1 + a_d cos(2 pi (hour(t) - peak_hour) / 24)            daily cycle
    W(t) = 1 + a_w cos(2 pi (t - Wednesday 12:00) / 1 week)         weekly cycle (quiet weekends)
    G(t) = (1 + growth_per_day) ** days_since_start                  slow growth
    N(t) = exp(sd X_t - sd^2 / 2), X an AR(1) with unit variance     correlated noise, mean 1
    U(t) = 1 + sum_j m_j exp(-(t - t_j) / burst_duration_s) [t >= t_j]   bursts

with ``B = daily_peak_rps / ((1 + a_d)(1 + a_w))``, so the seasonal peak of the first week is
``daily_peak_rps``; burst times are a Poisson process (``bursts_per_day``) and magnitudes are
``burst_magnitude`` times U(0.5, 1.5). Each entry service gets its own noise and bursts over the
shared seasonality, times its share. Everything random comes from the seed: the same seed gives
the same traffic.

A trace (:class:`TraceTraffic`) is read and resampled by :mod:`foresight.sim.trace`, scaled so its
peak (over one full period, at the step) is ``peak_rps`` and split between entries by share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.signal import lfilter

from foresight.sim.trace import read_trace, resample

__all__ = ["SyntheticTraffic", "TraceTraffic", "TrafficSpec", "entry_load", "synthetic_load"]

_DAY_S = 86400.0
_WEEK_S = 7 * _DAY_S
_WEDNESDAY_NOON_S = 6 * _DAY_S + 12 * 3600.0  # Unix time 0 is a Thursday 00:00 UTC


class SyntheticTraffic(BaseModel):
    """The built-in generator's knobs (see the module docstring for the formula)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["synthetic"] = "synthetic"
    daily_peak_rps: float = Field(100.0, gt=0, description="Seasonal peak of the total external rate.")
    daily_amplitude: float = Field(0.6, ge=0, lt=1, description="a_d: depth of the daily cycle.")
    peak_hour: float = Field(15.0, ge=0, lt=24, description="UTC hour of the daily peak.")
    weekly_amplitude: float = Field(0.15, ge=0, lt=1, description="a_w: depth of the weekly cycle.")
    noise_sd: float = Field(0.05, ge=0, description="sd of the log-normal noise.")
    noise_correlation_s: float = Field(600.0, gt=0, description="Time constant of the AR(1) noise.")
    bursts_per_day: float = Field(2.0, ge=0, description="Mean number of bursts per day and entry service.")
    burst_magnitude: float = Field(0.5, ge=0, description="Mean relative rise at a burst's start.")
    burst_duration_s: float = Field(600.0, gt=0, description="Decay time constant of a burst.")
    growth_per_day: float = Field(0.01, gt=-1, description="Compound growth of the level per day.")


class TraceTraffic(BaseModel):
    """Replay of a two-column CSV trace (time, value), scaled so its peak is ``peak_rps``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["trace"] = "trace"
    path: Path = Field(description="CSV file with a header; time as Unix seconds or ISO-8601.")
    peak_rps: float = Field(gt=0, description="Peak of the total external rate after scaling.")


TrafficSpec = Annotated[SyntheticTraffic | TraceTraffic, Field(discriminator="kind")]


def synthetic_load(spec: SyntheticTraffic, times: np.ndarray, n_series: int, seed: int) -> np.ndarray:
    """Rates at ``times`` (Unix seconds, evenly spaced) for ``n_series`` entries: shape [times, n_series].

    >>> quiet = SyntheticTraffic(daily_peak_rps=100, weekly_amplitude=0, noise_sd=0, bursts_per_day=0,
    ...                          growth_per_day=0)
    >>> x = synthetic_load(quiet, np.array([3.0, 15.0]) * 3600, 1, seed=0)
    >>> x.round(1).ravel().tolist()
    [25.0, 100.0]
    """
    rng = np.random.default_rng(seed)
    step_s = float(times[1] - times[0]) if times.size > 1 else 1.0
    hour = (times % _DAY_S) / 3600.0
    seasonal = (1 + spec.daily_amplitude * np.cos(2 * np.pi * (hour - spec.peak_hour) / 24.0)) * (
        1 + spec.weekly_amplitude * np.cos(2 * np.pi * (times - _WEDNESDAY_NOON_S) / _WEEK_S)
    )
    days = (times - times[0]) / _DAY_S
    level = spec.daily_peak_rps / ((1 + spec.daily_amplitude) * (1 + spec.weekly_amplitude))
    base = level * seasonal * (1 + spec.growth_per_day) ** days
    phi = float(np.exp(-step_s / spec.noise_correlation_s))
    shocks = rng.standard_normal((times.size, n_series)) * np.sqrt(1 - phi * phi)
    shocks[0] = rng.standard_normal(n_series)  # start in the stationary distribution
    ar = lfilter([1.0], [1.0, -phi], shocks, axis=0)
    noise = np.exp(spec.noise_sd * ar - spec.noise_sd**2 / 2)
    bursts = np.ones((times.size, n_series))
    span_days = times.size * step_s / _DAY_S
    for j in range(n_series):
        for _ in range(rng.poisson(spec.bursts_per_day * span_days)):
            k0 = int(rng.integers(times.size))
            m = spec.burst_magnitude * rng.uniform(0.5, 1.5)
            tail = min(times.size - k0, int(10 * spec.burst_duration_s / step_s) + 1)
            bursts[k0 : k0 + tail, j] += m * np.exp(-np.arange(tail) * step_s / spec.burst_duration_s)
    return base[:, None] * noise * bursts


def entry_load(
    spec: SyntheticTraffic | TraceTraffic,
    shares: np.ndarray,
    n_steps: int,
    step_s: float,
    start: float,
    seed: int,
) -> np.ndarray:
    """External rate of each entry service at each step: shape [n_steps, len(shares)].

    ``shares`` are normalised to sum 1. Synthetic traffic is sampled at each step's start.
    """
    weights = np.asarray(shares, dtype=float) / float(np.sum(shares))
    if isinstance(spec, SyntheticTraffic):
        times = start + np.arange(n_steps) * step_s
        return synthetic_load(spec, times, weights.size, seed) * weights
    t, v = read_trace(spec.path)
    period_steps = int(np.ceil((t[-1] - t[0] + float(np.median(np.diff(t)))) / step_s))
    rate = resample(t, v, max(n_steps, period_steps), step_s)
    scaled = rate[:n_steps] * (spec.peak_rps / float(rate[:period_steps].max()))
    return scaled[:, None] * weights
