"""Wasserstein-1 distance normalised by the reference's standard deviation.

The area between the two empirical CDFs, over the merged sorted values ``x_0 <= ... <= x_N``:

    W1 = sum_k |F_ref(x_k) - F_cur(x_k)| (x_{k+1} - x_k),      W = W1 / std(ref)

Normalised, ``W`` reads in reference standard deviations (a mean shift of 0.25 sd gives
``W = 0.25``) and does not grow with the sample size, so a fixed threshold (0.1, as Evidently
uses) means the same at 1 000 and at 1 000 000 rows. A constant reference has ``std = 0``:
``W`` is 0 when the current sample equals it, else ``inf`` (any spread is drift).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = rng.normal(size=(2, 20_000))
>>> cur = np.vstack([rng.normal(size=20_000), rng.normal(0.25, 1.0, size=20_000)])
>>> wasserstein_normed(ref, cur).round(2).tolist()
[0.01, 0.25]
"""

from __future__ import annotations

import numpy as np

from foresight.drift.ecdf import merged_gaps, sort_valid

__all__ = ["normalise", "w1_from_gaps", "wasserstein_1", "wasserstein_normed"]


def wasserstein_1(ref_sorted: np.ndarray, cur_sorted: np.ndarray, n_ref: np.ndarray, n_cur: np.ndarray) -> np.ndarray:
    """W1 per feature from pre-sorted rows; NaN where a side is empty."""
    values, gap, valid = merged_gaps(ref_sorted, cur_sorted, n_ref, n_cur)
    return w1_from_gaps(values, gap, valid, n_ref, n_cur)


def w1_from_gaps(
    values: np.ndarray, gap: np.ndarray, valid: np.ndarray, n_ref: np.ndarray, n_cur: np.ndarray
) -> np.ndarray:
    """W1 from :func:`foresight.drift.ecdf.merged_gaps`."""
    step = values[:, 1:] - values[:, :-1]
    inside = valid[:, 1:]  # both ends of the step are valid values
    w1 = np.sum(np.where(inside, np.abs(gap[:, :-1]), 0.0) * np.where(inside, step, 0.0), axis=-1)
    return np.where((n_ref > 0) & (n_cur > 0), w1, np.nan)


def normalise(w1: np.ndarray, ref_std: np.ndarray) -> np.ndarray:
    """``W1 / std(ref)``, with 0 / 0 = 0 and x / 0 = inf for a constant reference."""
    with np.errstate(divide="ignore", invalid="ignore"):
        w = w1 / ref_std
    return np.where(ref_std > 0, w, np.where(w1 > 0, np.inf, np.where(np.isnan(w1), np.nan, 0.0)))


def wasserstein_normed(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """``W1 / std(ref)`` per feature of ``(features, samples)`` arrays; NaN values are ignored."""
    ref_sorted, n_ref = sort_valid(ref)
    cur_sorted, n_cur = sort_valid(cur)
    with np.errstate(invalid="ignore"):
        std = np.nanstd(np.atleast_2d(np.asarray(ref, dtype=np.float64)), axis=-1)
    return normalise(wasserstein_1(ref_sorted, cur_sorted, n_ref, n_cur), std)
