"""Seasonal naive: the next season repeats the last one; the baseline every model must beat.

With season ``m`` (in steps), the forecast ``h`` steps after the last point ``y[t]`` is

    y_hat[t + h] = y[t + h - m * ceil(h / m)]

(``m = 1`` is the plain naive forecast, "the last value stays"). A gap at some phase keeps the
value seen one season before; a phase never seen uses the last value seen at all. Quantiles add
the empirical quantiles of this very rule's ``h``-step errors on the history
(:mod:`foresight.forecast.quantiles`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from foresight.errors import ConfigError
from foresight.forecast.protocol import (
    HistoryTooShort,
    as_history,
    check_request,
    read_only,
)
from foresight.forecast.quantiles import add_quantiles, error_table

__all__ = ["SeasonalNaive", "SeasonalNaiveState"]


@dataclass(frozen=True)
class SeasonalNaiveState:
    """What :class:`SeasonalNaive` learned: the last season, per phase (read-only arrays)."""

    last_season: np.ndarray  # [N, m]: slot t % m holds the latest value seen at that phase
    last: np.ndarray  # [N]: the latest finite value, for phases never seen
    steps: int  # points learned so far; the next point has index ``steps``
    error_quantiles: np.ndarray  # [N, H, K] h-step errors at quantiles.LEVELS


class SeasonalNaive:
    """``y_hat[t + h] = y[t + h - m ceil(h/m)]``, with quantiles from its own ``h``-step errors.

    >>> model = SeasonalNaive(season_steps=4, max_horizon_steps=6)
    >>> state = model.fit(np.array([[1.0, 2.0, 3.0, 4.0] * 3]))
    >>> model.predict(state, 6, [0.5])[0, :, 0]
    array([1., 2., 3., 4., 1., 2.])
    """

    def __init__(self, season_steps: int = 1440, max_horizon_steps: int = 60, error_window_steps: int = 10080) -> None:
        if season_steps < 1 or max_horizon_steps < 1 or error_window_steps < 1:
            raise ConfigError("SeasonalNaive: season_steps, max_horizon_steps and error_window_steps must be >= 1")
        self.season_steps = season_steps
        self.max_horizon_steps = max_horizon_steps
        self.error_window_steps = error_window_steps
        self.name = "naive" if season_steps == 1 else "seasonal-naive"

    def fit(self, history: np.ndarray) -> SeasonalNaiveState:
        y = as_history(history)
        m, horizon = self.season_steps, self.max_horizon_steps
        have = int(np.isfinite(y).sum(axis=1).min(initial=y.shape[1]))
        if have < m + horizon:
            raise HistoryTooShort(self.name, have, m + horizon)
        filled = _fill_from_last_season(y, m)
        errors = np.full((y.shape[0], horizon, self.error_window_steps), np.nan)
        for h in range(1, horizon + 1):
            lag = m * -(-h // m)
            first = max(lag, y.shape[1] - self.error_window_steps)
            scored = y[:, first:] - filled[:, first - lag : y.shape[1] - lag]
            errors[:, h - 1, : scored.shape[1]] = scored
        last_season, last, table = read_only(_ring(filled[:, -m:], y.shape[1], m), _last_finite(y), error_table(errors))
        return SeasonalNaiveState(last_season, last, y.shape[1], table)

    def update(self, state: SeasonalNaiveState, new: np.ndarray) -> SeasonalNaiveState:
        y = as_history(new, "new")
        m = self.season_steps
        last_season = state.last_season.copy()
        for i in range(y.shape[1]):
            slot, column = (state.steps + i) % m, y[:, i]
            last_season[:, slot] = np.where(np.isnan(column), last_season[:, slot], column)
        latest = _last_finite(y)
        last_season, last = read_only(last_season, np.where(np.isnan(latest), state.last, latest))
        return SeasonalNaiveState(last_season, last, state.steps + y.shape[1], state.error_quantiles)

    def predict(self, state: SeasonalNaiveState, horizon_steps: int, quantiles: Sequence[float]) -> np.ndarray:
        levels = check_request(horizon_steps, quantiles, self.max_horizon_steps)
        slots = (state.steps + np.arange(horizon_steps)) % self.season_steps
        point = state.last_season[:, slots]
        point = np.where(np.isnan(point), state.last[:, None], point)
        return np.maximum(add_quantiles(point, state.error_quantiles[:, :horizon_steps], levels), 0.0)


def _fill_from_last_season(y: np.ndarray, m: int) -> np.ndarray:
    """``y`` with each gap replaced by the value one season earlier (itself filled), NaN if none."""
    filled = y.copy()
    for start in range(m, y.shape[1], m):
        block = filled[:, start : start + m]
        previous = filled[:, start - m : start - m + block.shape[1]]
        np.copyto(block, previous, where=np.isnan(block))
    return filled


def _ring(tail: np.ndarray, steps: int, m: int) -> np.ndarray:
    """The last ``m`` values ``tail`` (indices ``steps - m ... steps - 1``) placed at slot ``index % m``."""
    return np.roll(tail, steps % m, axis=1)


def _last_finite(y: np.ndarray) -> np.ndarray:
    """Per row, the last finite value (NaN for a row without any)."""
    finite = np.isfinite(y)
    index = y.shape[1] - 1 - np.argmax(finite[:, ::-1], axis=1)
    return np.where(finite.any(axis=1), y[np.arange(y.shape[0]), index], np.nan)

