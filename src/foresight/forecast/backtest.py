"""Rolling-origin backtest: every forecast made only from the points before its origin.

A model is fitted on ``y[:train_steps]``; then at each origin ``o`` (every ``origin_every`` steps
after that) it is updated with the points up to ``o`` and asked for the next steps. With
``refit_every`` it is fitted again from the points before ``o`` once that many steps have passed
since its last fit, and with ``lookback`` every fit sees only that many of the latest points: the
predictive policy refits daily from its lookback, and a model fitted once on a quiet month and
only updated through a surge is not the model the policy would have run. For each horizon ``h``
the forecasts of ``y[o + h - 1]`` are scored by

- MASE: mean absolute error of the median forecast divided by ``scale``, the mean absolute
  error of the seasonal naive rule *in-sample* (``|y[t] - y[t - m]|`` over the training part,
  ``m`` = one season); a model scores below 1 when it beats what seasonal naive did in-sample;
- pinball loss: the mean over origins and quantile levels ``tau`` of
  ``max(tau (y - q), (tau - 1)(y - q))``, divided by the same ``scale`` so traces compare;
- coverage: per level, the share of targets at or below the forecast quantile (calibrated
  quantiles cover their level).

Targets that are gaps (NaN) are left out of both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from foresight.forecast.protocol import Forecaster

__all__ = ["BacktestResult", "backtest", "pinball_loss", "rolling_forecasts", "score", "seasonal_scale"]


@dataclass(frozen=True)
class BacktestResult:
    """Scores per horizon (same order as the horizons asked for) over ``origins`` forecasts;
    ``coverage[i][j]`` is for horizon ``i`` and level ``j``."""

    horizons: tuple[int, ...]
    mase: tuple[float, ...]
    pinball: tuple[float, ...]
    coverage: tuple[tuple[float, ...], ...]
    origins: int


def seasonal_scale(train: np.ndarray, season_steps: int) -> float:
    """Mean absolute in-sample error of the seasonal naive rule (``y[t] - y[t - m]``).

    >>> seasonal_scale(np.array([1.0, 2.0, 4.0, 2.0, 3.0, 4.0]), 2)
    1.5
    """
    if train.size <= season_steps:
        raise ValueError(f"the training part ({train.size} steps) is not longer than one season ({season_steps})")
    scale = float(np.nanmean(np.abs(train[season_steps:] - train[:-season_steps])))
    if not scale > 0:
        raise ValueError(f"the training part has no seasonal variation to scale by (season {season_steps} steps)")
    return scale


def pinball_loss(actual: np.ndarray, forecast: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Pinball loss of quantile forecasts ``[..., Q]`` of ``actual`` ``[...]``, per level.

    >>> pinball_loss(np.array([10.0]), np.array([[8.0, 12.0]]), np.array([0.1, 0.9])).round(3)
    array([[0.2, 0.2]])
    """
    diff = actual[..., None] - forecast
    return np.maximum(levels * diff, (levels - 1.0) * diff)


def rolling_forecasts(
    model: Forecaster,
    y: np.ndarray,
    train_steps: int,
    longest: int,
    levels: Sequence[float],
    origin_every: int,
    refit_every: int | None = None,
    lookback: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The origins and the forecasts ``[origins, longest, levels]`` made at each (module docstring)."""
    origins = np.arange(train_steps, y.size - longest + 1, origin_every)
    first = 0 if lookback is None else max(0, train_steps - lookback)
    state = model.fit(y[None, first:train_steps])
    forecasts = np.empty((origins.size, longest, len(levels)))
    learned = fitted = train_steps
    for i, origin in enumerate(origins):
        if refit_every is not None and origin - fitted >= refit_every:
            first = 0 if lookback is None else max(0, int(origin) - lookback)
            state = model.fit(y[None, first:origin])
            learned = fitted = int(origin)
        if origin > learned:
            state = model.update(state, y[None, learned:origin])
            learned = int(origin)
        forecasts[i] = model.predict(state, longest, levels)[0]
    return origins, forecasts


def score(
    y: np.ndarray,
    origins: np.ndarray,
    forecasts: np.ndarray,
    horizons: Sequence[int],
    levels: Sequence[float],
    scale: float,
) -> BacktestResult:
    """MASE, pinball loss and coverage of ``forecasts`` made at ``origins`` (module docstring).

    ``levels`` must include 0.5 (the median is the point forecast MASE scores).
    """
    levels_arr = np.asarray(levels, dtype=np.float64)
    median = int(np.flatnonzero(levels_arr == 0.5)[0])
    mase, pinball, coverage = [], [], []
    for h in horizons:
        actual = y[origins + h - 1]
        seen = np.isfinite(actual)
        predicted = forecasts[seen, h - 1]
        mase.append(float(np.mean(np.abs(actual[seen] - predicted[:, median]))) / scale)
        pinball.append(float(np.mean(pinball_loss(actual[seen], predicted, levels_arr))) / scale)
        coverage.append(tuple(float(c) for c in np.mean(actual[seen, None] <= predicted, axis=0)))
    return BacktestResult(tuple(horizons), tuple(mase), tuple(pinball), tuple(coverage), int(origins.size))


def backtest(
    model: Forecaster,
    y: np.ndarray,
    train_steps: int,
    horizons: Sequence[int],
    levels: Sequence[float],
    season_steps: int,
    origin_every: int,
) -> BacktestResult:
    """Score ``model`` on the series ``y`` ``[T]`` from origin ``train_steps`` on (module docstring)."""
    scale = seasonal_scale(y[:train_steps], season_steps)
    origins, forecasts = rolling_forecasts(model, y, train_steps, max(horizons), levels, origin_every)
    return score(y, origins, forecasts, horizons, levels, scale)
