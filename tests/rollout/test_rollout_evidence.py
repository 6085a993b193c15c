"""The statistics: always-valid error control under repeated looks, power, and Mann-Whitney from histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import mannwhitneyu, norm

from foresight.errors import ConfigError
from foresight.rollout.evidence import (
    SequentialTest,
    gaussian_loglik,
    mann_whitney_auc,
    rate_ratio_loglik,
)

RATIO = SequentialTest.build(-3.0, 3.0, 0.05, acceptable=math.log(1.25), bad=math.log(2.5), prior_sd=0.7)


def _count_paths(ratio: float, paths: int, looks: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per path, the running max of ln E_harm and the final ln E_safe, canary errors at ``ratio`` x stable's.

    Poisson counts at 10% canary weight, 1% stable error rate, 2000 requests per look.
    """
    rng = np.random.default_rng(seed)
    n_c, n_s, p = 200, 1800, 0.01
    max_harm = np.full(paths, -np.inf)
    final_safety = np.zeros(paths)
    for path in range(paths):
        ll = np.zeros_like(RATIO.theta)
        c = rng.poisson(n_c * p * ratio, looks)
        s = rng.poisson(n_s * p, looks)
        for k in range(looks):
            ll = ll + rate_ratio_loglik(RATIO.theta, int(c[k]), n_c, int(s[k]), n_s)
            reading = RATIO.read(ll)
            max_harm[path] = max(max_harm[path], reading.log_harm)
        final_safety[path] = reading.log_safety
    return max_harm, final_safety


def test_repeated_looks_at_the_acceptable_margin_roll_back_at_most_alpha() -> None:
    alpha = 0.05
    max_harm, _ = _count_paths(1.25, paths=400, looks=40, seed=1)
    crossed = float(np.mean(max_harm >= math.log(1 / alpha)))
    # Ville's inequality: at most alpha (plus Monte-Carlo slack of ~2 sd)
    assert crossed <= alpha + 2 * math.sqrt(alpha * (1 - alpha) / 400)


def test_a_naive_z_test_at_every_look_would_not_have_held_its_level() -> None:
    """Why the e-values: the same null data, tested at p < 0.05 each look, crosses far more often."""
    rng = np.random.default_rng(2)
    n_c, n_s, p, looks, paths = 200, 1800, 0.01, 40, 2000
    c = rng.poisson(n_c * p, (paths, looks)).cumsum(axis=1)
    s = rng.poisson(n_s * p, (paths, looks)).cumsum(axis=1)
    k = np.arange(1, looks + 1)
    pooled = (c + s) / ((n_c + n_s) * k)
    z = (c / (n_c * k) - s / (n_s * k)) / np.sqrt(np.maximum(pooled * (1 - pooled), 1e-12) * (1 / n_c + 1 / n_s) / k)
    assert np.mean(np.any(z > norm.ppf(0.95), axis=1)) > 0.2


def test_a_bad_error_rate_is_convicted_and_an_equal_one_earns_safety() -> None:
    max_harm, _ = _count_paths(4.0, paths=50, looks=20, seed=3)
    assert np.mean(max_harm >= math.log(100)) >= 0.95
    max_harm, final_safety = _count_paths(1.0, paths=50, looks=40, seed=4)
    assert np.all(max_harm < math.log(100))
    assert np.mean(final_safety >= math.log(20)) >= 0.9


def test_no_events_carry_no_evidence() -> None:
    ll = rate_ratio_loglik(RATIO.theta, 0, 100, 0, 900)
    assert not ll.any()
    reading = RATIO.read(ll)
    assert reading.log_harm == pytest.approx(0.0) and reading.log_safety == pytest.approx(0.0)
    assert math.isnan(reading.estimate)


def test_the_posterior_moves_toward_the_data() -> None:
    worse = rate_ratio_loglik(RATIO.theta, 20, 1000, 40, 9000)  # ratio 4.5
    equal = rate_ratio_loglik(RATIO.theta, 5, 1000, 45, 9000)
    assert RATIO.read(worse).p_bad > RATIO.read(np.zeros_like(RATIO.theta)).p_bad > RATIO.read(equal).p_bad
    assert math.exp(RATIO.read(worse).estimate) == pytest.approx(4.5, rel=0.05)


def test_margins_must_be_ordered_inside_the_grid() -> None:
    with pytest.raises(ConfigError):
        SequentialTest.build(-1.0, 1.0, 0.1, acceptable=0.5, bad=0.2)
    with pytest.raises(ConfigError):
        SequentialTest.build(-1.0, 1.0, 0.1, acceptable=0.5, bad=1.5)


@pytest.mark.parametrize("shift", [1.0, 1.1, 1.5])
def test_auc_from_histograms_is_scipys_mann_whitney_on_the_bucketed_samples(shift: float) -> None:
    rng = np.random.default_rng(5)
    edges = np.geomspace(10, 2000, 25)
    stable = np.searchsorted(edges, rng.lognormal(np.log(120), 0.5, 900))
    canary = np.searchsorted(edges, rng.lognormal(np.log(120 * shift), 0.5, 100))
    c_counts = np.bincount(canary, minlength=edges.size + 1)
    s_counts = np.bincount(stable, minlength=edges.size + 1)
    auc, se = mann_whitney_auc(c_counts, s_counts)
    result = mannwhitneyu(canary, stable, alternative="greater", use_continuity=False, method="asymptotic")
    assert auc == pytest.approx(result.statistic / (100 * 900))
    assert norm.sf((auc - 0.5) / se) == pytest.approx(result.pvalue, rel=1e-6)


def test_auc_without_data_on_one_side_is_nan() -> None:
    auc, se = mann_whitney_auc(np.zeros(4), np.array([1, 2, 3, 4]))
    assert math.isnan(auc) and math.isnan(se)


def test_gaussian_loglik_peaks_at_the_estimate() -> None:
    grid = np.linspace(0.3, 0.8, 51)
    assert grid[np.argmax(gaussian_loglik(grid, 0.62, 0.03))] == pytest.approx(0.62)


def test_the_latency_test_at_its_margin_also_holds_its_level() -> None:
    """The AUC test rests on a normal approximation; check it at θ0 = 0.52 with small canary samples."""
    test = SequentialTest.build(0.2, 0.9, 0.005, 0.52, 0.56, 0.5, 0.05)
    edges = np.geomspace(5, 30000, 40)
    shift = math.exp(norm.ppf(0.52) * 0.45 * math.sqrt(2))  # a log-normal shift whose AUC is 0.52
    rng = np.random.default_rng(6)
    paths, crossed = 300, 0
    for _ in range(paths):
        ll = np.zeros_like(test.theta)
        for _ in range(30):
            s = np.bincount(np.searchsorted(edges, rng.lognormal(np.log(120), 0.45, 570)), minlength=41)
            c = np.bincount(np.searchsorted(edges, rng.lognormal(np.log(120 * shift), 0.45, 30)), minlength=41)
            auc, se = mann_whitney_auc(c, s)
            ll = ll + gaussian_loglik(test.theta, auc, se)
            if test.read(ll).log_harm >= math.log(20):
                crossed += 1
                break
    assert crossed / paths <= 0.05 + 2 * math.sqrt(0.05 * 0.95 / paths)
