"""Always-valid evidence that a canary is worse, or no worse, than the stable version.

**Why not a p-value per interval.** The analysis looks at the data every interval and may stop at
any look, so a fixed-sample test (Mann-Whitney p < 0.05 each minute) would roll back a good version
with a probability that grows with every look. Instead each metric keeps a log-likelihood over a
grid of effect sizes θ, summed interval by interval, and reads three figures from it:

- **harm** (log e-value against "no worse than the acceptable margin θ0")::

      E_harm = mean over grid θ > θ0 of  L(θ) / L(θ0)

  Each ratio is a non-negative martingale with mean 1 when the true effect is θ0 (a supermartingale
  below it), and so is their mixture; by Ville's inequality it *ever* reaches ``1/α`` with
  probability at most α, however many looks. This is Robbins' mixture sequential probability ratio
  test (the "always valid p-values" that A/B platforms use): roll back when ``E_harm >= 1/α``.
- **safety**, its mirror against "at least as bad as θ1": promote only when ``E_safe >= 1/β``, so a
  version θ1 bad or worse is promoted with probability at most β. θ0 < θ1 leave an indifference
  zone, as in Wald's SPRT: between them either verdict is acceptable.
- **P(bad)** = P(θ >= θ1 | data) under a weak normal prior: the traffic policy sizes the canary
  weight with it (a bandit needs a posterior); the verdicts that need error control use e-values.

**Per-interval likelihoods.**

- Counts (5xx errors, misclassified predictions, slow requests): given the interval's total events
  ``E``, the canary's share is Binomial(E, π) with ``π = ρ n_c / (ρ n_c + n_s)`` for the rate ratio
  ``ρ = rate_canary / rate_stable`` and ``θ = ln ρ``. This is exact for Poisson counts, and it
  cancels whatever hit both versions in the interval (a downstream error burst, a load spike).
- Latency: Mann-Whitney's U from the two histograms, read as the AUC ``Â = P(canary slower) + ½
  P(tie)`` with its tie-corrected null standard error (Kayenta's test, made sequential): the
  interval contributes the Gaussian likelihood N(Â; θ, se²); ``θ = AUC``, 0.5 = no difference.

**Approximations, stated.** Binomial counts with rates of several percent are less dispersed than
the Poisson model, which makes the count tests slightly conservative at ρ = 1 and very slightly
liberal at a margin ρ0 > 1 (the odds ratio exceeds the rate ratio by ``(1 - p)/(1 - ρ0 p)``); the
AUC test rests on U's normal approximation, so intervals with few requests per side are skipped.

>>> test = SequentialTest.build(-3.0, 3.0, 0.05, acceptable=0.2, bad=0.9, prior_sd=0.7)
>>> ll = rate_ratio_loglik(test.theta, canary_events=30, canary_trials=1000,
...                        stable_events=90, stable_trials=9000)   # canary errors 3x stable's
>>> [round(x, 3) for x in test.read(ll)]          # ln E_harm, ln E_safe, P(bad), ML ln(ratio)
[6.043, -3.416, 0.723, 1.1]
>>> [round(x, 3) for x in test.read(rate_ratio_loglik(test.theta, 10, 1000, 90, 9000))]  # same rates
[-2.539, 3.091, 0.001, 0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from foresight.errors import ConfigError

__all__ = ["Reading", "SequentialTest", "gaussian_loglik", "mann_whitney_auc", "rate_ratio_loglik"]


class Reading(NamedTuple):
    """What one metric's summed log-likelihood says: ln E_harm, ln E_safe, P(θ >= θ1), the ML θ."""

    log_harm: float
    log_safety: float
    p_bad: float
    estimate: float


@dataclass(frozen=True)
class SequentialTest:
    """One metric's grid of effects θ (with θ0 = ``theta[acceptable]``, θ1 = ``theta[bad]``) and prior.

    The test itself is stateless: callers keep the summed log-likelihood (an array over ``theta``)
    and :meth:`read` it. The mixtures weigh the grid points beyond the boundary equally.
    """

    theta: np.ndarray
    acceptable: int
    bad: int
    prior: np.ndarray

    @classmethod
    def build(
        cls, low: float, high: float, step: float, acceptable: float, bad: float,
        prior_mean: float = 0.0, prior_sd: float = 1.0,
    ) -> SequentialTest:
        """A grid from ``low`` to ``high`` by ``step`` that contains θ0 = ``acceptable`` and θ1 = ``bad``."""
        if not low < acceptable < bad < high:
            raise ConfigError(f"need low < acceptable < bad < high, got {low}, {acceptable}, {bad}, {high}")
        grid = np.concatenate([np.arange(low, high + step / 2, step), [acceptable, bad]])
        theta = np.unique(np.round(grid, 9)) + 0.0  # no -0.0
        prior = np.exp(-0.5 * ((theta - prior_mean) / prior_sd) ** 2)
        theta.flags.writeable = prior.flags.writeable = False
        return cls(theta, int(np.searchsorted(theta, round(acceptable, 9))),
                   int(np.searchsorted(theta, round(bad, 9))), prior)

    def read(self, loglik: np.ndarray) -> Reading:
        """The harm and safety e-values (logs), the posterior P(bad), and the ML estimate (NaN before data)."""
        top = float(loglik.max())
        likelihood = np.exp(loglik - top)  # in (0, 1], 1 at the maximum
        a, b = self.acceptable, self.bad
        harm = float(likelihood[a + 1:].sum()) / (likelihood.size - a - 1)
        safe = float(likelihood[:b].sum()) / b
        posterior = likelihood * self.prior
        return Reading(
            math.log(max(harm, 1e-300)) + top - float(loglik[a]),
            math.log(max(safe, 1e-300)) + top - float(loglik[b]),
            float(posterior[b:].sum()) / float(posterior.sum()),
            float(self.theta[int(np.argmax(loglik))]) if loglik.any() else float("nan"),
        )


def rate_ratio_loglik(
    theta: np.ndarray, canary_events: int, canary_trials: int, stable_events: int, stable_trials: int,
) -> np.ndarray:
    """Log-likelihood over ``theta = ln(rate ratio)`` of one interval's events, conditional on their total.

    An interval with no events, or with no trials on either side, carries no information (zeros).

    >>> theta = np.log(np.array([0.5, 1.0, 2.0]))
    >>> ll = rate_ratio_loglik(theta, canary_events=2, canary_trials=100, stable_events=2, stable_trials=100)
    >>> [round(float(v - ll.max()), 3) for v in ll]   # equal rates: ratio 1 is likeliest
    [-0.236, 0.0, -0.236]
    """
    if canary_trials <= 0 or stable_trials <= 0 or canary_events + stable_events == 0:
        return np.zeros_like(theta)
    log_odds = np.log(canary_trials / stable_trials) + theta
    return -canary_events * np.logaddexp(0.0, -log_odds) - stable_events * np.logaddexp(0.0, log_odds)


def mann_whitney_auc(canary_counts: np.ndarray, stable_counts: np.ndarray) -> tuple[float, float]:
    """AUC = U / (n_c n_s) of the canary against the stable from per-bucket counts, and its null se.

    ``U`` counts the (canary, stable) pairs where the canary request was slower, ties (same bucket)
    as one half. The standard error is that of U under "same distribution", with the tie correction
    ``(N + 1) - sum(t^3 - t) / (N (N - 1))``. Returns (NaN, NaN) without requests on both sides and
    se 0 when every request fell into one bucket.

    >>> auc, se = mann_whitney_auc(np.array([0, 10, 30]), np.array([30, 10, 0]))
    >>> round(auc, 4), round(se, 4)
    (0.9688, 0.0609)
    """
    n_c = float(canary_counts.sum())
    n_s = float(stable_counts.sum())
    if n_c == 0 or n_s == 0:
        return float("nan"), float("nan")
    below = np.cumsum(stable_counts) - stable_counts
    u = float(canary_counts @ (below + 0.5 * stable_counts))
    n = n_c + n_s
    ties = canary_counts + stable_counts
    tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties)) / (n * (n - 1))
    var_u = n_c * n_s / 12.0 * max((n + 1) - tie_term, 0.0)
    return u / (n_c * n_s), float(np.sqrt(var_u)) / (n_c * n_s)


def gaussian_loglik(theta: np.ndarray, estimate: float, se: float) -> np.ndarray:
    """Log-likelihood over ``theta`` of an estimate with a normal error of ``se``.

    >>> gaussian_loglik(np.array([0.5, 0.6]), estimate=0.6, se=0.05).round(3).tolist()
    [-2.0, -0.0]
    """
    return -0.5 * ((estimate - theta) / se) ** 2
