"""Load forecasters: one protocol (fit / update / predict quantiles), vectorised over series.

``SeasonalNaive``, ``HoltWinters`` and ``Ensemble`` need numpy only; ``LstmForecaster`` needs
PyTorch (the ``torch`` extra) and is imported on first use (``foresight.forecast.LstmForecaster``;
it is left out of ``__all__`` so that a star import never needs PyTorch).
"""

from __future__ import annotations

from typing import Any

from foresight.forecast.ensemble import Ensemble
from foresight.forecast.holt_winters import HoltWinters, HoltWintersState
from foresight.forecast.naive import SeasonalNaive, SeasonalNaiveState
from foresight.forecast.protocol import Forecaster, HistoryTooShort

__all__ = [
    "Ensemble",
    "Forecaster",
    "HistoryTooShort",
    "HoltWinters",
    "HoltWintersState",
    "SeasonalNaive",
    "SeasonalNaiveState",
]


def __getattr__(name: str) -> Any:
    """``LstmForecaster`` on first use, so that PyTorch stays optional."""
    if name == "LstmForecaster":
        from foresight.forecast.lstm import LstmForecaster

        return LstmForecaster
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
