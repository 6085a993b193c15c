"""The two kinds of feature a drift report compares: numeric (float64, NaN = missing) and categorical.

A categorical column is integer codes into a tuple of category labels, ``-1`` for missing;
comparing two of them first aligns their categories on the union of labels. Numeric columns
with at most :data:`DISCRETE_MAX` distinct values (flags, ratings) are compared as categories,
since a CDF distance between five values says little.

>>> col = categorical(np.array(["a", "b", None, "a"], dtype=object))
>>> col.codes.tolist(), col.categories
([0, 1, -1, 0], ('a', 'b'))
>>> category_counts(col, ("b", "a", "c")).tolist()
[1, 2, 0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["DISCRETE_MAX", "Categorical", "Column", "as_column", "categorical", "category_counts", "kind_of"]

DISCRETE_MAX = 5


@dataclass(frozen=True)
class Categorical:
    """Codes into ``categories``; ``-1`` marks a missing value."""

    codes: np.ndarray
    categories: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    @property
    def missing(self) -> int:
        return int(np.count_nonzero(self.codes < 0))


Column = np.ndarray | Categorical


def categorical(values: np.ndarray | Sequence[object]) -> Categorical:
    """Encode labels (``None``/NaN = missing) with numpy; large string columns go through
    :func:`foresight.drift.table.encode` (Arrow's hash encoder) instead."""
    arr = np.asarray(values, dtype=object)
    missing = np.array([v is None or (isinstance(v, float) and v != v) for v in arr], dtype=bool)
    labels = arr[~missing].astype(str)
    cats, inverse = np.unique(labels, return_inverse=True)
    codes = np.full(arr.shape[0], -1, dtype=np.int64)
    codes[~missing] = inverse
    return Categorical(codes, tuple(str(c) for c in cats))


def as_column(values: np.ndarray | Categorical) -> Column:
    """Numbers (and booleans as 0/1) become float64; strings and objects become categorical."""
    if isinstance(values, Categorical):
        return values
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64, copy=False)
    return categorical(arr)


def kind_of(column: Column) -> str:
    return "categorical" if isinstance(column, Categorical) else "numeric"


def category_counts(column: Categorical, categories: Sequence[str]) -> np.ndarray:
    """Counts of ``column``'s values in the order of ``categories`` (labels it lacks count 0)."""
    own = np.bincount(column.codes[column.codes >= 0], minlength=len(column.categories))
    index = {c: i for i, c in enumerate(column.categories)}
    return np.array([own[index[c]] if c in index else 0 for c in categories], dtype=np.int64)
