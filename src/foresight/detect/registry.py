"""Detectors by name: what the CLI, the benchmarks and the conformance suite iterate over."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from foresight.detect.ewma import EwmaZScore
from foresight.detect.protocol import Detector
from foresight.detect.surprise import SurpriseEnsemble
from foresight.errors import ConfigError

__all__ = ["BEST", "DETECTORS", "make_detector"]

DETECTORS: dict[str, Callable[[], Detector[Any]]] = {
    "ewma": EwmaZScore,
    "ewma-two-sided": lambda: EwmaZScore(two_sided=True),
    "surprise": SurpriseEnsemble,
}
BEST = "surprise"


def make_detector(name: str) -> Detector[Any]:
    """A fresh detector with its default configuration.

    >>> make_detector("ewma").name
    'ewma'
    """
    try:
        return DETECTORS[name]()
    except KeyError:
        raise ConfigError(f"unknown detector {name!r}; known: {', '.join(DETECTORS)}") from None
