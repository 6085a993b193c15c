"""Long histories read once, then only new points, and served stale while the source is down."""

from __future__ import annotations

import numpy as np
import pytest

from foresight.errors import ServiceUnavailable
from foresight.forecast.history import IncrementalHistory
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
