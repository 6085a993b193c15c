"""The forecaster protocol: learn from history, predict a horizon with quantiles, state explicit.

A forecaster object holds only its settings; everything it learns lives in a frozen, serialisable
*state* that :meth:`Forecaster.fit` creates and :meth:`Forecaster.update` replaces. Learning
returns a new state and never touches the old one; predicting reads a state and changes nothing,
so re-predicting cannot move a scaling decision, and a policy can keep one state per workload.

Every call is vectorised over ``N`` series that share one regular time grid: ``history`` and
``new`` are arrays ``[N, T]`` of non-negative loads (NaN marks a gap), and
:meth:`Forecaster.predict` returns ``[N, horizon_steps, len(quantiles)]``, non-decreasing along
the quantile axis. Step ``h`` (1-based) of the horizon is the value ``h`` grid steps after the
last one learned.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from foresight.errors import InputError

__all__ = ["Forecaster", "HistoryTooShort", "Stacking", "as_history", "check_request", "read_only"]

StateT = TypeVar("StateT")


class HistoryTooShort(InputError):
    """Too little usable history to fit a model; callers fall back (e.g. to reactive scaling)."""

    def __init__(self, model: str, have: int, need: int) -> None:
        super().__init__(f"history: {model} needs at least {need} usable points per series, got {have}")
        self.model = model
        self.have = have
        self.need = need


class Forecaster(Protocol[StateT]):
    """Fit on history, update with new points, predict quantiles; see the module docstring."""

    name: str
    max_horizon_steps: int

    def fit(self, history: np.ndarray) -> StateT:
        """Learn from ``history`` ``[N, T]``; raise :class:`HistoryTooShort` when it cannot."""
        ...

    def update(self, state: StateT, new: np.ndarray) -> StateT:
        """The state after also seeing ``new`` ``[N, k]`` (the points right after those learned)."""
        ...

    def predict(self, state: StateT, horizon_steps: int, quantiles: Sequence[float]) -> np.ndarray:
        """Quantiles of the next ``horizon_steps`` values: ``[N, horizon_steps, len(quantiles)]``."""
        ...


@runtime_checkable
class Stacking(Protocol[StateT]):
    """A forecaster whose states, learned one series each, can be joined into one state of many
    series and cut apart again, so that a caller keeping one state per workload (the predictive
    policy) updates and predicts all its workloads in one call. A series' numbers must be the same
    whether it is learned and predicted alone or stacked with others (element by element)."""

    def stack_key(self, state: StateT) -> Hashable:
        """States with equal keys can be stacked."""
        ...

    def stack(self, states: Sequence[StateT]) -> StateT:
        """One state of ``states``' series, in order."""
        ...

    def unstack(self, state: StateT) -> list[StateT]:
        """One state per series of ``state``."""
        ...


def as_history(values: Any, name: str = "history") -> np.ndarray:
    """``values`` as a float ``[N, T]`` array of loads: infinities become gaps, negatives zero.

    A load cannot be negative or infinite, so such points are a broken source, not a signal:
    they are treated like the gaps (NaN) every model already handles.

    >>> as_history([[1.0, -2.0, float("inf"), 3.0]])
    array([[ 1.,  0., nan,  3.]])
    """
    array = np.array(values, dtype=np.float64)
    if array.ndim != 2:
        raise InputError(f"{name}: expected an array [series, steps], got shape {array.shape}")
    array[np.isinf(array)] = np.nan
    np.maximum(array, 0.0, out=array, where=~np.isnan(array))
    return array


def check_request(horizon_steps: int, quantiles: Sequence[float], max_horizon_steps: int) -> np.ndarray:
    """Validate a predict request; the quantile levels as an array."""
    if not 1 <= horizon_steps <= max_horizon_steps:
        raise ValueError(f"horizon_steps must be within 1..{max_horizon_steps}, got {horizon_steps}")
    levels = np.asarray(quantiles, dtype=np.float64)
    if levels.ndim != 1 or levels.size == 0 or np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"quantiles must be a non-empty list of levels in (0, 1), got {list(quantiles)}")
    return levels


def read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The ``arrays``, marked read-only: a state's arrays must not change once it is returned."""
    for array in arrays:
        array.flags.writeable = False
    return arrays
