"""What live ``foresight serve`` manages, decided purely from its settings and the policies in the cluster.

Each period the live platform lists ScalingPolicy and AnomalyPolicy resources (level-based: the
whole current set, never the event that changed it) and calls :func:`managed`, which merges them
with the static settings (``live.workloads``) into:

* **scaled workloads** - what is forecast and published: the load query (the policy's own
  ``loadQuery``, else ``live.load_query`` with ``$workload`` and ``$namespace`` substituted), what
  one replica serves (:meth:`ScaledWorkload.capacity`: capacity, start-up delay, and the SLO or the
  target utilisation the predictive policy sizes for), min/max, and who acts (``mode``: ``export``
  for the static ones, else the policy's ``keda`` / ``hpa`` / ``direct``);
* **anomaly watches** - one per AnomalyPolicy: its signals (PromQL), detector, threshold, timing;
* **problems** - a malformed policy, or a second policy for a workload already managed, named
  with the precise field at fault. A problem never stops the others from being managed.

A workload's key is its name in ``live.namespace`` (the static workloads, as before) and
``namespace/name`` elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Any, TypeVar

from foresight.autoscale.predictive import ServiceCapacity
from foresight.capacity import SloModel, utilisation_replicas
from foresight.config import LiveSettings
from foresight.errors import InputError
from foresight.specs import AnomalyPolicy, ScalingPolicy
from foresight.specs.resource import parse

P = TypeVar("P", ScalingPolicy, AnomalyPolicy)

__all__ = ["AnomalyWatchSpec", "Managed", "ScaledWorkload", "desired_replicas", "managed"]


@dataclass(frozen=True)
class ScaledWorkload:
    """One workload whose load is forecast, and how its forecast becomes replicas."""

    key: str
    namespace: str
    workload: str
    query: str
    mode: str  # export (static settings), keda, hpa, direct
    capacity_rps: float | None
    target_utilisation_percent: float = 100.0
    min_replicas: int = 0
    max_replicas: int | None = None
    target_kind: str = "Deployment"
    target_name: str = ""
    max_step: int | None = None
    cooldown_s: float = 0.0
    dry_run: bool = False
    source: str = "config"
    startup_delay_s: float = 60.0
    slo: SloModel | None = None
    cpu_query: str = ""

    def capacity(self) -> ServiceCapacity | None:
        """What the predictive policy sizes this workload by (None without a capacity): its own queries,
        its start-up delay, and its SLO or else its target utilisation."""
        if self.capacity_rps is None:
            return None
        return ServiceCapacity(capacity_rps=self.capacity_rps, startup_delay_s=self.startup_delay_s,
                               target_utilisation_percent=self.target_utilisation_percent, slo=self.slo,
                               load_query=self.query, cpu_query=self.cpu_query)


@dataclass(frozen=True)
class AnomalyWatchSpec:
    """One AnomalyPolicy's signals and alerting, as the live detectors need them."""

    key: str
    namespace: str
    workload: str
    signals: tuple[tuple[str, str], ...]  # (signal name, PromQL)
    detector: str
    threshold: float
    for_s: float
    resolve_after_s: float
    severity: str


@dataclass(frozen=True)
class Managed:
    """The managed set of one period (module docstring)."""

    workloads: tuple[ScaledWorkload, ...]
    anomaly: tuple[AnomalyWatchSpec, ...]
    problems: tuple[str, ...]


def desired_replicas(w: ScaledWorkload, load: float) -> int | None:
    """Replicas for a predicted ``load``: at target utilisation, within min/max; None without a capacity.

    >>> w = ScaledWorkload("web", "shop", "web", "q", "keda", 80.0, 50.0, 2, 10)
    >>> desired_replicas(w, 0.0), desired_replicas(w, 200.0), desired_replicas(w, 1e6)
    (2, 5, 10)
    """
    if w.capacity_rps is None:
        return None
    replicas = max(w.min_replicas, int(utilisation_replicas(load, w.capacity_rps, w.target_utilisation_percent)))
    return replicas if w.max_replicas is None else min(replicas, w.max_replicas)


def _key(namespace: str, workload: str, home: str) -> str:
    return workload if namespace == home else f"{namespace}/{workload}"


def _name(body: Mapping[str, Any]) -> str:
    meta = body.get("metadata") or {}
    return f"{body.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '?')}"


def managed(live: LiveSettings, scaling: Sequence[Mapping[str, Any]] = (),
            anomaly: Sequence[Mapping[str, Any]] = ()) -> Managed:
    """Merge the static settings with the policies listed from the cluster (module docstring).

    >>> live = LiveSettings(workloads=("api",), namespace="prod", capacity_rps=25.0)
    >>> bad = {"kind": "ScalingPolicy", "metadata": {"name": "web", "namespace": "shop"},
    ...        "spec": {"targetRef": {"name": "web"}}}
    >>> good = {"kind": "ScalingPolicy", "metadata": {"name": "cart", "namespace": "shop"},
    ...         "spec": {"targetRef": {"name": "cart"}, "capacityRps": 80, "mode": "direct"}}
    >>> m = managed(live, [bad, good])
    >>> [(w.key, w.mode, w.query) for w in m.workloads]
    [('api', 'export', 'sum(rate(http_requests_total{workload="api"}[1m]))'), ('shop/cart', 'direct', 'sum(rate(http_requests_total{workload="cart"}[1m]))')]
    >>> m.problems
    ('ScalingPolicy shop/web: spec.capacityRps: Field required',)
    """
    query, cpu = Template(live.load_query), Template(live.cpu_query)
    problems: list[str] = []
    workloads: dict[str, ScaledWorkload] = {}
    for name in live.workloads:
        key = _key(live.namespace, name, live.namespace)
        workloads[key] = ScaledWorkload(key, live.namespace, name,
                                        query.safe_substitute(workload=name, namespace=live.namespace),
                                        "export", live.capacity_rps)
    for body, policy in _parsed(scaling, ScalingPolicy, problems):
        ns, spec = policy.metadata.namespace, policy.spec
        key = _key(ns, spec.workload_name, live.namespace)
        if key in workloads:
            problems.append(f"{_name(body)}: workload {key} is already managed by {workloads[key].source}; ignored")
            continue
        names = {"workload": spec.workload_name, "namespace": ns}
        workloads[key] = ScaledWorkload(
            key, ns, spec.workload_name, spec.load_query or query.safe_substitute(names), spec.mode,
            spec.capacity_rps, spec.target_utilisation_percent, spec.min_replicas, spec.max_replicas,
            spec.target_ref.kind, spec.target_ref.name, spec.max_step, float(spec.cooldown_s), spec.dry_run, _name(body),
            float(spec.startup_delay_s), spec.slo.model() if spec.slo is not None else None, cpu.safe_substitute(names))
    watches: list[AnomalyWatchSpec] = []
    for _, apolicy in _parsed(anomaly, AnomalyPolicy, problems):
        ns, aspec = apolicy.metadata.namespace, apolicy.spec
        watches.append(AnomalyWatchSpec(
            f"{ns}/{apolicy.metadata.name}", ns, aspec.target_ref.name,
            tuple((s.name, s.query) for s in aspec.signals), aspec.detector, aspec.threshold, float(aspec.for_s),
            float(aspec.resolve_after_s), aspec.severity))
    return Managed(tuple(workloads.values()), tuple(watches), tuple(problems))


def _parsed(bodies: Iterable[Mapping[str, Any]], kind: type[P], problems: list[str]) -> Iterator[tuple[Mapping[str, Any], P]]:
    """The resources of ``kind`` that parse, by name; each one that does not adds its precise error to ``problems``."""
    for body in sorted(bodies, key=_name):
        try:
            policy = parse(body)
        except InputError as exc:
            problems.append(str(exc))
            continue
        if not isinstance(policy, kind):
            problems.append(f"{_name(body)}: not a {kind.__name__}")
            continue
        yield body, policy
