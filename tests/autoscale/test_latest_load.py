"""The SLO floor's latest load, read as plain floats, equals the same rule written with arrays."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.autoscale.predictive import _latest_load
from foresight.forecast.prepare import counter_rate
from foresight.series import Series


def _with_arrays(series: list[Series], since: float, counter: bool, trend_s: float, window_s: float) -> float | None:
    """The rule over whole arrays: every finite sample, the newest at or after ``since``."""
    total, seen = 0.0, False
    for s in series:
        if counter and len(s) <= 1:
            continue
        timestamps, values = counter_rate(s.timestamps, s.values) if counter else (s.timestamps, s.values)
        finite = np.isfinite(values)
        if not finite.any() or timestamps[finite][-1] < since:
            continue
        t, v = timestamps[finite], values[finite]
        now = float(v[-1])
        if trend_s > 0:
            recent = t >= t[-1] - 60.0
            if recent.sum() >= 2:
                now += max(0.0, float((v[-1] - v[recent][0]) / (t[-1] - t[recent][0]))) * trend_s
        if window_s > 0:
            now = max(now, float(v[t >= t[-1] - window_s].max()))
        total, seen = total + now, True
    return total if seen else None


_value = st.one_of(st.floats(0.0, 1e4), st.just(math.nan))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.tuples(st.floats(1.0, 120.0), _value), max_size=30), min_size=1, max_size=3),
       st.floats(0.0, 3000.0), st.booleans(), st.sampled_from([0.0, 75.0]), st.sampled_from([0.0, 120.0, 600.0]))
def test_plain_floats_give_the_array_rule_bit_for_bit(shapes: list[list[tuple[float, float]]], since: float,
                                                      counter: bool, trend_s: float, window_s: float) -> None:
    series = []
    for shape in shapes:
        t = np.cumsum([gap for gap, _ in shape]) if shape else np.zeros(0)
        series.append(Series({"pod": str(len(series))}, t, [v for _, v in shape]))
    want = _with_arrays(series, since, counter, trend_s, window_s)
    got = _latest_load(series, since, counter, trend_s, window_s)
    assert (got is None and want is None) or (got == want or (math.isnan(got) and math.isnan(want)))
