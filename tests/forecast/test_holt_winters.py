"""Holt-Winters: continues seasonal patterns, carries bursts, skips gaps, vectorises exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.forecast import HoltWinters, holt_winters
from foresight.forecast.backtest import backtest
from foresight.forecast.quantiles import LEVELS


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
        assert np.array_equal(model.predict(model.fit(y[i : i + 1]), 6, [0.1, 0.5, 0.9])[0], batch[i])  # bit for bit
    monkeypatch.setattr(holt_winters, "_GRID_FLOATS", 1)  # one series per chunk
    assert np.array_equal(model.predict(model.fit(y), 6, [0.1, 0.5, 0.9]), batch)


def test_quantiles_cover_about_their_level() -> None:
    rng = np.random.default_rng(4)
    t = np.arange(24 * 60)
    y = 200.0 * (1.5 + np.sin(2 * np.pi * t / 24)) * rng.gamma(30.0, 1 / 30.0, t.size)
    model = HoltWinters((24,), max_horizon_steps=6, error_window_steps=24 * 20, min_history_steps=48)
    result = backtest(model, y, 24 * 40, (1, 6), (0.1, 0.5, 0.9), 24, 1)
    for per_level in result.coverage:
        assert 0.04 < per_level[0] < 0.17 and 0.83 < per_level[2] < 0.96


def _steady_load(rng: np.random.Generator, steps: int, level: float = 220.0, noise: float = 0.03) -> np.ndarray:
    """``steps`` minutes of a load with a slow daily-like wave and multiplicative noise."""
    t = np.arange(steps)
    return level * (1.0 + 0.2 * np.sin(2 * np.pi * t / 720)) * np.exp(noise * rng.standard_normal(steps))


def test_a_minute_of_zero_load_does_not_collapse_the_forecast() -> None:
    """The demo's case (seed 0, catalog at 4.70 h): every upstream pod OOM-killed, one minute of 0 req/s.
    Learned as is on the log scale and carried by the AR term, it forecast 0 while 225 req/s came back;
    the rebound then forecast 945."""
    rng = np.random.default_rng(5)
    y = _steady_load(rng, 300)
    model = HoltWinters((), max_horizon_steps=5, min_history_steps=120)
    state = model.fit(y[None, :240])
    state = model.update(state, y[None, 240:299])
    dropped = model.update(state, np.zeros((1, 1)))
    after_zero = model.predict(dropped, 5, [0.5, 0.95])[0]
    assert after_zero.min() > 0.6 * y[280:299].mean()
    rebound = model.predict(model.update(dropped, y[None, 299:300]), 5, [0.95])[0, :, 0]
    assert rebound.max() < 1.3 * y[280:300].max()


_SAMPLES = st.one_of(
    st.just(0.0),  # the flow stopped for a step
    st.just(np.nan),  # a missed scrape
    st.floats(0.0, 1.0),  # a drop, as a fraction of the usual load
    st.floats(1.0, 1e6),  # a spike (a retry storm; a broken counter)
)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), level=st.floats(0.5, 1e5), tail=st.lists(_SAMPLES, min_size=1, max_size=12))
def test_one_sample_lowers_the_forecast_at_most_k_sigma_below_the_base(seed: int, level: float,
                                                                        tail: list[float]) -> None:
    """Whatever a step brings, learning it lowers the forecast of every later step by at most
    ``(alpha + sum gamma + phi^h) k sigma`` below the base (level + seasons) that was expected there."""
    rng = np.random.default_rng(seed)
    model = HoltWinters((24,), max_horizon_steps=6, min_history_steps=48)
    state = model.fit(_steady_load(rng, 24 * 8, level, 0.05)[None, :])
    usual = level * np.exp(0.05 * rng.standard_normal(len(tail)))
    for k, factor in enumerate(tail):
        x = np.array([[np.nan if np.isnan(factor) else usual[k] * factor]])
        after = model.update(state, x)
        h = np.arange(1, 7)
        base = state.level[0] + state.seasonal[0][(state.steps + h) % 24, 0]  # the steps after x, before it
        z = np.log(model.predict(after, 6, [0.5])[0, :, 0] + state.offset[0])
        drop = (state.alpha[0] + state.gammas[0].sum() + state.phi[0] ** h) * holt_winters._CLIP * state.scale[0]
        median_error = after.error_quantiles[0, :6, list(LEVELS).index(0.5)]
        assert np.all(z >= base + median_error - drop - 1e-9)
        state = after


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**16), level=st.floats(0.5, 1e5),
       tail=st.lists(st.tuples(st.integers(50, 59), _SAMPLES), max_size=6))
def test_spikes_gaps_and_zeros_keep_the_forecast_finite_non_negative_and_near_recent_load(
    seed: int, level: float, tail: list[tuple[int, float]]
) -> None:
    """After any spikes, drops, zeros and gaps in the last ten minutes, every forecast quantile is
    finite and non-negative, the median never falls below 2/3 of the last hour's median load nor
    rises beyond 1.5 times its highest (on the log model's scale, load + c)."""
    rng = np.random.default_rng(seed)
    model = HoltWinters((), max_horizon_steps=10, min_history_steps=120)
    y = _steady_load(rng, 300, level)
    recent = y[240:].copy()
    for at, factor in tail:
        recent[at] = np.nan if np.isnan(factor) else recent[at] * factor
    state = model.update(model.fit(y[None, :240]), recent[None, :])
    out = model.predict(state, 10, [0.05, 0.5, 0.95])[0]
    assert np.all(np.isfinite(out)) and np.all(out >= 0.0)
    c = state.offset[0]
    assert np.nanmedian(recent) + c <= 1.5 * (out[:, 1].min() + c)
    assert out[:, 1].max() + c <= 1.5 * (np.nanmax(recent) + c)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), new_steps=st.integers(1, 4), horizon=st.integers(1, 6),
       gap=st.booleans())
def test_stacked_states_update_and_predict_exactly_as_each_alone(seed: int, new_steps: int, horizon: int,
                                                                  gap: bool) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(24 * 6 + new_steps)
    y = np.stack([s * (2 + np.sin(2 * np.pi * t / 24 + s)) * rng.gamma(20, 1 / 20, t.size)
                  for s in (1.0, 7.0, 300.0, 0.5)])
    if gap:
        y[1, -1] = np.nan  # one series misses the newest point, the others see it
    model = HoltWinters((12, 24), max_horizon_steps=6, min_history_steps=48)
    alone = [model.fit(y[i : i + 1, : -new_steps]) for i in range(len(y))]
    stacked = model.update(model.stack(alone), y[:, -new_steps:])
    together = model.predict(stacked, horizon, [0.1, 0.5, 0.95])
    for i, state in enumerate(alone):
        one = model.update(state, y[i : i + 1, -new_steps:])
        assert np.array_equal(model.predict(one, horizon, [0.1, 0.5, 0.95])[0], together[i])  # bit for bit
        cut = model.unstack(stacked)[i]
        assert np.array_equal(cut.level, one.level) and np.array_equal(cut.residual, one.residual)
        assert all(np.array_equal(a, b) for a, b in zip(cut.seasonal, one.seasonal))


def test_unstacked_states_stack_back_without_a_copy_and_unlike_clocks_do_not_stack() -> None:
    t = np.arange(24 * 6)
    y = np.stack([10 + 5 * np.sin(2 * np.pi * t / 24), 50 + 9 * np.cos(2 * np.pi * t / 24)])
    model = HoltWinters((24,), max_horizon_steps=6, min_history_steps=48)
    whole = model.fit(y)
    parts = model.unstack(whole)
    assert model.stack_key(parts[0]) == model.stack_key(parts[1]) == ((24,), y.shape[1])
    again = model.stack(parts)
    assert again.level is whole.level and again.seasonal[0] is whole.seasonal[0]
    reordered = model.stack(parts[::-1])  # not the whole in order: a copy, rows swapped
    assert not np.shares_memory(reordered.level, whole.level)
    assert np.array_equal(reordered.level, whole.level[::-1])
    assert not reordered.level.flags.writeable
    later = model.update(parts[0], y[:1, -2:])
    with pytest.raises(ValueError, match="share"):
        model.stack([later, parts[1]])
