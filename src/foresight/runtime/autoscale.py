"""The replica controllers: the reactive HPA baseline and the predictive policy, each in the one
:class:`~foresight.control.loop.Reconciler`.

The predictive policy runs with :class:`~foresight.autoscale.predictive.PredictiveSpec`'s defaults
(the settings the benchmark chose) everywhere; a caller names only what is its own: the workloads'
capacities and the loop's period. Its history is read through
:class:`~foresight.forecast.history.IncrementalHistory` on the forecast grid, so a real Prometheus
is asked for the lookback once and then only for new points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from foresight.autoscale.hpa import HpaPolicy, HpaSpec
from foresight.autoscale.predictive import (
    PredictivePolicy,
    PredictiveSpec,
    ServiceCapacity,
)
from foresight.clock import Clock
from foresight.control.audit import AuditSink
from foresight.control.loop import Reconciler, WorkloadState
from foresight.control.metrics import ControlMetrics
from foresight.control.safety import SafetyLimits
from foresight.forecast.history import IncrementalHistory
from foresight.ports import MetricsSource, ScaleTarget
from foresight.sim import ServiceSpec

__all__ = [
    "HPA_TARGET_PERCENT",
    "POLICIES",
    "Policy",
    "assign_controllers",
    "capacity_of",
    "hpa_reconciler",
    "limits_of",
    "predictive_policy",
    "predictive_reconciler",
]

#: The HPA baseline's target CPU utilisation wherever Foresight runs one (a common production setting).
HPA_TARGET_PERCENT = 70

#: Who scales the services of a simulated platform: ``split`` puts every second one under the predictive policy.
POLICIES = ("hpa", "predictive", "split")
Policy = Literal["hpa", "predictive", "split"]


def capacity_of(service: ServiceSpec) -> ServiceCapacity:
    """A simulated service's capacity as the predictive policy sizes it: for its own SLO."""
    return ServiceCapacity(capacity_rps=service.capacity_rps, startup_delay_s=service.startup_delay_s, slo=service.slo)


def limits_of(service: ServiceSpec) -> SafetyLimits:
    """The reconcile loop's bounds for a simulated service: its own min and max replicas."""
    return SafetyLimits(min_replicas=service.min_replicas, max_replicas=service.max_replicas)


def predictive_policy(capacities: Mapping[str, ServiceCapacity], period_s: float, **settings: Any) -> PredictivePolicy:
    """The predictive policy over ``capacities``, reconciled every ``period_s``; ``settings`` override
    :class:`PredictiveSpec`'s defaults (the benchmark's sweeps; nothing else should need to)."""
    return PredictivePolicy(PredictiveSpec(services=dict(capacities), sync_period_s=period_s, **settings))


def predictive_reconciler(
    capacities: Mapping[str, ServiceCapacity], source: MetricsSource, target: ScaleTarget,
    limits: Mapping[str, SafetyLimits], audit: AuditSink, clock: Clock, *, period_s: float,
    metrics: ControlMetrics | None = None, policy: PredictivePolicy | None = None,
    states: Mapping[str, WorkloadState] | None = None, renew: bool = False,
) -> Reconciler:
    """The predictive policy's loop over the workloads of ``limits`` (``policy``: one built already,
    e.g. sharing its forecasts with others; else :func:`predictive_policy` of ``capacities``),
    resuming ``states`` when given; ``renew``: set the target every period (a published value)."""
    policy = policy or predictive_policy(capacities, period_s)
    return Reconciler(policy, IncrementalHistory(source), target, limits, audit, clock, period_s=period_s,
                      query_step_s=policy.spec.forecast_step_s, metrics=metrics, states=states, renew=renew)


def hpa_reconciler(
    specs: Mapping[str, ServiceSpec], source: MetricsSource, target: ScaleTarget, audit: AuditSink, clock: Clock,
    *, period_s: float, target_percent: int = HPA_TARGET_PERCENT, metrics: ControlMetrics | None = None,
) -> Reconciler:
    """The Kubernetes HPA baseline on CPU at ``target_percent`` over simulated ``specs``, each within its bounds."""
    per_workload = {name: HpaSpec(min_replicas=s.min_replicas, max_replicas=s.max_replicas,
                                  target_utilisation_percent=target_percent) for name, s in specs.items()}
    policy = HpaPolicy(HpaSpec(max_replicas=10, target_utilisation_percent=target_percent), per_workload=per_workload)
    return Reconciler(policy, source, target, {n: limits_of(s) for n, s in specs.items()}, audit, clock,
                      period_s=period_s, metrics=metrics)


def assign_controllers(services: list[str], policy: Policy) -> dict[str, str]:
    """Which controller scales each service: ``split`` alternates, starting with the HPA.

    >>> assign_controllers(["a", "b", "c"], "split")
    {'a': 'hpa', 'b': 'predictive', 'c': 'hpa'}
    """
    if policy == "split":
        return {name: ("hpa", "predictive")[i % 2] for i, name in enumerate(services)}
    return {name: policy for name in services}
