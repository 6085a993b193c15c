"""The seed's detector: an EWMA baseline and deviation, a z-score, and a sigmoid.

For each series, with smoothing ``alpha``, the baseline ``m`` and variance ``v`` follow

    d = x - m,   m <- m + alpha d,   v <- (1 - alpha) (v + alpha d^2)

and a sample is scored *before* it is learned, against the baseline it could not influence:

    z = (x - m) / (sqrt(v) + 1e-6),   p = 1 / (1 + e^(-z))          (one-sided: high values)
                                      p = 1 / (1 + e^(-|z|))        (two-sided)

The first sample of a series only seeds ``m`` (``z = 0``, ``p = 0.5``). A constant series has
``v = 0``: any later change gives a huge ``z`` and ``p -> 1``, never a division by zero.
Values are clipped to +-1e150 so that squares stay finite (no NaN from huge inputs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foresight.detect.protocol import ArrayState

__all__ = ["EwmaState", "EwmaZScore"]

HUGE = 1e150


@dataclass
class EwmaState(ArrayState):
    """Per series: the baseline, its variance, and whether a sample has been seen."""

    mean: np.ndarray
    var: np.ndarray
    seen: np.ndarray


class EwmaZScore:
    """The seed's EWMA z-score detector, one- or two-sided.

    >>> from foresight.detect.protocol import run
    >>> x = [10.0, 10.5, 9.5, 10.0, 10.2, 9.9, 30.0, 10.0]
    >>> [round(float(p), 3) for p in run(EwmaZScore(alpha=0.3), x, range(8))]
    [0.5, 1.0, 0.055, 0.532, 0.686, 0.375, 1.0, 0.342]
    >>> [round(float(p), 3) for p in run(EwmaZScore(alpha=0.3, two_sided=True), x, range(8))]
    [0.5, 1.0, 0.945, 0.532, 0.686, 0.625, 1.0, 0.658]
    """

    def __init__(self, alpha: float = 0.01, two_sided: bool = False) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must lie in (0, 1], got {alpha}")
        self.alpha = alpha
        self.two_sided = two_sided
        self.name = "ewma-two-sided" if two_sided else "ewma"

    def init(self, n: int) -> EwmaState:
        return EwmaState(np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool))

    def score(self, state: EwmaState, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        return self._score(state, *self._valid(x))

    def update(self, state: EwmaState, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        ok, value = self._valid(x)
        scores = self._score(state, ok, value)
        d = value - state.mean
        mean = np.where(state.seen, state.mean + self.alpha * d, value)
        var = np.where(state.seen, (1.0 - self.alpha) * (state.var + self.alpha * d * d), 0.0)
        np.copyto(state.mean, mean, where=ok)
        np.copyto(state.var, var, where=ok)
        state.seen |= ok
        return scores

    @staticmethod
    def _valid(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = np.isfinite(x)
        return ok, np.clip(np.where(ok, x, 0.0), -HUGE, HUGE)

    def _score(self, state: EwmaState, ok: np.ndarray, value: np.ndarray) -> np.ndarray:
        z = np.where(state.seen, (value - state.mean) / (np.sqrt(state.var) + 1e-6), 0.0)
        if self.two_sided:
            z = np.abs(z)
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -700.0, 700.0)))
        return np.where(ok, p, 0.0)
