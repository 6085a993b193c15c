"""An ensemble: the average of its members' quantile forecasts, level by level.

Averaging quantiles (not samples) keeps the result monotone in the level and is the usual way
to combine quantile forecasts: members that err in different situations (a smoother that lags a
regime change, a learned model that overshoots a spike) partly cancel, and the average is
rarely much worse than its best member.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from foresight.errors import ConfigError
from foresight.forecast.protocol import Forecaster

__all__ = ["Ensemble"]


class Ensemble:
    """Fits, updates and predicts with every member; predicts their mean quantiles.

    The state is the tuple of the members' states; a member that cannot fit fails the ensemble
    (:class:`~foresight.forecast.HistoryTooShort` propagates), so the ensemble never silently
    becomes one of its members.

    >>> from foresight.forecast import SeasonalNaive
    >>> y = np.array([[1.0, 3.0] * 4])
    >>> members = [SeasonalNaive(1, 4), SeasonalNaive(2, 4)]
    >>> [m.predict(m.fit(y), 2, [0.5])[0, :, 0] for m in members]
    [array([5., 3.]), array([1., 3.])]
    >>> both = Ensemble(members)
    >>> both.predict(both.fit(y), 2, [0.5])[0, :, 0]
    array([3., 3.])
    """

    def __init__(self, members: Sequence[Forecaster[Any]], name: str | None = None) -> None:
        if len(members) < 2:
            raise ConfigError("Ensemble: needs at least two members")
        self.members = tuple(members)
        self.name = name or "+".join(m.name for m in self.members)
        self.max_horizon_steps = min(m.max_horizon_steps for m in self.members)

    def fit(self, history: np.ndarray) -> tuple[Any, ...]:
        return tuple(m.fit(history) for m in self.members)

    def update(self, state: tuple[Any, ...], new: np.ndarray) -> tuple[Any, ...]:
        return tuple(m.update(s, new) for m, s in zip(self.members, state))

    def predict(self, state: tuple[Any, ...], horizon_steps: int, quantiles: Sequence[float]) -> np.ndarray:
        return np.mean([m.predict(s, horizon_steps, quantiles) for m, s in zip(self.members, state)], axis=0)
