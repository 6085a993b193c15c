"""Long load histories read once, then only their new points: a caching :class:`~foresight.ports.MetricsSource`.

A forecaster needs weeks of history; a reconcile loop asks for ``[now - lookback_s, now]`` every
period. Fifteen days at one-minute steps is 21,600 points per series, twice the 11,000 points
Prometheus answers in one range query (the Prometheus adapter splits such a query into chunks),
and re-reading them every 15 s costs the server and the loop for nothing: all but the last few
points are unchanged. :class:`IncrementalHistory` wraps any source: the first query for a
``(query, step)`` reads the whole range; later ones read from ``overlap_s`` before the end of the
previous read (late scrapes are re-read) and join the points to what it holds, dropping those
before the asked ``start``. A range that does not continue the cached one (an earlier start, a
clock that went back) is read in full again.

A caller that reads the whole lookback only now and then (a refit) and otherwise just the new
steps sets ``keep_s`` (its lookback): the points of the last ``keep_s`` stay held even when a
query starts later, so the next refit is read from the cache too, not from the source again.

When the source fails (Prometheus down), the points it holds are returned, stale, and the failure
is logged and counted (:attr:`IncrementalHistory.failures`): the caller sees how old its newest
point is and decides (the predictive policy carries its forecast for a bounded time, then falls
back to its reactive floor and says so). Without a cache, or with ``serve_stale=False`` (a caller
that must know the read failed, to re-read the missed range later), the failure propagates.

>>> from foresight.series import Series
>>> class Counting:
...     def __init__(self): self.asked = []
...     def query_range(self, query, start, end, step_s):
...         self.asked.append((start, end))
...         t = np.arange(np.ceil(start / step_s) * step_s, end + 1e-9, step_s)
...         return [Series({"q": query}, t, t / 60.0)]
>>> inner = Counting()
>>> history = IncrementalHistory(inner, overlap_s=120.0)
>>> first = history.query_range("load", 0.0, 3600.0, 60.0)
>>> later = history.query_range("load", 15.0, 3615.0, 60.0)
>>> inner.asked, len(later[0]), float(later[0].timestamps[0]), float(later[0].timestamps[-1])
([(0.0, 3600.0), (3480.0, 3615.0)], 60, 60.0, 3600.0)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from foresight.ports import MetricsSource
from foresight.series import Series

__all__ = ["IncrementalHistory"]

_log = logging.getLogger(__name__)


class _Column:
    """One series' held points, in arrays with room to grow at the end.

    The series handed out are read-only views of ``[lo, hi)``; nothing below ``top`` (the highest
    end handed out) is ever written again, so a view given earlier never changes. A period's new
    points are written after them and old points are dropped by moving ``lo``: a read costs its new
    points, not the lookback (15 days at one-minute steps copied per series per period was most of a
    10,000-workload round). The arrays are replaced, the live points copied once, when full or when
    a re-read changed points already handed out.
    """

    def __init__(self, series: Series) -> None:
        self.labels = series.labels
        self.key = _key(series)
        self._place(series.timestamps, series.values)

    def _place(self, times: np.ndarray, values: np.ndarray) -> None:
        """New arrays holding ``times`` and ``values``, with an eighth more room (at 10,000 workloads
        the held points are gigabytes: doubling them is no option) so they fill again only after
        that many periods of new points, each then copied once."""
        room = times.size + max(64, times.size // 8)
        self.times, self.values = np.empty(room), np.empty(room)
        self.times[: times.size], self.values[: times.size] = times, values
        self.lo, self.hi = 0, times.size
        self.top = 0

    def series(self) -> Series:
        self.top = max(self.top, self.hi)
        return Series.of_checked(self.labels, self.times[self.lo : self.hi], self.values[self.lo : self.hi])

    def join(self, fresh: Series | None, read_from: float, start: float) -> None:
        """Held points in ``[start, read_from)`` followed by ``fresh``'s (none: the held ones only)."""
        times, lo, hi = self.times, self.lo, self.hi
        lo = self.lo = _first_at_or_after(times, lo, hi, start, from_top=False)
        cut = _first_at_or_after(times, lo, hi, read_from, from_top=True)
        if fresh is None:
            self.hi = cut  # nothing is written: the points stay for the views that hold them
            return
        t, v = fresh.timestamps, fresh.values
        if cut > lo and t.size and not t[0] > times[cut - 1]:
            # the source answered points before its range: checked, so the error says where
            Series(self.labels, np.concatenate([times[lo:cut], t]), np.concatenate([self.values[lo:cut], v]))
        again = hi - cut  # held points the source returned again (the re-read overlap)
        if again <= t.size and _same(t[:again], times[cut:hi]) and _same(v[:again], self.values[cut:hi]):
            self._append(t[again:], v[again:])  # the usual case: the overlap came back unchanged
        else:  # points handed out changed (a late scrape): the held ones from the cut on are replaced
            self.hi = cut
            self._append(t, v)

    def _append(self, times: np.ndarray, values: np.ndarray) -> None:
        """``times`` after the held points: written in place when no view covers the room, else into
        new arrays."""
        if not times.size:
            return
        end = self.hi + times.size
        if self.hi < self.top or end > self.times.size:
            self._place(self.times[self.lo : self.hi], self.values[self.lo : self.hi])
            end = self.hi + times.size
        self.times[self.hi : end], self.values[self.hi : end] = times, values
        self.hi = end


def _first_at_or_after(times: np.ndarray, lo: int, hi: int, t: float, *, from_top: bool, walk: int = 8) -> int:
    """The index of the first of ``times[lo:hi]`` (increasing) at or after ``t`` (``hi``: none).

    A round moves a column's start by a step or two and re-reads its last few points, so the answer
    lies within a few points of ``lo`` (``from_top``: of ``hi``): those are walked as plain floats
    first, and only past ``walk`` of them is the range searched (a search's fixed cost, twice per
    series, was a tenth of a 10,000-workload round).

    >>> times = np.array([0.0, 60.0, 120.0, 180.0])
    >>> [_first_at_or_after(times, 0, 4, t, from_top=top) for t in (-1.0, 60.0, 61.0, 999.0) for top in (False, True)]
    [0, 0, 1, 1, 2, 2, 4, 4]
    """
    if from_top:
        i = hi
        while i > lo and hi - i < walk:
            if times[i - 1] < t:
                return i
            i -= 1
        if i == lo:
            return lo
    else:
        i = lo
        while i < hi and i - lo < walk:
            if times[i] >= t:
                return i
            i += 1
        if i == hi:
            return hi
    return lo + int(times[lo:hi].searchsorted(t))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal arrays, NaN equal to NaN: the few points of an overlap, compared as plain floats
    (an array comparison's fixed cost is most of a period's read of one series).

    >>> _same(np.array([1.0, np.nan]), np.array([1.0, np.nan])), _same(np.array([1.0]), np.array([2.0]))
    (True, False)
    """
    x, y = a.tolist(), b.tolist()
    return x == y or (len(x) == len(y) and all(p == q or (p != p and q != q) for p, q in zip(x, y)))


def _key(series: Series) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(series.labels.items()))


@dataclass(frozen=True)
class _Held:
    """The points held for one ``(query, step)``: read over ``[start, end]``."""

    start: float
    end: float
    columns: tuple[_Column, ...]

    def series(self) -> list[Series]:
        return [c.series() for c in self.columns if c.hi > c.lo]


class IncrementalHistory:
    """Wraps ``source`` (module docstring); ``overlap_s`` is re-read at the end of each previous read;
    ``keep_s`` (None: only what is asked) is held back from the newest read end; ``serve_stale``
    says whether a failed read returns the held points or raises."""

    def __init__(self, source: MetricsSource, overlap_s: float = 120.0, keep_s: float | None = None,
                 serve_stale: bool = True) -> None:
        self.source = source
        self.overlap_s = float(overlap_s)
        self.keep_s = keep_s
        self.serve_stale = serve_stale
        self.failures = 0
        self._held: dict[tuple[str, float], _Held] = {}

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        key = (query, float(step_s))
        held = self._held.get(key)
        continues = held is not None and held.start <= start and end >= held.end - self.overlap_s
        read_from = max(start, held.end - self.overlap_s) if continues and held is not None else start
        try:
            fresh = self.source.query_range(query, read_from, end, step_s)
        except Exception as exc:  # the source is down: what is held, stale, or the failure itself
            if held is None or not self.serve_stale:
                raise
            self.failures += 1
            _log.warning("history: %s failed (%s); serving %d series held until t=%g", query, exc,
                         len(held.columns), held.end)
            return [_trim(s, start, end) for s in held.series()]
        if not continues or held is None:
            self._held[key] = _Held(start, end, tuple(_Column(s) for s in fresh))
            return list(fresh)
        kept_from = start if self.keep_s is None else max(held.start, min(start, end - self.keep_s))
        joined = _join(held.columns, fresh, read_from, kept_from)
        self._held[key] = joined = _Held(kept_from, end, joined)
        out = joined.series()
        return out if kept_from >= start else [_trim(s, start, end) for s in out]


def _trim(s: Series, start: float, end: float) -> Series:
    keep = (s.timestamps >= start) & (s.timestamps <= end)
    return s if keep.all() else Series(s.labels, s.timestamps[keep], s.values[keep])


def _join(held: tuple[_Column, ...], fresh: list[Series], read_from: float, start: float) -> tuple[_Column, ...]:
    """Held points in ``[start, read_from)`` followed by the fresh ones, per label set; a series the
    source no longer returns keeps its held points (they age out of ``start``)."""
    by_labels = {_key(s): s for s in fresh}
    for column in held:
        column.join(by_labels.pop(column.key, None), read_from, start)
    return (*(c for c in held if c.hi > c.lo), *(_Column(s) for s in by_labels.values()))
