"""Holt-Winters: continues seasonal patterns, carries bursts, skips gaps, vectorises exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.forecast import HoltWinters, holt_winters
from foresight.forecast.backtest import backtest


@settings(max_examples=25, deadline=None)
@given(profile=st.lists(st.floats(1.0, 1e5), min_size=4, max_size=16), phase=st.integers(0, 15))
def test_a_pure_seasonal_signal_is_continued(profile: list[float], phase: int) -> None:
    m = len(profile)
    phase %= m
    y = np.tile(profile, 12)[phase : phase + 10 * m][None, :]
    model = HoltWinters((m,), max_horizon_steps=m, min_history_steps=2 * m)
    out = model.predict(model.fit(y), m, [0.5])[0, :, 0]
    expected = np.tile(profile, 12)[phase + 10 * m : phase + 11 * m]
    assert np.allclose(out, expected, rtol=1e-6)


def test_day_and_week_seasons_are_both_learned() -> None:
    day, week = 24, 168
    t = np.arange(5 * week)
    weekend = np.where((t // day) % 7 >= 5, 0.4, 1.0)
    y = (100.0 + 80.0 * np.sin(2 * np.pi * t / day)) * weekend
    rng = np.random.default_rng(0)
    noisy = y * rng.gamma(400.0, 1 / 400.0, size=y.size)
    model = HoltWinters((day, week), max_horizon_steps=48, min_history_steps=96)
    state = model.fit(noisy[None, : 4 * week + 5 * day])  # the next 48 steps are the weekend
    assert state.seasons == (day, week)
    out = model.predict(state, 48, [0.5])[0, :, 0]
    truth = y[4 * week + 5 * day : 4 * week + 5 * day + 48]
    assert np.mean(np.abs(out - truth)) / np.mean(truth) < 0.06
    daily_only = HoltWinters((day,), max_horizon_steps=48, min_history_steps=96)
    plain = daily_only.predict(daily_only.fit(noisy[None, : 4 * week + 5 * day]), 48, [0.5])[0, :, 0]
    assert np.mean(np.abs(out - truth)) < 0.5 * np.mean(np.abs(plain - truth))


def test_a_season_longer_than_half_the_history_is_left_out() -> None:
    y = 10.0 + np.sin(np.arange(300) / 5.0)
    state = HoltWinters((24, 168), max_horizon_steps=10, min_history_steps=60).fit(y[None, :])
    assert state.seasons == (24,)


def test_a_burst_under_way_is_carried_and_fades() -> None:
    rng = np.random.default_rng(2)
    y = 100.0 + rng.normal(0.0, 1.0, 2000)
    for start in range(100, 1900, 150):  # bursts that decay geometrically
        y[start : start + 40] += 60.0 * 0.9 ** np.arange(40)
    model = HoltWinters((), max_horizon_steps=30, min_history_steps=60)
    state = model.fit(y[None, :1950])
    burst = 100.0 + 60.0 * 0.9 ** np.arange(3)
    out = model.predict(model.update(state, burst[None, :]), 30, [0.5])[0, :, 0]
    assert out[0] > 130.0  # the burst continues next step ...
    assert abs(out[-1] - 100.0) < 10.0  # ... and has faded half an hour on
    assert np.all(np.diff(out) <= 1e-9)


def test_a_gap_leaves_level_and_seasons_and_fades_the_residual() -> None:
    y = 50.0 + 10.0 * np.sin(2 * np.pi * np.arange(480) / 24)
    model = HoltWinters((24,), max_horizon_steps=12, min_history_steps=48)
    state = model.fit(y[None, :] * np.linspace(1.0, 1.1, 480))
    after = model.update(state, np.full((1, 3), np.nan))
    assert np.array_equal(after.level, state.level)
    assert all(np.array_equal(a, b) for a, b in zip(after.seasonal, state.seasonal))
    assert np.allclose(after.residual, state.phi**3 * state.residual)
    assert after.steps == state.steps + 3


def test_batch_fit_equals_one_by_one_even_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(24 * 20)
    y = np.stack([s * (2 + np.sin(2 * np.pi * t / 24)) * rng.gamma(50, 1 / 50, t.size) for s in (1.0, 30.0, 900.0)])
    y[1, 50:70] = np.nan
    model = HoltWinters((24,), max_horizon_steps=6, min_history_steps=48)
    batch = model.predict(model.fit(y), 6, [0.1, 0.5, 0.9])
    for i in range(3):
        assert np.allclose(model.predict(model.fit(y[i : i + 1]), 6, [0.1, 0.5, 0.9])[0], batch[i])
    monkeypatch.setattr(holt_winters, "_GRID_FLOATS", 1)  # one series per chunk
    assert np.allclose(model.predict(model.fit(y), 6, [0.1, 0.5, 0.9]), batch)


def test_quantiles_cover_about_their_level() -> None:
    rng = np.random.default_rng(4)
    t = np.arange(24 * 60)
    y = 200.0 * (1.5 + np.sin(2 * np.pi * t / 24)) * rng.gamma(30.0, 1 / 30.0, t.size)
    model = HoltWinters((24,), max_horizon_steps=6, error_window_steps=24 * 20, min_history_steps=48)
    result = backtest(model, y, 24 * 40, (1, 6), (0.1, 0.5, 0.9), 24, 1)
    for per_level in result.coverage:
        assert 0.04 < per_level[0] < 0.17 and 0.83 < per_level[2] < 0.96
