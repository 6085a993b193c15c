"""The pure helpers beside the Prometheus source: grid alignment (gaps as NaN) and counter resets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from foresight.adapters.prometheus import align_to_grid, counter_increase
from foresight.errors import InputError
from foresight.series import Series

NAN = math.nan


def same(a: np.ndarray, b: list[float]) -> bool:
    return np.array_equal(a, np.asarray(b, dtype=float), equal_nan=True)


@pytest.mark.parametrize(
    ("timestamps", "values", "grid", "expected"),
    [
        # Points exactly on the grid; the gap at 20 and 30 becomes NaN, the grid runs to `end`.
        ([0, 10, 40], [1, 2, 5], (0, 50, 10), [1, 2, NAN, NAN, 5, NAN]),
        # Jittered scrape times go to the nearest grid point within half a step.
        ([0.4, 9.6, 20.5, 35.1], [1, 2, 3, 4], (0, 30, 10), [1, 2, 3, NAN]),
        # Two samples near one grid point: the later wins.
        ([9, 11], [1, 2], (0, 20, 10), [NAN, 2, NAN]),
        # Samples outside the window are dropped.
        ([-10, 3, 100], [1, 2, 3], (0, 10, 10), [2, NAN]),
        # An empty series is all gap.
        ([], [], (0, 20, 10), [NAN, NAN, NAN]),
    ],
)
def test_align_to_grid(timestamps, values, grid, expected):
    aligned = align_to_grid(Series({"job": "api"}, timestamps, values), *grid)
    start, end, step = grid
    assert aligned.labels == {"job": "api"}
    assert np.allclose(aligned.timestamps, np.arange(start, end + step / 2, step))
    assert same(aligned.values, expected)


def test_align_to_grid_keeps_the_grid_of_a_fractional_step():
    aligned = align_to_grid(Series({}, [0.0, 0.3], [1.0, 2.0]), 0.0, 0.3, 0.1)
    assert len(aligned) == 4 and same(aligned.values, [1, NAN, NAN, 2])


@pytest.mark.parametrize(("start", "end", "step"), [(0, 10, 0), (10, 0, 1), (0, NAN, 1)])
def test_align_to_grid_refuses_impossible_grids(start, end, step):
    with pytest.raises(InputError, match="align_to_grid"):
        align_to_grid(Series({}, [0.0], [1.0]), start, end, step)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 3, 6], [2, 3]),
        ([10, 14, 3, 5], [4, 3, 2]),  # a drop is a restart from zero
        ([10, 0, 0, 1], [0, 0, 1]),  # a restart that had counted nothing yet
        ([10, NAN, 16], [NAN, 6]),  # the increase over a gap is kept
        ([NAN, 2, 5], [NAN, 3]),
        ([5], []),
    ],
)
def test_counter_increase(values, expected):
    c = Series({"__name__": "requests_total"}, np.arange(len(values)) * 15.0, values)
    inc = counter_increase(c)
    assert inc.timestamps.tolist() == (np.arange(1, len(values)) * 15.0).tolist()
    assert same(inc.values, expected)


@given(
    increments=st.lists(st.floats(0, 1e6), min_size=1, max_size=50),
    resets=st.lists(st.booleans(), min_size=50, max_size=50),
)
def test_increases_add_up_to_what_was_counted_across_restarts(increments, resets):
    # A counter that counts `increments[i]` in interval i and may restart from zero before it.
    values, total = [0.0], 0.0
    for inc, reset in zip(increments, resets):
        total = (0.0 if reset else total) + inc
        values.append(total)
    restarted_to_zero_each_time = all(
        not reset or inc < prev or prev == 0  # a restart is only visible when the counter dropped
        for inc, reset, prev in zip(increments, resets, values)
    )
    got = counter_increase(Series({}, np.arange(len(values)), values)).values
    if restarted_to_zero_each_time:
        assert got.sum() == pytest.approx(sum(increments), rel=1e-9, abs=1e-6)
    assert np.all(got >= 0)
