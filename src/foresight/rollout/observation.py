"""What a canary analysis sees in one interval: per version, request counts and a latency histogram.

Both policies read the same :class:`CanaryObservation`, shaped like what Prometheus gives for an
Istio mesh over one interval: requests and 5xx errors (``istio_requests_total``), a latency
histogram (``istio_request_duration_milliseconds_bucket``) and, for models with label feedback,
how many predictions got a label and how many of those were right. The histogram is stored as
per-bucket counts (not Prometheus' cumulative ones): ``latency_counts[i]`` counts requests in
``(bounds[i-1], bounds[i]]`` and the last entry those above ``bounds[-1]`` (the ``+Inf`` bucket).

A version whose series the metrics source did not return is ``None``: the policies hold the canary
on missing data and say so, they never read a gap as "no errors".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from foresight.errors import InputError

__all__ = ["CanaryObservation", "VersionSample", "exponential_buckets", "histogram_quantile"]


def exponential_buckets(start_ms: float, factor: float, count: int) -> tuple[float, ...]:
    """``count`` bucket upper bounds ``start_ms * factor**i``, as Prometheus clients define them.

    >>> exponential_buckets(10.0, 2.0, 4)
    (10.0, 20.0, 40.0, 80.0)
    """
    if start_ms <= 0 or factor <= 1 or count < 1:
        raise InputError(f"exponential buckets need start > 0, factor > 1, count >= 1 (got {start_ms}, {factor}, {count})")
    return tuple(float(start_ms * factor**i) for i in range(count))


def histogram_quantile(q: float, bounds: np.ndarray, counts: np.ndarray) -> float:
    """The ``q`` quantile of a bucketed histogram, exactly as PromQL's ``histogram_quantile`` computes it.

    Linear interpolation inside the bucket that holds rank ``q * total`` (the first bucket starts at
    0); a rank in the ``+Inf`` bucket answers the highest finite bound; no observations answer NaN.
    Flagger's ``request-duration`` check is this function at ``q = 0.99``.

    >>> bounds = np.array([100.0, 200.0, 400.0])
    >>> histogram_quantile(0.5, bounds, np.array([40, 40, 20, 0]))
    125.0
    >>> histogram_quantile(0.99, bounds, np.array([0, 0, 90, 10])), histogram_quantile(0.5, bounds, np.zeros(4))
    (400.0, nan)
    """
    cumulative = np.cumsum(counts, dtype=np.float64)
    total = cumulative[-1]
    if total <= 0 or len(bounds) == 0:
        return float("nan")
    rank = q * total
    b = int(np.searchsorted(cumulative[:-1], rank, side="left"))
    if b == len(bounds):
        return float(bounds[-1])
    start = 0.0 if b == 0 else float(bounds[b - 1])
    below = 0.0 if b == 0 else cumulative[b - 1]
    in_bucket = cumulative[b] - below
    return start + (float(bounds[b]) - start) * float((rank - below) / in_bucket)


@dataclass(frozen=True)
class VersionSample:
    """One version's traffic over the interval: counts, and its latency histogram (per-bucket counts).

    ``labelled`` predictions got ground truth (feedback) during the interval, ``correct`` of them were
    right; both stay 0 for a service without feedback.
    """

    requests: int
    errors: int
    latency_counts: np.ndarray
    labelled: int = 0
    correct: int = 0

    def __post_init__(self) -> None:
        counts = np.asarray(self.latency_counts, dtype=np.int64)
        if counts.ndim != 1 or np.any(counts < 0):
            raise InputError(f"latency_counts must be a 1-D array of counts >= 0, got {self.latency_counts!r}")
        if not 0 <= self.errors <= self.requests:
            raise InputError(f"errors ({self.errors}) must lie in [0, requests = {self.requests}]")
        if not 0 <= self.correct <= self.labelled:
            raise InputError(f"correct ({self.correct}) must lie in [0, labelled = {self.labelled}]")
        counts.flags.writeable = False
        object.__setattr__(self, "latency_counts", counts)

    @property
    def error_rate(self) -> float:
        """Errors per request (NaN without requests)."""
        return self.errors / self.requests if self.requests else float("nan")

    @property
    def accuracy(self) -> float:
        """Correct per labelled prediction (NaN without labels)."""
        return self.correct / self.labelled if self.labelled else float("nan")


@dataclass(frozen=True)
class CanaryObservation:
    """Stable and canary over ``[start, end]``, with the canary weight (percent) that was routed then.

    ``bucket_bounds_ms`` are the finite upper bounds of both versions' latency histograms (empty when
    the source gave no histogram: each histogram is then a single ``+Inf`` bucket).
    """

    start: float
    end: float
    weight: int
    bucket_bounds_ms: np.ndarray
    stable: VersionSample | None
    canary: VersionSample | None

    def __post_init__(self) -> None:
        bounds = np.asarray(self.bucket_bounds_ms, dtype=np.float64)
        if bounds.ndim != 1 or np.any(np.diff(bounds) <= 0):
            raise InputError("bucket_bounds_ms must be a strictly increasing 1-D array")
        if not 0 <= self.weight <= 100:
            raise InputError(f"canary weight must lie in [0, 100], got {self.weight}")
        for name, sample in (("stable", self.stable), ("canary", self.canary)):
            if sample is not None and sample.latency_counts.size != bounds.size + 1:
                raise InputError(
                    f"{name} latency histogram has {sample.latency_counts.size} buckets; "
                    f"{bounds.size} bounds need {bounds.size + 1} (the last is +Inf)"
                )
        bounds.flags.writeable = False
        object.__setattr__(self, "bucket_bounds_ms", bounds)
