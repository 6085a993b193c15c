"""Seasonal naive: the last season repeats, gaps fall back a season, quantiles from its errors."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.forecast import SeasonalNaive

cycles = st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(cycle=cycles, repeats=st.integers(2, 5), extra=st.integers(0, 11))
def test_a_periodic_series_repeats_exactly(cycle: list[float], repeats: int, extra: int) -> None:
    m = len(cycle)
    horizon = 2 * m + 1
    y = np.tile(cycle, repeats + 3)[: (repeats + 2) * m + extra]
    model = SeasonalNaive(m, horizon)
    out = model.predict(model.fit(y[None, :]), horizon, [0.05, 0.5, 0.95])
    expected = np.tile(cycle, repeats + 6)[y.size : y.size + horizon]
    assert np.array_equal(out[0, :, 1], expected)
    assert np.array_equal(out[0, :, 0], out[0, :, 2])  # it never erred: no spread


def test_a_gap_keeps_the_value_a_season_earlier() -> None:
    y = np.tile([1.0, 2.0, 3.0, 4.0], 5)[None, :]
    y[0, -3:] = np.nan
    model = SeasonalNaive(4, 4)
    assert model.predict(model.fit(y), 4, [0.5])[0, :, 0].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_phase_never_seen_uses_the_last_value() -> None:
    y = np.tile([1.0, 2.0, 3.0, 4.0], 5)[None, :]
    y[0, 1::4] = np.nan  # phase 1 never observed
    model = SeasonalNaive(4, 4)
    assert model.predict(model.fit(y), 4, [0.5])[0, :, 0].tolist() == [1.0, 4.0, 3.0, 4.0]


def test_naive_quantiles_widen_with_the_horizon() -> None:
    rng = np.random.default_rng(1)
    walk = 1000.0 + np.cumsum(rng.normal(0.0, 5.0, 5000))
    model = SeasonalNaive(1, 16)
    out = model.predict(model.fit(walk[None, :]), 16, [0.1, 0.9])
    width = out[0, :, 1] - out[0, :, 0]
    assert width[15] > 3 * width[0]  # a random walk's spread grows like sqrt(h)
    assert np.allclose(width[0], 2 * 1.2816 * 5.0, rtol=0.15)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), n=st.integers(1, 4), m=st.integers(1, 6))
def test_batch_equals_one_by_one_and_fit_then_update_equals_fit(data: st.DataObject, n: int, m: int) -> None:
    steps = data.draw(st.integers(2 * m + 8, 60))
    values = data.draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=n * steps, max_size=n * steps))
    y = np.array(values).reshape(n, steps)
    model = SeasonalNaive(m, 4)
    batch = model.predict(model.fit(y), 4, [0.2, 0.5, 0.8])
    for i in range(n):
        assert np.allclose(model.predict(model.fit(y[i : i + 1]), 4, [0.2, 0.5, 0.8])[0], batch[i])
    cut = m + 4
    later = model.update(model.fit(y[:, :cut]), y[:, cut:])
    refit = model.fit(y)
    assert np.array_equal(later.last_season, refit.last_season) and later.steps == refit.steps
