"""The live anomaly watch: every period, new samples in, one score per sample, alerts out.

Each period, :meth:`LiveDetector.step`

1. **reads** what is new: for each PromQL query, ``query_range`` from the last grid time it read
   to now (at start-up, ``backfill_s`` of history, so the detector has a baseline before it
   judges the present; after an outage, the gap, up to ``backfill_s``), plus whatever the
   remote-write receiver handed to :meth:`LiveDetector.push` since the last period;
2. **cleans** it per series: sorts by time, keeps the last value of a repeated timestamp, drops
   samples not after the series' last one (out-of-order remote writes, overlapping reads) and
   samples that are NaN or infinite (missing: they would score 0 and teach nothing);
3. **scores** the samples with one detector state over all series (a new series grows it), in
   rounds of one sample per series, so irregular and uneven arrivals keep each series' order;
4. **decides** alerts with :func:`foresight.detect.alerts.advance` and re-sends firing alerts
   every ``resend_interval_s``; a series silent for ``forget_after_s`` is resolved if firing and
   then forgotten, so series churn (pods come and go) does not grow the state forever;
5. **sends** the period's alerts (one per alert, its latest state) to the :class:`AlertSink`,
   every period, even none, so a sink that queues can retry.

A failing query is logged and read again next period from where it stopped. The expected range
an alert reports, and that its resolution waits for the value to return to, is taken just before
the alert's first high sample: the detector's own baseline for the EWMA detectors (mean +- 3 sd),
else the ``range_quantiles`` of the series' last ``range_window`` samples. All state is in
:class:`LiveState`, which :meth:`LiveState.to_dict` saves and a new controller resumes from.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.clock import Clock
from foresight.detect.alerts import (
    AlertRule,
    AlertState,
    advance,
    alert_labels,
    payload,
)
from foresight.detect.ewma import EwmaState
from foresight.detect.protocol import ArrayState, Detector
from foresight.errors import ConfigError, ForesightError
from foresight.ports import MetricsSource
from foresight.series import Series

__all__ = ["AlertSink", "LiveConfig", "LiveDetector", "LiveState", "StepReport"]

_log = logging.getLogger(__name__)

HUGE = 1e150  # the detectors' clip: squares of remembered values stay finite
Labels = tuple[tuple[str, str], ...]
#: A series is the query that returned it (None: pushed by remote write) and its label set.
SeriesKey = tuple[str | None, Labels]
S = TypeVar("S", bound=ArrayState)


class AlertSink(Protocol):
    """Where alerts go (Alertmanager's API v2 in production). Called every period, maybe with no
    alerts, so that a sink which queues can retry; it must not raise for a delivery failure."""

    def send(self, alerts: Sequence[Mapping[str, Any]]) -> None: ...


class LiveConfig(BaseModel):
    """What the live watch reads, how often, and how it alerts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queries: tuple[str, ...] = Field(default=(), description="PromQL queries polled every period.")
    period_s: float = Field(default=15.0, gt=0, description="Seconds between two steps.")
    step_s: float | None = Field(
        default=None,
        gt=0,
        description="Resolution of the range queries (None: period_s); at least the scrape interval.",
    )
    backfill_s: float = Field(
        default=3600.0, ge=0, description="History read at start-up, and the longest gap caught up."
    )
    forget_after_s: float = Field(
        default=900.0, gt=0, description="A series silent this long is resolved and forgotten."
    )
    range_window: int = Field(
        default=1000, ge=1, description="Recent samples per series the expected range is taken from."
    )
    range_quantiles: tuple[float, float] = Field(
        default=(0.01, 0.99), description="Quantiles that bound the expected range."
    )
    prometheus_url: str | None = Field(default=None, description="Base URL for the alerts' generatorURL links.")
    rule: AlertRule = Field(default=AlertRule(), description="How scores open and resolve alerts.")

    @model_validator(mode="after")
    def _consistent(self) -> LiveConfig:
        low, high = self.range_quantiles
        if not 0.0 <= low < high <= 1.0:
            raise ConfigError(f"live config: range_quantiles must satisfy 0 <= low < high <= 1, got {low}, {high}")
        if self.rule.resend_interval_s < self.period_s:
            raise ConfigError(
                f"live config: resend_interval_s ({self.rule.resend_interval_s:g}) is shorter than period_s "
                f"({self.period_s:g}); firing alerts are re-sent at most once a period"
            )
        return self

    @property
    def query_step_s(self) -> float:
        return self.step_s if self.step_s is not None else self.period_s


@dataclass
class LiveState:
    """Everything the watch remembers, row ``i`` of every array being ``keys[i]``'s series.

    ``window``/``cursor`` is a ring of recent values (no columns for EWMA detectors, whose
    baseline gives the range); ``read_until`` is the last grid time read per query.
    """

    keys: list[SeriesKey]
    last_t: np.ndarray
    detector: ArrayState
    alerts: AlertState
    window: np.ndarray
    cursor: np.ndarray
    read_until: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers (NaN and infinities as floats), for JSON."""
        return {
            "keys": [[query, [list(pair) for pair in labels]] for query, labels in self.keys],
            "last_t": self.last_t.tolist(),
            "detector": self.detector.to_dict(),
            "alerts": self.alerts.to_dict(),
            "window": self.window.tolist(),
            "window_width": self.window.shape[1],
            "cursor": self.cursor.tolist(),
            "read_until": dict(self.read_until),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], detector: Detector[Any]) -> LiveState:
        """The state :meth:`to_dict` saved, for ``detector`` (the one that built it)."""
        keys = [(query, tuple((str(k), str(v)) for k, v in labels)) for query, labels in data["keys"]]
        window = np.array(data["window"], dtype=np.float64).reshape(len(keys), int(data["window_width"]))
        return cls(
            keys=keys,
            last_t=np.array(data["last_t"], dtype=np.float64),
            detector=type(detector.init(0)).from_dict(data["detector"]),
            alerts=AlertState.from_dict(data["alerts"]),
            window=window,
            cursor=np.array(data["cursor"], dtype=np.int64),
            read_until={str(k): float(v) for k, v in data["read_until"].items()},
        )


@dataclass(frozen=True)
class StepReport:
    """What one period did: samples scored and dropped, series tracked, alerts out, failures."""

    time: float
    scored: int
    missing: int
    late: int
    series: int
    firing: int
    sent: int
    forgotten: int
    errors: tuple[str, ...]


class LiveDetector:
    """Scores live series with ``detector`` and sends alerts to ``sink`` every ``config.period_s``.

    ``source`` is polled for ``config.queries`` (it may be None when samples come only by
    :meth:`push`). ``state`` resumes a saved watch.
    """

    def __init__(
        self,
        detector: Detector[Any],
        sink: AlertSink,
        clock: Clock,
        config: LiveConfig,
        *,
        source: MetricsSource | None = None,
        state: LiveState | None = None,
    ) -> None:
        if config.queries and source is None:
            raise ConfigError("live watch: queries need a metrics source to poll")
        self.detector, self.sink, self.clock, self.config, self.source = detector, sink, clock, config, source
        empty = detector.init(0)
        width = 0 if isinstance(empty, EwmaState) else config.range_window
        self._state = state or LiveState(
            [], np.empty(0), empty, AlertState.init(0), np.empty((0, width)), np.empty(0, np.int64), {}
        )
        self._index = {key: row for row, key in enumerate(self._state.keys)}
        self._labels = [self._alert_labels(key) for key in self._state.keys]
        self._inbox: list[Series] = []
        self._inbox_lock = threading.Lock()

    @property
    def state(self) -> LiveState:
        """The live state (shared, not a copy: save it between steps)."""
        return self._state

    def push(self, series: Sequence[Series]) -> None:
        """Hand samples in (the remote-write receiver's ``deliver``); scored at the next step.
        Safe to call from another thread."""
        with self._inbox_lock:
            self._inbox.extend(series)

    def run(self, until: float = math.inf) -> int:
        """Step every ``period_s`` while the clock is before ``until``; return the periods run.

        A period that overran skips the ticks it missed instead of bursting to catch up.
        """
        periods, period = 0, self.config.period_s
        next_t = self.clock.now()
        while next_t < until:
            self.clock.sleep_until(next_t)
            report = self.step()
            periods += 1
            if report.sent or report.errors or report.forgotten:
                _log.info("%s", report)
            next_t += period
            now = self.clock.now()
            if next_t <= now:
                next_t += math.floor((now - next_t) / period + 1) * period
        return periods

    def step(self) -> StepReport:
        """One period: read, clean, score, decide, send (see the module docstring)."""
        now = self.clock.now()
        raw, errors = self._read(now)
        with self._inbox_lock:
            pushed, self._inbox = self._inbox, []
        for s in pushed:
            raw.setdefault((None, _labels_key(s.labels)), []).append(s)
        rows, times, values, missing, late = self._clean(raw)
        out: dict[int, dict[str, Any]] = {}
        for r in range(times.shape[1]):
            self._score_round(rows, times[:, r], values[:, r], now, out)
        self._resend(now, out)
        forgotten = self._forget(now, out)
        alerts = list(out.values())
        self.sink.send(alerts)
        return StepReport(
            time=now,
            scored=int(np.isfinite(values).sum()),
            missing=missing,
            late=late,
            series=len(self._state.keys),
            firing=int(self._state.alerts.firing.sum()),
            sent=len(alerts),
            forgotten=forgotten,
            errors=tuple(errors),
        )

    # -- 1. read ------------------------------------------------------------------------------

    def _read(self, now: float) -> tuple[dict[SeriesKey, list[Series]], list[str]]:
        raw: dict[SeriesKey, list[Series]] = {}
        errors: list[str] = []
        step = self.config.query_step_s
        end = math.floor(now / step) * step
        oldest = end - math.floor(self.config.backfill_s / step) * step
        for query in self.config.queries:
            start = max(self._state.read_until.get(query, -math.inf) + step, oldest)
            if start > end:
                continue
            assert self.source is not None
            try:
                found = self.source.query_range(query, start, end, step)
            except ForesightError as exc:  # Prometheus down, bad PromQL: say so, read it again later
                _log.warning("live watch: query %r failed: %s", query, exc)
                errors.append(f"{query}: {exc}")
                continue
            self._state.read_until[query] = end
            for s in found:
                raw.setdefault((query, _labels_key(s.labels)), []).append(s)
        return raw, errors

    # -- 2. clean -----------------------------------------------------------------------------

    def _clean(self, raw: Mapping[SeriesKey, list[Series]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
        """New finite samples per row, as ``[rows, rounds]`` arrays padded with NaN.

        All series' samples are cleaned together: sorted by (row, time), a repeated time keeps
        its last value, then what is not after the row's last time is late. Series met for the
        first time get rows (those with no finite sample yet are left for later).
        """
        s = self._state
        keys = list(raw)
        n = len(s.keys)
        known = [self._index.get(key, -1) for key in keys]
        unknown = [i for i, row in enumerate(known) if row < 0]
        provisional = np.array(known, dtype=np.int64)
        provisional[unknown] = n + np.arange(len(unknown))  # rows they would get
        sizes = [sum(len(p) for p in raw[key]) for key in keys]
        row = np.repeat(provisional, sizes)
        t = np.concatenate([p.timestamps for key in keys for p in raw[key]] or [np.empty(0)])
        x = np.concatenate([p.values for key in keys for p in raw[key]] or [np.empty(0)])
        order = np.lexsort((t, row))  # by row, then time; stable, so a repeat keeps arrival order
        row, t, x = row[order], t[order], x[order]
        last_of_each = np.ones(t.size, dtype=bool)
        last_of_each[:-1] = (row[1:] != row[:-1]) | (t[1:] != t[:-1])
        row, t, x = row[last_of_each], t[last_of_each], x[last_of_each]
        fresh = t > np.concatenate([s.last_t, np.full(len(unknown), -math.inf)])[row]
        late = int(t.size - fresh.sum())
        row, t, x = row[fresh], t[fresh], x[fresh]
        finite = np.isfinite(x)
        missing = int(t.size - finite.sum())

        # New series with a finite sample get rows, in one growth of every array.
        new = np.unique(row[finite & (row >= n)])
        renumber = np.concatenate([np.arange(n), np.full(len(unknown), -1)])  # -1: no row (yet)
        renumber[new] = n + np.arange(new.size)
        self._add([keys[unknown[i]] for i in (new - n).tolist()])
        row = renumber[row]
        last = np.ones(row.size, dtype=bool)
        last[:-1] = row[1:] != row[:-1]
        seen = last & (row >= 0)
        s.last_t[row[seen]] = t[seen]

        row, t, x = row[finite], t[finite], x[finite]
        rows, first, counts = np.unique(row, return_index=True, return_counts=True)
        rounds = int(counts.max(initial=0))
        slot = np.arange(row.size) - np.repeat(first, counts)  # rank of each sample in its row
        line = np.repeat(np.arange(rows.size), counts)
        times = np.full((rows.size, rounds), np.nan)
        values = np.full((rows.size, rounds), np.nan)
        times[line, slot], values[line, slot] = t, np.clip(x, -HUGE, HUGE)
        return rows, times, values, missing, late

    def _add(self, keys: list[SeriesKey]) -> None:
        """Grow every per-series array by fresh rows for ``keys``, at once."""
        if not keys:
            return
        s, k = self._state, len(keys)
        for key in keys:
            self._index[key] = len(s.keys)
            s.keys.append(key)
            self._labels.append(self._alert_labels(key))
        s.last_t = np.concatenate([s.last_t, np.full(k, -math.inf)])
        s.detector = _concat(s.detector, self.detector.init(k))
        s.alerts = _concat(s.alerts, AlertState.init(k))
        s.window = np.concatenate([s.window, np.full((k, s.window.shape[1]), np.nan)])
        s.cursor = np.concatenate([s.cursor, np.zeros(k, dtype=np.int64)])

    # -- 3, 4. score and decide ---------------------------------------------------------------

    def _score_round(
        self, rows: np.ndarray, t_rows: np.ndarray, x_rows: np.ndarray, now: float, out: dict[int, dict[str, Any]]
    ) -> None:
        s, rule = self._state, self.config.rule
        n = len(s.keys)
        x, t = np.full(n, np.nan), np.full(n, now)
        x[rows] = x_rows
        t[rows] = np.where(np.isfinite(t_rows), t_rows, now)
        valid = np.isfinite(x)
        baseline = _ewma_range(s.detector) if isinstance(s.detector, EwmaState) else None
        scores = self.detector.update(s.detector, x, t)

        # The expected range is only read where a high sample may start an episode.
        need = np.flatnonzero(valid & ~s.alerts.firing & (scores >= rule.fire_threshold))
        low, high = np.full(n, np.nan), np.full(n, np.nan)
        if baseline is not None:
            low[need], high[need] = baseline[0][need], baseline[1][need]
        else:
            low[need], high[need] = _quantile_range(s.window[need], *self.config.range_quantiles)
        changed = advance(rule, s.alerts, valid, scores, x, t, low, high)

        learned = np.flatnonzero(valid)
        if s.window.shape[1]:
            s.window[learned, s.cursor[learned]] = x[learned]
            s.cursor[learned] = (s.cursor[learned] + 1) % s.window.shape[1]
        for row in (*changed.fired.tolist(), *changed.resolved.tolist()):
            out[row] = self._payload(row, now)

    def _resend(self, now: float, out: dict[int, dict[str, Any]]) -> None:
        a = self._state.alerts
        due = np.flatnonzero(a.firing & (now - a.sent_at >= self.config.rule.resend_interval_s))
        for row in due.tolist():
            if row not in out:
                out[row] = self._payload(row, now)

    def _forget(self, now: float, out: dict[int, dict[str, Any]]) -> int:
        """Resolve and drop series silent for ``forget_after_s``; return how many."""
        s = self._state
        silent = s.last_t < now - self.config.forget_after_s
        if not silent.any():
            return 0
        for row in np.flatnonzero(silent & s.alerts.firing).tolist():
            s.alerts.firing[row] = False
            out[row] = self._payload(row, now)
        keep = np.flatnonzero(~silent)
        s.keys = [s.keys[i] for i in keep.tolist()]
        self._labels = [self._labels[i] for i in keep.tolist()]
        s.last_t, s.window, s.cursor = s.last_t[keep], s.window[keep], s.cursor[keep]
        s.detector, s.alerts = _take(s.detector, keep), _take(s.alerts, keep)
        self._index = {key: row for row, key in enumerate(s.keys)}
        return int(silent.sum())

    # -- 5. alerts ----------------------------------------------------------------------------

    def _payload(self, row: int, now: float) -> dict[str, Any]:
        """The row's alert as it stands; a firing one counts as sent now (for the re-send clock)."""
        a = self._state.alerts
        if a.firing[row]:
            a.sent_at[row] = now
        query, labels = self._state.keys[row]
        return payload(
            self.config.rule,
            a,
            row,
            self._labels[row],
            now=now,
            detector=self.detector.name,
            generator_url=self._generator_url(query, labels),
        )

    def _alert_labels(self, key: SeriesKey) -> dict[str, str]:
        query, labels = key
        return alert_labels(dict(labels), query, self.config.rule.alertname)

    def _generator_url(self, query: str | None, labels: Labels) -> str | None:
        """A link to the series in Prometheus' graph page (its query, or its selector if pushed)."""
        base = self.config.prometheus_url
        if base is None:
            return None
        expr = query if query is not None else _selector(labels)
        return f"{base.rstrip('/')}/graph?g0.expr={quote(expr, safe='')}&g0.tab=0"


def _labels_key(labels: Mapping[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _selector(labels: Labels) -> str:
    """PromQL that selects exactly this label set.

    >>> _selector((("__name__", "up"), ("job", 'a"b')))
    'up{job="a\\\\"b"}'
    """
    name = dict(labels).get("__name__", "")
    matchers = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in labels
        if k != "__name__"
    )
    return f"{name}{{{matchers}}}"


def _ewma_range(state: EwmaState, z: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """mean +- z sd of the EWMA baseline (NaN for a series with no sample yet)."""
    sd = np.sqrt(state.var)
    low = np.where(state.seen, state.mean - z * sd, np.nan)
    high = np.where(state.seen, state.mean + z * sd, np.nan)
    return low, high


def _quantile_range(window: np.ndarray, q_low: float, q_high: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row, two quantiles of its finite values (linear interpolation); NaN for an empty row.

    >>> w = np.array([[1.0, 2.0, 3.0, 4.0, 5.0], [7.0, 7.0, np.nan, np.nan, np.nan]])
    >>> low, high = _quantile_range(w, 0.25, 1.0)
    >>> low.tolist(), high.tolist()
    ([2.0, 7.0], [5.0, 7.0])
    """
    ordered = np.sort(window, axis=1)  # NaN (empty slots) last
    count = np.isfinite(window).sum(axis=1)

    def at(q: float) -> np.ndarray:
        pos = q * np.maximum(count - 1, 0)
        below = np.floor(pos).astype(np.int64)
        above = np.minimum(below + 1, np.maximum(count - 1, 0))
        a = np.take_along_axis(ordered, below[:, None], axis=1)[:, 0]
        b = np.take_along_axis(ordered, above[:, None], axis=1)[:, 0]
        return np.where(count > 0, a + (b - a) * (pos - below), np.nan)

    return at(q_low), at(q_high)


def _concat(a: S, b: S) -> S:
    """Series of ``a`` then those of ``b``, in every (nested) array of the state."""
    return type(a)(
        **{
            f.name: (_concat(x, y) if isinstance(x, ArrayState) else np.concatenate([x, y]))
            for f in dataclasses.fields(a)
            for x, y in [(getattr(a, f.name), getattr(b, f.name))]
        }
    )


def _take(state: S, rows: np.ndarray) -> S:
    """Only the series ``rows`` of every (nested) array of the state."""
    return type(state)(
        **{
            f.name: (_take(value, rows) if isinstance(value, ArrayState) else value[rows])
            for f in dataclasses.fields(state)
            for value in [getattr(state, f.name)]
        }
    )
