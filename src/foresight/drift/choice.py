"""The default drift test per feature kind and sample size, and how its verdict is read.

| reference rows | numeric (> 5 distinct values)         | categorical (or numeric <= 5 values) |
|----------------|---------------------------------------|--------------------------------------|
| <= 1000        | KS, BH-adjusted p < 0.05              | chi-squared, BH-adjusted p < 0.05    |
| > 1000         | Wasserstein / std(ref) >= 0.1         | Jensen-Shannon distance >= 0.1       |

Why: on small samples only a test knows what chance looks like, so p-values (corrected across
features, :mod:`foresight.drift.correction`) decide. On large ones every test rejects for
shifts too small to matter (a 0.01 sd shift is "significant" at a million rows), so an effect
size with a fixed threshold decides: normalised Wasserstein reads in reference standard
deviations and catches a 0.25 sd shift that a 10-bin PSI misses. These are also Evidently's
defaults, so reports from both agree. PSI (0.1 / 0.2), KL and the other statistics are reported
beside the verdict for reading, not voting.

>>> default_test("numeric", 500)
TestChoice(test='ks', threshold=0.05, p_value=True)
>>> default_test("categorical", 5000).rule
'js >= 0.1'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SMALL_MAX_ROWS", "TestChoice", "default_test"]

SMALL_MAX_ROWS = 1000


@dataclass(frozen=True)
class TestChoice:
    """A test and its threshold: a p-value below it, or a distance at or above it, means drift."""

    test: str
    threshold: float
    p_value: bool

    @property
    def rule(self) -> str:
        return f"{self.test} p < {self.threshold:g}" if self.p_value else f"{self.test} >= {self.threshold:g}"

    def drifted(self, value: float) -> bool:
        return value < self.threshold if self.p_value else value >= self.threshold


def default_test(kind: str, n_ref: int, alpha: float = 0.05, distance_threshold: float = 0.1) -> TestChoice:
    """The test for a feature of ``kind`` ("numeric"/"categorical") with ``n_ref`` reference values."""
    small = n_ref <= SMALL_MAX_ROWS
    if kind == "numeric":
        return TestChoice("ks", alpha, True) if small else TestChoice("wasserstein", distance_threshold, False)
    if kind == "categorical":
        return TestChoice("chi2", alpha, True) if small else TestChoice("js", distance_threshold, False)
    raise ValueError(f"unknown feature kind {kind!r}")
