"""The drift statistics against scipy's reference implementations, and their documented behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.spatial.distance import jensenshannon

from foresight.drift.bins import bin_shares, quantile_edges
from foresight.drift.chi2 import chi2_test
from foresight.drift.correction import benjamini_hochberg
from foresight.drift.divergence import js, kl
from foresight.drift.ecdf import merged_gaps, sort_valid
from foresight.drift.ks import ks_2samp, ks_from_gaps, ks_statistic
from foresight.drift.psi import PSI_MODERATE, psi
from foresight.drift.wasserstein import wasserstein_normed

# small integers make ties common, the case the ECDF code must get exactly right
samples = arrays(np.float64, st.integers(1, 40), elements=st.integers(-4, 4).map(float))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's own, on one-value samples
@settings(max_examples=150, deadline=None)
@given(samples, samples)
def test_ks_and_wasserstein_equal_scipy_with_ties(a: np.ndarray, b: np.ndarray) -> None:
    d, _ = ks_2samp(a, b)
    assert d[0] == pytest.approx(stats.ks_2samp(a, b, method="asymp").statistic, abs=1e-12)
    w = wasserstein_normed(a, b)[0]
    std = np.std(a)
    if std > 0:
        assert w == pytest.approx(stats.wasserstein_distance(a, b) / std, rel=1e-9, abs=1e-12)
    else:
        assert w == (0.0 if stats.wasserstein_distance(a, b) == 0 else np.inf)


@settings(max_examples=100, deadline=None)
@given(samples, samples)
def test_both_ks_paths_agree(a: np.ndarray, b: np.ndarray) -> None:
    """The searchsorted path (monitor) and the merged path (batch report) give the same D."""
    sa, na = sort_valid(a)
    sb, nb = sort_valid(b)
    assert ks_statistic(sa, sb, na, nb)[0] == pytest.approx(ks_from_gaps(*merged_gaps(sa, sb, na, nb), na, nb)[0])


def test_nan_is_ignored_per_feature_and_empty_sides_give_nan() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 200)), rng.normal(size=(3, 150))
    a[0, :50] = np.nan
    b[2, :] = np.nan
    d, p = ks_2samp(a, b)
    assert d[0] == pytest.approx(stats.ks_2samp(a[0, 50:], b[0], method="asymp").statistic)
    assert np.isnan(d[2]) and np.isnan(p[2])
    assert np.isnan(wasserstein_normed(a, b)[2])


def test_ks_pvalue_close_to_scipy_asymptotic() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=400), rng.normal(0.2, 1.0, size=300)
    _, p = ks_2samp(a, b)
    assert p[0] == pytest.approx(stats.ks_2samp(a, b, method="asymp").pvalue, rel=0.05)


def test_ten_bin_psi_misses_a_quarter_sd_shift_that_ks_and_wasserstein_catch() -> None:
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(size=5000), rng.normal(0.25, 1.0, size=5000)
    sr, nr = sort_valid(ref)
    sc, nc = sort_valid(cur)
    edges = quantile_edges(sr, nr, 10)
    assert psi(bin_shares(sr, nr, edges), bin_shares(sc, nc, edges))[0] < PSI_MODERATE
    assert ks_2samp(ref, cur)[1][0] < 1e-6
    assert wasserstein_normed(ref, cur)[0] >= 0.1


def test_constant_reference_gives_equal_edges_and_zero_psi() -> None:
    ref = np.full((1, 100), 3.0)
    sr, nr = sort_valid(ref)
    edges = quantile_edges(sr, nr, 10)
    assert np.all(edges == 3.0)
    shares = bin_shares(sr, nr, edges)
    assert psi(shares, shares)[0] == 0.0
    assert wasserstein_normed(ref, ref)[0] == 0.0
    assert wasserstein_normed(ref, ref + 1.0)[0] == np.inf


def test_divergences_match_scipy() -> None:
    p, q = np.array([0.1, 0.6, 0.3]), np.array([0.2, 0.5, 0.3])
    assert js(p, q) == pytest.approx(jensenshannon(p, q))
    assert kl(p, q) == pytest.approx(stats.entropy(q, p))


def test_chi2_matches_scipy_contingency() -> None:
    ref, cur = np.array([30, 50, 20, 0]), np.array([25, 40, 40, 0])
    x2, p = chi2_test(ref, cur)
    expected = stats.chi2_contingency(np.array([ref[:3], cur[:3]]), correction=False)
    assert x2[0] == pytest.approx(expected.statistic)
    assert p[0] == pytest.approx(expected.pvalue)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(0.0, 1.0)))
def test_benjamini_hochberg_matches_scipy(p: np.ndarray) -> None:
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"), rtol=1e-12)


def test_bh_keeps_twenty_null_features_quiet() -> None:
    """Uncorrected, 20 tests at 0.05 raise a false flag in most runs; BH in about 5%."""
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(size=(200, 20, 200)), rng.normal(size=(200, 20, 200))
    p = np.stack([ks_2samp(r, c)[1] for r, c in zip(ref, cur)])
    raw = np.mean(np.any(p < 0.05, axis=1))
    corrected = np.mean(np.any(benjamini_hochberg(p) < 0.05, axis=1))
    assert raw > 0.5
    assert corrected < 0.1


shares = arrays(np.float64, 6, elements=st.floats(0.0, 1.0)).filter(lambda a: a.sum() > 0).map(lambda a: a / a.sum())


@settings(max_examples=100, deadline=None)
@given(shares, shares)
def test_divergences_are_non_negative_zero_on_equal_and_js_is_symmetric_and_bounded(p: np.ndarray, q: np.ndarray) -> None:
    assert psi(p, q) >= -1e-12 and kl(p, q) >= -1e-12
    assert psi(p, p) == pytest.approx(0.0, abs=1e-12) and js(p, p) == pytest.approx(0.0, abs=1e-7)
    assert js(p, q) == pytest.approx(js(q, p), abs=1e-12)
    assert 0.0 <= js(p, q) <= np.sqrt(np.log(2.0)) + 1e-12
