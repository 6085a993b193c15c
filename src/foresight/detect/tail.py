"""Streaming tail calibration: how surprising is a value, given the past values of the same stream?

A raw deviation means nothing across series (0.2 CPU points, 3e8 bytes); its tail probability
does. Following peaks-over-threshold (SPOT, Siffer et al., KDD 2017), each stream keeps

* a high quantile ``u`` of its values (level ``q``), tracked by stochastic approximation:
  ``u += 0.1 (0.05 s) (1[z > u] - (1 - q)) / (1 - q)`` with ``s`` the mean distance of values
  to ``u`` (``u`` starts at 0: the warm-up lets it settle);
* the rate ``phi`` of values above ``u`` and the first two moments of the excesses ``z - u``;
* a generalised Pareto tail fitted to the excesses by moments,
  ``xi = (1 - m^2/v) / 2`` (clipped to [-0.2, 0.5]), ``sigma = m (1 + m^2/v) / 2``.

A negative ``xi`` is a bounded tail, with an endpoint ``u + sigma / |xi|``; beyond it the fitted
tail has probability 0 and the surprise jumps to ~``14 / |xi|`` nats (the log is floored at 1e-6).
Fitted on a few dozen excesses, a close endpoint is a guess, not a fact: the clip keeps it at
least 5 scales above ``u``, so a value just past the largest excesses seen is surprising, not
certain (chosen on the tune half of NAB, ``foresight bench nab --split tune``: fewer false alarms,
each profile up 0.7-2.4 points there, and 0.7-1.3 on the held half).

The surprise of ``z`` (in nats) is ``-log P(Z >= z)``:
``-log phi + log(1 + xi (z - u) / sigma) / xi`` above ``u`` (``(z - u) / sigma`` when ``xi = 0``),
a ramp from 0 to ``-log phi`` below it. Memories are exponential (``rate`` for the quantile and
rate, ``10 rate`` for the excess moments), so the calibration follows a drifting stream. A stream
scores 0 until it has learned ``warm`` values and 3 excesses.

Several streams per series are calibrated at once: arrays have shape ``[n series, k streams]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foresight.detect.protocol import ArrayState

__all__ = ["TailCalibrator", "TailState"]

SHAPE_MIN = -0.2  # the lightest tail trusted: its endpoint lies >= 5 scales above the threshold


@dataclass
class TailState(ArrayState):
    """Per series and stream (shape ``[n, k]``): the running fit of the stream's upper tail."""

    threshold: np.ndarray
    spread: np.ndarray
    exceed_rate: np.ndarray
    excess_mean: np.ndarray
    excess_sq: np.ndarray
    learned: np.ndarray
    excesses: np.ndarray
    # -log(exceed_rate), kept for scoring. The GPD fit is not kept: only the few streams beyond
    # their threshold need it, so scoring fits them from the moments (learning refitted every
    # stream with a new excess, a tenth of a step's time).
    base: np.ndarray


class TailCalibrator:
    """Turns values into surprises (nats) against each stream's own upper tail.

    >>> rng = np.random.default_rng(0)
    >>> cal = TailCalibrator()
    >>> state = cal.init(1, 1)
    >>> for z in np.abs(rng.standard_normal(2000)):
    ...     cal.learn(state, np.array([[z]]), np.array([[True]]))
    >>> [round(float(cal.surprise(state, np.array([[z]]))[0, 0]), 1) for z in (0.5, 2.0, 3.0, 4.0)]
    [0.7, 2.7, 5.0, 8.2]

    The exact surprises of ``|N(0, 1)|``, for comparison:

    >>> import math
    >>> [round(-math.log(math.erfc(z / math.sqrt(2))), 1) for z in (0.5, 2.0, 3.0, 4.0)]
    [0.5, 3.1, 5.9, 9.7]
    """

    def __init__(self, q: float = 0.95, rate: float = 1e-3, warm: int = 100) -> None:
        self.q, self.rate, self.warm = q, rate, warm

    def init(self, n: int, k: int) -> TailState:
        def fill(value: float, dtype: type = np.float64) -> np.ndarray:
            return np.full((n, k), value, dtype=dtype)

        rate = 1.0 - self.q
        return TailState(
            fill(0.0),
            fill(0.0),
            fill(rate),
            fill(0.0),
            fill(0.0),
            fill(0.0),
            fill(0.0),
            fill(-np.log(rate)),
        )

    def surprise(self, state: TailState, z: np.ndarray) -> np.ndarray:
        """``-log P(Z >= z)`` per stream (0 while the stream is still warming up)."""
        excess = z - state.threshold
        ramp = np.maximum(state.threshold, 1e-12)
        np.divide(z, ramp, out=ramp)
        np.clip(ramp, 0.0, 1.0, out=ramp)
        out = np.multiply(state.base, ramp, out=ramp)
        ready = state.learned >= self.warm
        ready &= state.excesses >= 3.0
        # Only ready values above the threshold (a few percent) need the tail's logarithm: gather
        # them (flat indices) rather than take a masked logarithm over every stream.
        beyond = np.greater(excess, 0.0, out=np.zeros(z.shape, dtype=bool), where=ready)
        at = np.flatnonzero(beyond)
        shape, scale = _fit(state.excess_mean.take(at), state.excess_sq.take(at))
        shaped = np.maximum(shape * excess.take(at) / scale, -0.999999)
        tail = np.log1p(shaped, out=shaped)
        tail /= shape
        tail += state.base.take(at)
        out.put(at, tail)
        return np.where(ready, out, 0.0)

    def learn(self, state: TailState, z: np.ndarray, mask: np.ndarray) -> None:
        """Learn ``z`` into the streams where ``mask`` is true (in place).

        The updates are computed in place, into a few arrays of ``[series, streams]`` floats
        instead of a fresh one per operation: the whole ensemble steps ~3% faster.
        """
        on = mask.astype(np.float64)
        weight = _gain(state.learned, self.rate, on)
        excess = z - state.threshold
        above = (excess > 0.0).astype(np.float64)
        scratch = np.abs(excess)
        _follow(state.spread, scratch, weight, scratch)
        gain = above - (1.0 - self.q)
        gain *= on
        np.multiply(state.spread, 0.005 / (1.0 - self.q), out=scratch)
        scratch += 1e-12
        scratch *= gain
        state.threshold += scratch
        _follow(state.exceed_rate, above, weight, scratch)
        np.maximum(state.exceed_rate, 1e-4, out=state.exceed_rate)
        rate32 = state.exceed_rate.astype(np.float32)  # a float32 log: 2x faster
        np.negative(np.log(rate32, out=rate32), out=state.base)
        hit = np.multiply(above, on, out=above)
        step = _gain(state.excesses, 10.0 * self.rate, hit)
        _follow(state.excess_mean, excess, step, scratch)
        np.multiply(excess, excess, out=excess)
        _follow(state.excess_sq, excess, step, scratch)
        state.excesses += hit
        state.learned += on


def _fit(mean: np.ndarray, square_mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GPD ``(shape, scale)`` by moments from the excesses' mean and mean square."""
    mean = np.maximum(mean, 1e-12)
    square = mean * mean  # m^2/v is capped at 1e12: xi is clipped long before, no overflow
    ratio = square / np.maximum(square_mean - square, 1e-12 * square)
    # xi = (1 - m^2/v) / 2 in [-0.2, 0.5], kept off 0 (1e-6 is exponential to 1e-6 relative)
    xi = np.clip(0.5 * (1.0 - ratio), SHAPE_MIN, 0.5)
    return np.where(np.abs(xi) < 1e-6, 1e-6, xi), np.maximum(0.5 * mean * (1.0 + ratio), 1e-12)


def _gain(count: np.ndarray, floor: float, on: np.ndarray) -> np.ndarray:
    """``on * max(1 / (count + 1), floor)``: a running mean's gain, then an exponential memory's."""
    gain = count + 1.0
    np.divide(1.0, gain, out=gain)
    np.maximum(gain, floor, out=gain)
    gain *= on
    return gain


def _follow(mean: np.ndarray, target: np.ndarray, gain: np.ndarray, scratch: np.ndarray) -> None:
    """``mean += gain * (target - mean)`` in place (``scratch`` may be ``target`` itself)."""
    np.subtract(target, mean, out=scratch)
    scratch *= gain
    mean += scratch
