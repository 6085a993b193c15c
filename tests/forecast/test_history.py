"""Long histories read once, then only new points, and served stale while the source is down."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.errors import ServiceUnavailable
from foresight.forecast.history import IncrementalHistory, _first_at_or_after
from foresight.series import Series

DAY = 86400.0
PROMETHEUS_MAX_POINTS = 11_000


class Recording:
    """A source with one point per step of a known function; records each range asked and can go down."""

    def __init__(self, labels: tuple[str, ...] = ("a",)) -> None:
        self.asked: list[tuple[float, float, float]] = []
        self.down = False
        self.labels = labels

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        if self.down:
            raise ServiceUnavailable("prometheus: connection refused")
        self.asked.append((start, end, step_s))
        t = np.arange(np.ceil(start / step_s) * step_s, end + 1e-9, step_s)
        return [Series({"pod": name}, t, np.sin(t / 3600.0) + i) for i, name in enumerate(self.labels)]


def test_a_fifteen_day_lookback_is_read_once_then_a_few_points_a_period() -> None:
    inner = Recording()
    history = IncrementalHistory(inner, overlap_s=120.0)
    now, lookback, step = 20 * DAY, 15 * DAY, 60.0
    first = history.query_range("load", now - lookback, now, step)
    for k in range(1, 41):  # ten minutes of 15 s periods
        t = now + 15.0 * k
        got = history.query_range("load", t - lookback, t, step)
    direct = Recording().query_range("load", t - lookback, t, step)
    assert len(first[0]) == lookback / step + 1
    later = [(end - start) / step + 1 for start, end, _ in inner.asked[1:]]
    assert max(later) <= 5 < PROMETHEUS_MAX_POINTS  # only the overlap and the new points
    assert got[0].timestamps[0] >= t - lookback and got[0].timestamps[-1] == direct[0].timestamps[-1]
    np.testing.assert_allclose(np.interp(direct[0].timestamps, got[0].timestamps, got[0].values), direct[0].values,
                               atol=1e-3)


def test_a_range_that_does_not_continue_the_held_one_is_read_in_full() -> None:
    inner = Recording()
    history = IncrementalHistory(inner)
    history.query_range("load", 0.0, 3600.0, 60.0)
    history.query_range("load", 1800.0, 1900.0, 60.0)  # the clock went back
    history.query_range("load", -600.0, 3600.0, 60.0)  # an earlier start than held
    history.query_range("load", 0.0, 3600.0, 15.0)  # another step is another history
    assert inner.asked == [(0.0, 3600.0, 60.0), (1800.0, 1900.0, 60.0), (-600.0, 3600.0, 60.0), (0.0, 3600.0, 15.0)]


def test_while_the_source_is_down_the_held_points_are_served_stale_and_counted() -> None:
    inner = Recording()
    history = IncrementalHistory(inner)
    with pytest.raises(ServiceUnavailable):  # nothing held yet: the failure is the caller's to handle
        inner.down = True
        history.query_range("load", 0.0, 3600.0, 60.0)
    inner.down = False
    history.query_range("load", 0.0, 3600.0, 60.0)
    inner.down = True
    stale = history.query_range("load", 600.0, 4200.0, 60.0)
    assert history.failures == 1
    assert stale[0].timestamps[0] >= 600.0 and stale[0].timestamps[-1] == 3600.0  # nothing newer than the outage
    inner.down = False
    back = history.query_range("load", 615.0, 4215.0, 60.0)
    assert back[0].timestamps[-1] > 4100.0


def test_series_that_appear_and_vanish_are_joined_by_labels() -> None:
    inner = Recording(("a", "b"))
    history = IncrementalHistory(inner, overlap_s=0.0)
    history.query_range("load", 0.0, 600.0, 60.0)
    inner.labels = ("b", "c")  # pod a went away, pod c came
    got = {s.labels["pod"]: s for s in history.query_range("load", 60.0, 1200.0, 60.0)}
    assert set(got) == {"a", "b", "c"}
    assert got["a"].timestamps[-1] == 540.0 and got["c"].timestamps[0] >= 600.0
    assert np.all(np.diff(got["b"].timestamps) > 0) and got["b"].timestamps[0] == 60.0


def test_keep_s_holds_the_lookback_so_a_refit_after_incremental_reads_comes_from_the_cache() -> None:
    inner = Recording()
    history = IncrementalHistory(inner, overlap_s=120.0, keep_s=DAY)
    step = 15.0
    history.query_range("load", 0.0, DAY, step)  # the refit: the whole lookback
    for k in range(1, 5):  # then only the new steps, as a forecast watch asks between refits
        history.query_range("load", DAY + 60.0 * (k - 1), DAY + 60.0 * k, step)
    refit = history.query_range("load", 240.0, DAY + 240.0, step)  # the next refit
    assert all(end - start <= 300.0 for start, end, _ in inner.asked[1:])  # never the whole day again
    direct = Recording().query_range("load", 240.0, DAY + 240.0, step)
    np.testing.assert_array_equal(refit[0].timestamps, direct[0].timestamps)
    np.testing.assert_allclose(refit[0].values, direct[0].values)


def test_without_serve_stale_a_failure_reaches_the_caller_even_with_points_held() -> None:
    inner = Recording()
    history = IncrementalHistory(inner, serve_stale=False)
    history.query_range("load", 0.0, 3600.0, 60.0)
    inner.down = True
    with pytest.raises(ServiceUnavailable):
        history.query_range("load", 0.0, 3660.0, 60.0)
    inner.down = False
    assert history.query_range("load", 0.0, 3720.0, 60.0)[0].timestamps[-1] == 3720.0


class Revising:
    """A source whose newest points change after they were first read (late scrapes), within the
    re-read overlap only, as Prometheus' do; answers the grid points of ``[start, end]``."""

    def __init__(self) -> None:
        self.points: dict[float, float] = {}

    def set(self, t: float, value: float) -> None:
        self.points[t] = value

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        t = np.array(sorted(x for x in self.points if start <= x <= end), dtype=np.float64)
        return [Series({"pod": "a"}, t, np.array([self.points[x] for x in t]))] if t.size else []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(float("nan"))),
                                                      min_size=0, max_size=2)), min_size=1, max_size=40),
       st.sampled_from([None, 600.0]))
def test_held_and_appended_points_equal_a_full_read_and_views_never_change(
        periods: list[tuple[int, list[float]]], keep_s: float | None) -> None:
    """Whatever the source revises within the overlap, each read equals reading the whole range
    again, and every series handed out earlier keeps the values it had (its arrays are views)."""
    step, lookback = 60.0, 900.0
    source = Revising()
    history = IncrementalHistory(source, overlap_s=120.0, keep_s=keep_s)
    now = 0.0
    given_out: list[tuple[Series, np.ndarray, np.ndarray]] = []
    for k, (advance, revisions) in enumerate(periods):
        for _ in range(advance):
            now += step
            source.set(now, float(k) + now / 1e4)
        for i, value in enumerate(revisions):  # late changes to the newest points only
            source.set(now - i * step, value)
        got = history.query_range("load", max(0.0, now - lookback), now, step)
        want = source.query_range("load", max(0.0, now - lookback), now, step)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert np.array_equal(g.timestamps, w.timestamps)
            assert np.array_equal(g.values, w.values, equal_nan=True)
            given_out.append((g, g.timestamps.copy(), g.values.copy()))
    for series, times, values in given_out:
        assert np.array_equal(series.timestamps, times) and np.array_equal(series.values, values, equal_nan=True)


@given(st.lists(st.floats(0.1, 10.0), max_size=40), st.data())
def test_first_at_or_after_is_a_left_search(gaps: list[float], data: st.DataObject) -> None:
    """Walking from either end finds what numpy's left search finds, for any walk length."""
    times = np.cumsum(np.array(gaps, dtype=np.float64))
    lo = data.draw(st.integers(0, times.size))
    hi = data.draw(st.integers(lo, times.size))
    t = data.draw(st.one_of(st.floats(-5.0, 420.0), st.sampled_from(times.tolist() or [0.0])))
    walk = data.draw(st.integers(1, 10))
    want = lo + int(times[lo:hi].searchsorted(t))
    assert _first_at_or_after(times, lo, hi, t, from_top=False, walk=walk) == want
    assert _first_at_or_after(times, lo, hi, t, from_top=True, walk=walk) == want
