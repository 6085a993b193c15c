"""``foresight bench canary``: Foresight's canary policy against Flagger's analysis, same releases.

**The releases.** :func:`release_mix` draws ``trials`` releases of one service with a seeded mix:
40% good versions (small, harmless differences: latency x0.97-1.02, error rate x0.8-1.1, accuracy
-0.3 to +0.5 points) and 60% bad ones, a quarter each of +latency (median x1.12, 1.25, 1.5), a slow
tail (6, 12, 25% of requests 5x slower), +errors (rate x2.5, 4, 8) and -accuracy (-4, -6, -10 points).
Each bad size is at or beyond the "bad" level θ1 of Foresight's default spec on its metric (x1.12
latency is P(slower) 0.57 > 0.56; a 6% tail doubles the requests above the stable's p95; x2.5 errors;
-4 points is 1.5x the wrong predictions), so "bad" means the same to the generator and the policy.
Traffic varies per release, log-uniform in 10-100 requests/s, so some intervals are small samples;
the simulator adds per-interval load noise and downstream error bursts that hit both versions.
Every release starts with the canary deployed at weight 0 and runs for ``horizon_min`` minutes.

**The measures**, per policy (both run through :func:`run_policy` on the same releases, each release
by the :class:`~foresight.control.canary.CanaryController` that runs on a cluster):

- ``bad_caught``: share of bad releases rolled back within the horizon;
- ``bad_exposure``: mean over bad releases of (canary's share of requests) x minutes, counting a
  promoted bad version at 100% until the horizon (as if nothing else noticed it within the hour);
- ``false_rollback_rate``: share of good releases rolled back;
- ``time_to_promote_minutes``: mean minutes to promotion over the good releases promoted
  (``good_promoted`` says how many were).

**Detectable**, honestly: a bad release is detectable when, at its own traffic, the canary data that
Flagger's whole analysis collects (weights 10..50%, one interval each) would show its effect at
z >= 3 against the stable's sampling noise, i.e. the stable version's own noise produces such a
difference with probability about 0.1%. ``caught_by_effect`` reports the caught rate per kind and
size, for the detectable releases and for all.

The defaults of both policies are used, Flagger's set as its documentation's Istio example
(interval 1m, threshold 5, stepWeight 10, maxWeight 50, success rate >= 99%, p99 <= 500 ms) plus an
accuracy MetricTemplate (accuracy over the last 5 minutes of feedback >= 0.85), since an operator of
a model would add one.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

from foresight.control.canary import PROMOTED, CanaryController, CanaryRun
from foresight.rollout.decision import TrafficPolicy
from foresight.rollout.flagger import FlaggerPolicy, FlaggerSpec
from foresight.rollout.policy import ForesightPolicy, ForesightSpec
from foresight.rollout.source import CanaryQueries
from foresight.sim.canary import CanaryFleet, CanaryScenario, VersionBehaviour

__all__ = ["BENCH_FLAGGER", "Release", "bench_canary", "detectability", "release_mix", "run_policy"]

#: Flagger as its Istio example configures it, plus an accuracy check over 5 minutes of feedback.
BENCH_FLAGGER = FlaggerSpec(min_accuracy=0.85, accuracy_window_intervals=5)

_BAD_SIZES = {
    "latency": ("x1.12", "x1.25", "x1.5"),
    "tail": ("6%", "12%", "25%"),
    "errors": ("x2.5", "x4", "x8"),
    "accuracy": ("-4pt", "-6pt", "-10pt"),
}


@dataclass(frozen=True)
class Release:
    """One simulated release: its scenario, what kind of version it is (``good`` or a bad kind), how much."""

    scenario: CanaryScenario
    kind: str
    size: str

    @property
    def bad(self) -> bool:
        return self.kind != "good"


def _bad_canary(stable: VersionBehaviour, kind: str, size: str) -> VersionBehaviour:
    number = float(size.strip("x%-pt"))
    changes = {
        "latency": {"latency_median_ms": stable.latency_median_ms * number},
        "tail": {"slow_fraction": number / 100, "slow_factor": 5.0},
        "errors": {"error_rate": stable.error_rate * number},
        "accuracy": {"accuracy": stable.accuracy - number / 100},
    }[kind]
    return stable.model_copy(update=changes)


def release_mix(trials: int, seed: int, good_share: float = 0.4, label_delay_intervals: int = 0) -> list[Release]:
    """The benchmark's releases (see the module docstring), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    stable = VersionBehaviour()
    releases = []
    for _ in range(trials):
        rate = float(np.exp(rng.uniform(np.log(10.0), np.log(100.0))))
        if rng.random() < good_share:
            canary = stable.model_copy(update={
                "latency_median_ms": stable.latency_median_ms * rng.uniform(0.97, 1.02),
                "error_rate": stable.error_rate * rng.uniform(0.8, 1.1),
                "accuracy": stable.accuracy + rng.uniform(-0.003, 0.005),
            })
            kind, size = "good", "-"
        else:
            kind = str(rng.choice(list(_BAD_SIZES)))
            size = str(rng.choice(_BAD_SIZES[kind]))
            canary = _bad_canary(stable, kind, size)
        scenario = CanaryScenario(stable=stable, canary=canary, rate_rps=rate, label_delay_intervals=label_delay_intervals)
        releases.append(Release(scenario, kind, size))
    return releases


def _latency_sf(v: VersionBehaviour, x_ms: float) -> float:
    """P(latency > x) for a version (the load multiplier, shared by both versions, left out)."""
    z = (math.log(x_ms) - math.log(v.latency_median_ms)) / v.latency_sigma
    return float((1 - v.slow_fraction) * ndtr(-z) + v.slow_fraction * ndtr(-(z - math.log(v.slow_factor) / v.latency_sigma)))


def _auc(canary: VersionBehaviour, stable: VersionBehaviour) -> float:
    """P(canary latency > stable latency) for two log-normal mixtures."""
    def parts(v: VersionBehaviour) -> list[tuple[float, float]]:
        mu = math.log(v.latency_median_ms)
        return [(1 - v.slow_fraction, mu), (v.slow_fraction, mu + math.log(v.slow_factor))]

    scale = math.hypot(canary.latency_sigma, stable.latency_sigma)
    return sum(wc * ws * float(ndtr((mc - ms) / scale)) for wc, mc in parts(canary) for ws, ms in parts(stable))


def _two_proportion_z(p_canary: float, p_stable: float, n_canary: float, n_stable: float) -> float:
    pooled = (p_canary * n_canary + p_stable * n_stable) / (n_canary + n_stable)
    if pooled <= 0 or pooled >= 1:
        return 0.0
    return (p_canary - p_stable) / math.sqrt(pooled * (1 - pooled) * (1 / n_canary + 1 / n_stable))


def detectability(release: Release, interval_s: float = 60.0, flagger: FlaggerSpec = BENCH_FLAGGER) -> float:
    """The largest z-score of the release's effects over the canary data of Flagger's whole analysis."""
    s, c, sc = release.scenario.stable, release.scenario.canary, release.scenario
    weights = np.arange(flagger.step_weight, flagger.max_weight + 1, flagger.step_weight) / 100.0
    per_interval = sc.rate_rps * interval_s
    n_c, n_s = per_interval * weights.sum(), per_interval * (1 - weights).sum()
    p95 = brentq(lambda x: _latency_sf(s, x) - 0.05, 1e-3, 1e7)
    labelled = sc.label_fraction
    return max(
        (_auc(c, s) - 0.5) / math.sqrt((n_c + n_s + 1) / (12 * n_c * n_s)),
        _two_proportion_z(_latency_sf(c, p95), 0.05, n_c, n_s),
        _two_proportion_z(c.error_rate, s.error_rate, n_c, n_s),
        _two_proportion_z(1 - c.accuracy, 1 - s.accuracy, n_c * labelled, n_s * labelled),
    )


@dataclass(frozen=True)
class Outcomes:
    """Per release: ``promote``/``rollback``/``held`` at the horizon, when (minutes), and the exposure
    (share x minutes) in all and while still under analysis."""

    verdict: np.ndarray
    minutes: np.ndarray
    exposure: np.ndarray
    analysed_exposure: np.ndarray


def run_policy(
    policy: TrafficPolicy, releases: list[Release], *, seed: int, horizon_min: float = 60.0, interval_s: float = 60.0,
) -> Outcomes:
    """Run every release under ``policy`` for ``horizon_min`` minutes: the harness both policies share.

    Each release is a :class:`~foresight.control.canary.CanaryRun` of the controller that runs on a
    cluster, reading its metrics through :class:`~foresight.rollout.source.CanaryQueries` and routing
    through its own route of one :class:`~foresight.sim.canary.CanaryFleet`; the fleet simulates every
    release's interval at once (the weights routed then), then each undecided release's controller runs.
    """
    fleet = CanaryFleet([r.scenario for r in releases], seed=seed, interval_s=interval_s)
    runs = []
    for i in range(len(releases)):
        queries = CanaryQueries.simulator(f"stable-{i}", f"canary-{i}")
        controller = CanaryController(policy, fleet, fleet.router(i), queries, fleet.clock, interval_s=interval_s)
        runs.append(CanaryRun(controller, started_s=fleet.clock.now(), max_s=None))
    n = len(releases)
    verdict = np.full(n, "held", dtype=object)
    minutes = np.full(n, np.nan)
    exposure = np.zeros(n)
    analysed = np.zeros(n)
    interval_min = interval_s / 60.0
    for _ in range(round(horizon_min / interval_min)):
        share = fleet.weights / 100.0  # a promoted release routes 100%, a rolled-back one 0%
        exposure += share * interval_min
        analysed += np.where(verdict == "held", share, 0.0) * interval_min
        fleet.advance()
        end = fleet.clock.now()
        for i in np.flatnonzero(verdict == "held"):
            runs[i].advance_to(end)
            if runs[i].done:
                verdict[i] = "promote" if runs[i].outcome == PROMOTED else "rollback"
                minutes[i] = end / 60.0
    return Outcomes(verdict, minutes, exposure, analysed)


def _rounded_mean(x: np.ndarray) -> float | None:
    return round(float(x.mean()), 4) if x.size else None


def _caught_by_effect(releases: list[Release], caught: np.ndarray, detectable: np.ndarray) -> dict[str, dict[str, object]]:
    """Caught rate per bad kind and size, over all releases of the group and over its detectable ones."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(releases):
        if r.bad:
            groups[f"{r.kind} {r.size}"].append(i)
    table: dict[str, dict[str, object]] = {}
    for name in sorted(groups):
        idx = np.array(groups[name])
        det = idx[detectable[idx]]
        table[name] = {"trials": int(idx.size), "caught": _rounded_mean(caught[idx]),
                       "detectable": int(det.size), "caught_detectable": _rounded_mean(caught[det])}
    return table


def _summary(out: Outcomes, releases: list[Release], detectable: np.ndarray) -> dict[str, object]:
    bad = np.array([r.bad for r in releases])
    good = ~bad
    caught = out.verdict == "rollback"
    promoted_good = good & (out.verdict == "promote")
    return {
        "bad_caught": _rounded_mean(caught[bad]),
        "bad_exposure": _rounded_mean(out.exposure[bad]),
        "false_rollback_rate": _rounded_mean(caught[good]),
        "time_to_promote_minutes": _rounded_mean(out.minutes[promoted_good]),
        "bad_caught_detectable": _rounded_mean(caught[bad & detectable]),
        "bad_promoted": _rounded_mean((out.verdict == "promote")[bad]),
        "bad_exposure_while_analysed": _rounded_mean(out.analysed_exposure[bad]),
        "good_promoted": _rounded_mean(promoted_good[good]),
        "caught_by_effect": _caught_by_effect(releases, caught, detectable),
    }


def bench_canary(
    trials: int = 1000, seed: int = 0, horizon_min: float = 60.0, flagger: FlaggerSpec = BENCH_FLAGGER,
    foresight: ForesightSpec | None = None, label_delay_intervals: int = 0,
) -> dict[str, dict[str, object]]:
    """Both policies on the same ``trials`` releases: ``{"flagger": {...}, "foresight": {...}}``.

    Foresight's figures add its exposure as a fraction of Flagger's and whether the targets hold:
    exposure <= 50% of Flagger's, false rollbacks no more frequent, every detectable bad version caught.
    """
    releases = release_mix(trials, seed, label_delay_intervals=label_delay_intervals)
    detectable = np.array([r.bad and detectability(r, flagger=flagger) >= 3.0 for r in releases])
    result: dict[str, dict[str, object]] = {}
    for policy in (FlaggerPolicy(flagger), ForesightPolicy(foresight or ForesightSpec())):
        t0 = time.perf_counter()
        out = run_policy(policy, releases, seed=seed + 1, horizon_min=horizon_min)
        figures = _summary(out, releases, detectable)
        figures.update(trials=trials, bad_trials=int(sum(r.bad for r in releases)),
                       detectable_bad_trials=int(detectable.sum()), horizon_min=horizon_min,
                       wall_s=round(time.perf_counter() - t0, 2))
        result[policy.name] = figures
    ours, theirs = result["foresight"], result["flagger"]
    exposure, baseline = float(ours["bad_exposure"] or 0.0), float(theirs["bad_exposure"] or 0.0)  # type: ignore[arg-type]
    ours["bad_exposure_vs_flagger"] = round(exposure / baseline, 4) if baseline else None
    ours["targets_met"] = {
        "exposure_at_most_half_of_flagger": exposure <= 0.5 * baseline,
        "false_rollbacks_no_higher": (ours["false_rollback_rate"] or 0.0) <= (theirs["false_rollback_rate"] or 0.0),  # type: ignore[operator]
        "all_detectable_caught": ours["bad_caught_detectable"] in (None, 1.0),
    }
    return result
