"""The Kubernetes HorizontalPodAutoscaler (autoscaling/v2: CPU utilisation and External metrics) as a pure core.

Every Foresight policy is benchmarked against this reactive baseline, so it follows the
controller's own arithmetic, not only the prose of its documentation. One sync of one HPA:

1. **Guards.** A target scaled to 0 has autoscaling disabled (nothing happens). When the current
   replicas (the scale's ``status.replicas``) lie outside ``[min, max]`` the HPA moves straight to
   the bound, before reading any metric.
2. **Replica calculation.** ``utilisation = floor(100 * sum(usage) / sum(request))`` over the ready
   pods that reported (integer percent, as the controller divides integer milli-cores);
   ``ratio = utilisation / target``; no change when ``1 - down <= ratio <= 1 + up``, else
   ``ceil(ratio * ready pods)``. ``up`` and ``down`` are the tolerance of each direction
   (``behavior.scaleUp.tolerance`` / ``scaleDown.tolerance``, Kubernetes 1.33+, beta and on by
   default from 1.35) or, where unset, the cluster-wide one (``--horizontal-pod-autoscaler-tolerance``,
   10%). If pods are not ready or miss a sample, the ratio is recomputed
   conservatively: on a scale-up, not-ready and missing pods count as 0%; on a scale-down, missing
   pods count as ``max(100%, target)`` of their request (the controller's CPU path; its generic
   path, and the documentation, say "the target"); not-ready pods are left out of a scale-down. If
   the recomputed ratio falls within tolerance or reverses the direction, nothing changes.
   **External metrics** with an ``AverageValue`` target (``GetExternalPerPodMetricReplicas``): the
   values of the metric's series are summed, in milli-units as the API carries them (each rounded
   up); ``ratio = usage / (target x current replicas)``; no change within tolerance, else
   ``ceil(usage / target)``. This is how Foresight's forecast reaches the pods in a cluster: its
   exporter publishes ``ai_predicted_load`` and the HPA reads it with ``averageValue`` = the load
   one replica should take.
   **Several metrics**: each proposes replicas and the largest wins. A metric that cannot be read
   is skipped, but then a proposal below the current ``spec.replicas`` changes nothing (the HPA
   may scale up on the metrics it has, never down); with no metric at all nothing changes.
3. **Stabilisation.** The unbounded recommendation is recorded; the result is the current
   replicas clamped to ``[lowest recommendation within the scale-up window, highest within the
   scale-down window]`` (both windows include this recommendation).
4. **Rate limits and bounds.** Each policy allows a change relative to the replicas at the start of
   its period (current, less what was added, plus what was removed within ``period_s``): ``Pods``
   adds/removes ``value`` pods, ``Percent`` scales by ``value``% (rounded away from the current
   count: ``ceil`` up, truncation down). ``select_policy`` picks the largest (``Max``) or smallest
   (``Min``) change, or forbids the direction (``Disabled``); then ``[min, max]`` applies.
   A change is recorded as a scale event for later periods.

Not modelled: metric types other than CPU utilisation and External ``AverageValue``, per-pod
start times (the CPU initialisation period
and the initial readiness delay: the caller says which pods are ready), pods being deleted,
metric label selectors (the caller passes the values of the series the selector matched).
The recorded scale event assumes the recommendation is applied, as the HPA assumes of its own
successful scale update.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from foresight.autoscale.policy import Observation, Recommendation
from foresight.errors import ConfigError, InputError
from foresight.ports import Scale
from foresight.series import Series

__all__ = [
    "ExternalCalculation",
    "ExternalMetric",
    "HpaBehavior",
    "HpaPolicy",
    "HpaScalingPolicy",
    "HpaScalingRules",
    "HpaSpec",
    "HpaState",
    "PodMetrics",
    "ReplicaCalculation",
    "calculate_replicas",
    "external_replicas",
    "hpa_step",
    "observed_pods",
    "rate_limit",
    "stabilise",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

#: Timestamped values (Unix seconds, replicas): recommendations or replicas added/removed.
History = tuple[tuple[float, int], ...]
#: The ratios within which nothing changes, ``(1 - scale-down tolerance, 1 + scale-up tolerance)``.
Band = tuple[float, float]


def _band(tolerance: float | Band) -> Band:
    """A symmetric tolerance as its band; a band as it is."""
    return (1 - tolerance, 1 + tolerance) if isinstance(tolerance, (int, float)) else tolerance


class HpaScalingPolicy(BaseModel):
    """One rate limit: at most ``value`` pods (or percent) of change per ``period_s`` seconds."""

    model_config = _FROZEN

    type: Literal["Pods", "Percent"] = Field(description="Kubernetes `type`: absolute pods or percent.")
    value: int = Field(gt=0, description="Pods, or percent of the replicas at the period's start.")
    period_s: int = Field(gt=0, le=1800, description="Kubernetes `periodSeconds`: the window it counts.")

    def describe(self) -> str:
        amount = f"{self.value} pods" if self.type == "Pods" else f"{self.value}%"
        return f"{amount} per {self.period_s} s"


class HpaScalingRules(BaseModel):
    """How fast one direction may move (Kubernetes ``HPAScalingRules``)."""

    model_config = _FROZEN

    stabilisation_window_s: int = Field(
        ge=0, le=3600, description="Kubernetes `stabilizationWindowSeconds`: how far back to look."
    )
    select_policy: Literal["Max", "Min", "Disabled"] = Field(
        "Max", description="Use the policy allowing the largest (Max) or smallest (Min) change, or none."
    )
    policies: tuple[HpaScalingPolicy, ...] = Field(min_length=1, description="The rate limits.")
    tolerance: float | None = Field(
        None, ge=0, lt=1, description="Kubernetes `tolerance` of this direction; None: the cluster-wide tolerance."
    )

    def describe(self) -> str:
        limits = ", ".join(p.describe() for p in self.policies)
        return f"{self.select_policy.lower()}({limits})" if len(self.policies) > 1 else limits


_BEHAVIOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "scale_up": {
        "stabilisation_window_s": 0,
        "select_policy": "Max",
        "policies": (
            {"type": "Percent", "value": 100, "period_s": 15},
            {"type": "Pods", "value": 4, "period_s": 15},
        ),
    },
    "scale_down": {
        "stabilisation_window_s": 300,
        "select_policy": "Max",
        "policies": ({"type": "Percent", "value": 100, "period_s": 15},),
    },
}


class HpaBehavior(BaseModel):
    """Kubernetes ``behavior``; fields left out of a mapping take Kubernetes' defaults, as in a manifest.

    >>> four_a_minute = {"policies": [{"type": "Pods", "value": 4, "period_s": 60}]}
    >>> HpaBehavior.model_validate({"scale_down": four_a_minute}).scale_down.stabilisation_window_s
    300
    """

    model_config = _FROZEN

    scale_up: HpaScalingRules = Field(
        default_factory=lambda: HpaScalingRules.model_validate(_BEHAVIOR_DEFAULTS["scale_up"]),
        description="Default: no stabilisation, max(100%, 4 pods) per 15 s.",
    )
    scale_down: HpaScalingRules = Field(
        default_factory=lambda: HpaScalingRules.model_validate(_BEHAVIOR_DEFAULTS["scale_down"]),
        description="Default: 300 s stabilisation, 100% per 15 s.",
    )

    @field_validator("scale_up", "scale_down", mode="before")
    @classmethod
    def _kubernetes_defaults(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, Mapping):
            return {**_BEHAVIOR_DEFAULTS[info.field_name or ""], **value}
        return value


class ExternalMetric(BaseModel):
    """An autoscaling/v2 ``External`` metric with an ``AverageValue`` target.

    The HPA wants ``ceil(sum of the metric's values / average_value)`` replicas, e.g. Foresight's
    ``ai_predicted_load`` (req/s) with ``average_value`` = capacity_rps x target utilisation.
    """

    model_config = _FROZEN

    name: str = Field(min_length=1, description="Kubernetes `metric.name`, e.g. ai_predicted_load.")
    average_value: float = Field(
        gt=0, allow_inf_nan=False, description="Kubernetes `target.averageValue`: the value each replica should take."
    )


class HpaSpec(BaseModel):
    """One HorizontalPodAutoscaler scaling on average CPU utilisation (a percent of the pods' request),
    and on any ``external_metrics`` beside it (the largest proposal wins)."""

    model_config = _FROZEN

    min_replicas: int = Field(1, ge=1, description="Kubernetes `minReplicas`.")
    max_replicas: int = Field(ge=1, description="Kubernetes `maxReplicas`.")
    target_utilisation_percent: int = Field(
        80, ge=1, description="Kubernetes `averageUtilization`: CPU in percent of request (80 when unset)."
    )
    tolerance: float = Field(
        0.1, ge=0, lt=1,
        description="The cluster-wide tolerance: no scaling while 1 - tolerance <= ratio <= 1 + tolerance, "
        "unless a behavior direction sets its own.",
    )
    sync_period_s: float = Field(
        15.0, gt=0, description="How often Kubernetes runs the HPA; the policy reads this much history."
    )
    behavior: HpaBehavior = Field(default_factory=HpaBehavior, description="Stabilisation and rate limits.")
    external_metrics: tuple[ExternalMetric, ...] = Field(
        (), description="External metrics (AverageValue targets) scaled on beside CPU."
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> HpaSpec:
        if self.min_replicas > self.max_replicas:
            raise ConfigError(
                f"HPA spec: min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas})"
            )
        names = [m.name for m in self.external_metrics]
        if len(set(names)) != len(names):
            raise ConfigError(f"HPA spec: external_metrics names must be unique, got {names}")
        return self


    @property
    def band(self) -> Band:
        """The ratios that change nothing: each direction's own tolerance, else the cluster-wide one.

        >>> HpaSpec(max_replicas=9, behavior={"scale_up": {"tolerance": 0.0}}).band
        (0.9, 1.0)
        """
        up, down = self.behavior.scale_up.tolerance, self.behavior.scale_down.tolerance
        return (1 - (self.tolerance if down is None else down), 1 + (self.tolerance if up is None else up))


class HpaState(BaseModel):
    """What one HPA remembers between syncs (serialise with ``model_dump_json``).

    ``recommendations`` are the unbounded recommendations of the longest stabilisation window;
    ``scale_up_events`` / ``scale_down_events`` the replicas added / removed within the longest
    policy period of that direction.
    """

    model_config = _FROZEN

    recommendations: History = ()
    scale_up_events: History = ()
    scale_down_events: History = ()


@dataclass(frozen=True)
class PodMetrics:
    """The per-pod picture: CPU of each ready pod that reported (a fraction of its request, 1.0 = 100%),
    and how many pods are not ready or have no sample."""

    ready: tuple[float, ...]
    unready: int = 0
    missing: int = 0

    def __post_init__(self) -> None:
        if self.ready and not (math.isfinite(sum(self.ready)) and min(self.ready) >= 0):
            bad = [u for u in self.ready if not (math.isfinite(u) and u >= 0)]
            raise InputError(f"pod metrics: ready CPU utilisations must be finite and >= 0, got {bad}")
        if self.unready < 0 or self.missing < 0:
            raise InputError(
                f"pod metrics: unready ({self.unready}) and missing ({self.missing}) must be >= 0"
            )


@dataclass(frozen=True)
class ReplicaCalculation:
    """Replicas wanted by the metric alone, the numbers behind them, and why in words."""

    replicas: int
    utilisation_percent: int
    ratio: float
    adjusted_ratio: float | None
    reason: str


def _percent(utilisations: Sequence[float]) -> int:
    """Whole percent of request, truncated like the controller's integer division.

    The 1e-9 keeps binary fractions such as 0.29 (28.999... x 100) from losing a percent that
    integer milli-cores would not lose.
    """
    return math.floor(100 * math.fsum(utilisations) / len(utilisations) + 1e-9)


def calculate_replicas(
    current: int, pods: PodMetrics, target_percent: int, tolerance: float | Band
) -> ReplicaCalculation:
    """Replicas for the CPU metric alone (Kubernetes ``GetResourceReplicas``); needs one ready sample.
    ``tolerance``: symmetric, or the band ``(low, high)`` of ratios that change nothing.

    >>> calculate_replicas(3, PodMetrics((1.0, 1.0, 1.0)), 50, 0.1).replicas    # 100% vs 50%: double
    6
    >>> calculate_replicas(4, PodMetrics((0.25,) * 4), 50, 0.1).replicas       # 25% vs 50%: halve
    2
    >>> c = calculate_replicas(4, PodMetrics((0.9, 0.9), unready=2), 50, 0.1)  # not-ready pods at 0%
    >>> c.replicas, c.ratio, c.adjusted_ratio
    (4, 1.8, 0.9)
    """
    if not pods.ready:
        raise ValueError("calculate_replicas needs at least one ready pod with a sample")
    percent = _percent(pods.ready)
    ratio = percent / target_percent
    words = f"cpu {percent}% / target {target_percent}% = {ratio:.2f}"

    low, high = _band(tolerance)

    def within(r: float) -> bool:
        return low <= r <= high

    def result(replicas: int, adjusted: float | None, why: str) -> ReplicaCalculation:
        return ReplicaCalculation(replicas, percent, ratio, adjusted, f"{words}{why}")

    band = f" within [{low:.2f}, {high:.2f}]: {current}"
    scale_up_with_unready = pods.unready > 0 and ratio > 1
    if not scale_up_with_unready and pods.missing == 0:
        if within(ratio):
            return result(current, None, band)
        wanted = math.ceil(ratio * len(pods.ready))
        side = f"> {high:.2f}" if ratio > 1 else f"< {low:.2f}"
        return result(wanted, None, f" {side}: {wanted}")

    counted = list(pods.ready)
    notes = []
    if pods.missing and ratio != 1:
        fallback = max(1.0, target_percent / 100) if ratio < 1 else 0.0
        counted += [fallback] * pods.missing
        notes.append(f"{pods.missing} without a sample at {round(100 * fallback)}%")
    if scale_up_with_unready:
        counted += [0.0] * pods.unready
        notes.append(f"{pods.unready} not ready at 0%")
    adjusted_percent = _percent(counted)
    adjusted = adjusted_percent / target_percent
    words += f"; counting {' and '.join(notes)}: {adjusted_percent}% = {adjusted:.2f}"
    if within(adjusted):
        return result(current, adjusted, band)
    if (ratio < 1) != (adjusted < 1):
        return result(current, adjusted, f" reverses the direction: {current}")
    wanted = math.ceil(adjusted * len(counted))
    if (adjusted < 1 and wanted > current) or (adjusted > 1 and wanted < current):
        return result(current, adjusted, f": {wanted} reverses the direction: {current}")
    return result(wanted, adjusted, f": {wanted}")


@dataclass(frozen=True)
class ExternalCalculation:
    """Replicas wanted by one External metric alone, its summed milli-value usage, and why in words."""

    replicas: int
    usage_milli: int
    ratio: float
    reason: str


def external_replicas(
    current: int, name: str, values: Sequence[float], average_value: float, tolerance: float | Band
) -> ExternalCalculation:
    """Replicas for an External metric with an ``AverageValue`` target (Kubernetes
    ``GetExternalPerPodMetricReplicas``): the series' ``values`` are summed in milli-units.

    >>> external_replicas(4, "ai_predicted_load", [70.0], 7.0, 0.1).replicas    # 70 / (7 x 4) = 2.5
    10
    >>> print(external_replicas(10, "ai_predicted_load", [73.0], 7.0, 0.1).reason)
    ai_predicted_load 73 / (7 x 10) = 1.04 within [0.90, 1.10]: 10
    >>> external_replicas(10, "foresight_desired_replicas", [11.0], 1.0, (0.9, 1.0)).replicas  # scale-up tolerance 0
    11
    """
    if current < 1:
        raise ValueError(f"external_replicas needs at least one current replica, got {current}")
    bad = [v for v in values if not (math.isfinite(v) and v >= 0)]
    if bad:
        raise InputError(f"external metric {name}: values must be finite and >= 0, got {bad}")
    usage = sum(_milli(v) for v in values)
    target = _milli(average_value)
    ratio = usage / (target * current)
    words = f"{name} {usage / 1000:g} / ({target / 1000:g} x {current}) = {ratio:.2f}"
    low, high = _band(tolerance)
    if low <= ratio <= high:
        return ExternalCalculation(current, usage, ratio, f"{words} within [{low:.2f}, {high:.2f}]: {current}")
    wanted = math.ceil(usage / target)
    side = f"> {high:.2f}" if ratio > 1 else f"< {low:.2f}"
    return ExternalCalculation(wanted, usage, ratio, f"{words} {side}: {wanted}")


def _milli(value: float) -> int:
    """``value`` in milli-units rounded up, as a Kubernetes quantity's ``MilliValue()``; the rounding
    to 1e-6 first keeps float noise (0.1 x 1000 = 100.00000000000001) from adding a milli."""
    return math.ceil(round(value * 1000, 6))


def stabilise(recommended: int, current: int, history: History, now: float, behavior: HpaBehavior) -> int:
    """``current`` clamped between the lowest recent recommendation (scale-up window) and the highest
    (scale-down window); ``history`` holds earlier (time, recommendation) pairs.

    >>> history = ((0.0, 10), (60.0, 6))      # recommendations at t=0 and t=60
    >>> stabilise(4, 10, history, 120.0, HpaBehavior()), stabilise(4, 10, history, 330.0, HpaBehavior())
    (10, 6)
    """
    up_cutoff = now - behavior.scale_up.stabilisation_window_s
    down_cutoff = now - behavior.scale_down.stabilisation_window_s
    lowest = min([recommended, *(n for t, n in history if t > up_cutoff)])
    highest = max([recommended, *(n for t, n in history if t > down_cutoff)])
    return min(max(current, lowest), highest)


def rate_limit(rules: HpaScalingRules, scale_up: bool, current: int, state: HpaState, now: float) -> int:
    """The most (scale-up) or fewest (scale-down) replicas ``rules`` allow at ``now``.

    >>> down = HpaScalingRules.model_validate({"stabilisation_window_s": 0, "policies": [
    ...     {"type": "Percent", "value": 10, "period_s": 60}, {"type": "Pods", "value": 4, "period_s": 60}]})
    >>> rate_limit(down, False, 80, HpaState(), 0.0), rate_limit(down, False, 30, HpaState(), 0.0)
    (72, 26)
    >>> rate_limit(down, False, 72, HpaState(scale_down_events=((0.0, 8),)), 30.0)   # 8 gone this minute
    72
    """
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        cutoff = now - policy.period_s
        added = sum(n for t, n in state.scale_up_events if t > cutoff)
        removed = sum(n for t, n in state.scale_down_events if t > cutoff)
        start = current - added + removed
        if policy.type == "Pods":
            proposals.append(start + policy.value if scale_up else start - policy.value)
        elif scale_up:
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
        else:
            proposals.append(int(start * (1 - policy.value / 100)))
    most_change = rules.select_policy == "Max"
    return max(proposals) if most_change == scale_up else min(proposals)


def hpa_step(
    spec: HpaSpec,
    state: HpaState,
    scale: Scale,
    pods: PodMetrics | None,
    now: float,
    external: Mapping[str, Sequence[float]] | None = None,
) -> tuple[Recommendation, HpaState]:
    """One HPA sync at ``now``: the replicas to set (``scale.desired`` when the HPA leaves the
    target alone), why, and the next state. ``pods`` is None when no CPU metric could be read;
    ``external`` holds, per External metric name, the values of the series the metrics API returned
    (a name left out, or no values, is a metric that could not be read).

    >>> spec = HpaSpec(max_replicas=10, target_utilisation_percent=70)
    >>> rec, state = hpa_step(spec, HpaState(), Scale(3, 3, 3), PodMetrics((0.93,) * 3), now=0.0)
    >>> print(rec.replicas, rec.reason)
    4 cpu 93% / target 70% = 1.33 > 1.10: 4; scale-up max(100% per 15 s, 4 pods per 15 s) allows 7: 3 -> 4
    >>> state.recommendations, state.scale_up_events
    (((0.0, 4),), ((0.0, 1),))

    With Foresight's forecast as an External metric, the larger proposal wins before the load arrives:

    >>> spec = HpaSpec(max_replicas=10, target_utilisation_percent=70,
    ...                external_metrics=(ExternalMetric(name="ai_predicted_load", average_value=7.0),))
    >>> rec, _ = hpa_step(spec, HpaState(), Scale(3, 3, 3), PodMetrics((0.7,) * 3), 0.0, {"ai_predicted_load": [35.0]})
    >>> rec.replicas
    5
    >>> for words in rec.reason.split("; "): print(words)
    cpu 70% / target 70% = 1.00 within [0.90, 1.10]: 3
    ai_predicted_load 35 / (7 x 3) = 1.67 > 1.10: 5
    largest 5
    scale-up max(100% per 15 s, 4 pods per 15 s) allows 7: 3 -> 5
    """
    current = scale.current
    inputs: dict[str, float] = {
        "spec_replicas": scale.desired,
        "current_replicas": current,
        "ready_replicas": scale.ready,
        "target_percent": spec.target_utilisation_percent,
    }
    if scale.desired == 0:
        return Recommendation(0, "target scaled to 0: autoscaling disabled", inputs), state
    recommendations = state.recommendations
    if current > spec.max_replicas:
        desired, reason = spec.max_replicas, f"current {current} above max {spec.max_replicas}"
    elif current < spec.min_replicas:
        desired, reason = spec.min_replicas, f"current {current} below min {spec.min_replicas}"
    else:
        proposal = _metric_replicas(spec, scale, pods, external or {}, inputs)
        if isinstance(proposal, str):  # the HPA leaves the target alone and remembers nothing
            return Recommendation(scale.desired, f"{proposal}: keep {scale.desired}", inputs), state
        metric_replicas, reason = proposal
        inputs["metric_replicas"] = metric_replicas
        desired, reason = _normalise(spec, state, current, metric_replicas, reason, now, inputs)
        behavior = spec.behavior
        window = max(behavior.scale_up.stabilisation_window_s, behavior.scale_down.stabilisation_window_s)
        kept = tuple((t, n) for t, n in recommendations if t > now - window)
        recommendations = (*kept, (now, metric_replicas))
    inputs["replicas"] = desired
    next_state = _record_scale_event(
        spec.behavior, state.model_copy(update={"recommendations": recommendations}), current, desired, now
    )
    if desired == current:
        pods_note = "" if scale.desired == current else f" ({current} pods exist)"
        return Recommendation(scale.desired, f"{reason}: keep {scale.desired}{pods_note}", inputs), next_state
    return Recommendation(desired, f"{reason}: {current} -> {desired}", inputs), next_state


def _metric_replicas(
    spec: HpaSpec,
    scale: Scale,
    pods: PodMetrics | None,
    external: Mapping[str, Sequence[float]],
    inputs: dict[str, float],
) -> tuple[int, str] | str:
    """The largest proposal of the metrics that could be read and why (Kubernetes
    ``computeReplicasForMetrics``), or only why nothing may change."""
    current = scale.current
    proposals: list[tuple[int, str]] = []
    unread: list[str] = []
    if pods is None or not pods.ready:
        unread.append("no cpu metric" if pods is None else f"no ready pod reports cpu ({pods.unready} not ready)")
    else:
        calc = calculate_replicas(current, pods, spec.target_utilisation_percent, spec.band)
        inputs |= {
            "ready_pods": len(pods.ready),
            "unready_pods": pods.unready,
            "missing_pods": pods.missing,
            "cpu_percent": calc.utilisation_percent,
            "ratio": calc.ratio,
        }
        if calc.adjusted_ratio is not None:
            inputs["adjusted_ratio"] = calc.adjusted_ratio
        proposals.append((calc.replicas, calc.reason))
    for metric in spec.external_metrics:
        values = external.get(metric.name)
        if not values:
            unread.append(f"no {metric.name} metric")
            continue
        ext = external_replicas(current, metric.name, values, metric.average_value, spec.band)
        inputs |= {f"{metric.name}_value": ext.usage_milli / 1000, f"{metric.name}_ratio": ext.ratio,
                   f"{metric.name}_replicas": ext.replicas}
        proposals.append((ext.replicas, ext.reason))
    reasons = [why for _, why in proposals] + unread
    if not proposals:
        return "; ".join(reasons)
    replicas = max(n for n, _ in proposals)
    if len(proposals) > 1:
        reasons.insert(len(proposals), f"largest {replicas}")
    if unread and replicas < scale.desired:
        return f"{'; '.join(reasons)}: no scale-down while a metric is missing"
    return replicas, "; ".join(reasons)


def _normalise(
    spec: HpaSpec,
    state: HpaState,
    current: int,
    metric_replicas: int,
    reason: str,
    now: float,
    inputs: dict[str, float],
) -> tuple[int, str]:
    """Stabilise the metrics' replicas, then apply the direction's rate limit and ``[min, max]``."""
    behavior = spec.behavior
    desired = stabilise(metric_replicas, current, state.recommendations, now, behavior)
    inputs["stabilised_replicas"] = desired
    if desired != metric_replicas:  # a recent recommendation holds the change back
        held = behavior.scale_down if desired > metric_replicas else behavior.scale_up
        which = "scale-down" if desired > metric_replicas else "scale-up"
        reason += f"; {which} stabilisation ({held.stabilisation_window_s} s) holds {desired}"
    if desired == current:
        return desired, reason
    scale_up = desired > current
    rules = behavior.scale_up if scale_up else behavior.scale_down
    direction = "scale-up" if scale_up else "scale-down"
    limit = rate_limit(rules, scale_up, current, state, now)
    limit = max(limit, current) if scale_up else min(limit, current)
    inputs["rate_limit"] = limit
    if rules.select_policy == "Disabled":
        reason += f"; {direction} disabled"
    else:
        reason += f"; {direction} {rules.describe()} allows {limit}"
    if scale_up and desired > min(limit, spec.max_replicas):
        desired = min(limit, spec.max_replicas)
        reason += f", capped at max {desired}" if spec.max_replicas < limit else ""
    elif not scale_up and desired < max(limit, spec.min_replicas):
        desired = max(limit, spec.min_replicas)
        reason += f", held at min {desired}" if spec.min_replicas > limit else ""
    return desired, reason


def _record_scale_event(
    behavior: HpaBehavior, state: HpaState, current: int, desired: int, now: float
) -> HpaState:
    """``state`` with ``current -> desired`` recorded, less the events no policy reads any more."""
    if desired == current:
        return state
    scale_up = desired > current
    field = "scale_up_events" if scale_up else "scale_down_events"
    longest = max(p.period_s for p in (behavior.scale_up if scale_up else behavior.scale_down).policies)
    kept = tuple((t, n) for t, n in getattr(state, field) if t > now - longest)
    return state.model_copy(update={field: (*kept, (now, abs(desired - current)))})


#: The simulator's metric: average CPU of a workload's ready pods, as a fraction of the pod request.
DEFAULT_QUERY = 'foresight_cpu_utilisation{service="$workload"}'


class HpaPolicy:
    """The reactive HPA as a :class:`~foresight.autoscale.policy.ReplicaPolicy`: one HPA per workload.

    ``query_template`` (``$workload`` is replaced; ``$$`` is a literal ``$``) must return one series
    per workload: the average CPU utilisation of its ready pods as a fraction of their request
    (for a real Prometheus, e.g. a recording rule over cAdvisor usage / kube-state-metrics
    requests). Ready and not-ready pods are counted from the observed scale. ``external_queries``
    maps the name of each External metric in the specs to its query template; the latest value of
    every series it returns counts (the HPA sums them).

    >>> from foresight.series import Series
    >>> policy = HpaPolicy(HpaSpec(max_replicas=10, target_utilisation_percent=70))
    >>> policy.queries("api")
    {'cpu': 'foresight_cpu_utilisation{service="api"}'}
    >>> busy = Observation("api", 0.0, Scale(3, 3, 3), {"cpu": [Series({}, [-15.0, 0.0], [0.9, 0.93])]})
    >>> rec, state = policy.decide(None, busy)
    >>> rec.replicas
    4
    >>> calm = Observation("api", 15.0, Scale(4, 4, 4), {"cpu": [Series({}, [0.0, 15.0], [0.5, 0.35])]})
    >>> rec, state = policy.decide(state, calm)
    >>> rec.replicas, rec.reason      # the scale-down waits out the 300 s stabilisation window
    (4, 'cpu 35% / target 70% = 0.50 < 0.90: 2; scale-down stabilisation (300 s) holds 4: keep 4')
    """

    name = "hpa"

    def __init__(
        self,
        spec: HpaSpec,
        per_workload: Mapping[str, HpaSpec] | None = None,
        query_template: str = DEFAULT_QUERY,
        external_queries: Mapping[str, str] | None = None,
    ) -> None:
        self._template = _workload_template(query_template, "HPA query template")
        self._external = {
            name: _workload_template(query, f"HPA query of external metric {name!r}")
            for name, query in (external_queries or {}).items()
        }
        self._spec = spec
        self._per_workload = dict(per_workload or {})
        for s in (spec, *self._per_workload.values()):
            unqueried = sorted({m.name for m in s.external_metrics} - set(self._external))
            if unqueried:
                raise ConfigError(f"HPA: external metric(s) {unqueried} have no query in external_queries")
        self.lookback_s = max(s.sync_period_s for s in (spec, *self._per_workload.values()))
        self._queries: dict[str, dict[str, str]] = {}

    def spec_for(self, workload: str) -> HpaSpec:
        """The HPA spec of ``workload`` (its own, or the default one)."""
        return self._per_workload.get(workload, self._spec)

    def queries(self, workload: str) -> dict[str, str]:
        """The CPU query of ``workload`` and those of its spec's External metrics.

        Made once per workload (specs and templates are fixed): the loop asks every period, for
        every workload, and the same mapping each time lets it see at once that its read plan holds.
        """
        found = self._queries.get(workload)
        if found is None:
            external = {m.name: self._external[m.name].substitute(workload=workload)
                        for m in self.spec_for(workload).external_metrics}
            found = self._queries[workload] = {"cpu": self._template.substitute(workload=workload), **external}
        return found

    def decide(self, state: HpaState | None, obs: Observation) -> tuple[Recommendation, HpaState]:
        spec = self.spec_for(obs.workload)
        external = {m.name: _latest_values(obs.series.get(m.name, [])) for m in spec.external_metrics}
        return hpa_step(spec, state or HpaState(), obs.scale, observed_pods(obs), obs.now, external)


def observed_pods(obs: Observation) -> PodMetrics | None:
    """The pods' CPU as the HPA reads it from ``obs``: every ready pod at the latest value of the
    one ``cpu`` series, the other existing pods not ready; None without a sample.

    >>> from foresight.series import Series
    >>> observed_pods(Observation("api", 0.0, Scale(3, 3, 2), {"cpu": [Series({}, [0.0], [0.5])]}))
    PodMetrics(ready=(0.5, 0.5), unready=1, missing=0)
    """
    sample = _latest_sample(obs.series.get("cpu", []), obs.workload)
    if sample is None:
        return None
    return PodMetrics((sample,) * obs.scale.ready, unready=max(obs.scale.current - obs.scale.ready, 0))


def _workload_template(query: str, what: str) -> Template:
    template = Template(query)
    if not template.is_valid() or template.get_identifiers() != ["workload"]:
        raise ConfigError(f"{what} {query!r} must contain $workload and no other $name (write $$ for a literal $)")
    return template


def _latest_values(series: Sequence[Series]) -> list[float]:
    """The last finite value of each series that has one."""
    return [float(s.values[np.isfinite(s.values)][-1]) for s in series if np.isfinite(s.values).any()]


def _latest_sample(series: Sequence[Series], workload: str) -> float | None:
    """The last finite value of the workload's one CPU series; None for a gap."""
    if len(series) > 1:
        raise InputError(
            f"HPA cpu query for workload {workload!r} returned {len(series)} series; it must return one "
            "(the average utilisation of the ready pods: aggregate it, e.g. with avg(...))"
        )
    if not series:
        return None
    finite = series[0].values[np.isfinite(series[0].values)]
    return float(finite[-1]) if finite.size else None
