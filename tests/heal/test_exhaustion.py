"""The baselines: exact on a noiseless line, honest without a limit, never a guess across a gap."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from foresight.heal.exhaustion import exhaustion_point, holt_tte, linear_tte, threshold_hit, time_to
from foresight.heal.signals import Resource

T = np.arange(0.0, 3600.0, 30.0)


@settings(max_examples=60, deadline=None)
@given(start=st.floats(0.0, 0.8), slope_per_h=st.floats(0.01, 1.0))
def test_linear_is_exact_on_a_line(start: float, slope_per_h: float) -> None:
    x = (start + slope_per_h * T / 3600)[None, :]
    ttf, low, high = linear_tte(T, x, np.array([1.0]))
    expected = max(0.0, (1.0 - x[0, -1]) / (slope_per_h / 3600))
    assert abs(ttf[0] - expected) <= 1e-6 * max(expected, 1.0) + 1e-6
    assert low[0] <= ttf[0] <= high[0]


def test_holt_follows_a_line_and_a_flat_series_never_fails() -> None:
    x = np.vstack([0.4 + 0.3 * T / 3600, np.full(T.size, 0.7)])
    ttf, _, _ = holt_tte(T, x, np.array([1.0, 1.0]))
    truth = (1.0 - x[0, -1]) / (0.3 / 3600)
    assert abs(ttf[0] - truth) / truth < 0.1
    assert ttf[1] == np.inf


def test_no_limit_means_no_prediction_and_no_threshold() -> None:
    x = (0.5 + T / 3600)[None, :]
    limit = np.array([np.nan])
    assert np.isnan(linear_tte(T, x, limit)[0][0])
    assert np.isnan(holt_tte(T, x, limit)[0][0])
    assert not threshold_hit(x, limit)[0]


def test_gaps_are_skipped_not_read_as_zero() -> None:
    x = (0.4 + 0.3 * T / 3600)[None, :].copy()
    x[0, 10:40] = np.nan
    x[0, -3:-1] = np.nan
    clean = (0.4 + 0.3 * T / 3600)[None, :]
    assert abs(linear_tte(T, x, np.array([1.0]))[0][0] - linear_tte(T, clean, np.array([1.0]))[0][0]) < 1.0
    assert abs(holt_tte(T, x, np.array([1.0]))[0][0] / holt_tte(T, clean, np.array([1.0]))[0][0] - 1) < 0.2


def test_cpu_saturates_before_its_limit_and_a_level_past_the_point_is_now() -> None:
    assert exhaustion_point((Resource.CPU, Resource.MEMORY), np.array([2.0, 2.0])).tolist() == [1.9, 2.0]
    assert time_to(np.array([1.0]), np.array([1.2]), np.array([-1.0]))[0] == 0.0
