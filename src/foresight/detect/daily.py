"""Daily seasonality: is a value explained by what the series did at this time on previous days?

Each series keeps, for each of the last ``days`` calendar days (UTC), its values in 30-minute bins
of the day (the mean of what fell in a bin). A value's *seasonal residual* is its distance to the
closest value stored within ``tolerance_bins`` bins of the same time of day, taken on each of
the ``days - 1`` previous days, and the larger of those distances:

    r = max over previous days d of  min over |b' - b| <= tolerance  |x - memory[d, b']|

so a value is "seasonal" only if *every* previous day had something like it at about this time
(a daily job that drifts by half an hour is still a daily job; one burst is not a season).
The residual is NaN until every previous day has a value near this time of day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from foresight.detect.protocol import ArrayState, row_starts

__all__ = ["DailyProfile", "DailyState", "Moment"]

DAY_S = 86400.0


class Moment(NamedTuple):
    """When each sample falls (``[n]`` each): its UTC day and its bin of the day."""

    day: np.ndarray
    phase: np.ndarray


@dataclass
class DailyState(ArrayState):
    """Per series: ``memory[n, bins, days]`` (inf: nothing seen), and the day each slot holds.

    A time of day's neighbourhood on every day lies together in memory (one gather, few cache lines).
    """

    memory: np.ndarray
    slot_day: np.ndarray


class DailyProfile:
    """Seasonal residual of a value against the same time on previous days.

    >>> profile = DailyProfile(days=2)
    >>> state = profile.init(1)
    >>> for k in range(288):  # one day at 5-minute steps: a job at 01:00-01:30 (9.0), else 1.0
    ...     x = 9.0 if 12 <= k < 18 else 1.0
    ...     profile.learn(state, np.array([x]), profile.locate(np.array([300.0 * k])), np.array([True]))
    >>> noon_tomorrow, one_am_tomorrow = (profile.locate(np.array([DAY_S + s])) for s in (43200.0, 3900.0))
    >>> [float(profile.residual(state, np.array([9.0]), when)[0]) for when in (noon_tomorrow, one_am_tomorrow)]
    [8.0, 0.0]
    """

    def __init__(self, bin_s: float = 1800.0, days: int = 3, tolerance_bins: int = 1) -> None:
        self.bin_s, self.days, self.tolerance = bin_s, days, tolerance_bins
        self.bins = round(DAY_S / bin_s)
        self._wrap = np.arange(-tolerance_bins, self.bins + tolerance_bins) % self.bins
        self._offsets = np.arange(2 * tolerance_bins + 1)[:, None]
        self._back = np.arange(1, days)[:, None]  # the previous days, counted back from today

    def init(self, n: int) -> DailyState:
        return DailyState(np.full((n, self.bins, self.days), np.inf), np.full((n, self.days), -1, dtype=np.int64))

    def locate(self, t: np.ndarray) -> Moment:
        """The day and the bin of the day of timestamps ``t`` (pass them to :meth:`residual` and :meth:`learn`)."""
        day = np.floor(t / DAY_S)
        phase = np.floor((t - day * DAY_S) / self.bin_s).astype(np.int64) % self.bins
        return Moment(day.astype(np.int64), phase)

    def residual(self, state: DailyState, x: np.ndarray, at: Moment) -> np.ndarray:
        """``r`` per series (NaN where some previous day has nothing near this time of day)."""
        # Arrays are [..., n]: numpy's loops then run along the series, not along axes of 2 or 3.
        previous = at.day - self._back  # [days - 1, n]
        slots = previous % self.days
        kept = state.slot_day.take(slots + row_starts(x.size, self.days)) == previous
        near = self._wrap.take(at.phase + self._offsets)  # [2 tol + 1, n] bins around now
        near += row_starts(x.size, self.bins)
        near *= self.days
        distance = state.memory.take(near[:, None, :] + slots)  # [2 tol + 1, days - 1, n]
        distance -= x
        np.abs(distance, out=distance)
        nearest = distance[0]
        for other in range(1, distance.shape[0]):
            np.minimum(nearest, distance[other], out=nearest)
        gap = np.where(kept, nearest, np.inf)
        worst = gap[0]
        for other in range(1, gap.shape[0]):
            worst = np.maximum(worst, gap[other])
        return np.where(worst < np.inf, worst, np.nan)

    def learn(self, state: DailyState, x: np.ndarray, at: Moment, mask: np.ndarray) -> None:
        """Store ``x`` in today's slot where ``mask`` is true (a new day first clears its slot)."""
        day, phase = at
        slot = day % self.days
        held = row_starts(x.size, self.days) + slot  # today's slot, flat in slot_day
        fresh = state.slot_day.take(held) != day
        fresh &= mask
        if fresh.any():  # once a day per series
            rows = np.flatnonzero(fresh)
            state.memory[rows, :, slot[rows]] = np.inf
            state.slot_day.put(held[rows], day[rows])
        cell = row_starts(x.size, self.bins) + phase
        cell *= self.days
        cell += slot
        current = state.memory.take(cell)
        value = np.where(np.isinf(current), x, 0.5 * (current + x))
        if mask.all():
            state.memory.put(cell, value)
        else:
            state.memory.put(cell[mask], value[mask])
