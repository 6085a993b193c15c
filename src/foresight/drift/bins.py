"""Quantile bins of the reference, and the share of each sample that falls in each bin.

PSI, KL and Jensen-Shannon compare binned proportions; the bins are the reference's
quantiles, so each holds ``1 / bins`` of the reference (equal-frequency bins put resolution
where the data is). With ``q_i`` the reference's ``i / bins`` quantile, bin ``i`` is
``(q_i, q_{i+1}]`` and the outer bins are open (``-inf``, ``+inf``), so current values outside
the reference's range still count. Repeated quantiles (a discrete or constant column) give
empty bins on both sides, which the statistics treat as equal.

>>> import numpy as np
>>> ref = np.arange(1.0, 11.0)[None, :]
>>> edges = quantile_edges(ref, np.array([10]), bins=5)
>>> edges.round(6).tolist()
[[2.8, 4.6, 6.4, 8.2]]
>>> bin_shares(np.array([[1.0, 5.0, 5.0, 50.0, np.nan]]), np.array([4]), edges).tolist()
[[0.25, 0.0, 0.5, 0.0, 0.25]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["bin_shares", "quantile_edges"]


def quantile_edges(ref_sorted: np.ndarray, n_ref: np.ndarray, bins: int = 10) -> np.ndarray:
    """The ``bins - 1`` inner edges per feature (linear interpolation), NaN rows where empty."""
    if bins < 2:
        raise ValueError(f"bins must be at least 2, got {bins}")
    q = np.arange(1, bins) / bins
    pos = q[None, :] * (np.maximum(n_ref, 1) - 1)[:, None]
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(n_ref - 1, 0)[:, None])
    frac = pos - lo
    low = np.take_along_axis(ref_sorted, lo, axis=-1)
    high = np.take_along_axis(ref_sorted, hi, axis=-1)
    edges = low + frac * (high - low)
    return np.where((n_ref > 0)[:, None], edges, np.nan)


def bin_shares(x_sorted: np.ndarray, n_valid: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of each row's valid values per bin, shape ``(features, bins)``; zeros where empty."""
    counts_le = np.stack(
        [np.searchsorted(row[:n], e, side="right") for row, n, e in zip(x_sorted, n_valid, edges)]
    ) if len(x_sorted) else np.zeros((0, edges.shape[-1]), dtype=np.int64)
    cum = np.concatenate([np.zeros((len(n_valid), 1)), counts_le, n_valid[:, None]], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.diff(cum, axis=-1) / n_valid[:, None]
    return np.where((n_valid > 0)[:, None], shares, 0.0)
