"""The live platform's replica controllers: the predictive policy, through the one
:class:`~foresight.control.loop.Reconciler`, over the ScalingPolicies in mode ``direct`` (it writes
their ``/scale``) and in mode ``hpa`` (it publishes their replicas for the HPA to follow).

The managed set (:mod:`foresight.runtime.managed`) names workloads across namespaces and kinds;
:class:`WorkloadScales` gives the loop the one :class:`~foresight.ports.ScaleTarget` it expects by
routing each workload key to its own ``/scale`` subresource; :class:`PublishedScales` reads the same
``/scale`` (the HPA's state) but publishes the replicas as ``foresight_desired_replicas`` instead, every
period, the path ``foresight bench autoscale`` measures as its headline. Everything else (the policy and its
defaults, the history read incrementally, the safety limits, the audit record) is what the demo
and the benchmark run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from foresight.clock import Clock
from foresight.control.audit import AuditSink
from foresight.control.loop import Reconciler, WorkloadState
from foresight.control.metrics import ControlMetrics
from foresight.control.safety import SafetyLimits
from foresight.errors import ConfigError
from foresight.ports import MetricsSource, Scale, ScaleTarget
from foresight.runtime.autoscale import predictive_reconciler
from foresight.runtime.managed import ScaledWorkload

__all__ = ["PublishReplicas", "PublishedScales", "ScaleTargets", "WorkloadScales", "direct_reconciler",
           "published_reconciler"]

#: Makes the /scale port of one namespace and kind (KubernetesScaleTarget in production).
ScaleTargets = Callable[[str, str], ScaleTarget]

#: Publishes one workload's replicas (namespace, workload, replicas) as the metric its HPA follows.
PublishReplicas = Callable[[str, str, int], None]


class WorkloadScales:
    """One :class:`ScaleTarget` over workloads in many namespaces: each key reaches its own ``/scale``."""

    def __init__(self, workloads: Mapping[str, ScaledWorkload], targets: ScaleTargets) -> None:
        self.workloads, self.targets = dict(workloads), targets

    def workload(self, key: str) -> ScaledWorkload:
        """The managed workload of ``key`` (a key it does not route is a configuration error)."""
        w = self.workloads.get(key)
        if w is None:
            raise ConfigError(f"workload {key!r} is not managed")
        return w

    def _target(self, key: str) -> tuple[ScaleTarget, str]:
        w = self.workload(key)
        return self.targets(w.namespace, w.target_kind), w.target_name

    def get_scale(self, workload: str) -> Scale:
        target, name = self._target(workload)
        return target.get_scale(name)

    def set_replicas(self, workload: str, replicas: int) -> None:
        target, name = self._target(workload)
        target.set_replicas(name, replicas)


class PublishedScales:
    """The :class:`ScaleTarget` of workloads an HPA scales: reads their real ``/scale`` (what the HPA
    decided, what is ready), and publishes the replicas the HPA should follow instead of writing them,
    so one autoscaler acts on each workload."""

    def __init__(self, scales: WorkloadScales, publish: PublishReplicas) -> None:
        self.scales, self.publish = scales, publish

    def get_scale(self, workload: str) -> Scale:
        return self.scales.get_scale(workload)

    def set_replicas(self, workload: str, replicas: int) -> None:
        w = self.scales.workload(workload)
        self.publish(w.namespace, w.workload, replicas)


def direct_reconciler(
    workloads: Sequence[ScaledWorkload], source: MetricsSource, targets: ScaleTargets, audit: AuditSink, clock: Clock,
    *, period_s: float, metrics: ControlMetrics | None = None, states: Mapping[str, WorkloadState] | None = None,
) -> Reconciler | None:
    """The predictive loop over the ``direct`` workloads (None when there is none), resuming ``states``
    (a changed policy set keeps what the loop knew of the workloads that stay)."""
    direct = {w.key: w for w in workloads if w.mode == "direct" and w.max_replicas is not None}  # policies have one
    capacities = {key: c for key, w in direct.items() if (c := w.capacity()) is not None}
    if not capacities:
        return None
    limits = {key: SafetyLimits(min_replicas=w.min_replicas, max_replicas=w.max_replicas or 0, max_step=w.max_step,
                                cooldown_s=w.cooldown_s, dry_run=w.dry_run)
              for key, w in direct.items() if key in capacities}
    kept = {key: state for key, state in (states or {}).items() if key in capacities}
    return predictive_reconciler(capacities, source, WorkloadScales(direct, targets), limits, audit, clock,
                                 period_s=period_s, metrics=metrics, states=kept)


def published_reconciler(
    workloads: Sequence[ScaledWorkload], source: MetricsSource, targets: ScaleTargets, publish: PublishReplicas,
    audit: AuditSink, clock: Clock, *, period_s: float, metrics: ControlMetrics | None = None,
    states: Mapping[str, WorkloadState] | None = None,
) -> Reconciler | None:
    """The predictive loop over the ``hpa`` workloads (None when there is none), resuming ``states``: every
    period it publishes each workload's replicas through ``publish`` (renewed even when the HPA already
    has them, or the metric would go stale at equilibrium), within min/max only: the HPA applies its own
    stabilisation and rate limits (``maxStep`` and the cool-down are direct-mode settings)."""
    hpa = {w.key: w for w in workloads if w.mode == "hpa" and w.max_replicas is not None}  # policies have one
    capacities = {key: c for key, w in hpa.items() if (c := w.capacity()) is not None}
    if not capacities:
        return None
    limits = {key: SafetyLimits(min_replicas=w.min_replicas, max_replicas=w.max_replicas or 0)
              for key, w in hpa.items() if key in capacities}
    kept = {key: state for key, state in (states or {}).items() if key in capacities}
    return predictive_reconciler(capacities, source, PublishedScales(WorkloadScales(hpa, targets), publish), limits,
                                 audit, clock, period_s=period_s, metrics=metrics, states=kept, renew=True)
