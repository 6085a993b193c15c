"""Observations: PromQL's histogram_quantile, and the checks on what a source hands the policies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from foresight.errors import InputError
from foresight.rollout.observation import (
    CanaryObservation,
    VersionSample,
    exponential_buckets,
    histogram_quantile,
)


def _prometheus_quantile(q: float, bounds: list[float], counts: list[int]) -> float:
    """PromQL's bucketQuantile, written out step by step over cumulative buckets."""
    cumulative, running = [], 0
    for c in counts:
        running += c
        cumulative.append(running)
    uppers = [*bounds, math.inf]
    if cumulative[-1] == 0:
        return math.nan
    rank = q * cumulative[-1]
    b = next((i for i in range(len(uppers) - 1) if cumulative[i] >= rank), len(uppers) - 1)
    if b == len(uppers) - 1:
        return uppers[-2]
    start, below = (0.0, 0) if b == 0 else (uppers[b - 1], cumulative[b - 1])
    return start + (uppers[b] - start) * (rank - below) / (cumulative[b] - below)


@pytest.mark.parametrize("seed", range(20))
def test_histogram_quantile_is_promqls(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bounds = sorted(rng.choice(np.arange(1, 1000), size=8, replace=False).astype(float).tolist())
    counts = rng.integers(0, 5, size=9)
    for q in (0.5, 0.9, 0.99, 1.0):
        expected = _prometheus_quantile(q, bounds, counts.tolist())
        got = histogram_quantile(q, np.array(bounds), counts)
        assert (math.isnan(expected) and math.isnan(got)) or got == pytest.approx(expected)


def test_a_histogram_without_bounds_has_no_quantile() -> None:
    assert math.isnan(histogram_quantile(0.99, np.empty(0), np.array([10])))


def test_exponential_buckets_reject_impossible_shapes() -> None:
    with pytest.raises(InputError):
        exponential_buckets(5.0, 1.0, 10)


def test_samples_refuse_impossible_counts() -> None:
    with pytest.raises(InputError, match="errors"):
        VersionSample(10, 11, np.zeros(3))
    with pytest.raises(InputError, match="correct"):
        VersionSample(10, 0, np.zeros(3), labelled=2, correct=3)
    with pytest.raises(InputError, match="latency_counts"):
        VersionSample(10, 0, np.array([1, -1, 0]))


def test_an_observation_checks_histograms_against_its_bounds() -> None:
    sample = VersionSample(10, 0, np.array([5, 5, 0]))
    CanaryObservation(0.0, 60.0, 10, np.array([100.0, 200.0]), sample, sample)
    with pytest.raises(InputError, match="canary latency histogram has 3 buckets"):
        CanaryObservation(0.0, 60.0, 10, np.array([100.0]), None, sample)
    with pytest.raises(InputError, match="weight"):
        CanaryObservation(0.0, 60.0, 120, np.array([100.0, 200.0]), sample, sample)
    with pytest.raises(InputError, match="increasing"):
        CanaryObservation(0.0, 60.0, 10, np.array([200.0, 100.0]), sample, sample)


def test_rates_are_nan_without_traffic() -> None:
    sample = VersionSample(0, 0, np.zeros(2))
    assert math.isnan(sample.error_rate) and math.isnan(sample.accuracy)
    assert VersionSample(200, 3, np.zeros(2), labelled=50, correct=45).accuracy == pytest.approx(0.9)
