"""The live platform's replica controller: ScalingPolicies in mode ``direct`` under the predictive
policy, through the one :class:`~foresight.control.loop.Reconciler`, on the cluster's ``/scale``.

The managed set (:mod:`foresight.runtime.managed`) names workloads across namespaces and kinds;
:class:`WorkloadScales` gives the loop the one :class:`~foresight.ports.ScaleTarget` it expects by
routing each workload key to its own ``/scale`` subresource. Everything else (the policy and its
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

__all__ = ["ScaleTargets", "WorkloadScales", "direct_reconciler"]

#: Makes the /scale port of one namespace and kind (KubernetesScaleTarget in production).
ScaleTargets = Callable[[str, str], ScaleTarget]


class WorkloadScales:
    """One :class:`ScaleTarget` over workloads in many namespaces: each key reaches its own ``/scale``."""

    def __init__(self, workloads: Mapping[str, ScaledWorkload], targets: ScaleTargets) -> None:
        self.workloads, self.targets = dict(workloads), targets

    def _target(self, key: str) -> tuple[ScaleTarget, str]:
        w = self.workloads.get(key)
        if w is None:
            raise ConfigError(f"workload {key!r} is not managed")
        return self.targets(w.namespace, w.target_kind), w.target_name

    def get_scale(self, workload: str) -> Scale:
        target, name = self._target(workload)
        return target.get_scale(name)

    def set_replicas(self, workload: str, replicas: int) -> None:
        target, name = self._target(workload)
        target.set_replicas(name, replicas)


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
