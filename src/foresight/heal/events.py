"""Accelerating events: restarts that come ever faster (a crash loop ahead), GPU XID errors likewise.

A cumulative counter resets to 0 when its container or driver starts again; the increments are
``diff`` where it grows and the new value where it fell (events since the reset), never negative.
Events in the same sample count once per increment at that sample's time.

**Baseline** (kube-prometheus' crash-looping rule, made a count): alarm when ``threshold`` or more
events fell in the last ``window_s``.

**Foresight**: intervals between successive events ``d_1..d_k`` (the last ``k = 4``) shrink
geometrically in a loop heading for failure; the least-squares slope of ``log d_i`` on ``i`` gives
the ratio ``r``. If ``r < ratio``, its upper bound (``+1.28`` standard errors) is below 0.95 and
each interval is shorter than the one before, the loop is
accelerating, and it fails when an interval falls below ``fail_interval_s`` (the container no
longer stays up: CrashLoopBackOff; the GPU falls off the bus), after

    ttf = sum_{j >= 1, d_k r^j >= fail_interval_s} d_k r^j  -  (time since the last event)

A deploy's restart wave (one or two restarts per pod) and a flaky pod's random restarts do not have
four shrinking intervals, so they raise nothing (with three, one flaky pod in six would); three
suffice once the last interval is under ``tight_s`` (5 min): the loop is already tight and a fourth
would leave no time to act. Both chosen on the simulator's tuning seeds.

>>> import numpy as np
>>> t = np.arange(0.0, 2400.0, 30.0)
>>> times = [300.0, 1200.0, 1740.0, 2070.0, 2270.0]        # intervals 900, 540, 330, 200 s
>>> c = np.array([[float(np.sum(np.array(times) <= s)) for s in t]])
>>> ttf, low, high, ratio = accelerating(t, c)
>>> round(float(ratio[0]), 2), round(float(ttf[0]))
(0.62, 41)
>>> recent_count(t, c, 1800.0)
array([4.])
"""

from __future__ import annotations

import numpy as np

__all__ = ["accelerating", "increments", "recent_count"]

#: the ratio's upper bound (slope + 1.28 standard errors) must stay below this: random restarts that
#: happen to come closer three times have a wide bound
SURE = 0.95


def increments(counter: np.ndarray) -> np.ndarray:
    """Events per sample from a cumulative counter with resets and gaps (a gap adds nothing)."""
    filled = counter.copy()
    for j in range(1, filled.shape[1]):  # carry the last value over gaps, so a gap is no reset
        filled[:, j] = np.where(np.isnan(filled[:, j]), filled[:, j - 1], filled[:, j])
    d = np.diff(filled, axis=1, prepend=filled[:, :1])
    inc = np.where(d < 0, filled, d)  # a fall is a reset: the new value counts events since then
    return np.where(np.isfinite(inc), inc, 0.0)


def recent_count(t_s: np.ndarray, counter: np.ndarray, window_s: float) -> np.ndarray:
    """Events in the last ``window_s`` seconds of each row."""
    return increments(counter)[:, t_s > t_s[-1] - window_s].sum(axis=1)


def accelerating(t_s: np.ndarray, counter: np.ndarray, ratio: float = 0.8, fail_interval_s: float = 120.0,
                 intervals: int = 4, tight_s: float = 300.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ttf, low, high, ratio) per row: inf where events are not accelerating, NaN ratio with too few."""
    inc = increments(counter)
    n = inc.shape[0]
    ttf, low, high, r_out = np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.inf), np.full(n, np.nan)
    for row in np.flatnonzero((inc > 0).sum(axis=1) >= 2):  # few rows have events: a loop over them
        cols = np.flatnonzero(inc[row] > 0)
        times = np.repeat(t_s[cols], inc[row, cols].astype(int))
        gaps = np.diff(times)
        need = intervals - 1 if gaps.size and gaps[-1] <= tight_s else intervals
        d = gaps[-need:]
        if d.size < need or np.any(d <= 0):
            continue
        i = np.arange(d.size, dtype=float)
        slope, _ = np.polyfit(i, np.log(d), 1)
        resid = np.log(d) - np.polyval(np.polyfit(i, np.log(d), 1), i)
        se = float(np.sqrt(np.sum(resid**2) / max(d.size - 2, 1) / np.sum((i - i.mean()) ** 2)))
        r_out[row] = float(np.exp(slope))
        if not (r_out[row] < ratio and np.exp(slope + 1.28 * se) < SURE and np.all(np.diff(d) < 0)):
            continue
        elapsed = float(t_s[-1] - times[-1])
        ttf[row], low[row], high[row] = (max(0.0, _remaining(float(d[-1]), float(np.exp(s)), fail_interval_s) - elapsed)
                                         for s in (slope, slope - 1.28 * se, min(slope + 1.28 * se, -1e-3)))
    return ttf, low, high, r_out


def _remaining(last: float, r: float, floor: float) -> float:
    """Seconds of the geometric intervals ``last r^j`` (j >= 1) that are still at least ``floor``."""
    total, d = 0.0, last * r
    while d >= floor:
        total, d = total + d, d * r
    return total
