"""Time to exhaustion of a resource against its limit: the mandatory baselines, vectorised over targets.

For a target whose resource ``x`` (targets x samples, NaN for gaps) fails at ``point`` (its limit,
or 95% of a CPU limit, see :func:`exhaustion_point`), three classic answers:

* **static threshold**: alarm when the last sample exceeds ``fraction * limit`` (90%); it knows
  no time to failure.
* **linear**: least squares ``x ~ a + b t`` on the last ``fit_s`` seconds;
  ``ttf = (point - (a + b t_now)) / b`` when ``b > 0``, interval from ``b +- 1.28 se(b)``.
* **Holt**: double exponential smoothing, level ``l`` and trend ``b`` per sample ``dt``,

      l' = alpha x + (1 - alpha)(l + b),   b' = beta (l' - l) + (1 - beta) b,

  ``ttf = (point - l) / b * dt`` when ``b > 0``; a gap skips its update (level and trend carry).

Every function returns ``ttf_s`` with inf where nothing is being exhausted and NaN where it cannot
say (no limit, no data); a level already at the point gives 0.

>>> import numpy as np
>>> t = np.arange(0.0, 1800.0, 30.0)
>>> x = np.vstack([0.5 + 0.0001 * t, np.full(t.size, 0.5)])
>>> ttf, low, high = linear_tte(t, x, np.array([1.0, 1.0]))
>>> [round(float(v)) for v in ttf[:1]], float(ttf[1])
([3230], inf)
>>> threshold_hit(np.array([[0.95], [0.5], [0.99]]), np.array([1.0, 1.0, np.nan]))
array([ True, False, False])
"""

from __future__ import annotations

import warnings

import numpy as np

from foresight.heal.signals import Resource

__all__ = ["CPU_SATURATION", "THRESHOLD_FRACTION", "exhaustion_point", "holt_tte", "last_finite", "linear_tte",
           "threshold_hit", "time_to"]

#: CPU use is exhausted (throttling, latency past the SLO) before it reaches the limit itself.
CPU_SATURATION = 0.95
#: The static baseline's rule: memory above 90% of its limit.
THRESHOLD_FRACTION = 0.9


def exhaustion_point(resources: tuple[Resource, ...], limit: np.ndarray) -> np.ndarray:
    """The level at which each target fails: its limit, or the saturation level of a CPU limit."""
    fraction = np.array([CPU_SATURATION if r is Resource.CPU else 1.0 for r in resources])
    return limit * fraction


def last_finite(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's last finite value (NaN if none) and its column (-1 if none)."""
    ok = np.isfinite(x)
    idx = x.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1)
    idx = np.where(ok.any(axis=1), idx, -1)
    value = np.where(idx >= 0, x[np.arange(x.shape[0]), np.maximum(idx, 0)], np.nan)
    return value, idx


def time_to(point: np.ndarray, level: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Seconds until ``level`` growing by ``slope`` per second reaches ``point``: 0 if already there,
    inf if not growing, NaN where any input is unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ttf = np.where(slope > 0, (point - level) / slope, np.inf)
    ttf = np.where(level >= point, 0.0, ttf)
    return np.where(np.isfinite(point) & np.isfinite(level) & ~np.isnan(slope), ttf, np.nan)


def threshold_hit(x: np.ndarray, limit: np.ndarray, fraction: float = THRESHOLD_FRACTION) -> np.ndarray:
    """Whether each target's last sample is above ``fraction`` of its limit (never without a limit)."""
    value, _ = last_finite(x)
    with np.errstate(invalid="ignore"):
        return np.isfinite(limit) & (value > fraction * limit)


def linear_tte(t_s: np.ndarray, x: np.ndarray, point: np.ndarray,
               fit_s: float = 1800.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares line over the last ``fit_s`` seconds; (ttf, low, high) in seconds."""
    use = t_s >= t_s[-1] - fit_s
    tt = np.broadcast_to(t_s[use] - t_s[-1], x[:, use].shape)
    xx = x[:, use]
    ok = np.isfinite(xx)
    n = ok.sum(axis=1)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        tm = np.nanmean(np.where(ok, tt, np.nan), axis=1)
        xm = np.nanmean(xx, axis=1)
        dt = np.where(ok, tt - tm[:, None], 0.0)
        dx = np.where(ok, xx - xm[:, None], 0.0)
        sxx = (dt * dt).sum(axis=1)
        slope = (dt * dx).sum(axis=1) / sxx
        now = xm - slope * tm  # the line at t = 0 (the last sample time)
        resid = np.where(ok, dx - slope[:, None] * dt, 0.0)
        se = np.sqrt((resid * resid).sum(axis=1) / np.maximum(n - 2, 1) / sxx)
    enough = n >= 3
    slope = np.where(enough, slope, np.nan)
    ttf = time_to(point, now, slope)
    low = time_to(point, now, slope + 1.28 * se)
    high = time_to(point, now, slope - 1.28 * se)
    return ttf, low, high


def holt_tte(t_s: np.ndarray, x: np.ndarray, point: np.ndarray, alpha: float = 0.3,
             beta: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Holt's linear trend over the window; (ttf, low, high) in seconds, the interval from the trend's
    mean absolute change over the window (its own volatility)."""
    if not (0 < alpha <= 1 and 0 < beta <= 1):
        raise ValueError(f"alpha and beta must lie in (0, 1], got {alpha}, {beta}")
    dt = float(np.median(np.diff(t_s)))
    n = x.shape[0]
    level = np.full(n, np.nan)
    trend = np.zeros(n)
    wobble = np.zeros(n)
    for j in range(x.shape[1]):
        xj = x[:, j]
        ok = np.isfinite(xj)
        fresh = ok & np.isnan(level)
        old = ok & ~fresh
        new_level = alpha * xj + (1 - alpha) * (level + trend)
        new_trend = beta * (new_level - level) + (1 - beta) * trend
        wobble = np.where(old, 0.9 * wobble + 0.1 * np.abs(new_trend - trend), wobble)
        trend = np.where(old, new_trend, trend)
        level = np.where(old, new_level, np.where(fresh, xj, level))
    slope, spread = trend / dt, 1.28 * 10 * wobble / dt
    return time_to(point, level, slope), time_to(point, level, slope + spread), time_to(point, level, slope - spread)
