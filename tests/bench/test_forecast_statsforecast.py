"""``bench forecast`` runs statsforecast's models on the same origins as Foresight's (the
``statsforecast`` extra; FORESIGHT_REQUIRE_STATSFORECAST=1 makes its absence a failure)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from foresight.adapters.statsforecast import StatsforecastForecaster
from foresight.bench.forecast import LEVELS, TraceWindow, available_models, bench_forecast, load_trace
from foresight.forecast.backtest import rolling_forecasts, score, seasonal_scale

SF_MODELS = ["sf-autoets", "sf-autoarima", "sf-autotheta", "sf-mstl"]


pytestmark = pytest.mark.usefixtures("statsforecast_installed")


def test_statsforecast_models_score_on_the_same_origins(tmp_path: Path) -> None:
    t = 1_600_000_000 + 900 * np.arange(10 * 96)  # ten days at 15-minute steps
    load = 300.0 * (1.5 + np.sin(2 * np.pi * t / 86400.0)) * np.random.default_rng(0).gamma(50.0, 1 / 50.0, t.size)
    path = tmp_path / "api.csv"
    path.write_text("ts,value\n" + "".join(f"{a},{b:.3f}\n" for a, b in zip(t, load)))
    assert set(SF_MODELS) <= set(available_models())
    figures = bench_forecast([TraceWindow("api", str(path))], models=["seasonal-naive", *SF_MODELS], test_days=2)
    rows = {r["model"]: r for r in figures["results"]}
    assert set(rows) == {"seasonal-naive", *SF_MODELS}
    origins = rows["seasonal-naive"]["origins"]
    for name in SF_MODELS:
        assert rows[name]["origins"] == origins, name
        assert list(rows[name]["mase"]) == ["15", "30"] and rows[name]["seconds"] > 0, name
        assert rows[name]["ms_per_forecast"] > 0
        assert rows[name]["mase"]["15"] < 1.5, name  # near seasonal naive on a clean cycle, not wild
    # the row is the adapter run by the bench's protocol: refitted daily on its own window (a day for ETS)
    y, _ = load_trace(TraceWindow("api", str(path)), Path("."))
    train = y.size - 2 * 96
    model = StatsforecastForecaster("sf-autoets", (96, 672), 2, 96)
    origins, forecasts = rolling_forecasts(model, y, train, 2, LEVELS, 1, refit_every=96, lookback=7 * 96)
    direct = score(y, origins, forecasts, (1, 2), LEVELS, seasonal_scale(y[:train], 96))
    assert list(rows["sf-autoets"]["mase"].values()) == pytest.approx(list(direct.mase))
