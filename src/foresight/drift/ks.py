"""Two-sample Kolmogorov-Smirnov test, vectorised over features.

The statistic is the largest gap between the two empirical CDFs (ties handled exactly):

    D = max_x |F_ref(x) - F_cur(x)|

Two paths give the same D: :func:`ks_statistic` sorts and searchsorts (``O(m log n)`` per
feature against a reference sorted once: the streaming monitor's step), and
:func:`ks_from_gaps` reads it off the merged ECDFs that Wasserstein needs anyway (the batch
report: one merge, two statistics).

Its p-value is the asymptotic Kolmogorov distribution with Stephens' small-sample correction,
``en = n m / (n + m)``:

    p = Q_KS((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D),   Q_KS = scipy.special.kolmogorov

KS is the default numeric test for small samples (see :mod:`foresight.drift.choice`): it is
calibrated at any size, but with a million rows it flags shifts too small to matter.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> ref = rng.normal(size=(2, 500))
>>> cur = np.vstack([rng.normal(size=500), rng.normal(0.5, 1.0, size=500)])
>>> d, p = ks_2samp(ref, cur)
>>> d.round(3).tolist(), (p < 0.001).tolist()
([0.078, 0.228], [False, True])
"""

from __future__ import annotations

import numpy as np
from scipy.special import kolmogorov

from foresight.drift.ecdf import sort_valid

__all__ = ["ks_2samp", "ks_from_gaps", "ks_pvalue", "ks_statistic"]


def ks_statistic(ref_sorted: np.ndarray, cur_sorted: np.ndarray, n_ref: np.ndarray, n_cur: np.ndarray) -> np.ndarray:
    """D per feature from pre-sorted rows (see :mod:`foresight.drift.ecdf`); NaN where a side is empty.

    Reads both CDFs only at the current sample's points, ``O(m log n)`` per feature (a monitor
    whose reference is sorted once pays for its window only). Between two consecutive current
    points ``F_cur`` is constant and ``F_ref`` monotone, so the largest gap is at an end:
    at a current point ``x`` (``F(x)``, searchsorted right) or just before it (``F(x-)``, left).
    """
    d = np.full(len(n_ref), np.nan)
    for j, (ref, cur, n, m) in enumerate(zip(ref_sorted, cur_sorted, n_ref, n_cur)):
        if n == 0 or m == 0:
            continue
        ref, cur = ref[:n], cur[:m]
        at = np.abs(np.searchsorted(ref, cur, side="right") / n - np.searchsorted(cur, cur, side="right") / m)
        before = np.abs(np.searchsorted(ref, cur, side="left") / n - np.searchsorted(cur, cur, side="left") / m)
        d[j] = max(float(at.max()), float(before.max()))
    return d


def ks_from_gaps(
    values: np.ndarray, gap: np.ndarray, valid: np.ndarray, n_ref: np.ndarray, n_cur: np.ndarray
) -> np.ndarray:
    """D from :func:`foresight.drift.ecdf.merged_gaps` (shared with Wasserstein: one merge, two statistics)."""
    run_end = np.ones_like(valid)
    run_end[:, :-1] = values[:, 1:] != values[:, :-1]
    d = np.max(np.where(valid & run_end, np.abs(gap), 0.0), axis=-1)
    return np.where((n_ref > 0) & (n_cur > 0), d, np.nan)


def ks_pvalue(d: np.ndarray, n_ref: np.ndarray, n_cur: np.ndarray) -> np.ndarray:
    """Asymptotic p-value of D (Stephens' correction); NaN where a side is empty."""
    with np.errstate(divide="ignore", invalid="ignore"):
        en = np.sqrt(n_ref * n_cur / (n_ref + n_cur))
        p = kolmogorov((en + 0.12 + 0.11 / en) * d)
    return np.where((n_ref > 0) & (n_cur > 0), np.clip(p, 0.0, 1.0), np.nan)


def ks_2samp(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(D, p-value) per feature of ``(features, samples)`` arrays; NaN values are ignored."""
    ref_sorted, n_ref = sort_valid(ref)
    cur_sorted, n_cur = sort_valid(cur)
    d = ks_statistic(ref_sorted, cur_sorted, n_ref, n_cur)
    return d, ks_pvalue(d, n_ref, n_cur)
