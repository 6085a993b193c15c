"""Foresight's time to exhaustion: a robust multi-scale trend that knows the look-alikes of a leak.

The baselines (:mod:`foresight.heal.exhaustion`) extrapolate whatever the last half hour did. A
cache warming up, a batch job's sawtooth and a burst all rise fast for a while and then stop, so
they raise false alarms; a burst on top of a leak kills the pod before the trend line says so.
This estimator, per target and vectorised over targets:

1. **Robust level and trend, on two scales.** A 5-sample running median ``m`` removes bursts; the
   trend is the Theil-Sen slope (median of pairwise slopes) of block medians over the last
   ``short_s`` seconds, its interquartile pairwise slopes the interval; where the ``short_s``
   before agrees (slopes within a factor 1.25: a line) both are fitted together, and the level is
   the median of the short window's samples carried to now along it; otherwise (a step, a bend)
   the level is the median of the last 4 samples, moved 1.5 samples on by the slope.
2. **Burst headroom.** A pod dies of memory at a burst's peak, not at the median: the point is
   lowered by the 95th percentile of ``x - m`` over the window (not for CPU: a burst is throttled,
   only sustained use breaks the SLO).
3. **Plateau guard (cache warm-up).** The slope over the ``short_s`` before is compared with the
   recent one. If the ratio ``q`` is below ``decelerating`` the series is approaching a plateau
   ``x(t) = P - (P - x0) e^(-t/tau)``, ``tau = short_s / -ln q``, ``P = level + slope tau``; it fails only if
   ``P`` exceeds the point, at ``t = -tau ln(1 - (point - level) / (slope tau))``.
4. **Sawtooth guard.** A drop of the running median by more than ``drop`` of the point means
   memory is released; the trend is measured only after the last drop, and no alarm is raised while
   the level stays below the highest sample the series already came back from (plus 3 noise sd, at
   least 2% of the point: a new peak must be clearly new).
5. **Young and stale targets.** A target with less than ``min_age_s`` of data is just starting
   (growth after start is normal); one whose last sample is older than ``stale_s`` is gone or
   unobserved. Neither gets a prediction.

>>> import numpy as np
>>> t = np.arange(0.0, 7200.0, 30.0)
>>> leak = 0.4 + 0.5 * np.clip((t - 3600) / 3600, 0, None)            # reaches 0.9 at the end
>>> warm = 0.85 * (1 - np.exp(-t / 900.0))                              # a cache filling to 85%
>>> est = robust_tte(t, np.vstack([leak, warm]), np.array([1.0, 1.0]))
>>> round(float(est.ttf_s[0])), float(est.ttf_s[1])
(750, inf)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from foresight.heal.exhaustion import last_finite, time_to

__all__ = ["RobustTrend", "robust_tte"]

#: two windows' slopes within this log-ratio (a factor 1.25) are one straight trend
STEADY = float(np.log(1.25))
#: why a target got no finite prediction (codes of ``RobustTrend.guard``)
GUARDS = ("", "no recent data", "too young", "levelling off", "sawtooth returns", "no trend")


@dataclass(frozen=True)
class RobustTrend:
    """Per target: time to failure and interval (s), the level, slope (/s), burst headroom, the
    plateau (NaN unless levelling off), the peak the series came back from (NaN if none), and the
    index into ``GUARDS`` of the guard that held."""

    ttf_s: np.ndarray
    ttf_low_s: np.ndarray
    ttf_high_s: np.ndarray
    level: np.ndarray
    slope: np.ndarray
    burst: np.ndarray
    plateau: np.ndarray
    returned_from: np.ndarray
    guard: np.ndarray


def _nan(fn, *args, **kwargs) -> np.ndarray:  # type: ignore[no-untyped-def]
    """A nan-aware numpy reduction without its all-NaN warnings (an all-NaN row gives NaN, as wanted)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(fn(*args, **kwargs))


def _theil_sen(t: np.ndarray, x: np.ndarray, blocks: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and interquartile pairwise slopes of ``blocks`` block medians (NaN with < 3 blocks)."""
    width = x.shape[1] // blocks
    if width == 0:
        nan = np.full(x.shape[0], np.nan)
        return nan, nan, nan
    x, t = x[:, x.shape[1] - width * blocks:], t[t.size - width * blocks:]
    med = _nan(np.nanmedian, x.reshape(x.shape[0], blocks, width), axis=2)
    centre = t.reshape(blocks, width).mean(axis=1)
    i, j = np.triu_indices(blocks, 1)
    pair = (med[:, j] - med[:, i]) / (centre[j] - centre[i])
    q25, q50, q75 = (_nan(np.nanpercentile, pair, q, axis=1) for q in (25, 50, 75))
    enough = np.isfinite(med).sum(axis=1) >= 3
    return tuple(np.where(enough, q, np.nan) for q in (q50, q25, q75))  # type: ignore[return-value]


def robust_tte(t_s: np.ndarray, x: np.ndarray, point: np.ndarray, short_s: float = 900.0,
               decelerating: float = 0.6, drop: float = 0.15, min_age_s: float = 1800.0,
               stale_s: float = 300.0, peak_kills: np.ndarray | None = None) -> RobustTrend:
    """The guarded robust time to exhaustion of each row of ``x`` against ``point`` (see the module);
    ``peak_kills`` (default: all rows) says where a burst's peak is the failure (memory), not the
    sustained level (CPU, which a burst only throttles)."""
    n, m = x.shape
    dt = float(np.median(np.diff(t_s)))
    cols = max(int(round(short_s / dt)), 5)
    padded = np.concatenate([np.repeat(x[:, :1], 2, axis=1), x, np.repeat(x[:, -1:], 2, axis=1)], axis=1)
    smooth = _nan(np.nanmedian, sliding_window_view(padded, 5, axis=1), axis=2)

    # 4. sawtooth: the trend only after the last release of memory; the peak it came back from
    fall = np.diff(smooth, axis=1) < -drop * point[:, None]
    has_drop = fall.any(axis=1)
    last_drop = np.where(has_drop, m - 2 - np.argmax(fall[:, ::-1], axis=1), -1)
    before = np.arange(m)[None, :] <= last_drop[:, None]
    returned_from = np.where(has_drop, _nan(np.nanmax, np.where(before, x, np.nan), axis=1), np.nan)
    cycle = np.where(before, np.nan, x)

    # 1. robust level and trend, 2. burst headroom
    slope, slope_lo, slope_hi = _theil_sen(t_s[-cols:], cycle[:, -cols:], 5)
    earlier = np.full(n, np.nan)
    steady = np.zeros(n, dtype=bool)
    if m >= 2 * cols:
        earlier, _, _ = _theil_sen(t_s[-2 * cols:-cols], cycle[:, -2 * cols:-cols], 5)
        # a steady trend (the two windows agree) is measured on both: twice the data, a tighter slope
        with np.errstate(divide="ignore", invalid="ignore"):
            steady = (earlier > 0) & (slope > 0) & (np.abs(np.log(slope / earlier)) <= STEADY)
        both = _theil_sen(t_s[-2 * cols:], cycle[:, -2 * cols:], 10)
        steady &= np.isfinite(both[0])
        slope, slope_lo, slope_hi = (np.where(steady, b, a) for a, b in zip((slope, slope_lo, slope_hi), both,
                                                                            strict=True))
    # the level now: on a steady line, the short window's samples carried to now along it (less
    # noise); otherwise (a step, a bend) the last 4 samples' median, 1.5 samples on by the slope
    ahead = cycle[:, -cols:] + np.nan_to_num(slope)[:, None] * (t_s[-1] - t_s[-cols:])[None, :]
    recent = _nan(np.nanmedian, x[:, -4:], axis=1) + np.nan_to_num(slope) * 1.5 * dt
    level = np.where(steady, _nan(np.nanmedian, ahead, axis=1), recent)
    burst = np.clip(_nan(np.nanpercentile, x - smooth, 95, axis=1), 0.0, None)
    target = point - np.where(True if peak_kills is None else peak_kills, np.nan_to_num(burst), 0.0)

    ttf = time_to(target, level, slope)
    low = time_to(target, level, slope_hi)
    high = time_to(target, level, slope_lo)

    # 3. levelling off: an exponential approach to a plateau instead of a line
    with np.errstate(divide="ignore", invalid="ignore"):
        q = slope / earlier
        levelling = (earlier > 0) & (slope > 0) & (q < decelerating)
        tau = short_s / -np.log(np.clip(q, 1e-6, decelerating))
        plateau = np.where(levelling, level + slope * tau, np.nan)
        reach = 1.0 - (target - level) / (slope * tau)
        curve = np.where(reach > 0, -tau * np.log(np.where(reach > 0, reach, 1.0)), np.inf)
    curve = np.where(level >= target, 0.0, curve)
    ttf, low, high = (np.where(levelling, curve if a is ttf else np.maximum(curve, a) if a is high
                               else np.minimum(curve, a), a) for a in (ttf, low, high))

    # 5. young and stale targets; guards that hold replace the prediction by inf (nothing coming)
    _, last = last_finite(x)
    first = np.argmax(np.isfinite(x), axis=1)
    age = np.where(last >= 0, t_s[np.maximum(last, 0)] - t_s[first], 0.0)
    stale = (last < 0) | (t_s[-1] - t_s[np.maximum(last, 0)] > stale_s)
    young = ~stale & (age < min_age_s)
    spread = 1.4826 * _nan(np.nanmedian, np.abs(x - smooth), axis=1)  # the noise's sd, robustly
    sawtooth = has_drop & (level <= returned_from + np.maximum(0.02 * point, 3 * spread))
    no_trend = ~(slope_lo > 0) & (ttf > 0)
    guard = np.select([stale, young, levelling & ~np.isfinite(ttf), sawtooth, no_trend],
                      [1, 2, 3, 4, 5], 0)
    unknown = stale | young | ~np.isfinite(point)
    quiet = (guard >= 3) & (ttf > 0)
    ttf, low, high = (np.where(unknown, np.nan, np.where(quiet, np.inf, a)) for a in (ttf, low, high))
    return RobustTrend(ttf, low, high, level, slope, burst, plateau, returned_from, guard)
