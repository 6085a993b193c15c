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

import numpy as np

from foresight.detect.protocol import ArrayState

__all__ = ["DailyProfile", "DailyState"]

DAY_S = 86400.0


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
    ...     profile.learn(state, np.array([x]), np.array([300.0 * k]), np.array([True]))
    >>> noon_tomorrow, one_am_tomorrow = np.array([DAY_S + 43200.0]), np.array([DAY_S + 3900.0])
    >>> [float(profile.residual(state, np.array([9.0]), when)[0]) for when in (noon_tomorrow, one_am_tomorrow)]
    [8.0, 0.0]
    """

    def __init__(self, bin_s: float = 1800.0, days: int = 3, tolerance_bins: int = 1) -> None:
        self.bin_s, self.days, self.tolerance = bin_s, days, tolerance_bins
        self.bins = round(DAY_S / bin_s)
        self._wrap = np.arange(-tolerance_bins, self.bins + tolerance_bins) % self.bins
        self._offsets = np.arange(2 * tolerance_bins + 1)[:, None]

    def init(self, n: int) -> DailyState:
        return DailyState(np.full((n, self.bins, self.days), np.inf), np.full((n, self.days), -1, dtype=np.int64))

    def residual(self, state: DailyState, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``r`` per series (NaN where some previous day has nothing near this time of day)."""
        day, phase = self._day_and_bin(t)
        back = np.arange(1, self.days)
        slots = (day[:, None] - back) % self.days
        kept = np.take_along_axis(state.slot_day, slots, axis=1) == day[:, None] - back
        near = self._wrap[phase[None, :] + self._offsets]  # [2 tol + 1, n] bins around now
        cells = ((np.arange(x.size) * self.bins + near) * self.days)[:, :, None] + slots[None]
        gap = np.where(kept, np.abs(state.memory.ravel().take(cells) - x[None, :, None]).min(axis=0), np.inf)
        worst = gap[:, 0]
        for other in range(1, gap.shape[1]):  # numpy reduces a short last axis slowly: loop instead
            worst = np.maximum(worst, gap[:, other])
        return np.where(worst < np.inf, worst, np.nan)

    def learn(self, state: DailyState, x: np.ndarray, t: np.ndarray, mask: np.ndarray) -> None:
        """Store ``x`` in today's slot where ``mask`` is true (a new day first clears its slot)."""
        day, phase = self._day_and_bin(t)
        slot = day % self.days
        rows = np.arange(x.size)
        fresh = mask & (state.slot_day[rows, slot] != day)
        state.memory[rows[fresh], :, slot[fresh]] = np.inf
        state.slot_day[rows[fresh], slot[fresh]] = day[fresh]
        current = state.memory[rows, phase, slot]
        value = np.where(np.isinf(current), x, 0.5 * (current + x))
        state.memory[rows[mask], phase[mask], slot[mask]] = value[mask]

    def _day_and_bin(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        day = np.floor(t / DAY_S)
        phase = np.floor((t - day * DAY_S) / self.bin_s).astype(np.int64) % self.bins
        return day.astype(np.int64), phase
