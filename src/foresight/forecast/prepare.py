"""From the samples a source returns to the regular grid forecasters learn from.

Sources give irregular, gappy samples (a scrape missed, a pod restarted and its counter went
back to zero). Forecasters want one value per grid step, NaN where nothing was seen, so that
seasonal phases stay aligned with wall-clock time: a gap must stay a gap, never be squeezed out.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["counter_rate", "to_grid"]


def to_grid(timestamps: np.ndarray, values: np.ndarray, step_s: float, start: float, end: float) -> np.ndarray:
    """Mean of the finite samples in each step ``[start + k step_s, start + (k + 1) step_s)``
    for every step that ends by ``end``; NaN for a step without one.

    >>> to_grid(np.array([0.0, 20.0, 70.0, 200.0]), np.array([1.0, 3.0, 5.0, 9.0]), 60.0, 0.0, 180.0)
    array([ 2.,  5., nan])
    """
    steps = max(0, math.floor((end - start) / step_s + 1e-9))
    if len(timestamps) <= _FEW:
        return _few_to_grid(np.asarray(timestamps, dtype=np.float64).tolist(),
                            np.asarray(values, dtype=np.float64).tolist(), step_s, start, steps)
    index = np.floor((np.asarray(timestamps) - start) / step_s).astype(np.int64)
    keep = (index >= 0) & (index < steps) & np.isfinite(values)
    sums = np.bincount(index[keep], weights=np.asarray(values)[keep], minlength=steps)
    counts = np.bincount(index[keep], minlength=steps)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)  # no step divides by 0


#: up to this many samples (a reconcile round's newest minute or two), plain Python beats a dozen
#: array operations of fixed cost each: the same sums in the same order, so the same numbers
_FEW = 8


def _few_to_grid(timestamps: list[float], values: list[float], step_s: float, start: float, steps: int) -> np.ndarray:
    """:func:`to_grid` for a handful of samples.

    >>> _few_to_grid([0.0, 20.0, 70.0, 200.0], [1.0, 3.0, 5.0, 9.0], 60.0, 0.0, 3)
    array([ 2.,  5., nan])
    """
    sums: dict[int, float] = {}
    counts: dict[int, int] = {}
    for t, v in zip(timestamps, values):
        k = math.floor((t - start) / step_s)
        if 0 <= k < steps and math.isfinite(v):
            sums[k] = sums.get(k, 0.0) + v
            counts[k] = counts.get(k, 0) + 1
    grid = np.full(steps, np.nan)
    for k, total in sums.items():
        grid[k] = total / counts[k]
    return grid


def counter_rate(timestamps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-second rate of a cumulative counter between consecutive samples, across resets.

    A counter that goes down was restarted from zero (as Prometheus' ``rate()`` assumes): the
    increase over that interval is the new value itself, not a negative jump. A NaN sample makes
    the rates on both sides of it NaN (a gap). Returns the later timestamp of each interval and
    the rate.

    >>> counter_rate(np.array([0.0, 10.0, 20.0, 30.0]), np.array([100.0, 150.0, 30.0, 80.0]))
    (array([10., 20., 30.]), array([5., 3., 5.]))
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    vs = np.asarray(values, dtype=np.float64)
    increase = np.diff(vs)
    reset = increase < 0
    increase[reset] = vs[1:][reset]
    return ts[1:], increase / np.diff(ts)
