"""Sequence novelty: how unexpected is a value's *symbol* after the symbols before it?

Values become symbols on a logarithmic grid, ``sign(x) floor(log(1 + |x|/eps) / log(ratio))``
(one symbol per ``ratio`` step, 25% by default), with ``eps`` 1% of the mean ``|x|`` of the first
``warm`` samples, then frozen so that a symbol means the same value forever. The grid is
scale-free: CPU percent and network bytes get the same resolution, and no range must be known
in advance.

Per series, hashed counts (one table of ``2**table_bits`` cells) remember how often each symbol
followed each context of the previous ``order`` symbols, and each symbol each hour of the day.
The surprises (nats) of a symbol ``b`` are

    u_seq   = -log (c(ctx, b) + a V p(b)) / (c(ctx) + a V)
    u_phase = -log (c(hour, b) + a V p(b)) / (c(hour) + a V),   p(b) = (c(b) + a) / (N + a V)

additive smoothing that backs off to the symbol's overall frequency: a pattern never met before
is surprising, a daily spike at its usual hour is not. Hash collisions only merge counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from foresight.detect.protocol import ArrayState, row_starts

__all__ = ["Located", "SymbolNovelty", "SymbolState"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(1_000_003)
# One salt per kind of key (context+symbol, context, symbol, hour+symbol, hour): one shared table.
_SALTS = np.array([k * 0x5851F42D4C957F2D % 2**64 for k in range(1, 6)], dtype=np.uint64)


class Located(NamedTuple):
    """One sample per series, located: its table cells ``[5, n]`` and its symbol ``[n]``."""

    cells: np.ndarray
    symbol: np.ndarray


@dataclass
class SymbolState(ArrayState):
    """Per series: hashed counts ``[n, 2**bits]``, the last ``order`` symbols, the grid's ``eps``."""

    counts: np.ndarray
    history: np.ndarray
    eps: np.ndarray
    learned: np.ndarray


class SymbolNovelty:
    """Surprise of a value's symbol given its recent symbols and given the hour of the day.

    >>> novelty = SymbolNovelty(warm=2)
    >>> state = novelty.init(1)
    >>> midnight = np.array([0.0])
    >>> for x in [10.0, 10.0] + [10.0, 20.0] * 50:
    ...     value = np.array([x])
    ...     novelty.learn(state, value, novelty.locate(state, value, midnight), np.array([True]))
    >>> def surprises(x):
    ...     value = np.array([x])
    ...     return [round(float(u[0]), 2) for u in novelty.surprise(state, novelty.locate(state, value, midnight))]
    >>> surprises(10.0), surprises(40.0)
    ([0.04, 0.69], [7.9, 4.63])
    """

    def __init__(
        self,
        ratio: float = 1.25,
        order: int = 3,
        table_bits: int = 12,
        warm: int = 20,
        smoothing: float = 0.5,
        vocabulary: float = 8.0,
    ) -> None:
        self.log_ratio = float(np.log(ratio))
        self.order, self.bits, self.warm = order, table_bits, warm
        self.prior = smoothing * vocabulary
        self.smoothing, self.vocabulary = smoothing, vocabulary

    def init(self, n: int) -> SymbolState:
        return SymbolState(
            np.zeros((n, 1 << self.bits), dtype=np.float32),
            np.zeros((n, self.order), dtype=np.int64),
            np.zeros(n),
            np.zeros(n),
        )

    def locate(self, state: SymbolState, x: np.ndarray, t: np.ndarray) -> Located:
        """The symbols of ``x`` and the table cells ``[5, n]`` they read and count (pass them on)."""
        symbol = self._symbol(state, x)
        code = symbol.view(np.uint64)  # the same bits as a cast, without the copy
        history = state.history.view(np.uint64)
        context = np.zeros(x.size, dtype=np.uint64)
        for k in range(self.order):
            context *= _MIX
            context += history[:, k]
        hour = np.mod(t, 86400.0)
        hour /= 3600.0
        hour = np.floor(hour, out=hour).astype(np.uint64)
        # Keys [5, n] (numpy's loops run along the series), salted and hashed in place:
        # context+symbol, context, symbol, hour+symbol, hour.
        keys = np.empty((_SALTS.size, x.size), dtype=np.uint64)
        np.multiply(context, _MIX, out=keys[0])
        keys[0] += code
        keys[1] = context
        keys[2] = code
        np.multiply(hour, _MIX, out=keys[3])
        keys[3] += code
        keys[4] = hour
        keys += _SALTS[:, None]
        keys *= _GOLDEN
        keys >>= np.uint64(64 - self.bits)
        cells = keys.view(np.intp)  # cells < 2**bits: the same values as a cast
        cells += row_starts(x.size, 1 << self.bits)
        return Located(cells, symbol)

    def surprise(self, state: SymbolState, at: Located) -> tuple[np.ndarray, np.ndarray]:
        """``(u_seq, u_phase)`` per series; 0 while a series is still fixing its grid."""
        pair, ctx, one, hour_pair, hour = state.counts.take(at.cells).astype(np.float64)
        total = np.maximum(state.learned - self.warm, 0.0)
        p_one = (one + self.smoothing) / (total + self.smoothing * self.vocabulary)
        seq = -np.log((pair + self.prior * p_one) / (ctx + self.prior))
        phase = -np.log((hour_pair + self.prior * p_one) / (hour + self.prior))
        ready = state.learned >= self.warm
        return np.where(ready, seq, 0.0), np.where(ready, phase, 0.0)

    def learn(self, state: SymbolState, x: np.ndarray, at: Located, mask: np.ndarray) -> None:
        """Count ``x`` (located by :meth:`locate`) where ``mask`` is true, in place.

        The first ``warm`` samples of a series only fix its grid. Two keys of one sample that
        hash to the same cell count once.
        """
        counting = mask & (state.learned >= self.warm)
        rows = np.flatnonzero(counting)
        cells = at.cells if rows.size == counting.size else at.cells[:, rows]  # usually every row: no copy
        state.counts.reshape(-1)[cells.ravel()] += 1.0
        if rows.size == counting.size:  # every series counts (the usual step): plain copies, column by column
            for k in range(self.order - 1):
                state.history[:, k] = state.history[:, k + 1]
            state.history[:, -1] = at.symbol
        elif rows.size:  # masked copies: indexing the rows (a fancy index) took 2.5 times as long
            np.copyto(state.history[:, :-1], state.history[:, 1:], where=counting[:, None])
            np.copyto(state.history[:, -1], at.symbol, where=counting)
        warming = mask & (state.learned < self.warm)
        eps = state.eps + (0.01 * np.abs(x) - state.eps) / (state.learned + 1.0)
        np.copyto(state.eps, eps, where=warming)
        state.learned += mask

    def _symbol(self, state: SymbolState, x: np.ndarray) -> np.ndarray:
        steps = np.log1p(np.abs(x) / np.maximum(state.eps, 1e-150)) / self.log_ratio
        return (np.sign(x) * np.floor(np.minimum(steps, 1e6))).astype(np.int64)
