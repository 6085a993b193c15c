"""Forecast quantiles from the model's own past errors, per horizon.

A model's ``h``-step-ahead errors on its history (forecast made at each past origin, compared
with what came ``h`` steps later) are summarised once, at fit time, as their empirical quantiles
at a fixed grid of levels (:data:`LEVELS`): a table ``[N, H, K]``. A predict request for any level
interpolates linearly in that table and adds the result to the point forecast. This assumes only
that the errors ahead look like the recent errors, not that they are Gaussian; errors of
``h``-step forecasts widen with ``h`` because they are measured per ``h``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["LEVELS", "add_quantiles", "at_levels", "error_table"]

LEVELS = np.concatenate(([0.001, 0.005], np.linspace(0.01, 0.99, 99), [0.995, 0.999]))
LEVELS.flags.writeable = False


def error_table(errors: np.ndarray) -> np.ndarray:
    """Empirical quantiles at :data:`LEVELS` of ``errors`` ``[N, H, samples]`` (NaN ignored).

    A row without any finite error (no origin could be scored) gets zero spread: the point
    forecast is then all the model can say.

    >>> e = np.arange(101.0).reshape(1, 1, 101) - 50.0
    >>> t = error_table(e)
    >>> t.shape, float(t[0, 0, 2]), float(t[0, 0, 51])
    ((1, 1, 103), -49.0, 0.0)
    """
    n, h, _ = errors.shape
    table = np.zeros((n, h, LEVELS.size))
    finite = np.isfinite(errors)
    full = finite.all(axis=-1)
    if full.any():
        table[full] = np.quantile(errors[full], LEVELS, axis=-1).T
    partial = finite.any(axis=-1) & ~full
    if partial.any():
        table[partial] = np.nanquantile(errors[partial], LEVELS, axis=-1).T
    return table


def add_quantiles(point: np.ndarray, table: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``point`` ``[N, H]`` plus the error quantiles at ``levels``: ``[N, H, Q]``, monotone in the level.

    >>> table = np.array([[np.linspace(-1.0, 1.0, LEVELS.size)]])
    >>> add_quantiles(np.array([[10.0]]), table, np.array([0.5, 0.001, 0.999])).round(3)
    array([[[10.,  9., 11.]]])
    """
    return point[..., None] + at_levels(table, LEVELS, levels)


def at_levels(table: np.ndarray, table_levels: np.ndarray | Sequence[float], levels: np.ndarray) -> np.ndarray:
    """Quantiles at ``levels``, interpolated linearly in ``table`` ``[..., K]`` whose last axis
    holds the quantiles at ``table_levels``; levels beyond its ends take the end values (the data
    cannot say more).

    >>> at_levels(np.array([0.0, 10.0, 30.0]), [0.1, 0.5, 0.9], np.array([0.3, 0.7, 0.99]))
    array([ 5., 20., 30.])
    """
    index = np.interp(levels, table_levels, np.arange(len(table_levels)))
    low = np.floor(index).astype(int)
    high = np.minimum(low + 1, len(table_levels) - 1)
    weight = index - low
    return table[..., low] * (1.0 - weight) + table[..., high] * weight
