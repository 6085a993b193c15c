"""``foresight bench forecast``: backtests on trace files, JSON and tables, clear input errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import foresight.cli.forecast  # noqa: F401  (registers the command)
from foresight.bench import forecast as bench
from foresight.bench.forecast import BUILTIN_TRACES, TraceWindow, bench_forecast, load_trace
from foresight.cli.app import app
from foresight.errors import ConfigError, InputError
from foresight.forecast import HoltWinters, SeasonalNaive
from foresight.forecast.backtest import rolling_forecasts, score, seasonal_scale
from foresight.forecast.ensemble import Ensemble

BASELINES = ["naive", "seasonal-naive", "holt-winters"]


@pytest.fixture(name="trace")
def trace_fixture(tmp_path: Path) -> Path:
    """Three weeks of a noisy daily cycle at 5-minute steps, with two missing rows."""
    t = 1_600_000_000 + 300 * np.arange(21 * 288)
    rng = np.random.default_rng(0)
    load = 500.0 * (1.5 + np.sin(2 * np.pi * t / 86400.0)) * rng.gamma(50.0, 1 / 50.0, t.size)
    keep = np.ones(t.size, bool)
    keep[[1000, 5000]] = False
    path = tmp_path / "api.csv"
    path.write_text("ts,value\n" + "".join(f"{a},{b:.3f}\n" for a, b in zip(t[keep], load[keep])))
    return path


def test_scores_every_model_at_every_horizon(trace: Path) -> None:
    figures = bench_forecast([TraceWindow("api", str(trace))], models=BASELINES, test_days=3)
    rows = {r["model"]: r for r in figures["results"]}
    assert set(rows) == set(BASELINES)
    for row in rows.values():
        assert row["step_s"] == 300.0 and row["origins"] == (3 * 288 - 6) // 3 + 1
        assert list(row["mase"]) == ["5", "15", "30"]  # 1 minute rounds up to one 5-minute step
    assert rows["holt-winters"]["mase"]["5"] < 0.95 * rows["seasonal-naive"]["mase"]["5"]
    summary = figures["summary"]
    assert summary["traces"] == ["api"]
    assert summary["mase"]["holt-winters"]["5"] == pytest.approx(rows["holt-winters"]["mase"]["5"])
    assert summary["beats_seasonal_naive"]["holt-winters"]["5"] == 1


def test_an_ensemble_row_is_the_ensemble_forecaster(trace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(bench.ENSEMBLES, "hw+sn", ("holt-winters", "seasonal-naive"))
    figures = bench_forecast([TraceWindow("api", str(trace))], models=["hw+sn"], test_days=3)
    y, _ = load_trace(TraceWindow("api", str(trace)), Path("."))
    model = Ensemble([HoltWinters((288, 2016), 6, error_window_steps=7 * 288), SeasonalNaive(288, 6)])
    train = y.size - 3 * 288
    # refitted daily from the last 7 days, as the bench does by default
    origins, forecasts = rolling_forecasts(model, y, train, 6, bench.LEVELS, 3, refit_every=288, lookback=7 * 288)
    direct = score(y, origins, forecasts, (1, 3, 6), bench.LEVELS, seasonal_scale(y[:train], 288))
    assert list(figures["results"][0]["mase"].values()) == pytest.approx(list(direct.mase))
    assert figures["refit_days"] == 1.0 and figures["lookback_days"] == 7.0


def test_refitting_follows_a_surge_that_one_fit_trails(tmp_path: Path) -> None:
    """The worldcup98 failure in small: a quiet fortnight, then the load grows tenfold over the test
    days. Fitted once, Holt-Winters learns the surge only through its update; refitted daily it is
    fitted on the surge itself."""
    t = 1_600_000_000 + 300 * np.arange(21 * 288)
    rng = np.random.default_rng(3)
    growth = np.where(t - t[0] < 16 * 86400, 1.0, 10.0 ** ((t - t[0] - 16 * 86400) / (5 * 86400)))
    load = 100.0 * growth * (1.5 + np.sin(2 * np.pi * t / 86400.0)) * rng.gamma(50.0, 1 / 50.0, t.size)
    path = tmp_path / "surge.csv"
    path.write_text("ts,value\n" + "".join(f"{a},{b:.3f}\n" for a, b in zip(t, load)))
    window = [TraceWindow("surge", str(path))]
    once = bench_forecast(window, models=["holt-winters"], test_days=5, refit_days=30.0, lookback_days=30.0)
    daily = bench_forecast(window, models=["holt-winters"], test_days=5)
    assert daily["results"][0]["mase"]["30"] < once["results"][0]["mase"]["30"]


def test_a_statsforecast_model_without_statsforecast_says_how_to_install(
    trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "statsforecast_available", lambda: False)
    assert not any(name.startswith("sf-") for name in bench.available_models())
    with pytest.raises(ConfigError, match=r"statsforecast is not installed.*pip install 'statsforecast==2.1.1'"):
        bench_forecast([TraceWindow("api", str(trace))], models=["sf-autoets"])


def test_protocol_settings_must_be_positive(trace: Path) -> None:
    with pytest.raises(ConfigError, match="refit_days and lookback_days must be positive"):
        bench_forecast([TraceWindow("api", str(trace))], models=["naive"], refit_days=0.0)


def test_too_short_a_trace_is_reported_as_skipped(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("timestamp,value\n" + "".join(f"{60 * i},{i % 7}\n" for i in range(600)))
    rows = bench_forecast([TraceWindow("short", str(path))], models=["naive", "holt-winters"])["results"]
    assert all("shorter than one day" in r["skipped"] for r in rows)  # no daily scale for MASE
    path.write_text("timestamp,value\n" + "".join(f"{60 * i},{i % 7}\n" for i in range(1950)))  # learn 1463
    rows = bench_forecast([TraceWindow("short", str(path))], models=["seasonal-naive", "holt-winters"])["results"]
    assert "seasonal-naive needs at least 1470 usable points" in rows[0]["skipped"]
    assert "mase" in rows[1]


def test_bad_input_names_the_file_line_and_model(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,value\n0,1\n60,oops\n")
    with pytest.raises(InputError, match=r"bad.csv:3: value 'oops' is not a number"):
        bench_forecast([TraceWindow("bad", str(path))], models=["naive"])
    with pytest.raises(ConfigError, match="unknown model"):
        bench_forecast([TraceWindow("bad", str(path))], models=["prophet"])


def test_command_line_json_and_tables(trace: Path) -> None:
    runner = CliRunner()
    args = ["bench", "forecast", "--trace", str(trace), "--model", "seasonal-naive", "--model", "holt-winters",
            "--test-days", "3"]
    out = runner.invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["summary"]["traces"] == ["api"]
    table = runner.invoke(app, args, terminal_width=120)
    assert table.exit_code == 0, table.output
    assert "MASE, geometric mean over 1 traces" in table.output and "holt-winters" in table.output


def test_builtin_windows_cut_and_grid_the_traces(shared_data: Path) -> None:
    start = next(w for w in BUILTIN_TRACES if w.name == "worldcup98-start")
    y, step = load_trace(start, shared_data)
    assert step == 60.0 and y.size == 28 * 1440 and np.isfinite(y).all()
    nab = next(w for w in BUILTIN_TRACES if w.name == "nab-elb-requests")
    y, step = load_trace(nab, shared_data)
    assert step == 300.0 and y.size >= 4032
