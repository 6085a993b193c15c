"""The log scale the learned models work on: ``z = log(y + c)``, ``c`` a tenth of the mean load.

On this scale daily cycles are additive and noise is roughly even from night to peak, so one
set of error quantiles fits both; ``c`` keeps idle periods (zero load) finite and makes the scale
independent of the load's unit. Quantiles map back exactly, since ``exp`` is monotone.
"""

from __future__ import annotations

import numpy as np

__all__ = ["from_log", "log_offset", "to_log"]


def log_offset(y: np.ndarray) -> np.ndarray:
    """``c`` per series ``[N]``: a tenth of its mean (NaN ignored), 1.0 for a series without load.

    >>> log_offset(np.array([[10.0, np.nan, 30.0], [0.0, 0.0, 0.0]]))
    array([2., 1.])
    """
    mean = np.nanmean(y, axis=1)
    return np.where(mean > 0, 0.1 * mean, 1.0)


def to_log(y: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``log(y + c)`` row by row."""
    return np.log(y + offset[:, None])


def from_log(z: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Loads back from the log scale (``z`` ``[N, ...]``), never below zero.

    >>> c = log_offset(np.array([[10.0, 30.0]]))
    >>> from_log(to_log(np.array([[0.0, 25.0]]), c), c)
    array([[ 0., 25.]])
    """
    return np.maximum(np.exp(z) - offset.reshape(offset.shape + (1,) * (z.ndim - 1)), 0.0)
