"""Detector throughput: samples per second per core, one streaming step vectorised across series.

Each detector gets ``series`` series of synthetic samples (a noisy daily cycle with occasional
spikes, 5-minute steps) and runs ``warmup`` untimed steps, then ``steps`` timed ones through
:meth:`Detector.update`, ``repeats`` times from the same warm state; the fastest repeat counts
(the usual microbenchmark rule: slower ones measured other work on the machine). The state is
copied once before timing so that its memory is resident, as in a long-running process. The
process is pinned to one CPU where the OS allows it, so the figure is per core (numpy's
element-wise loops are single-threaded anyway).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from foresight.detect import make_detector

__all__ = ["Throughput", "bench_detect"]


@dataclass(frozen=True)
class Throughput:
    """One detector's measured speed."""

    detector: str
    series: int
    steps: int
    seconds: float

    @property
    def samples_per_s(self) -> float:
        return self.series * self.steps / self.seconds


@contextmanager
def _one_core() -> Iterator[None]:
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _samples(series: int, steps: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = 300.0 * np.arange(steps)
    daily = 50.0 + 20.0 * np.sin(2.0 * np.pi * t / 86400.0)
    x = daily[None, :] + rng.normal(0.0, 3.0, (series, steps))
    x[rng.random((series, steps)) < 0.001] += 60.0
    return x, t


def bench_detect(
    names: Sequence[str], series: int = 100_000, steps: int = 20, warmup: int = 5, repeats: int = 3
) -> list[Throughput]:
    """Time ``steps`` streaming steps of each named detector across ``series`` series."""
    x, t = _samples(series, warmup + steps)
    columns = [(np.ascontiguousarray(x[:, k]), np.full(series, t[k])) for k in range(warmup + steps)]
    results = []
    with _one_core():
        for name in names:
            detector = make_detector(name)
            warm = detector.init(series)
            for values, stamps in columns[:warmup]:
                detector.update(warm, values, stamps)
            best = float("inf")
            for _ in range(repeats):
                state = warm.copy()
                start = time.perf_counter()
                for values, stamps in columns[warmup:]:
                    detector.update(state, values, stamps)
                best = min(best, time.perf_counter() - start)
            results.append(Throughput(name, series, steps, best))
    return results
