"""The bulk reads of many workloads' newest points give exactly the numbers of the per-workload reads."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.autoscale.predictive import _last_finite, _latest, _latest_load, _load_grid
from foresight.autoscale.recent import TAIL, Recent
from foresight.series import Series


@st.composite
def workload_series(draw: st.DrawFn) -> list[Series]:
    """None, one or two series of up to twice the tail's length, with gaps, NaNs and irregular times."""
    count = draw(st.sampled_from([0, 1, 1, 1, 1, 2]))
    out = []
    for _ in range(count):
        size = draw(st.integers(0, 2 * TAIL))
        gaps = draw(st.lists(st.sampled_from([15.0, 30.0, 60.0, 60.0, 60.0, 61.5, 600.0]), min_size=size, max_size=size))
        times = 36_000.0 - 60.0 * 2 * TAIL + np.cumsum(np.array(gaps, dtype=np.float64))
        values = np.array(draw(st.lists(st.one_of(st.floats(0.0, 1e4), st.just(math.nan)), min_size=size,
                                        max_size=size)), dtype=np.float64)
        out.append(Series({"service": "w"}, times, values))
    return out


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and (a == b or (a != a and b != b)))


@settings(max_examples=200, deadline=None)
@given(st.lists(workload_series(), min_size=1, max_size=6), st.floats(35_000.0, 37_000.0),
       st.sampled_from([0.0, 120.0, 180.0]), st.sampled_from([0.0, 300.0, 600.0]))
def test_bulk_reads_equal_per_workload_reads(per_workload: list[list[Series]], now: float, trend_s: float,
                                             window_s: float) -> None:
    recent = Recent.of(per_workload)
    since = now - 600.0
    newest = recent.newest()
    latest, latest_known = recent.latest(since), recent.latest_known()
    load, load_known = recent.floor_load(since, np.full(len(per_workload), trend_s), window_s)
    start, end = math.floor((now - 180.0) / 60.0) * 60.0, math.floor(now / 60.0) * 60.0
    rows = np.arange(len(per_workload))
    grids, grid_known = recent.grids(rows, start, end, 60.0), recent.grid_known(rows, start)
    for row, series in enumerate(per_workload):
        if not math.isnan(newest[row]):
            alone = max((float(s.timestamps[i]) for s in series if (i := _last_finite(s.values)) >= 0),
                        default=-math.inf)
            assert newest[row] == alone
        if latest_known[row]:
            assert _same(None if math.isnan(latest[row]) else float(latest[row]), _latest(series, since))
        if load_known[row]:
            alone_load = _latest_load(series, since, False, trend_s, window_s)
            assert _same(None if math.isnan(load[row]) else float(load[row]), alone_load)
        if grid_known[row]:
            np.testing.assert_array_equal(grids[row], _load_grid(series, 60.0, start, end, False))
    # the tail answers for every workload with one series whose answers lie within it
    whole = [len(s) == 1 and len(s[0]) <= TAIL for s in per_workload]
    assert all(latest_known[whole]) and all(load_known[whole]) and all(grid_known[whole])
