"""The latest load prediction per workload: what the forecast controller writes and KEDA's scaler reads.

Plain data, no protocol: the gRPC server (:mod:`foresight.adapters.keda`) reads a
:class:`PredictionStore`; in one process the controller and the server share an
:class:`InMemoryPredictions`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from foresight.errors import InputError

__all__ = ["InMemoryPredictions", "LatestByWorkload", "Prediction", "PredictionStore"]

T = TypeVar("T")


@dataclass(frozen=True)
class Prediction:
    """The predicted load of one workload (the unit of ``targetValue``, e.g. req/s) and when it was
    made (Unix seconds), which decides whether it is still fresh enough to act on."""

    load: float
    made_at: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.load) and self.load >= 0):
            raise InputError(f"prediction: load must be a finite number >= 0, got {self.load!r}")
        if not math.isfinite(self.made_at):
            raise InputError(f"prediction: made_at must be a finite Unix time, got {self.made_at!r}")


class PredictionStore(Protocol):
    """Where the scaler reads the latest prediction per (namespace, workload); None when none exists."""

    def latest(self, namespace: str, workload: str) -> Prediction | None: ...


class LatestByWorkload(Generic[T]):
    """The latest value per (namespace, workload): what a controller writes in-process and a scaler reads.

    A write replaces one dictionary entry with an immutable value, which is atomic in CPython, so a
    controller thread may write while the gRPC event loop reads.
    """

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], T] = {}

    def put(self, namespace: str, workload: str, value: T) -> None:
        self._latest[(namespace, workload)] = value

    def latest(self, namespace: str, workload: str) -> T | None:
        return self._latest.get((namespace, workload))


class InMemoryPredictions(LatestByWorkload[Prediction]):
    """The predictions store of one process.

    >>> store = InMemoryPredictions()
    >>> store.put("shop", "api", Prediction(load=120.0, made_at=1000.0))
    >>> store.latest("shop", "api").load, store.latest("shop", "web")
    (120.0, None)
    """
