"""statsforecast behind the forecaster protocol: the same shapes and promises as Foresight's own.

Runs where the ``statsforecast`` extra is installed; CI installs it in its own venv and sets
FORESIGHT_REQUIRE_STATSFORECAST=1, which turns its absence into a failure.
"""

from __future__ import annotations


import numpy as np
import pytest

from foresight.adapters.statsforecast import StatsforecastForecaster
from foresight.errors import ConfigError
from foresight.forecast import HistoryTooShort

LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)


pytestmark = pytest.mark.usefixtures("statsforecast_installed")


def daily(days: int, period: int = 48, seed: int = 0) -> np.ndarray:
    """A noisy daily cycle of ``period`` steps a day."""
    t = np.arange(days * period)
    return 100.0 * (1.5 + np.sin(2 * np.pi * t / period)) * np.random.default_rng(seed).gamma(200.0, 1 / 200.0, t.size)


@pytest.mark.parametrize("name", ["sf-autoets", "sf-autoarima", "sf-autotheta", "sf-mstl"])
def test_every_model_forecasts_quantiles_in_order(name: str) -> None:
    y = daily(6)
    model = StatsforecastForecaster(name, (48,), 6, 2 * 48)
    state = model.fit(y[None, :-6])
    out = model.predict(state, 6, LEVELS)
    assert out.shape == (1, 6, len(LEVELS))
    assert np.all(np.diff(out, axis=2) >= 0) and np.all(out >= 0)
    assert np.all(out[..., 0] < out[..., -1])  # intervals have width


def test_a_seasonal_model_follows_the_cycle() -> None:
    y = daily(6)
    model = StatsforecastForecaster("sf-autotheta", (48,), 12, 4 * 48)
    state = model.fit(y[None, : 5 * 48])
    median = model.predict(state, 12, [0.5])[0, :, 0]
    truth = 100.0 * (1.5 + np.sin(2 * np.pi * np.arange(5 * 48, 5 * 48 + 12) / 48))
    assert np.mean(np.abs(median - truth)) < 0.1 * truth.mean()


def test_update_keeps_the_window_and_the_fitted_model() -> None:
    y = daily(6)
    model = StatsforecastForecaster("sf-autoets", (48,), 6, 100)
    state = model.fit(y[None, :200])
    later = model.update(state, y[None, 200:230])
    assert later.models == state.models  # no refit between fits
    assert later.recent[0].size == 100 and np.array_equal(later.recent[0], y[130:230])
    assert state.recent[0].size == 100 and np.array_equal(state.recent[0], y[100:200])  # the old state unchanged


def test_gaps_hold_the_last_value() -> None:
    y = daily(4)
    y[[0, 50, 51, 120]] = np.nan
    model = StatsforecastForecaster("sf-autoets", (48,), 6, 4 * 48)
    state = model.fit(y[None, :])
    held = state.recent[0]
    assert np.isfinite(held).all()
    assert held[0] == y[1] and held[50] == held[51] == y[49] and held[120] == y[119]


def test_a_seasonal_model_needs_two_cycles_in_its_window() -> None:
    with pytest.raises(HistoryTooShort, match="sf-mstl needs at least 96"):
        StatsforecastForecaster("sf-mstl", (48,), 6, 80).fit(daily(3)[None, :])
    with pytest.raises(ConfigError, match="unknown statsforecast model"):
        StatsforecastForecaster("sf-prophet", (48,), 6, 80)
