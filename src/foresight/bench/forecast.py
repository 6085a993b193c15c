"""``foresight bench forecast``: every forecaster backtested on real request-rate traces.

Each trace is read strictly (:func:`foresight.sim.trace.read_trace`), averaged onto a regular
grid at its own step or one minute, whichever is longer (the gaps a trace has stay NaN), and cut
to at most ``train_days`` of history plus a test part: the last ``test_days``, or a quarter of
the trace if shorter. Every model is then scored as :mod:`foresight.forecast.backtest` describes
(rolling origin every 15 minutes, each forecast from the points before its origin only) at
horizons of 1, 5, 15 and 30 minutes, rounded to the trace's step. Models are fitted again every
``refit_days`` from the latest ``lookback_days``, as the predictive policy refits daily from its
lookback. MASE is scaled by the in-sample error of the *daily* seasonal naive rule on the
training part, so seasonal naive itself scores about 1, and a model beats it where it scores lower.

Models: naive (last value), seasonal naive (a day ago), Holt-Winters (day and week, see
:mod:`foresight.forecast.holt_winters`), and where PyTorch is installed the LSTM
(:mod:`foresight.forecast.lstm`) and its ensemble with Holt-Winters
(:mod:`foresight.forecast.ensemble`). Where statsforecast is installed (the ``statsforecast``
extra) its ``AutoETS``, ``AutoARIMA``, ``AutoTheta`` and ``MSTL`` run on the same origins
(:mod:`foresight.adapters.statsforecast`), each refitted on the same days from its own window:
the last day for the non-seasonal ETS and ARIMA, two days (two daily cycles) for Theta and MSTL.
Their fits grow steeply with the window (AutoARIMA took 9 s on a day of minutes and 4 minutes on
a week here), and MSTL's forecast decomposes the window again at every origin (9 s on two days).
Each row carries the seconds its model took on the trace (fits, updates and forecasts) and per
forecast. The summary is the geometric mean over the traces every model scored (scores are ratios,
and one wild trace should not decide an arithmetic mean), and for each model the number of traces
where it beat seasonal naive.

Settings were chosen on the declared development traces (:data:`DEVELOPMENT_TRACES`): refitting
daily from the last 7 days (against 14, and against one fit on 21 days and no refit, the old
protocol under which Holt-Winters trailed worldcup98's surge at 1.71 MASE a minute ahead). The
other traces are held out.
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from foresight.adapters.statsforecast import INSTALL as STATSFORECAST_INSTALL
from foresight.adapters.statsforecast import available as statsforecast_available
from foresight.bench.progress import Progress, part, silent
from foresight.errors import ConfigError, InputError
from foresight.forecast import Forecaster, HistoryTooShort, HoltWinters, SeasonalNaive
from foresight.forecast.backtest import (
    BacktestResult,
    rolling_forecasts,
    score,
    seasonal_scale,
)
from foresight.forecast.prepare import to_grid
from foresight.sim.trace import read_trace

__all__ = [
    "BUILTIN_TRACES",
    "DEVELOPMENT_TRACES",
    "ENSEMBLES",
    "MODELS",
    "TraceWindow",
    "available_models",
    "bench_forecast",
    "load_trace",
]

HORIZONS_MIN = (1, 5, 15, 30)
LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)
DAY_S = 86400.0


@dataclass(frozen=True)
class TraceWindow:
    """A trace file (relative to the data folder, or absolute) and optionally a UTC date window."""

    name: str
    path: str
    start: str | None = None
    end: str | None = None


BUILTIN_TRACES = (
    TraceWindow("nasa-http", "traces/nasa-http-1995/requests_per_minute.csv"),
    # Across the tournament's start (a level shift inside the test week), and inside it.
    TraceWindow("worldcup98-start", "traces/worldcup98/invocation_count.csv", "1998-05-20", "1998-06-17"),
    TraceWindow("worldcup98-groups", "traces/worldcup98/invocation_count.csv", "1998-05-27", "1998-06-24"),
    *(TraceWindow(f"crane-input{i}", f"traces/crane-dsp-production/input{i}.csv") for i in range(16)),
    TraceWindow("nab-elb-requests", "nab/data/realAWSCloudwatch/elb_request_count_8c0756.csv"),
)

#: The traces settings (the refit protocol, Holt-Winters' choices) were chosen on; the rest are held out.
DEVELOPMENT_TRACES = ("nasa-http", "worldcup98-start", *(f"crane-input{i}" for i in range(8)))


def _lstm(day: int, week: int, horizon: int) -> Forecaster:
    from foresight.forecast.lstm import LstmForecaster

    return LstmForecaster(seasons_steps=(day,), max_horizon_steps=horizon)


def _statsforecast(name: str, days: int) -> Callable[[int, int, int], Forecaster]:
    def make(day: int, week: int, horizon: int) -> Forecaster:
        from foresight.adapters.statsforecast import StatsforecastForecaster

        return StatsforecastForecaster(name, (day, week), horizon, days * day)

    return make


#: Model name -> factory(day_steps, week_steps, max_horizon_steps).
MODELS: dict[str, Callable[[int, int, int], Forecaster]] = {
    "naive": lambda day, week, h: SeasonalNaive(1, h),
    "seasonal-naive": lambda day, week, h: SeasonalNaive(day, h),
    "holt-winters": lambda day, week, h: HoltWinters((day, week), h, error_window_steps=7 * day),
    "lstm": _lstm,
    "sf-autoets": _statsforecast("sf-autoets", 1),
    "sf-autoarima": _statsforecast("sf-autoarima", 1),
    "sf-autotheta": _statsforecast("sf-autotheta", 2),
    "sf-mstl": _statsforecast("sf-mstl", 2),
}

#: Ensemble name -> members. Its forecasts are the mean of the members' quantiles, which is what
#: :class:`~foresight.forecast.ensemble.Ensemble` predicts; the bench averages the forecasts the
#: members already made rather than training them again.
ENSEMBLES: dict[str, tuple[str, ...]] = {"holt-winters+lstm": ("holt-winters", "lstm")}


def available_models() -> list[str]:
    """The models that can run here (the LSTM needs PyTorch, the sf- models statsforecast)."""
    torch = importlib.util.find_spec("torch") is not None
    statsforecast = statsforecast_available()
    return [name for name in [*MODELS, *ENSEMBLES]
            if ("lstm" not in name or torch) and (not name.startswith("sf-") or statsforecast)]


def load_trace(window: TraceWindow, data_dir: Path) -> tuple[np.ndarray, float]:
    """The trace's load on a regular grid (NaN where no sample fell) and the grid step."""
    path = Path(window.path) if Path(window.path).is_absolute() else data_dir / window.path
    times, values = read_trace(path)
    step = max(60.0, float(np.median(np.diff(times))))
    lo = _utc(window.start) if window.start else times[0]
    hi = _utc(window.end) if window.end else times[-1] + step
    start = math.floor(lo / step) * step
    grid = to_grid(times, values, step, start, hi)
    if not np.isfinite(grid).any():
        raise InputError(f"{path}: no samples between {window.start} and {window.end}")
    return grid, step


def bench_forecast(
    traces: Sequence[TraceWindow] = BUILTIN_TRACES,
    data_dir: Path = Path("..") / "shared" / "data",
    models: Sequence[str] | None = None,
    train_days: float = 21.0,
    test_days: float = 7.0,
    progress: Progress = silent,
    refit_days: float = 1.0,
    lookback_days: float = 7.0,
) -> dict[str, object]:
    """Backtest ``models`` on ``traces``; per trace and model the scores (or why it was skipped),
    and per model and horizon the mean over the traces every model could score. ``progress`` hears
    each model's backtest on each trace (each trace an equal part)."""
    chosen = list(models or available_models())
    unknown = [m for m in chosen if m not in MODELS and m not in ENSEMBLES]
    if unknown:
        raise ConfigError(f"unknown model(s) {unknown}; known: {[*MODELS, *ENSEMBLES]}")
    if any(name.startswith("sf-") for name in chosen) and not statsforecast_available():
        raise ConfigError(f"statsforecast is not installed in this environment: {STATSFORECAST_INSTALL}")
    if not refit_days > 0 or not lookback_days > 0:
        raise ConfigError("bench forecast: refit_days and lookback_days must be positive")
    protocol = (refit_days, lookback_days)
    singles = list(dict.fromkeys(m for name in chosen for m in ENSEMBLES.get(name, (name,))))
    rows = [row for i, w in enumerate(traces)
            for row in _bench_trace(w, data_dir, chosen, singles, train_days, test_days, protocol,
                                    part(progress, i, len(traces)))]
    summary = _summary(rows, chosen)
    return {"horizons_min": list(HORIZONS_MIN), "levels": list(LEVELS), "refit_days": refit_days,
            "lookback_days": lookback_days, "development_traces": list(DEVELOPMENT_TRACES), "results": rows,
            "summary": summary}


def _bench_trace(
    window: TraceWindow, data_dir: Path, chosen: list[str], singles: list[str], train_days: float, test_days: float,
    protocol: tuple[float, float], progress: Progress,
) -> list[dict[str, object]]:
    """One row per chosen model: its scores on this trace, or why it was skipped."""
    y, step = load_trace(window, data_dir)
    day, week = round(DAY_S / step), round(7 * DAY_S / step)
    test = min(round(test_days * DAY_S / step), y.size // 4)
    y = y[-(test + round(train_days * DAY_S / step)) :]
    horizons = tuple(sorted({max(1, round(h * 60 / step)) for h in HORIZONS_MIN}))
    every = max(1, round(900 / step))
    base = {"trace": window.name, "step_s": step, "held_out": window.name not in DEVELOPMENT_TRACES}
    refit, lookback = (max(1, round(days * DAY_S / step)) for days in protocol)
    if y.size - test <= day:
        return [{**base, "model": name, "skipped": "the training part is shorter than one day: no daily scale"}
                for name in chosen]
    scale = seasonal_scale(y[: y.size - test], day)
    made: dict[str, tuple[np.ndarray, np.ndarray, float] | str] = {}
    for k, name in enumerate(singles):
        progress(f"{window.name}: {name}", k / len(singles))
        began = time.perf_counter()
        try:
            model = MODELS[name](day, week, max(horizons))
            origins, forecasts = rolling_forecasts(model, y, y.size - test, max(horizons), LEVELS, every, refit,
                                                   lookback)
        except HistoryTooShort as exc:
            made[name] = str(exc)
        else:
            made[name] = (origins, forecasts, time.perf_counter() - began)
    rows: list[dict[str, object]] = []
    for name in chosen:
        members = [made[m] for m in ENSEMBLES.get(name, (name,))]
        runs = [m for m in members if not isinstance(m, str)]
        if len(runs) < len(members):
            rows.append({**base, "model": name, "skipped": next(m for m in members if isinstance(m, str))})
            continue
        forecasts = np.mean([r[1] for r in runs], axis=0)
        result = score(y, runs[0][0], forecasts, horizons, LEVELS, scale)
        seconds = sum(r[2] for r in runs)
        rows.append({**base, "model": name, **_scores(result, step), "seconds": round(seconds, 2),
                     "ms_per_forecast": round(1000 * seconds / max(result.origins, 1), 3)})
    return rows


def _scores(result: BacktestResult, step: float) -> dict[str, object]:
    minutes = [round(h * step / 60) for h in result.horizons]
    return {
        "origins": result.origins,
        "mase": dict(zip(map(str, minutes), result.mase)),
        "pinball": dict(zip(map(str, minutes), result.pinball)),
        "coverage_q90": dict(zip(map(str, minutes), (c[LEVELS.index(0.9)] for c in result.coverage))),
    }


def _summary(rows: list[dict[str, object]], models: list[str]) -> dict[str, object]:
    """Geometric means per model and horizon over the traces every model scored, and wins."""
    scored: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for row in rows:
        if "mase" in row:
            scored.setdefault(str(row["trace"]), {})[str(row["model"])] = row  # type: ignore[assignment]
    complete = sorted(t for t, by_model in scored.items() if set(models) <= set(by_model))
    summary: dict[str, object] = {"traces": complete}
    for metric in ("mase", "pinball"):
        summary[metric] = {
            model: {
                minutes: float(np.exp(np.mean([np.log(max(scored[t][model][metric][minutes], 1e-12))
                                               for t in complete if minutes in scored[t][model][metric]])))
                for minutes in map(str, HORIZONS_MIN)
                if any(minutes in scored[t][model][metric] for t in complete)
            }
            for model in models
        }
    if "seasonal-naive" in models:
        summary["beats_seasonal_naive"] = {
            model: {
                minutes: sum(
                    scored[t][model]["mase"][minutes] < scored[t]["seasonal-naive"]["mase"][minutes]
                    for t in complete if minutes in scored[t][model]["mase"]
                )
                for minutes in map(str, HORIZONS_MIN)
            }
            for model in models
        }
    return summary


def _utc(day: str) -> float:
    try:
        return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise InputError(f"trace window: {day!r} is not an ISO date such as 1998-06-10") from None

