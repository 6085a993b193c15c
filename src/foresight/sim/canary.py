"""A seeded, vectorised, request-level simulation of canary releases.

Every interval of every release (a *trial*; the batch runs many side by side):

1. **Traffic.** ``N ~ Poisson(rate x interval_s)`` requests, the rate being ``rate_rps`` (or a trace
   segment) times a mean-1 log-normal noise per interval; each request goes to the canary with
   probability ``weight / 100`` (Istio's per-request weighted routing): ``n_c ~ Binomial(N, w)``.
2. **Latency.** A version's latency is log-normal (``latency_median_ms``, ``latency_sigma``), a
   ``slow_fraction`` of its requests being ``slow_factor`` times slower (GC pauses, cold caches),
   and both versions share the interval's load multiplier (mean-1 log-normal, ``latency_noise_sd``).
   Requests are independent given the interval, so the histogram (Prometheus-style buckets) is
   ``Multinomial(n, bucket probabilities)``: exactly the counts that drawing each request's latency
   and bucketing it would give, without drawing them one by one.
3. **Errors.** Each request fails (5xx) with its version's ``error_rate``; with probability
   ``error_burst_probability`` the interval has a downstream burst that multiplies both versions'
   error rates by ``error_burst_factor``.
4. **Feedback.** A ``label_fraction`` of the requests get a label, correct with the version's
   ``accuracy``; labels arrive ``label_delay_intervals`` intervals later.

Small samples at low weight, shared noise and bursts are what make canary analysis hard; the
simulator keeps all three. :class:`CanaryBatch` is the vectorised engine (the benchmark's);
:class:`CanaryFleet` puts its releases behind the ports (a traffic router each, one metrics source), so
the controller runs on them as on Istio and Prometheus; :class:`CanarySimulator` is a fleet of one.

>>> batch = CanaryBatch([CanaryScenario(), CanaryScenario(canary=VersionBehaviour(error_rate=0.05))], seed=1)
>>> sample = batch.step(np.array([50, 50]))
>>> sample.requests.sum(axis=1).tolist(), sample.errors[:, 1].tolist()
([1830, 1992], [2, 46])
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import ndtr

from foresight.clock import ManualClock
from foresight.errors import InputError
from foresight.rollout.observation import (
    CanaryObservation,
    VersionSample,
    exponential_buckets,
)
from foresight.rollout.router import TrafficRouter, Weights
from foresight.series import Series

__all__ = [
    "DEFAULT_BUCKETS_MS", "BatchSample", "CanaryBatch", "CanaryFleet", "CanaryScenario", "CanarySimulator",
    "VersionBehaviour",
]

#: 5 ms to ~30 s by factors of 1.25, as an exponential Prometheus histogram would bucket latency.
DEFAULT_BUCKETS_MS = exponential_buckets(5.0, 1.25, 40)


class VersionBehaviour(BaseModel):
    """How one version serves: its latency distribution, error rate and model accuracy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_median_ms: float = Field(120.0, gt=0, description="Median of the log-normal latency.")
    latency_sigma: float = Field(0.45, gt=0, description="Log-normal shape (sd of log latency).")
    slow_fraction: float = Field(0.0, ge=0, le=1, description="Share of requests slowed by slow_factor.")
    slow_factor: float = Field(5.0, ge=1, description="How much slower those requests are.")
    error_rate: float = Field(0.004, ge=0, le=1, description="Probability that a request fails (5xx).")
    accuracy: float = Field(0.92, ge=0, le=1, description="Probability that a labelled prediction is right.")


class CanaryScenario(BaseModel):
    """One release: the stable and canary versions, the traffic, the noise and the feedback."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stable: VersionBehaviour = VersionBehaviour()
    canary: VersionBehaviour = VersionBehaviour()
    rate_rps: float = Field(30.0, gt=0, description="Mean request rate of the service (both versions).")
    rate_noise_sd: float = Field(0.1, ge=0, description="sd of the per-interval log-normal rate noise.")
    latency_noise_sd: float = Field(0.1, ge=0, description="sd of the shared per-interval latency multiplier.")
    error_burst_probability: float = Field(0.03, ge=0, le=1, description="Chance of a downstream error burst.")
    error_burst_factor: float = Field(5.0, ge=1, description="Error-rate multiplier during a burst.")
    label_fraction: float = Field(0.3, ge=0, le=1, description="Share of requests that get a label.")
    label_delay_intervals: int = Field(0, ge=0, le=60, description="Intervals before a label arrives.")


@dataclass(frozen=True)
class BatchSample:
    """One interval of every trial; axis 1 is the version (0 stable, 1 canary).

    ``latency`` holds per-bucket counts (the last bucket above the highest bound); ``labelled`` and
    ``correct`` count the labels that *arrived* in the interval.
    """

    requests: np.ndarray  # (T, 2)
    errors: np.ndarray  # (T, 2)
    latency: np.ndarray  # (T, 2, B + 1)
    labelled: np.ndarray  # (T, 2)
    correct: np.ndarray  # (T, 2)

    def version(self, trial: int, index: int) -> VersionSample:
        """Trial ``trial``'s sample of version ``index`` (0 stable, 1 canary)."""
        return VersionSample(int(self.requests[trial, index]), int(self.errors[trial, index]),
                             self.latency[trial, index], int(self.labelled[trial, index]),
                             int(self.correct[trial, index]))


def _per_trial(scenarios: Sequence[CanaryScenario], field: str) -> np.ndarray:
    """(T,) array of a scenario field."""
    return np.array([getattr(s, field) for s in scenarios], dtype=np.float64)


def _stack(scenarios: Sequence[CanaryScenario], field: str) -> np.ndarray:
    """(T, 2) array of a VersionBehaviour field for stable and canary."""
    return np.array([[getattr(s.stable, field), getattr(s.canary, field)] for s in scenarios], dtype=np.float64)


class CanaryBatch:
    """Many releases simulated side by side, one interval per :meth:`step` (see the module docstring).

    ``rates_rps`` (trials x intervals) replays a traffic trace segment instead of ``rate_rps``.
    """

    def __init__(
        self, scenarios: Sequence[CanaryScenario], *, seed: int = 0, interval_s: float = 60.0,
        bucket_bounds_ms: Sequence[float] = DEFAULT_BUCKETS_MS, rates_rps: np.ndarray | None = None,
    ) -> None:
        if not scenarios:
            raise InputError("a canary batch needs at least one scenario")
        self.interval_s = float(interval_s)
        self.bounds = np.asarray(bucket_bounds_ms, dtype=np.float64)
        self._rng = np.random.default_rng(seed)
        self._step = 0
        self._rates = None if rates_rps is None else np.asarray(rates_rps, dtype=np.float64)
        if self._rates is not None and (self._rates.ndim != 2 or self._rates.shape[0] != len(scenarios)):
            raise InputError(f"rates_rps must have shape (trials={len(scenarios)}, intervals), got {self._rates.shape}")
        self._rate = _per_trial(scenarios, "rate_rps")
        self._rate_sd = _per_trial(scenarios, "rate_noise_sd")
        self._lat_sd = _per_trial(scenarios, "latency_noise_sd")
        self._burst_p = _per_trial(scenarios, "error_burst_probability")
        self._burst_f = _per_trial(scenarios, "error_burst_factor")
        self._label_p = _per_trial(scenarios, "label_fraction")
        self._delay = np.array([s.label_delay_intervals for s in scenarios], dtype=np.int64)
        self._log_median, self._sigma = np.log(_stack(scenarios, "latency_median_ms")), _stack(scenarios, "latency_sigma")
        self._slow_q, self._log_slow = _stack(scenarios, "slow_fraction"), np.log(_stack(scenarios, "slow_factor"))
        self._error_rate, self._accuracy = _stack(scenarios, "error_rate"), _stack(scenarios, "accuracy")
        # labels in flight: slot (step % depth) holds the labels generated at that step
        self._in_flight = np.zeros((len(scenarios), int(self._delay.max()) + 1, 2, 2), dtype=np.int64)

    @property
    def trials(self) -> int:
        return int(self._rate.size)

    def _bucket_probabilities(self, load: np.ndarray) -> np.ndarray:
        """(T, 2, B + 1) probability of each latency bucket, given each trial's load multiplier."""
        log_bounds = np.log(self.bounds)[None, None, :]
        centre = (self._log_median + np.log(load)[:, None])[:, :, None]
        sigma = self._sigma[:, :, None]
        q = self._slow_q[:, :, None]
        cdf = (1 - q) * ndtr((log_bounds - centre) / sigma) + q * ndtr((log_bounds - centre - self._log_slow[:, :, None]) / sigma)
        edges = np.concatenate([np.zeros_like(cdf[..., :1]), cdf, np.ones_like(cdf[..., :1])], axis=-1)
        return np.clip(np.diff(edges, axis=-1), 0.0, 1.0)

    def step(self, weights: np.ndarray) -> BatchSample:
        """Simulate one interval with canary ``weights`` (percent, one per trial)."""
        rng, t = self._rng, self.trials
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (t,) or np.any((w < 0) | (w > 100)):
            raise InputError(f"weights must be {t} percentages in [0, 100], got {weights!r}")
        if self._rates is not None and self._step >= self._rates.shape[1]:
            raise InputError(f"the traffic trace has {self._rates.shape[1]} intervals; step {self._step} is past its end")
        base = self._rate if self._rates is None else self._rates[:, self._step]
        rate = base * np.exp(self._rate_sd * rng.standard_normal(t) - self._rate_sd**2 / 2)
        total = rng.poisson(rate * self.interval_s)
        canary = rng.binomial(total, w / 100.0)
        requests = np.stack([total - canary, canary], axis=1)

        load = np.exp(self._lat_sd * rng.standard_normal(t) - self._lat_sd**2 / 2)
        latency = rng.multinomial(requests, self._bucket_probabilities(load))
        burst = np.where(rng.random(t) < self._burst_p, self._burst_f, 1.0)
        errors = rng.binomial(requests, np.minimum(1.0, self._error_rate * burst[:, None]))
        labelled = rng.binomial(requests, self._label_p[:, None])
        correct = rng.binomial(labelled, self._accuracy)

        depth = self._in_flight.shape[1]
        self._in_flight[:, self._step % depth] = np.stack([labelled, correct], axis=-1)
        source_step = self._step - self._delay
        arrived = self._in_flight[np.arange(t), source_step % depth]
        arrived = np.where((source_step >= 0)[:, None, None], arrived, 0)
        self._step += 1
        return BatchSample(requests, errors, latency, arrived[..., 0], arrived[..., 1])


_SELECTOR = re.compile(r'^\s*(?P<name>[a-z_]+)\s*\{\s*workload\s*=\s*"(?P<workload>[^"]*)"\s*\}\s*$')
_COUNTERS = {"foresight_canary_requests": "requests", "foresight_canary_errors": "errors",
             "foresight_canary_labelled": "labelled", "foresight_canary_correct": "correct"}
_BUCKETS = "foresight_canary_latency_ms_bucket"


class CanaryFleet:
    """Many simulated releases behind the ports, side by side on one :class:`CanaryBatch` and one clock.

    Release ``i`` routes through :meth:`router` ``(i)`` (a :class:`~foresight.rollout.router.TrafficRouter`);
    the fleet is the :class:`~foresight.ports.MetricsSource` of all of them, telling them apart by
    workload name (``workloads[i]`` = release ``i``'s stable and canary names, unique in the fleet).
    :meth:`advance` simulates the next interval of every release at the weights routed then, so a
    thousand controllers run on the benchmark's vectorised draws. ``query_range`` understands
    ``<metric>{workload="<name>"}`` for ``foresight_canary_requests``, ``..._errors``,
    ``..._labelled``, ``..._correct`` (counts in the interval ending at each point) and
    ``foresight_canary_latency_ms_bucket`` (one series per ``le``, cumulative as in Prometheus).
    """

    def __init__(
        self, scenarios: Sequence[CanaryScenario], *, seed: int = 0, interval_s: float = 60.0, start_s: float = 0.0,
        bucket_bounds_ms: Sequence[float] = DEFAULT_BUCKETS_MS, workloads: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        self.batch = CanaryBatch(scenarios, seed=seed, interval_s=interval_s, bucket_bounds_ms=bucket_bounds_ms)
        self.clock = ManualClock(start_s)
        names = list(workloads) if workloads is not None else [(f"stable-{i}", f"canary-{i}")
                                                               for i in range(len(scenarios))]
        self._where = {name: (trial, version) for trial, pair in enumerate(names) for version, name in enumerate(pair)}
        if len(names) != len(scenarios) or len(self._where) != 2 * len(scenarios):
            raise InputError(f"a fleet of {len(scenarios)} releases needs as many (stable, canary) workload name "
                             f"pairs, all names distinct; got {names}")
        self.weights = np.zeros(len(scenarios), dtype=np.int64)  # each release's canary percent
        self._les = [repr(float(b)) for b in self.batch.bounds] + ["+Inf"]
        self._times: list[float] = []
        self._samples: list[BatchSample] = []

    def router(self, trial: int) -> TrafficRouter:
        """Release ``trial``'s stable/canary split."""
        return _FleetRoute(self, trial)

    def advance(self) -> BatchSample:
        """Simulate the next interval of every release at its current weights; the clock moves to its end."""
        sample = self.batch.step(self.weights)
        self.clock.advance(self.batch.interval_s)
        self._times.append(self.clock.now())
        self._samples.append(sample)
        return sample

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        match = _SELECTOR.match(query)
        if match is None or (match["name"] not in _COUNTERS and match["name"] != _BUCKETS):
            raise InputError(
                f"the canary simulator does not understand {query!r}: use <metric>{{workload=\"...\"}} with one of "
                f"{', '.join([*_COUNTERS, _BUCKETS])}"
            )
        if match["workload"] not in self._where:
            return []
        trial, version = self._where[match["workload"]]
        first, last = bisect.bisect_left(self._times, start), bisect.bisect_right(self._times, end)
        if first >= last:
            return []
        times, samples = self._times[first:last], self._samples[first:last]
        labels = {"workload": match["workload"]}
        if match["name"] in _COUNTERS:
            field = _COUNTERS[match["name"]]
            return [Series(labels, times, [getattr(s, field)[trial, version] for s in samples])]
        cumulative = np.cumsum(np.stack([s.latency[trial, version] for s in samples]), axis=1)
        return [Series({**labels, "le": le}, times, cumulative[:, i]) for i, le in enumerate(self._les)]


@dataclass(frozen=True)
class _FleetRoute:
    """One release's weights in a :class:`CanaryFleet`."""

    fleet: CanaryFleet
    trial: int

    def get_weights(self) -> Weights:
        canary = int(self.fleet.weights[self.trial])
        return Weights(100 - canary, canary)

    def set_weights(self, stable: int, canary: int) -> None:
        self.fleet.weights[self.trial] = Weights(stable, canary).canary


class CanarySimulator:
    """One simulated release behind the ports: a :class:`~foresight.rollout.router.TrafficRouter`
    (the weights) and a :class:`~foresight.ports.MetricsSource` (per-interval counts, with the
    selectors of :class:`CanaryFleet`), on its own clock: a fleet of one.

    :meth:`advance` simulates the next interval at the current weights.
    """

    def __init__(
        self, scenario: CanaryScenario, *, seed: int = 0, interval_s: float = 60.0, start_s: float = 0.0,
        bucket_bounds_ms: Sequence[float] = DEFAULT_BUCKETS_MS, workloads: tuple[str, str] = ("stable", "canary"),
    ) -> None:
        self._fleet = CanaryFleet([scenario], seed=seed, interval_s=interval_s, start_s=start_s,
                                  bucket_bounds_ms=bucket_bounds_ms, workloads=[workloads])
        self._route = self._fleet.router(0)
        self.clock = self._fleet.clock

    def get_weights(self) -> Weights:
        return self._route.get_weights()

    def set_weights(self, stable: int, canary: int) -> None:
        self._route.set_weights(stable, canary)

    def advance(self) -> CanaryObservation:
        """Simulate the next interval at the current weights, move the clock to its end, return what it saw."""
        start, weight = self.clock.now(), self._route.get_weights().canary
        sample = self._fleet.advance()
        return CanaryObservation(start, self.clock.now(), weight, self._fleet.batch.bounds,
                                 sample.version(0, 0), sample.version(0, 1))

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        return self._fleet.query_range(query, start, end, step_s)
