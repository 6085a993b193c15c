"""Multiple-testing correction across features: Benjamini-Hochberg (false discovery rate).

Testing 20 features at p < 0.05 flags at least one of them in ~64% of runs where nothing
drifted. Benjamini-Hochberg bounds the expected share of false flags among the flagged
features at ``alpha``. It is chosen over Holm (which bounds the chance of *any* false flag)
because drift rarely touches one feature alone: when several shift together, BH keeps the
power to flag all of them, while Holm's step-down grows conservative with the feature count.
With ``p_(1) <= ... <= p_(m)`` the adjusted p-values are

    p~_(i) = min_{j >= i} min(1, m p_(j) / j)

and a feature is flagged when ``p~ < alpha``. NaN p-values (no test) stay NaN and do not count
in ``m``.

>>> import numpy as np
>>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5, np.nan])).round(3).tolist()
[0.04, 0.053, 0.053, 0.5, nan]
"""

from __future__ import annotations

import numpy as np

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values along the last axis (one family per row)."""
    p = np.asarray(p, dtype=np.float64)
    finite = ~np.isnan(p)
    m = np.sum(finite, axis=-1, keepdims=True)
    order = np.argsort(np.where(finite, p, np.inf), axis=-1)
    ranked = np.take_along_axis(p, order, axis=-1)
    rank = np.arange(1, p.shape[-1] + 1)
    scaled = np.minimum(1.0, ranked * m / rank)
    scaled = np.where(np.isnan(scaled), np.inf, scaled)
    adjusted_sorted = np.minimum.accumulate(scaled[..., ::-1], axis=-1)[..., ::-1]
    adjusted = np.empty_like(p)
    np.put_along_axis(adjusted, order, adjusted_sorted, axis=-1)
    return np.where(finite, adjusted, np.nan)
