"""The newest points of many workloads' series, read for all of them at once.

Every period the predictive policy reads three things off each workload's newest samples: the time
of the newest load sample, the mean load of each grid step completed since it last learned, and the
load its SLO floor sizes (the latest, its rise over the last minute, the highest of a window); and
off the CPU series its latest sample. Done workload by workload these are a dozen small array
operations each, whose fixed cost was a third of a 10,000-workload round. Here the last
:data:`TAIL` points of every workload's one series are laid side by side as ``[n, TAIL]`` arrays
and each quantity is one pass over them.

The numbers are exactly those of the workload-by-workload reads (the same IEEE operations in the
same order: sums in time order, then one division). What the tail cannot answer is marked unknown
(NaN) and read the old way by the caller, one workload at a time: a workload with several series
or none, a counter, or an answer that needs points older than the tail (a gap longer than the tail,
a window wider than it).

>>> import numpy as np
>>> from foresight.series import Series
>>> t = np.arange(0.0, 600.0, 60.0)
>>> recent = Recent.of([[Series({}, t, t / 60.0)], []])
>>> recent.newest().tolist()  # the second workload has no series: unknown
[540.0, nan]
>>> recent.grids(np.array([0]), 420.0, 600.0, 60.0).tolist()
[[7.0, 8.0, 9.0]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from foresight.series import Series

__all__ = ["TAIL", "Recent"]

#: points per series laid side by side: a 10-minute floor window at 15-second samples is 41
TAIL = 64


@dataclass(frozen=True)
class Recent:
    """The last :data:`TAIL` points of each workload's series, right-aligned, NaN-padded on the left.

    A row holds a workload with exactly one series; any other row is all NaN and ``usable`` False.
    ``whole``: the row holds every point of its series (so a point older than the tail does not exist).
    ``last``: the column of the row's newest finite value, -1 when the tail has none.
    """

    times: np.ndarray
    values: np.ndarray
    usable: np.ndarray
    whole: np.ndarray
    last: np.ndarray

    @classmethod
    def of(cls, per_workload: Sequence[Sequence[Series]]) -> Recent:
        """The tails of ``per_workload``'s series lists (one list per workload, in order)."""
        n = len(per_workload)
        times, values = np.full((n, TAIL), np.nan), np.full((n, TAIL), np.nan)
        usable, whole = np.zeros(n, bool), np.zeros(n, bool)
        full: list[int] = []  # rows with a whole tail's points: stacked in one call below
        full_times, full_values = [], []
        for row, found in enumerate(per_workload):
            if len(found) != 1:
                continue
            s = found[0]
            size = s.timestamps.size
            usable[row], whole[row] = True, size <= TAIL
            if size >= TAIL:
                full.append(row)
                full_times.append(s.timestamps[size - TAIL :])
                full_values.append(s.values[size - TAIL :])
            elif size:
                times[row, TAIL - size :] = s.timestamps
                values[row, TAIL - size :] = s.values
        if full:
            times[full], values[full] = np.stack(full_times), np.stack(full_values)
        finite = np.isfinite(values)
        last = TAIL - 1 - np.argmax(finite[:, ::-1], axis=1)
        last[~finite.any(axis=1)] = -1
        return cls(times, values, usable, whole, last)

    def _at_last(self, array: np.ndarray) -> np.ndarray:
        """Per row, ``array``'s entry at the row's newest finite value (NaN where it has none)."""
        picked = array[np.arange(array.shape[0]), np.maximum(self.last, 0)]
        return np.where(self.last >= 0, picked, np.nan)

    def newest(self) -> np.ndarray:
        """Per row, the time of the newest finite value: ``-inf`` for a whole series with none,
        NaN (unknown) where the tail cannot say."""
        found = self._at_last(self.times)
        none = self.usable & self.whole & (self.last < 0)
        return np.where(none, -math.inf, np.where(self.usable, found, np.nan))

    def latest(self, since: float | np.ndarray) -> np.ndarray:
        """Per row, the newest finite value if sampled at or after ``since``: NaN for none (a whole
        series without one, or one too old); ``known`` rows only (see :meth:`latest_known`)."""
        value, at = self._at_last(self.values), self._at_last(self.times)
        return np.where((self.last >= 0) & (at >= since), value, np.nan)

    def latest_known(self) -> np.ndarray:
        """Rows whose :meth:`latest` is their answer (the rest are read one workload at a time)."""
        return self.usable & ((self.last >= 0) | self.whole)

    def grids(self, rows: np.ndarray, start: float, end: float, step_s: float) -> np.ndarray:
        """The mean of each ``rows``' finite samples per grid step over ``[start, end)``, NaN where a
        step has none, as ``[len(rows), steps]``; a row is NaN throughout when its tail does not
        reach back to ``start`` (read one workload at a time): :meth:`grid_known` says which."""
        steps = max(0, math.floor((end - start) / step_s + 1e-9))
        times, values = self.times[rows], self.values[rows]
        index = np.floor((times - start) / step_s)
        keep = np.isfinite(times) & (index >= 0) & (index < steps) & np.isfinite(values)
        flat = (np.arange(rows.size)[:, None] * steps + np.where(keep, index, 0)).astype(np.int64)[keep]
        sums = np.bincount(flat, weights=values[keep], minlength=rows.size * steps)
        counts = np.bincount(flat, minlength=rows.size * steps)
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).reshape(rows.size, steps)
        return 0.0 + means

    def grid_known(self, rows: np.ndarray, start: float) -> np.ndarray:
        """Which of ``rows`` hold every sample at or after ``start``: a whole series, or a tail whose
        oldest point is before ``start``."""
        return self.usable[rows] & (self.whole[rows] | (self.times[rows, 0] < start))

    def floor_load(self, since: float | np.ndarray, trend_s: np.ndarray, window_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the SLO floor's load of a plain (not counter) series as the predictive policy reads
        it workload by workload: the newest finite value sampled at or after ``since``, plus its rise
        over the last minute (never a fall) projected ``trend_s`` (per row) ahead, at least the
        highest value within ``window_s`` of the newest; NaN for none. Also the rows it knows.
        ``since`` may be one per row."""
        value, newest = self._at_last(self.values), self._at_last(self.times)
        found = (self.last >= 0) & (newest >= since)
        reach = np.maximum(60.0, window_s)
        known = self.usable & np.where(self.last >= 0, self.whole | (self.times[:, 0] < newest - reach), self.whole)
        times, values = self.times, self.values
        columns = np.arange(TAIL)[None, :]
        upto = np.isfinite(values) & (columns <= self.last[:, None])  # the finite points up to the newest
        now = value.copy()
        if np.any(trend_s > 0):
            minute = upto & (times >= (newest - 60.0)[:, None])
            first = np.argmax(minute, axis=1)  # the oldest point of the last minute
            rows = np.arange(times.shape[0])
            t0, v0 = times[rows, first], values[rows, first]
            with np.errstate(divide="ignore", invalid="ignore"):  # rows of one point: not used below
                slope = (value - v0) / (newest - t0)
            rises = (minute.sum(axis=1) >= 2) & (trend_s > 0)
            now = np.where(rises, now + np.maximum(0.0, slope) * trend_s, now)
        if window_s > 0:
            within = upto & (times >= (newest - window_s)[:, None])
            now = np.maximum(now, np.max(np.where(within, values, -np.inf), axis=1))
        return np.where(found, now, np.nan), known
