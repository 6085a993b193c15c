"""Streaming anomaly detection: one protocol, explicit per-series state, vectorised across series.

``make_detector(name)`` gives a detector; ``run(detector, values, timestamps)`` scores whole
series; ``detector.score``/``detector.update`` score and learn one sample per series. See
:mod:`foresight.detect.protocol` for the contract every detector keeps.
"""

from foresight.detect.protocol import ArrayState, Detector, run
from foresight.detect.registry import BEST, DETECTORS, make_detector

__all__ = ["BEST", "DETECTORS", "ArrayState", "Detector", "make_detector", "run"]
