"""Kullback-Leibler and Jensen-Shannon divergences over binned proportions (natural log).

With reference shares ``p`` and current shares ``q`` (for KL floored at ``eps = 1e-4``, as in
:mod:`foresight.drift.psi`, and renormalised), and ``m = (p + q) / 2``:

    KL(q || p) = sum_i q_i ln(q_i / p_i)
    JS(p, q)   = sqrt( (KL(p || m) + KL(q || m)) / 2 )        (the Jensen-Shannon *distance*)

KL is unbounded and asymmetric (how surprising the current data is under the reference); JS is
symmetric, finite without smoothing (``0 ln 0 = 0``) and bounded by ``sqrt(ln 2) ~ 0.833``.
The distance (not its square) with threshold 0.1 is the default test of large categorical
columns, as in Evidently and ``scipy.spatial.distance.jensenshannon``.

>>> import numpy as np
>>> p = np.array([0.5, 0.5, 0.0])
>>> q = np.array([0.4, 0.4, 0.2])
>>> round(float(kl(p, q)), 4), round(float(js(p, q)), 4), round(float(js(p, p)), 4)
(1.3418, 0.2736, 0.0)
"""

from __future__ import annotations

import numpy as np

from foresight.drift.psi import EPS

__all__ = ["js", "kl"]


def kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``KL(q || p)`` per row: the current shares ``q`` against the reference ``p``.

    Floored shares are renormalised to sum to 1, so KL stays a divergence (>= 0, Gibbs).
    """
    p = np.maximum(np.asarray(p, dtype=np.float64), EPS)
    q = np.maximum(np.asarray(q, dtype=np.float64), EPS)
    p = p / np.sum(p, axis=-1, keepdims=True)
    q = q / np.sum(q, axis=-1, keepdims=True)
    return np.sum(q * np.log(q / p), axis=-1)


def _kl_to_mixture(a: np.ndarray, m: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        # m == 0 with a > 0 happens only when a subnormal share underflows in (p + q) / 2
        terms = np.where((a > 0) & (m > 0), a * np.log(a / m), 0.0)
    return np.sum(terms, axis=-1)


def js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon distance per row; shares are renormalised to sum to 1 first."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = p / np.sum(p, axis=-1, keepdims=True)
        q = q / np.sum(q, axis=-1, keepdims=True)
    m = (p + q) / 2.0
    return np.sqrt(np.maximum((_kl_to_mixture(p, m) + _kl_to_mixture(q, m)) / 2.0, 0.0))
