"""What a run cost and how well it served: the numbers the demo and the benchmarks compare.

Definitions, kept in one place so every policy is measured the same way:

- *SLO-violation minutes*: minutes in which a service broke its SLO (p95 latency above its
  target or error ratio above its target), summed over services.
- *replica-minutes*: pods that exist (ready or starting, as a cloud bill counts them) times
  minutes, summed over services.
- *scaling actions*: changes of a service's desired replicas, summed over services.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ForecastTrace", "RunSummary", "ServiceSummary", "forecast_traces", "summarise"]


@dataclass(frozen=True)
class ServiceSummary:
    """One service's totals over a run."""

    service: str
    slo_violation_minutes: float
    replica_minutes: float
    scaling_actions: int
    peak_offered_rps: float
    dropped_fraction: float
    p95_latency_s_median: float


@dataclass(frozen=True)
class RunSummary:
    """All services' totals over a run of ``duration_s`` simulated seconds."""

    duration_s: float
    slo_violation_minutes: float
    replica_minutes: float
    scaling_actions: int
    services: tuple[ServiceSummary, ...]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def summarise(history: Mapping[str, np.ndarray], services: Sequence[str], step_s: float) -> RunSummary:
    """Totals of a run from its recorded history (arrays of shape [steps, services]).

    >>> h = {
    ...     "foresight_slo_violation": np.array([[0.0, 1.0], [1.0, 1.0]]),
    ...     "foresight_replicas_current": np.array([[2.0, 1.0], [2.0, 1.0]]),
    ...     "foresight_replicas_desired": np.array([[2.0, 1.0], [3.0, 1.0]]),
    ...     "foresight_offered_rps": np.array([[10.0, 5.0], [20.0, 5.0]]),
    ...     "foresight_dropped_rps": np.array([[0.0, 0.0], [3.0, 0.0]]),
    ...     "foresight_latency_p95_seconds": np.array([[0.1, 0.2], [0.3, 0.2]]),
    ... }
    >>> s = summarise(h, ["api", "db"], step_s=30.0)
    >>> s.slo_violation_minutes, s.replica_minutes, s.scaling_actions
    (1.5, 3.0, 1)
    """
    minutes = step_s / 60.0
    violation = np.nan_to_num(history["foresight_slo_violation"]) * minutes
    replicas = history["foresight_replicas_current"] * minutes
    desired = history["foresight_replicas_desired"]
    actions = (np.diff(desired, axis=0) != 0).sum(axis=0) if desired.shape[0] > 1 else np.zeros(len(services))
    offered = history["foresight_offered_rps"]
    dropped = history["foresight_dropped_rps"]
    p95 = history["foresight_latency_p95_seconds"]
    per_service = tuple(
        ServiceSummary(
            service=name,
            slo_violation_minutes=round(float(violation[:, i].sum()), 3),
            replica_minutes=round(float(replicas[:, i].sum()), 3),
            scaling_actions=int(actions[i]),
            peak_offered_rps=round(float(np.nanmax(offered[:, i], initial=0.0)), 3),
            dropped_fraction=round(float(dropped[:, i].sum() / max(offered[:, i].sum(), 1e-12)), 6),
            p95_latency_s_median=round(float(np.nanmedian(p95[:, i])) if p95.shape[0] else 0.0, 6),
        )
        for i, name in enumerate(services)
    )
    return RunSummary(
        duration_s=float(desired.shape[0] * step_s),
        slo_violation_minutes=round(float(violation.sum()), 3),
        replica_minutes=round(float(replicas.sum()), 3),
        scaling_actions=int(actions.sum()),
        services=per_service,
    )


@dataclass(frozen=True)
class ForecastTrace:
    """A predictive service's forecasts beside what came: at each decision ``times[k]`` the forecast
    peak load over the coming ``lookahead_s`` and the highest load actually offered in that window
    (NaN where the run ended first).

    ``coverage`` is the fraction of decisions whose forecast peak was at least the actual one (the
    forecast quantile's promise), ``median_error`` the median of ``|forecast - actual| / actual``.
    """

    service: str
    times: np.ndarray
    forecast_peak_rps: np.ndarray
    actual_peak_rps: np.ndarray

    @property
    def coverage(self) -> float | None:
        known = np.isfinite(self.actual_peak_rps)
        return float(np.mean(self.forecast_peak_rps[known] >= self.actual_peak_rps[known])) if known.any() else None

    @property
    def median_error(self) -> float | None:
        known = np.isfinite(self.actual_peak_rps) & (self.actual_peak_rps > 0)
        if not known.any():
            return None
        error = np.abs(self.forecast_peak_rps[known] - self.actual_peak_rps[known]) / self.actual_peak_rps[known]
        return float(np.median(error))

    def to_json(self) -> dict[str, object]:
        coverage, error = self.coverage, self.median_error
        return {"service": self.service, "decisions_with_forecast": int(self.times.size),
                "coverage": None if coverage is None else round(coverage, 4),
                "median_relative_error": None if error is None else round(error, 4)}


def forecast_traces(
    points: Mapping[str, Sequence[tuple[float, float, float]]],
    history: Mapping[str, np.ndarray],
    services: Sequence[str],
    start: float,
    step_s: float,
) -> tuple[ForecastTrace, ...]:
    """One :class:`ForecastTrace` per service in ``points`` (decision time, forecast peak, lookahead
    seconds), the actual peak read from the recorded ``foresight_offered_rps`` (step ``k`` stamped at
    ``start + (k + 1) step_s``).

    >>> h = {"foresight_offered_rps": np.array([[10.0], [30.0], [20.0], [5.0]])}
    >>> f = forecast_traces({"api": [(0.0, 35.0, 30.0), (30.0, 15.0, 30.0), (60.0, 9.0, 60.0)]}, h, ["api"], 0.0, 15.0)[0]
    >>> f.actual_peak_rps.tolist(), f.coverage, round(f.median_error or 0, 3)
    ([30.0, 20.0, nan], 0.5, 0.208)
    """
    offered = history.get("foresight_offered_rps")
    steps = 0 if offered is None else offered.shape[0]
    out = []
    for name, rows in points.items():
        data = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
        actual = np.full(data.shape[0], np.nan)
        if offered is not None and name in services:
            column = offered[:, list(services).index(name)]
            for k, (t, _, ahead) in enumerate(data):
                first = max(0, int(round((t - start) / step_s)))  # the step ending just after t
                last = int(round((t + ahead - start) / step_s)) - 1
                if last < steps and last >= first:
                    actual[k] = float(column[first : last + 1].max())
        out.append(ForecastTrace(name, data[:, 0], data[:, 1], actual))
    return tuple(out)
