"""Empirical CDFs of two samples on their merged support: what KS and Wasserstein-1 both read.

Arrays are ``(features, samples)``: axis -1 is the sample axis, one row per feature, each row
sorted ascending with its missing values (NaN) at the end (``np.sort`` puts them there), and
``n_ref``/``n_cur`` the number of valid values per row. Merging two sorted rows is a stable
argsort of their concatenation (timsort: a linear merge of two runs). With ``c_ref(k)`` and
``c_cur(k)`` the counts of reference and current values among the first ``k + 1`` merged
values, the gap of the empirical CDFs just after merged value ``k`` is

    g(k) = c_ref(k) / n_ref - c_cur(k) / n_cur

>>> import numpy as np
>>> values, gap, valid = merged_gaps(np.array([[1.0, 2.0]]), np.array([[1.5, 3.0]]),
...                                  np.array([2]), np.array([2]))
>>> values.tolist(), gap.tolist(), valid.tolist()
([[1.0, 1.5, 2.0, 3.0]], [[0.5, 0.0, 0.5, 0.0]], [[True, True, True, True]])
"""

from __future__ import annotations

import numpy as np

__all__ = ["merged_gaps", "sort_valid"]


def sort_valid(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row (NaN last) and count its valid values; 1-D input is one feature."""
    rows = np.atleast_2d(np.asarray(x, dtype=np.float64))
    return np.sort(rows, axis=-1), np.sum(~np.isnan(rows), axis=-1)


def merged_gaps(
    ref_sorted: np.ndarray, cur_sorted: np.ndarray, n_ref: np.ndarray, n_cur: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged values, the ECDF gap after each, and which merged positions hold a valid value."""
    n = ref_sorted.shape[-1]
    both = np.concatenate([ref_sorted, cur_sorted], axis=-1)
    order = np.argsort(both, axis=-1, kind="stable")
    values = np.take_along_axis(both, order, axis=-1)
    from_ref = order < n
    c_ref = np.cumsum(from_ref, axis=-1, dtype=np.int64)
    c_cur = np.arange(1, both.shape[-1] + 1) - c_ref
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = c_ref / n_ref[:, None] - c_cur / n_cur[:, None]
    valid = np.arange(both.shape[-1]) < (n_ref + n_cur)[:, None]
    return values, gap, valid
