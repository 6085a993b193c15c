"""The LSTM is optional: the package imports without PyTorch, and with it the network learns."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from foresight.forecast import SeasonalNaive
from foresight.forecast.backtest import backtest


def test_the_forecast_package_does_not_import_torch() -> None:
    code = "import sys, foresight.forecast, foresight.autoscale.predictive; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_it_learns_a_noisy_cycle_better_than_naive() -> None:
    pytest.importorskip("torch")
    from foresight.forecast import LstmForecaster

    rng = np.random.default_rng(0)
    t = np.arange(48 * 40)
    y = 100.0 * (1.6 + np.sin(2 * np.pi * t / 48)) * rng.gamma(100.0, 1 / 100.0, t.size)
    model = LstmForecaster(seasons_steps=(48,), max_horizon_steps=8, window_steps=24, hidden=16,
                           train_steps=300, min_history_steps=96)
    lstm = backtest(model, y, 48 * 32, (8,), (0.1, 0.5, 0.9), 48, 5)
    naive = backtest(SeasonalNaive(1, 8), y, 48 * 32, (8,), (0.1, 0.5, 0.9), 48, 5)
    assert lstm.mase[0] < 0.8 * naive.mase[0]
    assert lstm.pinball[0] < 0.8 * naive.pinball[0]
    assert 0.75 < lstm.coverage[0][2] <= 1.0 and lstm.coverage[0][0] < 0.25
