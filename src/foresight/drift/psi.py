"""Population Stability Index over binned proportions.

With reference shares ``p_i`` and current shares ``q_i`` per bin (zeros floored at
``eps = 1e-4`` so that an empty bin costs a finite amount, not infinity):

    PSI = sum_i (q_i - p_i) ln(q_i / p_i)

Read by the industry's rule of thumb: below 0.1 stable, 0.1 to 0.2 a moderate shift, above 0.2
a significant shift. PSI on 10 quantile bins is coarse: it misses a 0.25 sd mean shift
(PSI ~ 0.06) that KS and normalised Wasserstein catch, so it is reported, not the default test
for numeric columns.

>>> import numpy as np
>>> p = np.array([[0.25, 0.25, 0.25, 0.25]])
>>> psi(p, np.array([[0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]])).round(4).tolist()
[0.0, 0.2282]
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPS", "PSI_MODERATE", "PSI_SIGNIFICANT", "psi"]

EPS = 1e-4
PSI_MODERATE = 0.1
PSI_SIGNIFICANT = 0.2


def psi(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """PSI per row of reference shares ``p`` and current shares ``q`` (broadcast, last axis = bins)."""
    p = np.maximum(np.asarray(p, dtype=np.float64), EPS)
    q = np.maximum(np.asarray(q, dtype=np.float64), EPS)
    return np.sum((q - p) * np.log(q / p), axis=-1)
