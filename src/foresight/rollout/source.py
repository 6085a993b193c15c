"""Reading one interval of canary metrics from a :class:`~foresight.ports.MetricsSource`.

Each query is a template (``$workload``, ``$namespace``, ``$window``) whose value at the end of the
interval is the interval's count: for Prometheus an ``increase(...[$window])`` over Istio's standard
metrics (the defaults), for the simulator its plain per-interval selectors
(:meth:`CanaryQueries.simulator`). The latency query returns one series per ``le`` (cumulative, as
Prometheus histograms are); the reader turns them into per-bucket counts.

Missing data stays missing: a version whose request query returns nothing is ``None`` in the
observation (the policies then hold and say so); a missing latency histogram is empty and missing
feedback counts as no labels, which give the tests no evidence, so they hold the promotion.
"""

from __future__ import annotations

import math
from string import Template

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from foresight.errors import InputError
from foresight.ports import MetricsSource
from foresight.rollout.observation import CanaryObservation, VersionSample
from foresight.series import Series

__all__ = ["CanaryQueries", "read_observation"]

_ISTIO = 'reporter="destination",destination_workload_namespace="$namespace",destination_workload="$workload"'


class CanaryQueries(BaseModel):
    """Where the stable and canary workloads' counts come from (PromQL templates by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = Field("default", description="Namespace of both workloads ($namespace).")
    stable_workload: str = Field(description="The stable (primary) workload's name.")
    canary_workload: str = Field(description="The canary workload's name.")
    requests: str = Field(f"sum(increase(istio_requests_total{{{_ISTIO}}}[$window]))")
    errors: str = Field(f'sum(increase(istio_requests_total{{{_ISTIO},response_code=~"5.."}}[$window]))')
    latency_buckets: str = Field(
        f"sum by (le) (increase(istio_request_duration_milliseconds_bucket{{{_ISTIO}}}[$window]))",
        description="One series per `le` label: requests at or under that many ms.",
    )
    labelled: str | None = Field(
        'sum(increase(model_feedback_total{namespace="$namespace",workload="$workload"}[$window]))',
        description="Predictions that got a label (None: the service has no feedback).",
    )
    correct: str | None = Field(
        'sum(increase(model_feedback_total{namespace="$namespace",workload="$workload",correct="true"}[$window]))'
    )

    @classmethod
    def simulator(cls, stable_workload: str = "stable", canary_workload: str = "canary") -> CanaryQueries:
        """The selectors :class:`foresight.sim.canary.CanarySimulator` answers."""
        selector = '{workload="$workload"}'
        return cls(stable_workload=stable_workload, canary_workload=canary_workload,
                   requests="foresight_canary_requests" + selector, errors="foresight_canary_errors" + selector,
                   latency_buckets="foresight_canary_latency_ms_bucket" + selector,
                   labelled="foresight_canary_labelled" + selector, correct="foresight_canary_correct" + selector)


def _last(series: list[Series], end: float) -> float | None:
    """Sum over the series of each one's value at ``end`` (None when no series has a finite value there)."""
    values = [float(s.values[-1]) for s in series if len(s) and s.timestamps[-1] == end and math.isfinite(s.values[-1])]
    return sum(values) if values else None


def _histogram(series: list[Series], end: float, query: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(finite bounds, per-bucket counts) from cumulative ``le`` series; None when there are none."""
    points: dict[float, float] = {}
    for s in series:
        if "le" not in s.labels:
            raise InputError(f"latency query {query!r} returned a series without an `le` label: {dict(s.labels)}")
        value = _last([s], end)
        if value is not None:
            points[float(s.labels["le"])] = points.get(float(s.labels["le"]), 0.0) + value
    if not points or math.inf not in points:
        return None
    bounds = np.array(sorted(points))
    cumulative = np.maximum.accumulate(np.array([points[b] for b in bounds]))  # as PromQL makes it monotonic
    counts = np.rint(np.diff(cumulative, prepend=0.0)).astype(np.int64)
    return bounds[:-1], counts


def read_observation(
    source: MetricsSource, queries: CanaryQueries, weight: int, start: float, end: float,
) -> CanaryObservation:
    """Both versions' counts over ``[start, end]`` (the canary had ``weight`` percent then).

    A version without a request count is None; without any latency histogram the observation has
    no bucket bounds (a histogram is then one ``+Inf`` bucket, which carries no latency evidence).
    """
    window = f"{max(1, round(end - start))}s"

    def ask(template: str | None, workload: str) -> list[Series]:
        if template is None:
            return []
        query = Template(template).substitute(workload=workload, namespace=queries.namespace, window=window)
        return source.query_range(query, end, end, max(end - start, 1.0))

    workloads = {"stable": queries.stable_workload, "canary": queries.canary_workload}
    histograms = {role: _histogram(ask(queries.latency_buckets, w), end, queries.latency_buckets)
                  for role, w in workloads.items()}
    found = [h for h in histograms.values() if h is not None]
    bounds = found[0][0] if found else np.empty(0)
    if any(h[0].shape != bounds.shape or not np.allclose(h[0], bounds) for h in found):
        raise InputError("the stable and canary latency histograms have different buckets")

    def sample(role: str) -> VersionSample | None:
        requests = _last(ask(queries.requests, workloads[role]), end)
        if requests is None:
            return None
        n = round(requests)
        errors = round(_last(ask(queries.errors, workloads[role]), end) or 0.0)
        labelled = round(_last(ask(queries.labelled, workloads[role]), end) or 0.0)
        correct = round(_last(ask(queries.correct, workloads[role]), end) or 0.0)
        histogram = histograms[role]
        counts = histogram[1] if histogram is not None else np.zeros(bounds.size + 1, dtype=np.int64)
        return VersionSample(n, min(errors, n), counts, labelled, min(correct, labelled))

    return CanaryObservation(start, end, weight, bounds, sample("stable"), sample("canary"))
