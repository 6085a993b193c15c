"""Predictive scaling against the reactive HPA, static peak provisioning and a perfect-foresight oracle,
on real request traces, each policy driving the simulator through the real reconcile loop.

The scenario (:class:`Scenario`), one per trace:

* **Workload.** One service: ``capacity_rps`` per replica at 100% CPU, ``base_latency_s`` per request
  (so ``capacity_rps x base_latency_s`` requests in flight per replica), ``startup_delay_s`` from
  asking for a pod to its serving, at least ``min_replicas``. The trace is resampled to the
  simulator's step and scaled so that the evaluated window's peak needs ``replicas_at_peak``
  replicas at the headline 70% target: ``peak = replicas_at_peak x capacity_rps x 0.70``.
* **Split, no look-ahead.** The last ``days`` of the trace are simulated and scored (fewer when the
  trace is shorter: at least ``min_history_days`` stay before them); everything before is history
  the forecaster may read (the service's offered load before the window). Every policy only ever
  reads what the metrics source has recorded up to ``now``; forecasters are fitted and updated on
  those points alone. Only the oracle knows the future, by definition.
* **Side by side.** Each policy drives its own copy of the service in one simulated cluster (same
  load, same steps, no calls between copies, nodes to spare), through its own
  :class:`~foresight.control.loop.Reconciler` every ``period_s``:

  - ``static``: ``replicas_at_peak`` replicas throughout (peak provisioning);
  - ``hpa@T``: the Kubernetes HPA on CPU at target ``T``% (:mod:`foresight.autoscale.hpa`), for T in
    ``sweep_percent``; ``hpa`` is the headline ``hpa@70``;
  - ``predictive`` (headline): the production path. Foresight's predictive policy sizes replicas
    for the SLO (below) from the ``quantile`` forecast's peak over the start-up delay and one
    period (with ``calibration_window``: times the ``calibration_quantile`` of its own recent
    misses, calibrated online per workload), never below its floor (the load now plus its last-minute rise projected
    ``floor_trend_s`` ahead, or the highest load of the last ``floor_window_s`` if larger), each load times ``1 + headroom`` (rises within a start-up delay that
    neither the forecast nor the floor sees), and publishes them as ``foresight_desired_replicas`` (the exporter's
    gauge); an HPA with that External metric at ``AverageValue`` 1 (and CPU at
    ``path_cpu_percent`` beside it: the HPA scales down only when every metric can be read, and CPU
    is the reactive safety net should Foresight stop publishing) reads it one period later (scrape
    and adapter latency) and scales with its tolerance, stabilisation and rate limits;
  - ``predictive@H``: the headline path with headroom ``H`` instead, for H in ``headroom_sweep``:
    the predictive policy's own cost-vs-violation curve, read at the HPA's replica-minutes
    (:meth:`TraceResult.predictive_at_hpa_cost`): a win at matched cost, not a different trade-off;
  - ``predictive-direct``: the predictive policy setting replicas itself;
    the predictive loops read the load on the forecast grid (``forecast_step_s``) over the
    policy's 15-day lookback through :class:`~foresight.forecast.history.IncrementalHistory` (the
    history once, then only new points, as against Prometheus), and share each forecaster answer
    (fits, updates, predictions: they differ only in how they size replicas);
  - ``oracle``: the cheapest schedule without a violation, from the known load: per step the fewest
    replicas meeting the SLO (:func:`oracle_replicas`), each pod asked for one start-up delay before it
    is needed and kept through gaps no longer than that delay;
  - ``oracle@70``: the same schedule for the replicas the 70% target asks for at each step's load.

* **One capacity definition.** A replica count serves a load when the simulator's M/M/c queue
  (:mod:`foresight.capacity.queueing`) meets the SLO there:
  :func:`foresight.capacity.slo_replicas`. The oracle and the predictive policy (its
  forecast and its floor) size with it; only the HPA baselines size with their CPU target, as a
  real HPA does.
* **One SLO definition.** A step violates the SLO when the simulator records
  ``foresight_slo_violation`` (p95 latency above ``slo_latency_p95_s`` or failed fraction above
  ``slo_error_ratio``); SLO-violation minutes count those steps. Replica-minutes count the pods
  that exist (starting or ready); scaling actions the periods in which the loop set replicas.

With 8 requests in flight per replica and a p95 SLO of twice the service time, the SLO holds up to
~86% busy at 2 replicas and ~93-97% at 5-20: a fixed 70% target buys headroom against bursts with
~30% more replicas than the SLO needs. Targets of the issue are checked per trace
(:meth:`TraceResult.targets`), with the HPA's replica-minutes at the predictive policy's violations
read off the sweep (:meth:`TraceResult.hpa_at_matched_violations`). The predictive settings
(``quantile``, ``headroom``, ``stabilisation_window_s``, ``floor_trend_s``, ``floor_window_s``, ``forecast_step_s``) are one value for
every trace, chosen on the traces of :data:`FIT_TRACES`, never per trace; the others are held out.

**The comparison** (:meth:`TraceResult.pareto`, :func:`pooled_json`) is read off the Pareto fronts in
requested CPU-core-minutes: the headline's cost over the HPA sweep's at the same violations, the
headroom sweep's violations at the HPA@70's cost, the headline's cost over the oracle's; per trace,
and pooled (each setting's figures summed over the traces) over all traces and over the held-out
ones. Flapping is counted from each loop's applied changes: scaling actions, ``up_down_up`` and
``reversed_downs`` within ``flap_window_s``.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.autoscale.hpa import (
    ExternalMetric,
    HpaBehavior,
    HpaPolicy,
    HpaSpec,
    HpaState,
)
from foresight.autoscale.policy import Observation, Recommendation, ReplicaPolicy
from foresight.autoscale.predictive import (
    PredictivePolicy,
    PredictiveSpec,
    PredictiveState,
    ServiceCapacity,
)
from foresight.bench.progress import Progress, part, silent
from foresight.capacity import (
    DEFAULT_TIMEOUT_S,
    SloModel,
    slo_replicas,
    utilisation_replicas,
)
from foresight.control.audit import AuditRecord
from foresight.control.loop import Reconciler
from foresight.control.safety import SafetyLimits
from foresight.errors import ConfigError, ForesightError, InputError
from foresight.forecast.history import IncrementalHistory
from foresight.ports import MetricsSource
from foresight.series import Series
from foresight.sim import ClusterSpec, NodePoolSpec, ServiceSpec, Simulator
from foresight.sim.metrics import METRICS, parse_selector
from foresight.sim.metrics import query_range as recorded_range
from foresight.sim.trace import read_trace, resample

__all__ = [
    "FIT_TRACES",
    "NO_LOOK_AHEAD",
    "PolicyResult",
    "Scenario",
    "TraceResult",
    "bench_autoscale",
    "default_traces",
    "describe",
    "oracle_replicas",
    "oracle_schedule",
    "pool",
    "pooled_json",
    "report",
    "reversed_downs",
    "run_trace",
    "up_down_up",
]

_DAY_S = 86400.0
_POLICY = PredictiveSpec.model_fields  # the policy's defaults are the scenario's: one set of predictive settings
_LOAD = "foresight_offered_rps"
PREDICTED_LOAD = "ai_predicted_load"
DESIRED_REPLICAS = "foresight_desired_replicas"
NO_LOOK_AHEAD = (
    "no look-ahead: every policy reads only the load and CPU recorded up to each decision; forecasters are "
    "fitted and updated on those points alone (only the oracle knows the future)"
)


FIT_TRACES = frozenset({"nasa-http-1995", *(f"crane-input{k}" for k in range(6))})
SPLIT_RULE = (
    "every predictive setting (quantile, headroom, stabilisation, floor, forecast step) was chosen on the fit traces "
    "(nasa-http-1995, crane-input0..5) by one rule, fewest violations at no more replica-minutes than the HPA@70, on "
    "one evaluated day; every other trace is held out"
)


class Scenario(BaseModel):
    """The simulated workload and the policies' settings (module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    replicas_at_peak: int = Field(20, ge=1, description="Replicas the window's peak needs at target_percent.")
    capacity_rps: float = Field(40.0, gt=0, description="Requests per second one replica serves at 100% CPU.")
    base_latency_s: float = Field(0.2, gt=0, description="Service time of one request at no load.")
    slo_latency_p95_s: float = Field(0.4, gt=0, description="SLO on p95 latency.")
    slo_error_ratio: float = Field(0.01, gt=0, lt=1, description="SLO on the failed fraction.")
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, description="A request queued longer than this fails.")
    startup_delay_s: float = Field(90.0, ge=0, description="From asking for a pod until it serves.")
    min_replicas: int = Field(2, ge=1, description="Fewest replicas any policy may run.")
    days: float = Field(1.0, gt=0, description="Evaluated days at the end of each trace (a week: 7, ~7x the time).")
    min_history_days: float = Field(1.0, gt=0, description="History kept before the window, at least.")
    period_s: float = Field(15.0, gt=0, description="Simulator step and reconcile period.")
    target_percent: int = Field(
        70, ge=1, le=100, description="Target utilisation of the headline HPA, and of the predictive policy and its HPA."
    )
    sweep_percent: tuple[int, ...] = Field((40, 50, 60, 70, 80, 90), description="HPA targets of the cost curve.")
    headroom_sweep: tuple[float, ...] = Field(
        (0.0, 0.2, 0.3), description="Headrooms of the predictive path's cost curve, beside the headline headroom."
    )
    quantile: float = Field(
        _POLICY["quantile"].default, gt=0, lt=1, description="Forecast quantile the predictive policy sizes for: its cost knob."
    )
    stabilisation_window_s: float = Field(
        _POLICY["stabilisation_window_s"].default, ge=0,
        description="The predictive policy's scale-down stabilisation (one value for every trace).",
    )
    headroom: float = Field(_POLICY["headroom"].default, ge=0, le=1, description="The predictive policy's SLO-sizing headroom.")
    floor_trend_s: float | None = Field(
        _POLICY["floor_trend_s"].default, ge=0,
        description="The predictive floor projects the last minute's rise this far (None: start-up delay + period).",
    )
    floor_window_s: float = Field(
        _POLICY["floor_window_s"].default, ge=0,
        description="The predictive floor is at least the highest load of this many seconds (0: off).",
    )
    forecast_step_s: float = Field(
        _POLICY["forecast_step_s"].default, gt=0, description="The predictive policy's forecast grid and its loops' query step."
    )
    calibration_window: int = Field(
        0, ge=0,
        description=("The predictive policy sizes its forecast by its own last N misses (0: the fixed headroom). "
                     "240 at quantile 0.95 cut violations 30% on the fit traces but 4% on the held-out ones (README)."),
    )
    calibration_quantile: float = Field(0.95, gt=0, lt=1, description="Quantile of those misses sized for.")
    path_cpu_percent: int | None = Field(
        90, ge=1, le=100,
        description="A CPU metric at this target beside the External one in the predictive path's HPA (None: none).",
    )
    path_scale_down_window_s: int = Field(
        0, ge=0, le=3600, description="Scale-down stabilisation of the predictive path's HPA (the policy stabilises itself)."
    )
    flap_window_s: float = Field(
        300.0, gt=0, description="An up-down-up within this long flaps (the HPA's default scale-down stabilisation).")
    path_scale_up_tolerance: float | None = Field(
        0.0, ge=0, lt=1,
        description="behavior.scaleUp.tolerance of the predictive path's HPA (Kubernetes 1.35+); None: the cluster's 10%.",
    )

    @model_validator(mode="after")
    def _headline_in_sweep(self) -> Scenario:
        if self.target_percent not in self.sweep_percent:
            raise ConfigError(f"scenario: sweep_percent {self.sweep_percent} must include target_percent {self.target_percent}")
        if any(not 0 <= h <= 1 for h in self.headroom_sweep):
            raise ConfigError(f"scenario: headroom_sweep {self.headroom_sweep} must lie within [0, 1]")
        return self

    @property
    def headrooms(self) -> tuple[float, ...]:
        """The predictive path's headrooms, the headline's included, ascending."""
        return tuple(sorted({self.headroom, *self.headroom_sweep}))

    @property
    def peak_rps(self) -> float:
        return self.replicas_at_peak * self.capacity_rps * self.target_percent / 100.0

    @property
    def max_replicas(self) -> int:
        """Room for the lowest target of the sweep at the peak, and for bursts above it."""
        return 3 * self.replicas_at_peak

    @property
    def startup_steps(self) -> int:
        return math.ceil(self.startup_delay_s / self.period_s - 1e-9)

    @property
    def slo(self) -> SloModel:
        """The SLO every policy is scored on, as the predictive policy and the oracle size for it."""
        return SloModel(base_latency_s=self.base_latency_s, slo_latency_p95_s=self.slo_latency_p95_s,
                        slo_error_ratio=self.slo_error_ratio, timeout_s=self.timeout_s)

    def service(self, name: str, initial_replicas: int) -> ServiceSpec:
        return ServiceSpec(
            name=name, capacity_rps=self.capacity_rps, base_latency_s=self.base_latency_s,
            startup_delay_s=self.startup_delay_s, min_replicas=self.min_replicas, max_replicas=self.max_replicas,
            initial_replicas=initial_replicas, slo_latency_p95_s=self.slo_latency_p95_s,
            slo_error_ratio=self.slo_error_ratio, timeout_s=self.timeout_s,
        )


@dataclass(frozen=True)
class PolicyResult:
    """What one policy did over the evaluated window: its cost both as pods (replica-minutes) and as
    the CPU they request (core-minutes, the issue's cost: the two differ once pods are resized), its
    scaling actions and how many of them flapped (:func:`up_down_up`)."""

    slo_violation_minutes: float
    replica_minutes: float
    scaling_actions: int
    requested_core_minutes: float
    up_down_up: int = 0
    reversed_downs: int = 0

    def __add__(self, other: PolicyResult) -> PolicyResult:
        """Two windows' figures together (the pooled figures sum the traces under one setting)."""
        return PolicyResult(self.slo_violation_minutes + other.slo_violation_minutes,
                            self.replica_minutes + other.replica_minutes, self.scaling_actions + other.scaling_actions,
                            self.requested_core_minutes + other.requested_core_minutes,
                            self.up_down_up + other.up_down_up, self.reversed_downs + other.reversed_downs)

    def to_json(self) -> dict[str, float | int]:
        return {"slo_violation_minutes": round(self.slo_violation_minutes, 2),
                "replica_minutes": round(self.replica_minutes, 1),
                "requested_core_minutes": round(self.requested_core_minutes, 1),
                "scaling_actions": self.scaling_actions, "up_down_up": self.up_down_up,
                "reversed_downs": self.reversed_downs}


def up_down_up(actions: Sequence[tuple[float, int]], window_s: float) -> int:
    """How many times replicas went up, down and up again within ``window_s`` (from the first rise
    to the second): flapping that the HPA's scale-down stabilisation (300 s) rules out. ``actions``
    are ``(time, replicas after minus before)`` in time order.

    >>> up_down_up([(0, 1), (60, -1), (120, 1), (600, -1), (1000, 2)], 300)
    1
    """
    flaps, last_up, fell = 0, None, False
    for t, change in actions:
        if change > 0:
            flaps += fell and last_up is not None and t - last_up <= window_s
            last_up, fell = t, False
        elif change < 0:
            fell = True
    return flaps


def reversed_downs(actions: Sequence[tuple[float, int]], window_s: float) -> int:
    """How many scale-downs were undone by a scale-up within ``window_s``: the down came too early
    (``search 3->2, 2->3`` within minutes). ``actions`` as for :func:`up_down_up`.

    >>> reversed_downs([(0, 1), (60, -1), (120, 1), (600, -1), (1000, 2)], 300)
    1
    """
    undone, last_down = 0, None
    for t, change in actions:
        if change > 0 and last_down is not None:
            undone += t - last_down <= window_s
            last_down = None
        elif change < 0:
            last_down = t
    return undone


def _read_front(points: Sequence[tuple[float, float]], x: float, at_most: bool = False) -> float | None:
    """The lowest ``y`` at ``x`` on the Pareto front of ``(x, y)`` points (each point kept only if
    its ``y`` is below every point with a smaller ``x``), linear between its points; None outside it,
    except past its end with ``at_most``: the last point's ``y``, reached with less ``x`` (where ``x``
    is a cost, what that budget is sure to buy; a front that reached no violation reads 0 there).

    >>> _read_front([(1.0, 1000.0), (5.0, 800.0), (6.0, 900.0), (25.0, 600.0)], 15.0)
    700.0
    >>> _read_front([(1.0, 9.0), (2.0, 0.0), (3.0, 0.0)], 4.0), _read_front([(1.0, 9.0), (2.0, 0.0)], 4.0, at_most=True)
    (None, 0.0)
    """
    front: list[tuple[float, float]] = []
    for px, py in sorted(points):
        if not front or py < front[-1][1]:
            front.append((px, py))
    if front and at_most and x > front[-1][0]:
        return front[-1][1]
    if not front or not front[0][0] <= x <= front[-1][0]:
        return None
    xs, ys = zip(*front)
    return float(np.interp(x, xs, ys))


@dataclass(frozen=True)
class TraceResult:
    """One trace: the split, the scaling, and each policy's figures (``sweep`` by HPA target,
    ``headroom_sweep`` the predictive path's by headroom, the headline's included)."""

    name: str
    history_days: float
    evaluated_days: float
    peak_rps: float
    policies: Mapping[str, PolicyResult]
    sweep: Mapping[int, PolicyResult]
    headroom_sweep: Mapping[float, PolicyResult]

    def hpa_at_matched_violations(self, cost: str = "replica_minutes") -> float | None:
        """The HPA's ``cost`` (a :class:`PolicyResult` field) at the predictive policy's SLO-violation
        minutes: the sweep's cheapest cost for each violation level (its Pareto front), linear between
        its points; None outside the front's range (no target in the sweep shows what the HPA would
        cost there)."""
        points = [(r.slo_violation_minutes, getattr(r, cost)) for r in self.sweep.values()]
        return _read_front(points, self.policies["predictive"].slo_violation_minutes)

    def predictive_at_hpa_cost(self, cost: str = "replica_minutes") -> float | None:
        """The predictive path's SLO-violation minutes at the headline HPA's ``cost``: its headroom
        sweep's fewest violations for each cost (its Pareto front), linear between its points; past
        the front's dearest point, that point's (what the HPA's budget is sure to buy); None below its
        cheapest (no headroom costs as little as the HPA)."""
        points = [(getattr(r, cost), r.slo_violation_minutes) for r in self.headroom_sweep.values()]
        return _read_front(points, getattr(self.policies["hpa"], cost), at_most=True)

    def pareto(self) -> dict[str, Any]:
        """The issue's comparison, read off the Pareto fronts in requested core-minutes: the headline
        predictive's cost over the HPA sweep's at the same SLO-violation minutes; the predictive
        headroom sweep's violations at the HPA@70's cost over the HPA@70's; the headline's cost over
        the oracle's. A ratio is None where a front does not reach the other's point (or the HPA@70
        violates nothing). ``never_worse_than_hpa``: no ratio read above 1 (None if none was read).
        Flapping: the headline's scaling actions over the HPA@70's, and both up-down-up counts."""
        p, hpa, oracle = (self.policies[k] for k in ("predictive", "hpa", "oracle"))
        matched = self.hpa_at_matched_violations("requested_core_minutes")
        at_cost = self.predictive_at_hpa_cost("requested_core_minutes")
        checks = ([] if matched is None else [p.requested_core_minutes <= matched]) + (
            [] if at_cost is None else [at_cost <= hpa.slo_violation_minutes])
        return {
            "cost_ratio_at_matched_slo": _rounded(None if matched is None else p.requested_core_minutes / matched),
            "violation_ratio_at_hpa_cost": _rounded(
                None if at_cost is None or hpa.slo_violation_minutes == 0 else at_cost / hpa.slo_violation_minutes),
            "cost_ratio_to_oracle": _rounded(p.requested_core_minutes / oracle.requested_core_minutes),
            "never_worse_than_hpa": all(checks) if checks else None,
            "requested_core_minutes": {"predictive": round(p.requested_core_minutes, 1),
                                       "hpa": round(hpa.requested_core_minutes, 1),
                                       "hpa_at_matched_slo": None if matched is None else round(matched, 1),
                                       "oracle": round(oracle.requested_core_minutes, 1)},
            "slo_violation_minutes": {"predictive": round(p.slo_violation_minutes, 2),
                                      "hpa": round(hpa.slo_violation_minutes, 2),
                                      "predictive_at_hpa_cost": None if at_cost is None else round(at_cost, 2)},
            "actions_ratio_to_hpa": _rounded(p.scaling_actions / hpa.scaling_actions if hpa.scaling_actions else None),
            "scaling_actions": {"predictive": p.scaling_actions, "hpa": hpa.scaling_actions},
            "up_down_up": {"predictive": p.up_down_up, "hpa": hpa.up_down_up},
            "reversed_downs": {"predictive": p.reversed_downs, "hpa": hpa.reversed_downs},
        }

    def targets(self) -> dict[str, bool]:
        """The issue's targets for the headline ``predictive``."""
        p, hpa, oracle = (self.policies[k] for k in ("predictive", "hpa", "oracle"))
        return {
            "violations <= 30% of hpa": p.slo_violation_minutes <= 0.3 * hpa.slo_violation_minutes,
            "replica-minutes <= hpa": p.replica_minutes <= hpa.replica_minutes,
            "replica-minutes <= 1.2 x oracle": p.replica_minutes <= 1.2 * oracle.replica_minutes,
        }

    def to_json(self) -> dict[str, Any]:
        matched, at_cost = self.hpa_at_matched_violations(), self.predictive_at_hpa_cost()
        return {
            **self.pareto(),
            **{name: r.to_json() for name, r in self.policies.items()},
            "hpa_sweep": {str(t): r.to_json() for t, r in self.sweep.items()},
            "hpa_replica_minutes_at_predictive_violations": None if matched is None else round(matched, 1),
            "predictive_sweep": {f"{h:g}": r.to_json() for h, r in self.headroom_sweep.items()},
            "predictive_violation_minutes_at_hpa_cost": None if at_cost is None else round(at_cost, 2),
            "targets": self.targets(),
            "history_days": round(self.history_days, 2),
            "evaluated_days": round(self.evaluated_days, 2),
            "peak_rps": round(self.peak_rps, 1),
        }


def _rounded(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio, 3)


def pool(results: Sequence[TraceResult], name: str = "pooled") -> TraceResult:
    """The traces as one: each policy's and each setting's figures summed over them (every setting is
    one value for every trace, so a pooled front is the fronts' settings at their total cost and
    violations), read as one trace is (:meth:`TraceResult.pareto`)."""
    if not results:
        raise InputError("no traces to pool")

    def total(parts: Sequence[Mapping[Any, PolicyResult]]) -> dict[Any, PolicyResult]:
        keys = parts[0].keys()
        if any(part.keys() != keys for part in parts):
            raise InputError(f"{name}: the traces were not run with the same policies and settings")
        out = {}
        for key in keys:
            first, *rest = (part[key] for part in parts)
            out[key] = sum(rest, first)
        return out

    return TraceResult(name, sum(r.history_days for r in results), sum(r.evaluated_days for r in results),
                       max(r.peak_rps for r in results), total([r.policies for r in results]),
                       total([r.sweep for r in results]), total([r.headroom_sweep for r in results]))


def pooled_json(results: Sequence[TraceResult], name: str) -> dict[str, Any]:
    """The pooled Pareto figures, and which traces flapped (more than 1.5x the HPA@70's scaling
    actions, or any up-down-up) or came out worse than the HPA."""
    ratios = {r.name: r.pareto() for r in results}
    return {
        **pool(results, name).pareto(),
        "traces": sorted(ratios),
        "evaluated_days": round(sum(r.evaluated_days for r in results), 2),
        "worse_than_hpa": sorted(n for n, f in ratios.items() if f["never_worse_than_hpa"] is False),
        "not_compared_with_hpa": sorted(n for n, f in ratios.items() if f["never_worse_than_hpa"] is None),
        "max_actions_ratio_to_hpa": max((f["actions_ratio_to_hpa"] for f in ratios.values()
                                         if f["actions_ratio_to_hpa"] is not None), default=None),
        "over_1_5x_hpa_actions": sorted(n for n, f in ratios.items()
                                        if f["actions_ratio_to_hpa"] is not None and f["actions_ratio_to_hpa"] > 1.5),
        "with_up_down_up": sorted(n for n, f in ratios.items() if f["up_down_up"]["predictive"]),
    }


def default_traces(data: Path) -> list[Path]:
    """NASA-HTTP, WorldCup98, the 16 Crane production series and NAB's ELB request count under ``data``."""
    traces = data / "traces"
    crane = sorted((traces / "crane-dsp-production").glob("input*.csv"), key=lambda p: int(p.stem[5:]))
    paths = [traces / "nasa-http-1995" / "requests_per_minute.csv", traces / "worldcup98" / "invocation_count.csv",
             *crane, data / "nab" / "data" / "realAWSCloudwatch" / "elb_request_count_8c0756.csv"]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing or not crane:
        raise InputError(f"{data}: default traces not found ({', '.join(missing) or 'no crane input*.csv'}); pass --data DIR")
    return paths


def trace_name(path: Path) -> str:
    """A short name: ``crane-inputN``, the data set's folder for the other shared traces (e.g.
    ``nasa-http-1995``), ``nab-<file>`` for NAB's, else the file's stem."""
    if path.parent.name == "crane-dsp-production":
        return f"crane-{path.stem}"
    if path.parent.parent.name == "traces":
        return path.parent.name
    if "nab" in path.parts:
        return f"nab-{path.stem}"
    return path.stem


def oracle_replicas(load: np.ndarray, scenario: Scenario) -> np.ndarray:
    """The fewest replicas (at least ``min_replicas``) meeting the SLO at each step's load, by the
    simulator's own queueing model and SLO test.

    A replica serves 40 req/s, 8 requests at a time; 20 replicas at 70% serve the peak of 560 req/s,
    15 still meet the p95 SLO there (93% busy):

    >>> oracle_replicas(np.array([0.0, 100.0, 560.0, 660.0]), Scenario()).tolist()
    [2, 3, 15, 17]
    """
    need = slo_replicas(load, scenario.capacity_rps, scenario.slo, scenario.max_replicas)
    return np.maximum(need, scenario.min_replicas)


def oracle_schedule(need: np.ndarray, startup_steps: int) -> np.ndarray:
    """Replicas to exist at each step so that ``need[k]`` are ready at every step ``k``, cheapest:
    ``max(need[k .. k + startup_steps])`` (a pod asked for at step ``k`` serves from ``k +
    startup_steps``; one kept through a gap no longer than the start-up delay costs no more than a
    new one).

    >>> oracle_schedule(np.array([2, 2, 2, 5, 2, 2, 2, 2, 4, 2]), 2).tolist()
    [2, 5, 5, 5, 2, 2, 4, 4, 4, 2]
    """
    padded = np.concatenate([need, np.full(startup_steps, need.min())])
    return np.lib.stride_tricks.sliding_window_view(padded, startup_steps + 1).max(axis=1)


class StaticPolicy:
    """Peak provisioning: always the same replicas, whatever happens."""

    name = "static"
    lookback_s = 0.0

    def __init__(self, replicas: int) -> None:
        self.replicas = replicas

    def queries(self, workload: str) -> dict[str, str]:
        return {}

    def decide(self, state: None, obs: Observation) -> tuple[Recommendation, None]:
        return Recommendation(self.replicas, f"static peak provisioning: {self.replicas}"), None


class SchedulePolicy:
    """Replays a schedule of replicas, one per period from ``start`` (the oracle's)."""

    name = "oracle"
    lookback_s = 0.0

    def __init__(self, schedule: np.ndarray, start: float, period_s: float) -> None:
        self.schedule, self.start, self.period_s = schedule, start, period_s

    def queries(self, workload: str) -> dict[str, str]:
        return {}

    def decide(self, state: None, obs: Observation) -> tuple[Recommendation, None]:
        k = min(round((obs.now - self.start) / self.period_s), self.schedule.size - 1)
        return Recommendation(int(self.schedule[k]), f"perfect foresight: scheduled {self.schedule[k]}"), None


@dataclass(frozen=True)
class HpaPathState:
    """The predictive policy's state, what its exporter published last period, the HPA's state."""

    predictive: PredictiveState | None = None
    published: tuple[float, float] | None = None  # (time, foresight_desired_replicas)
    hpa: HpaState | None = None


class PredictiveThroughHpa:
    """Foresight's decision reaching the pods the production way: the predictive policy's replicas
    are published as ``foresight_desired_replicas`` (the exporter's gauge) and read one period later
    (scrape and adapter latency) by an HPA with that External metric at ``AverageValue`` 1
    (:mod:`foresight.autoscale.hpa`: its tolerance, stabilisation and rate limits apply), and a CPU
    metric beside it when ``cpu`` is True (the reactive safety net should Foresight stop
    publishing). Only the HPA's answer is applied."""

    name = "predictive"

    def __init__(self, predictive: PredictivePolicy, hpa: HpaPolicy, cpu: bool) -> None:
        self.predictive, self.hpa, self.cpu = predictive, hpa, cpu
        self.lookback_s = predictive.lookback_s

    def queries(self, workload: str) -> Mapping[str, str]:
        return self.predictive.queries(workload)

    def decide(self, state: HpaPathState | None, obs: Observation) -> tuple[Recommendation, HpaPathState]:
        state = state or HpaPathState()
        wanted, predictive_state = self.predictive.decide(state.predictive, obs)
        published = []
        if state.published is not None:
            published = [Series({"workload": obs.workload}, [state.published[0]], [state.published[1]])]
        cpu = list(obs.series.get("cpu", [])) if self.cpu else []
        seen = Observation(obs.workload, obs.now, obs.scale, {"cpu": cpu, DESIRED_REPLICAS: published})
        rec, hpa_state = self.hpa.decide(state.hpa, seen)
        peak = wanted.inputs.get("peak_rps")
        inputs = {**rec.inputs, "foresight_desired_replicas": wanted.replicas,
                  **({"forecast_peak_rps": peak} if peak is not None else {})}
        reason = f"{rec.reason} (Foresight: {wanted.reason})"
        next_published = (obs.now, float(wanted.replicas))
        return Recommendation(rec.replicas, reason, inputs), HpaPathState(predictive_state, next_published, hpa_state)


class _SharedForecasts:
    """A forecaster whose results are computed once for all the bench's predictive loops: they read
    the same load, so they fit the same history, learn the same new points into the same state and
    ask the same horizons, and a forecaster's answers are pure functions of those (its states are
    read-only). The last few answers are remembered with the state they came from (kept alive, so
    its ``id`` is not reused while remembered); the loops differ only in how they size replicas."""

    def __init__(self, inner: Any, keep: int = 16) -> None:
        self.inner, self.name, self.max_horizon_steps = inner, inner.name, inner.max_horizon_steps
        self._keep = keep
        self._memo: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()

    def _once(self, key: tuple[Any, ...], state: Any, compute: Callable[[], Any]) -> Any:
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = (state, compute())
            if len(self._memo) > self._keep:
                self._memo.popitem(last=False)
        return hit[1]

    def fit(self, history: np.ndarray) -> Any:
        return self._once(("fit", _digest(history)), None, lambda: self.inner.fit(history))

    def update(self, state: Any, new: np.ndarray) -> Any:
        return self._once(("update", id(state), _digest(new)), state, lambda: self.inner.update(state, new))

    def predict(self, state: Any, horizon_steps: int, quantiles: Sequence[float]) -> np.ndarray:
        def compute() -> np.ndarray:
            answer = self.inner.predict(state, horizon_steps, quantiles)
            answer.flags.writeable = False  # shared between the loops
            return answer

        return self._once(("predict", id(state), horizon_steps, tuple(quantiles)), state, compute)


def _digest(values: np.ndarray) -> bytes:
    """A key for an array's shape and contents."""
    return hashlib.blake2b(np.ascontiguousarray(values).tobytes(), digest_size=16).digest() + bytes(
        str(values.shape), "ascii")


class HistoryBackedSource:
    """The simulator as a :class:`~foresight.ports.MetricsSource`, whose offered load before the
    simulation's first step is the trace's: the load the service saw before the evaluated window.

    ``history[k]`` is the mean rate of the ``k``-th step before the simulation's start, stamped at
    the step's end like the simulator's own records.
    """

    def __init__(self, sim: Simulator, history: np.ndarray) -> None:
        self.sim = sim
        self._first_s = sim.start - (history.size - 1) * sim.step_s
        self._view = np.broadcast_to(history[:, None, None], (history.size, len(METRICS), len(sim.service_names)))

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        name, _ = parse_selector(query)
        first_record = self.sim.start + self.sim.step_s
        before = max(0, math.ceil((first_record - start) / step_s - 1e-9))  # query points before it
        simulated = start + before * step_s  # asking the simulator for the rest answers the same, faster
        recorded = self.sim.query_range(query, simulated, end, step_s) if simulated <= end else []
        if name != _LOAD or before == 0 or self._view.shape[0] == 0:
            return recorded
        past = recorded_range(self._view, self._first_s, self.sim.step_s, self.sim.service_names, query, start,
                              min(end, simulated - step_s), step_s)
        later = {tuple(s.labels.items()): s for s in recorded}
        out = []
        for s in past:
            after = later.get(tuple(s.labels.items()))
            if after is None:
                out.append(s)
            else:
                out.append(Series(s.labels, np.concatenate([s.timestamps, after.timestamps]),
                                  np.concatenate([s.values, after.values])))
        return out


class _Actions:
    """An audit sink that keeps each period in which replicas were set (its time and change) and the
    failures."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, int]] = []
        self.errors: list[str] = []

    def record(self, entry: AuditRecord) -> None:
        if entry.applied:
            after, before = entry.decision.get("applied"), entry.decision.get("previous")
            self.changes.append((entry.time, 0 if after is None or before is None else after - before))
        if entry.error is not None:
            self.errors.append(f"{entry.controller} at t={entry.time:g}: {entry.error}")


def _source(label: str, source: HistoryBackedSource) -> MetricsSource:
    """The predictive loops read their long history once, then only new points (as against Prometheus)."""
    return IncrementalHistory(source) if label.startswith("predictive") else source


def _load(path: Path, step_s: float) -> tuple[float, np.ndarray]:
    """The trace's first timestamp and its mean rate per step, within the trace (no wrap-around)."""
    t, v = read_trace(path)
    steps = math.floor((t[-1] - t[0]) / step_s)
    if steps < 2:
        raise InputError(f"{path}: the trace spans less than two {step_s:g} s steps")
    return float(t[0]), resample(t, v, steps, step_s)


def run_trace(path: Path, scenario: Scenario, name: str | None = None, progress: Progress = silent) -> TraceResult:
    """Simulate every policy on one trace (module docstring) and score the evaluated window; ``progress``
    hears the share of the window simulated (about every 1%)."""
    name = name or trace_name(path)
    step = scenario.period_s
    t0, rate = _load(path, step)
    keep = math.ceil(scenario.min_history_days * _DAY_S / step)
    n_eval = min(round(scenario.days * _DAY_S / step), rate.size - keep)
    if n_eval < 2 * scenario.startup_steps + 2:
        raise InputError(f"{path}: too short for {scenario.min_history_days:g} day(s) of history and an evaluated window")
    split = rate.size - n_eval
    window_peak = float(rate[split:].max())
    if not window_peak > 0:
        raise InputError(f"{path}: no load in the evaluated window (its last {n_eval * step / _DAY_S:.2f} days)")
    scaled = rate * (scenario.peak_rps / window_peak)
    history, load = scaled[:split], scaled[split:]
    start = t0 + split * step
    sim, loops, sweep_names, headroom_names = _cluster(scenario, load, history, start)
    counts = {label: _Actions() for label in loops}
    reconcilers = [
        Reconciler(policy, _source(label, HistoryBackedSource(sim, history)), sim, {label: SafetyLimits(min_replicas=scenario.min_replicas,
                   max_replicas=scenario.max_replicas)}, counts[label], sim.clock, period_s=step, query_step_s=query_step)
        for label, (policy, query_step) in loops.items()
    ]
    steps, report_every = 0, max(1, load.size // 100)
    while not sim.done:
        for loop in reconcilers:
            loop.reconcile_once()
        sim.step()
        steps += 1
        if steps % report_every == 0:
            progress(f"{name}: {len(reconcilers)} policies, {steps * step / _DAY_S:.2f} of "
                     f"{load.size * step / _DAY_S:.2f} d", steps / load.size)
    failures = [e for c in counts.values() for e in c.errors]
    if failures:
        raise ForesightError(f"{name}: {len(failures)} failed decision(s), first: {failures[0]}")
    violation, replicas = sim.history["foresight_slo_violation"], sim.history["foresight_replicas_current"]
    minutes = step / 60.0
    per_pod = scenario.service("cores", scenario.min_replicas).cpu_cores  # every copy requests the same
    results = {
        label: PolicyResult(float(violation[:, i].sum()) * minutes, float(replicas[:, i].sum()) * minutes,
                            len(counts[label].changes), float(replicas[:, i].sum()) * minutes * per_pod,
                            up_down_up(counts[label].changes, scenario.flap_window_s),
                            reversed_downs(counts[label].changes, scenario.flap_window_s))
        for i, label in enumerate(sim.service_names)
    }
    return TraceResult(
        name, split * step / _DAY_S, n_eval * step / _DAY_S, scenario.peak_rps,
        {**{k: results[k] for k in ("static", "hpa", "predictive", "predictive-direct", "oracle")},
         f"oracle@{scenario.target_percent}": results[f"oracle-{scenario.target_percent}"]},
        {t: results[label] for t, label in sweep_names.items()},
        {h: results[label] for h, label in headroom_names.items()},
    )


def _cluster(
    scenario: Scenario, load: np.ndarray, history: np.ndarray, start: float
) -> tuple[Simulator, dict[str, tuple[ReplicaPolicy, float]], dict[int, str], dict[float, str]]:
    """The simulator with one service copy per policy, each policy with its loop's query step, the
    label of each HPA target of the sweep and of each headroom of the predictive path's sweep."""
    step, target, cap = scenario.period_s, scenario.target_percent, scenario.capacity_rps
    sweep = {t: "hpa" if t == target else f"hpa-{t}" for t in scenario.sweep_percent}
    headrooms = {h: "predictive" if h == scenario.headroom else f"predictive-h{round(100 * h)}" for h in scenario.headrooms}
    capacity = ServiceCapacity(capacity_rps=cap, startup_delay_s=scenario.startup_delay_s, slo=scenario.slo)
    spec = PredictiveSpec(services={"predictive-direct": capacity, **{label: capacity for label in headrooms.values()}},
                          quantile=scenario.quantile,
                          sync_period_s=step, stabilisation_window_s=scenario.stabilisation_window_s,
                          forecast_step_s=scenario.forecast_step_s, floor_trend_s=scenario.floor_trend_s,
                          floor_window_s=scenario.floor_window_s,
                          headroom=scenario.headroom, calibration_window=scenario.calibration_window,
                          calibration_quantile=scenario.calibration_quantile)
    shared = _SharedForecasts(PredictivePolicy(spec).forecaster)
    with_headroom = {h: PredictivePolicy(spec.model_copy(update={"headroom": h}), shared) for h in headrooms}
    bounds: dict[str, Any] = {"min_replicas": scenario.min_replicas, "max_replicas": scenario.max_replicas,
                              "sync_period_s": step}
    path_behavior = HpaBehavior.model_validate(
        {"scale_down": {"stabilisation_window_s": scenario.path_scale_down_window_s},
         "scale_up": {"tolerance": scenario.path_scale_up_tolerance}})
    through_hpa = HpaPolicy(
        HpaSpec(**bounds, target_utilisation_percent=scenario.path_cpu_percent or target, behavior=path_behavior,
                external_metrics=(ExternalMetric(name=DESIRED_REPLICAS, average_value=1.0),)),
        external_queries={DESIRED_REPLICAS: f'{DESIRED_REPLICAS}{{workload="$workload"}}'},
    )
    schedule = oracle_schedule(oracle_replicas(load, scenario), scenario.startup_steps)
    at_target = np.maximum(utilisation_replicas(load, cap, target), scenario.min_replicas)
    sized = oracle_schedule(np.minimum(at_target, scenario.max_replicas), scenario.startup_steps)
    minute = scenario.forecast_step_s  # the predictive policy reads its load on its forecast grid
    loops: dict[str, tuple[ReplicaPolicy, float]] = {
        "static": (StaticPolicy(scenario.replicas_at_peak), step),
        **{label: (HpaPolicy(HpaSpec(**bounds, target_utilisation_percent=t)), step) for t, label in sweep.items()},
        **{label: (PredictiveThroughHpa(with_headroom[h], through_hpa, scenario.path_cpu_percent is not None), minute)
           for h, label in headrooms.items()},
        "predictive-direct": (with_headroom[scenario.headroom], minute),
        "oracle": (SchedulePolicy(schedule, start, step), step),
        f"oracle-{target}": (SchedulePolicy(sized, start, step), step),
    }
    first = int(utilisation_replicas(load[0], cap, target))
    initial = {"static": scenario.replicas_at_peak, "oracle": int(schedule[0]), f"oracle-{target}": int(sized[0])}
    services = tuple(
        scenario.service(label, initial.get(label, min(max(first, scenario.min_replicas), scenario.max_replicas)))
        for label in loops
    )
    per_node = 128  # pods of 0.5 CPU and 512 MiB on a 64-core, 64 GiB node
    nodes = NodePoolSpec(name="pool", count=math.ceil(len(services) * scenario.max_replicas / per_node) + 1,
                         cpu_cores=64, memory_mib=65536)
    traffic = np.repeat(load[:, None], len(services), axis=1)
    sim = Simulator(ClusterSpec(services=services, node_pools=(nodes,)), traffic, step_s=step,
                    duration_s=load.size * step, start=start)
    return sim, loops, sweep, headrooms


def bench_autoscale(
    paths: Sequence[Path], scenario: Scenario, done: Callable[[TraceResult], None] | None = None,
    progress: Progress = silent,
) -> dict[str, Any]:
    """Every trace in ``paths`` under ``scenario``; ``done`` is called with each trace's result as it
    finishes, ``progress`` as it runs (each trace an equal part).
    Returns the JSON report: ``pooled`` (:func:`pooled_json` over every trace), ``pooled_held_out`` (over the
    traces not in :data:`FIT_TRACES`), ``split``, ``traces`` (``{name: {pareto figures, policy: figures, ...}}``)
    and ``setup``."""
    names = [trace_name(p) for p in paths]
    if len(set(names)) != len(names):
        raise InputError(f"traces must have distinct names, got {names}")
    results = []
    for i, (path, name) in enumerate(zip(paths, names)):
        results.append(run_trace(path, scenario, name, part(progress, i, len(paths))))
        if done is not None:
            done(results[-1])
    return report(results, scenario)


def report(results: Sequence[TraceResult], scenario: Scenario) -> dict[str, Any]:
    """The JSON report of traces run under ``scenario`` (:func:`bench_autoscale`)."""
    held_out = [r for r in results if r.name not in FIT_TRACES]
    return {
        "pooled": pooled_json(results, "pooled"),
        "pooled_held_out": pooled_json(held_out, "pooled held out") if held_out else None,
        "split": {"fit": [r.name for r in results if r.name in FIT_TRACES], "held_out": [r.name for r in held_out],
                  "rule": SPLIT_RULE},
        "traces": {r.name: {**r.to_json(), "held_out": r.name not in FIT_TRACES} for r in results},
        "setup": describe(scenario),
    }


def describe(scenario: Scenario) -> dict[str, str]:
    """The setup in words, for the report."""
    s = scenario
    return {
        "workload": (
            f"one service: {s.capacity_rps:g} req/s per replica at 100% CPU, {s.base_latency_s * 1000:g} ms per request, "
            f"start-up delay {s.startup_delay_s:g} s, {s.min_replicas}..{s.max_replicas} replicas; each trace scaled so "
            f"the evaluated window's peak ({s.peak_rps:g} req/s) needs {s.replicas_at_peak} replicas at {s.target_percent}%"
        ),
        "slo": (
            f"a {s.period_s:g} s step violates the SLO when the simulator records foresight_slo_violation: p95 latency "
            f"above {s.slo_latency_p95_s * 1000:g} ms or more than {s.slo_error_ratio:.0%} of requests failed"
        ),
        "split": (
            f"the last {s.days:g} days of each trace are simulated and scored (fewer if the trace is shorter, keeping at "
            f"least {s.min_history_days:g} day(s) before); the load before them is history the forecaster may read"
        ),
        "look_ahead": NO_LOOK_AHEAD,
        "predictive": (
            f"sized for the SLO by the queueing model (one capacity definition with the oracle), with {s.headroom:.0%} "
            f"headroom: the q{s.quantile:g} forecast peak over start-up delay + period on a {s.forecast_step_s:g} s grid"
            + (f" times the q{s.calibration_quantile:g} of its own last {s.calibration_window} misses (actual peak over "
               "the look-ahead / forecast peak, calibrated online per workload; the headroom until enough are seen)"
               if s.calibration_window else "")
            + ", "
            "never below the floor (the load now plus its last-minute rise over "
            + (f"{s.floor_trend_s:g} s" if s.floor_trend_s is not None else
               f"{s.startup_delay_s + s.period_s:g} s (start-up delay + period)")
            + (f", or the highest load of the last {s.floor_window_s:g} s" if s.floor_window_s else "")
            + "), scale-downs stabilised "
            f"{s.stabilisation_window_s:g} s. Headline: published as {DESIRED_REPLICAS} and read one period later by an "
            f"HPA with External {DESIRED_REPLICAS} at AverageValue 1"
            + (f" and CPU at {s.path_cpu_percent}% (safety net)" if s.path_cpu_percent is not None else "")
            + (" (tolerance 10%" if s.path_scale_up_tolerance is None else
               f" (scale-up tolerance {s.path_scale_up_tolerance:g}, Kubernetes 1.35+; scale-down tolerance 10%")
            + f", scale-down stabilisation {s.path_scale_down_window_s} s); predictive@H: the same path with headroom H "
            f"({', '.join(f'{h:g}' for h in s.headrooms if h != s.headroom)}: its cost curve); predictive-direct sets replicas "
            "itself; both read history incrementally"
        ),
        "oracle": (
            "cheapest zero-violation schedule: fewest replicas meeting the SLO per step (the same queueing model and "
            "SLO test), each pod started one start-up delay ahead and kept through gaps no longer than that; "
            f"oracle@{s.target_percent}: the same for the replicas a {s.target_percent}% target asks for"
        ),
        "loop": f"every policy through the reconcile loop every {s.period_s:g} s, side by side in one simulated cluster",
    }
