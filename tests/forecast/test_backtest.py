"""The rolling-origin backtest scores honestly: no forecast sees its own future."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from foresight.forecast import SeasonalNaive, SeasonalNaiveState
from foresight.forecast.backtest import backtest, pinball_loss, rolling_forecasts, seasonal_scale


class SeenCounter:
    """A seasonal naive forecaster that notes how many points it had learned at each predict."""

    name = "seen-counter"
    max_horizon_steps = 8

    def __init__(self) -> None:
        self.inner = SeasonalNaive(4, self.max_horizon_steps)
        self.learned_at_predict: list[int] = []
        self.fitted_on: list[tuple[float, int]] = []  # the first value and the length of each fit's history

    def fit(self, history: np.ndarray) -> SeasonalNaiveState:
        self.fitted_on.append((float(history[0, 0]), history.shape[1]))
        return self.inner.fit(history)

    def update(self, state: SeasonalNaiveState, new: np.ndarray) -> SeasonalNaiveState:
        return self.inner.update(state, new)

    def predict(self, state: SeasonalNaiveState, horizon_steps: int, quantiles: Sequence[float]) -> np.ndarray:
        self.learned_at_predict.append(state.steps)
        return self.inner.predict(state, horizon_steps, quantiles)


def test_each_forecast_learns_exactly_the_points_before_its_origin() -> None:
    y = np.random.default_rng(0).gamma(5.0, 1.0, 200)
    spy = SeenCounter()
    result = backtest(spy, y, 100, (1, 8), (0.5,), 4, 7)
    assert spy.learned_at_predict == list(range(100, 200 - 8 + 1, 7))
    assert result.origins == len(spy.learned_at_predict)


def test_refits_see_only_the_lookback_before_their_origin() -> None:
    y = np.arange(200.0)  # each value is its own index: a fit's first value says where its history began
    spy = SeenCounter()
    origins, _ = rolling_forecasts(spy, y, 100, 8, (0.5,), 7, refit_every=30, lookback=40)
    assert origins.tolist() == list(range(100, 193, 7))
    # fits at 100, then at the first origins 30 steps later or more: 135, 170 (then no origin is 30 past)
    assert spy.fitted_on == [(60.0, 40), (95.0, 40), (130.0, 40)]
    latest_start = [60 if o < 135 else 95 if o < 170 else 130 for o in origins]  # where the last fit began
    assert spy.learned_at_predict == [o - start for o, start in zip(origins, latest_start)]
    spy = SeenCounter()
    rolling_forecasts(spy, y, 100, 8, (0.5,), 7)
    assert spy.fitted_on == [(0.0, 100)]  # no refit, all of the history


def test_future_values_do_not_change_earlier_forecasts() -> None:
    y = np.random.default_rng(1).gamma(5.0, 1.0, 200)
    changed = y.copy()
    changed[150:] *= 10.0
    a = backtest(SeasonalNaive(4, 8), y, 100, (1,), (0.5,), 4, 1)
    b = backtest(SeasonalNaive(4, 8), changed, 100, (1,), (0.5,), 4, 50)
    assert a.origins == 100 and b.origins == 2
    spy_a, spy_b = SeenCounter(), SeenCounter()
    backtest(spy_a, y[:150], 100, (1,), (0.5,), 4, 1)
    backtest(spy_b, changed[:150], 100, (1,), (0.5,), 4, 1)
    assert spy_a.learned_at_predict == spy_b.learned_at_predict


def test_seasonal_naive_on_a_periodic_series_scores_zero() -> None:
    y = np.tile([1.0, 5.0, 2.0, 8.0], 50) + np.repeat([0.0, 1.0], 100)  # a level step in training
    result = backtest(SeasonalNaive(4, 8), y, 120, (1, 4, 8), (0.1, 0.5, 0.9), 4, 3)
    assert result.mase == (0.0, 0.0, 0.0) and result.pinball == (0.0, 0.0, 0.0)
    assert all(c == (1.0, 1.0, 1.0) for c in result.coverage)


def test_gaps_in_the_targets_are_left_out() -> None:
    y = np.tile([1.0, 5.0, 2.0, 8.0], 50) + np.repeat([0.0, 1.0], 100)
    y[150:160] = np.nan
    result = backtest(SeasonalNaive(4, 8), y, 120, (1,), (0.5,), 4, 1)
    assert np.isfinite(result.mase[0]) and result.mase[0] == 0.0


def test_pinball_and_scale() -> None:
    assert pinball_loss(np.array([3.0]), np.array([[1.0, 5.0]]), np.array([0.25, 0.75])).tolist() == [[0.5, 0.5]]
    assert seasonal_scale(np.array([0.0, 1.0, 3.0, 1.0]), 1) == pytest.approx(5.0 / 3.0)
    with pytest.raises(ValueError, match="no seasonal variation"):
        seasonal_scale(np.ones(10), 2)
