"""statsforecast's models behind Foresight's forecaster protocol, so ``bench forecast`` can run the
field's standard (``AutoETS``, ``AutoARIMA``, ``AutoTheta``, ``MSTL``) on the same origins as its own.

statsforecast (the ``statsforecast`` extra, which needs ``pandas<3``: its own venv in CI) fits one
series at a time; a state holds each series' fitted model and its latest ``window_steps`` points.
``predict`` applies the fitted model to those points (``forward``: the parameters stay, the states
are filtered again) and asks it for the horizon, as the model would be run between two refits.
statsforecast takes no gaps, so a gap holds the last value seen (the first value before it).
Its prediction intervals are symmetric around the mean: quantile ``tau`` is the lower or upper
bound of the ``|200 tau - 100|`` % interval, the median the mean.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from foresight.errors import ConfigError
from foresight.forecast.protocol import HistoryTooShort, as_history, check_request

__all__ = ["INSTALL", "STATSFORECAST_MODELS", "StatsforecastForecaster", "StatsforecastState", "available"]

INSTALL = "pip install 'statsforecast==2.1.1' 'pandas<3'   (or: pip install -e '.[statsforecast]')"


def available() -> bool:
    """Whether statsforecast can be imported here."""
    return importlib.util.find_spec("statsforecast") is not None


def _auto_ets(seasons: tuple[int, ...]) -> Any:
    from statsforecast.models import AutoETS

    return AutoETS(season_length=1)  # ETS seasons longer than 24 steps are not fitted by statsforecast


def _auto_arima(seasons: tuple[int, ...]) -> Any:
    from statsforecast.models import AutoARIMA

    return AutoARIMA(season_length=1)  # a seasonal difference of a day (1440 steps) is out of its reach


def _auto_theta(seasons: tuple[int, ...]) -> Any:
    from statsforecast.models import AutoTheta

    return AutoTheta(season_length=seasons[0])


def _mstl(seasons: tuple[int, ...]) -> Any:
    from statsforecast.models import MSTL, AutoETS

    return MSTL(season_length=list(seasons), trend_forecaster=AutoETS(model="ZZN"))


#: Name -> factory of the statsforecast model given the seasons (steps) the window holds twice.
STATSFORECAST_MODELS: dict[str, Callable[[tuple[int, ...]], Any]] = {
    "sf-autoets": _auto_ets,
    "sf-autoarima": _auto_arima,
    "sf-autotheta": _auto_theta,
    "sf-mstl": _mstl,
}


_SEASONAL = ("sf-autotheta", "sf-mstl")  # need two cycles of their shortest season in the window


@dataclass(frozen=True)
class StatsforecastState:
    """Per series its fitted model and its latest points (gaps held), oldest first."""

    models: tuple[Any, ...]
    recent: tuple[np.ndarray, ...]


class StatsforecastForecaster:
    """One statsforecast model per series, refitted by :meth:`fit`, run forward by :meth:`predict`."""

    def __init__(
        self, model: str, seasons_steps: Sequence[int], max_horizon_steps: int, window_steps: int
    ) -> None:
        if model not in STATSFORECAST_MODELS:
            raise ConfigError(f"unknown statsforecast model {model!r}; known: {list(STATSFORECAST_MODELS)}")
        if max_horizon_steps < 1 or window_steps < 2:
            raise ConfigError("StatsforecastForecaster: max_horizon_steps >= 1 and window_steps >= 2 are needed")
        self.name = model
        self.seasons_steps = tuple(sorted(set(seasons_steps)))
        self.max_horizon_steps = max_horizon_steps
        self.window_steps = window_steps

    def fit(self, history: np.ndarray) -> StatsforecastState:
        y = as_history(history)
        have = int(np.isfinite(y).sum(axis=1).min(initial=y.shape[1]))
        need = 2 * self.max_horizon_steps
        if have < need:
            raise HistoryTooShort(self.name, have, need)
        recent = tuple(_held(row[-self.window_steps :]) for row in y)
        seasons = tuple(m for m in self.seasons_steps if 2 * m <= min(self.window_steps, y.shape[1]))
        if self.name in _SEASONAL and not seasons:
            raise HistoryTooShort(self.name, min(self.window_steps, y.shape[1]), 2 * self.seasons_steps[0])
        models = [STATSFORECAST_MODELS[self.name](seasons).fit(row) for row in recent]
        return StatsforecastState(tuple(models), recent)

    def update(self, state: StatsforecastState, new: np.ndarray) -> StatsforecastState:
        y = as_history(new, "new")
        recent = tuple(
            _held(np.concatenate([old, row]))[-self.window_steps :] for old, row in zip(state.recent, y)
        )
        return StatsforecastState(state.models, recent)

    def predict(self, state: StatsforecastState, horizon_steps: int, quantiles: Sequence[float]) -> np.ndarray:
        levels = check_request(horizon_steps, quantiles, self.max_horizon_steps)
        widths = sorted({round(abs(200.0 * q - 100.0)) for q in levels} - {0})
        out = np.empty((len(state.models), horizon_steps, levels.size))
        for i, (model, row) in enumerate(zip(state.models, state.recent)):
            made = model.forward(y=row, h=horizon_steps, level=widths or None)
            for j, q in enumerate(levels):
                width = round(abs(200.0 * q - 100.0))
                key = "mean" if width == 0 else f"{'lo' if q < 0.5 else 'hi'}-{width}"
                out[i, :, j] = made[key]
        return np.maximum(np.sort(out, axis=2), 0.0)


def _held(row: np.ndarray) -> np.ndarray:
    """``row`` with each gap holding the last value before it (the first value, before any)."""
    seen = np.isfinite(row)
    if seen.all() or not seen.any():
        return np.nan_to_num(row)
    index = np.where(seen, np.arange(row.size), 0)
    np.maximum.accumulate(index, out=index)
    held = row[index]
    held[: np.argmax(seen)] = row[np.argmax(seen)]
    return held
