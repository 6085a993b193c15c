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


@dataclass(frozen=True)
class _Held:
    """The points held for one ``(query, step)``: read over ``[start, end]``."""

    start: float
    end: float
    series: tuple[Series, ...]


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
            _log.warning("history: %s failed (%s); serving %d series held until t=%g", query, exc, len(held.series), held.end)
            return [_trim(s, start, end) for s in held.series]
        if not continues or held is None:
            self._held[key] = _Held(start, end, tuple(fresh))
            return list(fresh)
        kept_from = start if self.keep_s is None else max(held.start, min(start, end - self.keep_s))
        joined = _join(held.series, fresh, read_from, kept_from)
        self._held[key] = _Held(kept_from, end, joined)
        return list(joined) if kept_from >= start else [_trim(s, start, end) for s in joined]


def _trim(s: Series, start: float, end: float) -> Series:
    keep = (s.timestamps >= start) & (s.timestamps <= end)
    return s if keep.all() else Series(s.labels, s.timestamps[keep], s.values[keep])


def _join(held: tuple[Series, ...], fresh: list[Series], read_from: float, start: float) -> tuple[Series, ...]:
    """Held points in ``[start, read_from)`` followed by the fresh ones, per label set; a series the
    source no longer returns keeps its held points (they age out of ``start``)."""
    by_labels = {tuple(sorted(s.labels.items())): s for s in fresh}
    out = []
    for old in held:
        keep = (old.timestamps >= start) & (old.timestamps < read_from)
        new = by_labels.pop(tuple(sorted(old.labels.items())), None)
        if new is None:
            if keep.any():
                out.append(Series(old.labels, old.timestamps[keep], old.values[keep]))
            continue
        times = old.timestamps[keep]
        if times.size and new.timestamps.size and not new.timestamps[0] > times[-1]:
            out.append(Series(old.labels, np.concatenate([times, new.timestamps]),  # checked: says where
                              np.concatenate([old.values[keep], new.values])))
            continue
        # both checked, and the fresh points come after the held ones: the join is checked too
        out.append(Series.of_checked(old.labels, np.concatenate([times, new.timestamps]),
                                     np.concatenate([old.values[keep], new.values])))
    out.extend(by_labels.values())
    return tuple(out)
