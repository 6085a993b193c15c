"""Tumbling-window aggregates per entity, idempotent under redelivery: what the streaming ingest writes online.

Each event lands in the window ``[k*W, (k+1)*W)`` of its timestamp; a window's aggregates are a
function of the *set* of its events, keyed by an id the transport gives every message (JetStream's
stream sequence), so a redelivered or replayed event is recognised and counted once. The online
row of an entity is the aggregate of its newest window, rewritten whole every time it changes:
replays overwrite it with the same values, they never add to it.

The row's time is its newest event's, but strictly after the last row written for the entity
(microseconds), so the times of an entity's rows only grow while the ingest runs, even when a late
event changes the current window without a newer event time. (The generated store overwrites
rows without comparing times, :mod:`foresight.features.repo` says why: a rebuilt row after a
restart can be timed before the stored one and must still land.)

>>> from foresight.specs.features import FeatureView
>>> from foresight.features.events import Event
>>> view = FeatureView.model_validate({"name": "v", "entities": ["card"], "source": "s", "windowSeconds": 60,
...     "features": [{"name": "n", "dtype": "int64", "aggregate": "count"},
...                  {"name": "total", "aggregate": "sum", "of": "amount"}]})
>>> agg = WindowAggregator(view)
>>> agg.add("1", Event((7,), 61.0, {"amount": 2.0})), agg.add("2", Event((7,), 62.0, {"amount": 3.0}))
(None, None)
>>> agg.add("2", Event((7,), 62.0, {"amount": 3.0}))
'duplicate'
>>> [(r.entity, r.window_start, r.values) for r in agg.flush()]
[((7,), 60.0, {'n': 2, 'total': 5.0})]
>>> agg.flush()
[]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from foresight.features.events import Event
from foresight.specs.features import FeatureView

__all__ = ["Row", "WindowAggregator"]


@dataclass(frozen=True)
class Row:
    """One entity's online value: its newest window's aggregates, timestamped in epoch microseconds."""

    entity: tuple[int | str, ...]
    window_start: float
    ts_us: int
    values: dict[str, float | int | str | bool | None]


@dataclass
class _Window:
    ids: set[str] = field(default_factory=set)
    count: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    mins: dict[str, float] = field(default_factory=dict)
    maxs: dict[str, float] = field(default_factory=dict)
    last: dict[str, tuple[float, object]] = field(default_factory=dict)
    newest_ts: float = -math.inf


class WindowAggregator:
    """Aggregates one streamed view; ``lateness_s`` is how long a closed window still accepts late events."""

    def __init__(self, view: FeatureView, lateness_s: float = 0.0) -> None:
        if view.window_seconds is None:
            raise ValueError(f"view {view.name!r} is not streamed (no windowSeconds)")
        self.view = view
        self.width = float(view.window_seconds)
        self.lateness_s = lateness_s
        self._inputs = sorted({f.of for f in view.features if f.of is not None})
        self._windows: dict[tuple[int | str, ...], dict[float, _Window]] = {}
        self._dirty: set[tuple[int | str, ...]] = set()
        self._written_us: dict[tuple[int | str, ...], int] = {}
        self._watermark = -math.inf
        self._evicted_at: tuple[int, int] | None = None

    def add(self, event_id: str, event: Event) -> str | None:
        """Count ``event`` once under ``event_id``; the rejection reason ('duplicate', 'late') or None."""
        start = math.floor(event.ts / self.width) * self.width
        if start + self.width + self.lateness_s <= self._watermark:
            return "late"
        windows = self._windows.setdefault(event.entity, {})
        window = windows.get(start)
        if window is None:
            window = windows[start] = _Window()
            self._drop_superseded(windows, start)
        if event_id in window.ids:
            return "duplicate"
        window.ids.add(event_id)
        window.count += 1
        for name in self._inputs:
            value = event.fields[name]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                window.sums[name] = window.sums.get(name, 0.0) + value
                window.mins[name] = min(window.mins.get(name, math.inf), value)
                window.maxs[name] = max(window.maxs.get(name, -math.inf), value)
            if name not in window.last or event.ts >= window.last[name][0]:
                window.last[name] = (event.ts, value)
        window.newest_ts = max(window.newest_ts, event.ts)
        self._watermark = max(self._watermark, event.ts)
        if start == max(windows):
            self._dirty.add(event.entity)
        return None

    def flush(self) -> list[Row]:
        """The rows of entities whose newest window changed since the last flush; old windows are dropped."""
        rows = []
        for entity in sorted(self._dirty, key=repr):
            windows = self._windows[entity]
            start = max(windows)
            window = windows[start]
            ts_us = max(round(window.newest_ts * 1e6), self._written_us.get(entity, 0) + 1)
            self._written_us[entity] = ts_us
            rows.append(Row(entity, start, ts_us, self._values(window)))
        self._dirty.clear()
        self._evict()
        return rows

    def rewrite(self, rows: list[Row]) -> None:
        """Mark the entities of ``rows`` changed again: their write failed, the next flush must carry them."""
        self._dirty.update(r.entity for r in rows)

    def open_since(self) -> float | None:
        """Start of the oldest window still held: where a restarted ingest must replay the stream from."""
        starts = [s for windows in self._windows.values() for s in windows]
        return min(starts) if starts else None

    @property
    def entities(self) -> int:
        """Entities with at least one window held."""
        return len(self._windows)

    def _values(self, window: _Window) -> dict[str, float | int | str | bool | None]:
        values: dict[str, float | int | str | bool | None] = {}
        for feature in self.view.features:
            of = feature.of
            if feature.aggregate == "count":
                values[feature.name] = window.count
            elif of is None or of not in window.last:
                values[feature.name] = None
            elif feature.aggregate == "sum":
                values[feature.name] = window.sums[of]
            elif feature.aggregate == "mean":
                values[feature.name] = window.sums[of] / window.count
            elif feature.aggregate == "min":
                values[feature.name] = _typed(window.mins[of], feature.dtype)
            elif feature.aggregate == "max":
                values[feature.name] = _typed(window.maxs[of], feature.dtype)
            else:
                last = window.last[of][1]
                values[feature.name] = _typed(last, feature.dtype) if isinstance(last, float) else last  # type: ignore[assignment]
        return values

    def _drop_superseded(self, windows: dict[float, _Window], start: float) -> None:
        """A new newest window ``start`` makes the entity's windows already past the horizon droppable: drop them now."""
        if start == max(windows):
            horizon = self._watermark - self.width - self.lateness_s
            for old in [s for s in windows if s < horizon]:
                del windows[old]

    def _evict(self) -> None:
        """Drop windows past the horizon (but each entity's newest) and entities whose newest window is that old.

        Windows start on a grid of ``width``, so which of them are past either line changes only when
        a line crosses a grid point (a window becoming no longer newest is handled as it happens, in
        :meth:`_drop_superseded`): the pass over every entity runs then, not at every flush, so a
        flush of a few events does not pay a scan of the 10,000 entities held.
        """
        if self._watermark == -math.inf:
            return
        horizon = self._watermark - self.width - self.lateness_s
        step = (math.ceil(horizon / self.width), math.floor((horizon - self.width) / self.width))
        if step == self._evicted_at:
            return
        self._evicted_at = step
        for entity in list(self._windows):
            windows = self._windows[entity]
            newest = max(windows)
            for start in [s for s in windows if s < horizon and s != newest]:
                del windows[start]
            if newest + self.width + self.lateness_s <= self._watermark - self.width:
                del self._windows[entity]
                self._written_us.pop(entity, None)


def _typed(value: float, dtype: str) -> float | int:
    return int(value) if dtype == "int64" else value
