"""Chi-squared test of homogeneity for a categorical feature (reference vs current counts).

The 2 x K table of counts ``O`` (rows: reference, current; columns: the K categories seen in
either) is compared with its expectation under "same distribution",
``E_sk = row_s * col_k / total``:

    X^2 = sum_{s,k} (O_sk - E_sk)^2 / E_sk,     p = P(chi2_{K-1} >= X^2)

Categories seen in neither sample are dropped; with fewer than 2 categories there is nothing
to compare (``X^2 = 0``, ``p = 1``).

>>> import numpy as np
>>> x2, p = chi2_test(np.array([[50, 50], [50, 50]]), np.array([[50, 50], [30, 70]]))
>>> x2.round(3).tolist(), p.round(4).tolist()
([0.0, 8.333], [1.0, 0.0039])
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

__all__ = ["chi2_test"]


def chi2_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(X^2, p-value) per row of counts, last axis = categories (aligned between the two)."""
    ref = np.atleast_2d(np.asarray(ref_counts, dtype=np.float64))
    cur = np.atleast_2d(np.asarray(cur_counts, dtype=np.float64))
    col = ref + cur
    seen = col > 0
    n_ref = ref.sum(axis=-1, keepdims=True)
    n_cur = cur.sum(axis=-1, keepdims=True)
    total = n_ref + n_cur
    with np.errstate(divide="ignore", invalid="ignore"):
        e_ref = n_ref * col / total
        e_cur = n_cur * col / total
        terms = np.where(seen, (ref - e_ref) ** 2 / e_ref + (cur - e_cur) ** 2 / e_cur, 0.0)
    x2 = np.sum(terms, axis=-1)
    dof = seen.sum(axis=-1) - 1
    ok = (dof >= 1) & (n_ref[:, 0] > 0) & (n_cur[:, 0] > 0)
    p = np.where(ok, chi2.sf(x2, np.maximum(dof, 1)), 1.0)
    return np.where(ok, x2, 0.0), p
