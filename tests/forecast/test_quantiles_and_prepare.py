"""Error-quantile tables, the regular grid, and counters across resets."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from foresight.forecast import prepare
from foresight.forecast.prepare import counter_rate, to_grid
from foresight.forecast.quantiles import LEVELS, add_quantiles, error_table

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(errors=arrays(np.float64, (2, 3, 40), elements=finite),
       levels=st.lists(st.floats(0.0005, 0.9995), min_size=1, max_size=6))
def test_quantiles_are_monotone_in_the_level(errors: np.ndarray, levels: list[float]) -> None:
    table = error_table(errors)
    ordered = np.sort(np.asarray(levels))
    out = add_quantiles(np.zeros((2, 3)), table, ordered)
    assert np.all(np.diff(out, axis=-1) >= -1e-9 * (1 + np.abs(out[..., 1:])))
    assert np.all(out >= errors.min(axis=-1, keepdims=True) - 1e-6)
    assert np.all(out <= errors.max(axis=-1, keepdims=True) + 1e-6)


def test_table_rows_follow_their_own_errors_and_gaps() -> None:
    errors = np.full((1, 3, 1000), np.nan)
    errors[0, 0] = np.random.default_rng(0).normal(0.0, 1.0, 1000)
    errors[0, 1, :500] = 5.0
    table = error_table(errors)
    assert abs(add_quantiles(np.zeros((1, 1)), table[:, :1], np.array([0.9]))[0, 0, 0] - 1.2816) < 0.15
    assert np.all(table[0, 1] == 5.0)  # NaN samples ignored
    assert np.all(table[0, 2] == 0.0)  # no sample at all: no spread
    assert LEVELS[0] == 0.001 and LEVELS[-1] == 0.999


def test_grid_means_per_step_and_marks_empty_steps() -> None:
    t = np.array([-5.0, 0.0, 30.0, 59.9, 60.0, 185.0, 190.0, 400.0])
    v = np.array([99.0, 1.0, 3.0, np.nan, 10.0, 4.0, 6.0, 99.0])
    grid = to_grid(t, v, 60.0, 0.0, 240.0)
    assert np.array_equal(grid, [2.0, 10.0, np.nan, 5.0], equal_nan=True)


@settings(max_examples=50, deadline=None)
@given(increments=st.lists(st.integers(0, 1000), min_size=2, max_size=50), data=st.data())
def test_counter_resets_never_give_negative_rates(increments: list[int], data: st.DataObject) -> None:
    resets = data.draw(st.lists(st.booleans(), min_size=len(increments), max_size=len(increments)))
    counter, value = [], 0.0
    for inc, reset in zip(increments, resets):
        # A restarted process counts from zero; a restart is visible only as a drop (as in Prometheus).
        value = float(inc) if reset and inc < value else value + inc
        counter.append(value)
    t = np.arange(len(counter)) * 15.0
    times, rates = counter_rate(t, np.array(counter))
    assert np.array_equal(times, t[1:])
    assert np.all(rates >= 0)
    assert np.allclose(rates * 15.0, increments[1:])


def test_a_missing_counter_sample_is_a_gap() -> None:
    _, rates = counter_rate(np.array([0.0, 10.0, 20.0, 30.0]), np.array([5.0, np.nan, 25.0, 35.0]))
    assert np.isnan(rates[:2]).all() and rates[2] == 1.0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(finite, st.one_of(st.floats(), finite)), max_size=20),
    finite,
    st.floats(0.5, 1000.0),
    st.floats(0.0, 5000.0),
)
def test_a_few_samples_grid_exactly_as_many_do(pairs: list[tuple[float, float]], start: float, step: float,
                                               span: float) -> None:
    """The plain-Python path for a handful of samples gives the array path's numbers, bit for bit."""
    timestamps = np.sort(np.array([t for t, _ in pairs], dtype=np.float64))
    values = np.array([v for _, v in pairs], dtype=np.float64)
    steps = max(0, math.floor(span / step + 1e-9))
    few = prepare._few_to_grid(timestamps.tolist(), values.tolist(), step, start, steps)
    index = np.floor((timestamps - start) / step).astype(np.int64)
    keep = (index >= 0) & (index < steps) & np.isfinite(values)
    sums = np.bincount(index[keep], weights=values[keep], minlength=steps)
    counts = np.bincount(index[keep], minlength=steps)
    many = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    assert np.array_equal(few, many, equal_nan=True)
