"""Simulated fault cascades with their ground truth: the alert storms ``foresight bench incidents`` replays.

A seeded run is a cluster of independent applications, each a layered call graph of 8-40
services (callers in shallower layers, shared downstreams such as databases called by several),
every service with 2-4 pods spread over the cluster's nodes. Faults start at random times
(a Poisson process; some start right after another in the same application, so incidents overlap)
and anywhere in a graph:

- a **service fault** (latency, errors or saturation) alerts on the service itself (its latency or
  error-rate alert, CPU throttling or crash-looping pods), then spreads to its callers, each caller
  alerting with probability ``propagation`` after a delay, and on from there (transitively
  upstream);
- a **node fault** alerts ``KubeNodeNotReady``, ``KubePodNotReady`` on the node's pods, and makes
  some of the services on it alert, spreading upstream the same way.

Between them, unrelated **noise** alerts (a crash-looping pod, a volume filling up, a latency blip)
fire and resolve on their own: each is its own incident. Alert names and labels are those of
kube-prometheus style rules (``alertname``, ``namespace``, ``service``, ``pod``, ``node``,
``severity``); node alerts come from kube-state-metrics and carry no ``service``. A label set fires
at most once at a time (as in Prometheus): an alert that would overlap a firing one with the same
labels is not emitted. Every alert resolves. Each alert's ground truth is the incident it belongs
to and that incident's root cause.

Alerts are identified by their label set and start (``key``: what Alertmanager's webhook gives as
fingerprint and ``startsAt``), and carry ``score`` 1.0: Prometheus alerts routed through
Alertmanager do not say how far their metric moved, so nothing but time and topology betrays the
root cause.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from foresight.correlate.graph import ServiceGraph
from foresight.correlate.model import Alert
from foresight.errors import ConfigError

__all__ = ["CascadeRun", "CascadeSettings", "Fault", "TruthAlert", "generate"]

_APPS = ("shop", "pay", "search", "media", "ads", "auth", "ledger", "chat", "maps", "feeds")
#: role of a service by its depth: entry points, middle tiers, stores
_ROLES = ("gateway", "api", "svc", "worker", "store")
#: a fault's alerts say "detected" only after a rule's ``for:`` (1-3 min)
_FOR_S = (60.0, 180.0)
#: (alertname, severity, metric, about a pod) of unrelated alerts
_NOISE = (
    ("KubePodCrashLooping", "warning", "restarts", True),
    ("CPUThrottlingHigh", "info", "cpu_throttling", True),
    ("KubeContainerWaiting", "warning", "pod_ready", True),
    ("KubePersistentVolumeFillingUp", "warning", "volume_free", False),
    ("ServiceLatencyHigh", "warning", "latency_p95", False),
)


@dataclass(frozen=True)
class CascadeSettings:
    """What a run looks like; the defaults are those ``foresight bench incidents`` reports."""

    incidents: int = 500  #: faults with at least one alert (noise alerts are further incidents)
    seed: int = 0
    apps: int = 20  #: independent applications in the cluster (~480 services)
    nodes: int = 100
    #: mean time between two faults' onsets, all applications together: dense (a fault every ~40 min in
    #: each application; with the defaults 4 in 5 faults overlap in time with another one that alerts
    #: in one of the same applications) so that 500 faults take ~16 simulated hours, ~5 min at x200
    mean_gap_s: float = 120.0
    overlap_share: float = 0.1  #: faults that start within 2 min after the previous one, in its application
    propagation: float = 0.7  #: chance that a caller of a failing service alerts too
    node_fault_share: float = 0.15
    noise_per_incident: float = 0.5  #: unrelated alerts per fault, spread over the run

    def __post_init__(self) -> None:
        if self.incidents < 1 or self.apps < 1 or self.nodes < 1:
            raise ConfigError("cascades: incidents, apps and nodes must each be at least 1")
        if not self.mean_gap_s > 0:
            raise ConfigError(f"cascades: mean_gap_s must be above 0, not {self.mean_gap_s}")
        for name in ("overlap_share", "propagation", "node_fault_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"cascades: {name} must lie in [0, 1], not {getattr(self, name)}")
        if self.noise_per_incident < 0:
            raise ConfigError(f"cascades: noise_per_incident must be >= 0, not {self.noise_per_incident}")


@dataclass(frozen=True)
class Fault:
    """One true incident: a fault (or a noise alert's own cause) and where it is."""

    id: str
    kind: str  #: latency, errors, saturation, node or noise
    onset_s: float
    #: the service at fault; None for a node fault
    root_service: str | None
    root_node: str | None = None


@dataclass(frozen=True)
class TruthAlert:
    """An alert of the stream and the incident it truly belongs to."""

    alert: Alert
    incident: str


@dataclass(frozen=True)
class CascadeRun:
    """A generated run: the graph (placement included), namespaces, faults and the alert stream."""

    graph: ServiceGraph
    namespaces: Mapping[str, str]
    faults: Mapping[str, Fault]
    alerts: tuple[TruthAlert, ...]  #: by start time
    duration_s: float  #: until the last alert resolves


@dataclass
class _World:
    rng: np.random.Generator
    edges: list[tuple[str, str]]
    callers: dict[str, list[str]]
    namespace: dict[str, str]
    pods: dict[str, list[tuple[str, str]]]  # service -> [(pod, node)]
    app_services: list[list[str]]
    #: label-set key -> firing intervals, so a label set fires once at a time
    firing: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    alerts: list[TruthAlert] = field(default_factory=list)

    def emit(self, incident: str, start: float, end: float, labels: dict[str, str],
             metric: str, component: str | None = None) -> bool:
        """Add the alert unless its label set fires then already; True when added."""
        lkey = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        spans = self.firing.setdefault(lkey, [])
        if end <= start or any(s < end and start < e for s, e in spans):
            return False
        spans.append((start, end))
        key = f"{hashlib.sha1(lkey.encode(), usedforsecurity=False).hexdigest()[:12]}@{start:.1f}"
        alert = Alert(key=key, name=labels["alertname"], service=labels.get("service"), starts_at=start,
                      ends_at=end, labels=labels, component=labels.get("pod") or labels.get("node"),
                      metric=metric, source="alertmanager")
        self.alerts.append(TruthAlert(alert, incident))
        return True

    def service_labels(self, name: str, severity: str, service: str) -> dict[str, str]:
        return {"alertname": name, "severity": severity, "namespace": self.namespace[service], "service": service}

    def pod_labels(self, name: str, severity: str, service: str, pod: str, node: str) -> dict[str, str]:
        return {**self.service_labels(name, severity, service), "pod": pod, "node": node}


def generate(settings: CascadeSettings = CascadeSettings()) -> CascadeRun:
    """The run of ``settings``: the same settings give the same run.

    >>> run = generate(CascadeSettings(incidents=5, seed=1))
    >>> sum(f.kind != "noise" for f in run.faults.values())
    5
    """
    rng = np.random.default_rng(settings.seed)
    world = _topology(rng, settings)
    faults: dict[str, Fault] = {}
    t, app, count = 0.0, 0, 0
    while count < settings.incidents:
        if count and rng.random() < settings.overlap_share:
            t += rng.uniform(0.0, 120.0)
        else:
            t += rng.exponential(settings.mean_gap_s)
            app = int(rng.integers(settings.apps))
        fault_id = f"inc-{len(faults):04d}"
        before = len(world.alerts)
        if rng.random() < settings.node_fault_share:
            node = f"node-{int(rng.integers(settings.nodes)):02d}"
            fault = Fault(fault_id, "node", t, None, node)
            _node_fault(world, fault, settings)
        else:
            services = world.app_services[app]
            root = services[int(rng.integers(len(services)))]
            fault = Fault(fault_id, str(rng.choice(["latency", "errors", "saturation"])), t, root)
            _service_fault(world, fault, settings)
        if len(world.alerts) > before:
            faults[fault_id] = fault
            count += 1
    duration = t + 3600.0
    _noise(world, faults, settings, duration)
    alerts = tuple(sorted(world.alerts, key=lambda a: (a.alert.starts_at, a.alert.key)))
    placement = {pod: (svc, node) for svc, pods in world.pods.items() for pod, node in pods}
    graph = ServiceGraph.of(world.edges, placement)
    end = max(a.alert.ends_at or 0.0 for a in alerts)
    return CascadeRun(graph, dict(world.namespace), faults, alerts, end)


def _topology(rng: np.random.Generator, settings: CascadeSettings) -> _World:
    """Layered applications: each service calls 1-3 deeper ones, mostly the next layer; every
    service below the entry layer has a caller; namespaces by tier (edge, core teams of <= 8, data)."""
    world = _World(rng, [], {}, {}, {}, [])
    for a in range(settings.apps):
        app = _APPS[a % len(_APPS)] + (str(a // len(_APPS)) if a >= len(_APPS) else "")
        n = int(rng.integers(8, 41))
        depth = int(rng.integers(3, 6))
        entries = int(rng.integers(1, 3))
        rest = np.concatenate([np.arange(1, depth), rng.integers(1, depth, n - entries - depth + 1)])
        layers = np.concatenate([np.zeros(entries, int), np.sort(rest)])  # every layer used
        names = [f"{app}-{_ROLES[-1] if lv == depth - 1 else _ROLES[min(int(lv), len(_ROLES) - 2)]}{i}"
                 for i, lv in enumerate(layers)]
        world.app_services.append(names)
        middle = 0
        for i, name in enumerate(names):
            if layers[i] == 0:
                world.namespace[name] = f"{app}-edge"
            elif layers[i] == depth - 1:
                world.namespace[name] = f"{app}-data"
            else:
                world.namespace[name] = f"{app}-core{middle // 8}"
                middle += 1
            world.pods[name] = [(f"{name}-{rng.bytes(3).hex()[:5]}", f"node-{int(rng.integers(settings.nodes)):02d}")
                                for _ in range(int(rng.integers(2, 5)))]
        for i in range(n):
            deeper = np.flatnonzero(layers > layers[i])
            if deeper.size == 0:
                continue
            nxt = np.flatnonzero(layers == layers[i] + 1)
            for _ in range(int(rng.integers(1, 4))):
                pool = nxt if nxt.size and rng.random() < 0.7 else deeper
                _call(world, names[i], names[int(rng.choice(pool))])
        for j in range(entries, n):
            if not world.callers.get(names[j]):
                shallower = np.flatnonzero(layers < layers[j])
                _call(world, names[int(rng.choice(shallower))], names[j])
    return world


def _call(world: _World, caller: str, callee: str) -> None:
    if caller not in world.callers.setdefault(callee, []):
        world.callers[callee].append(caller)
        world.edges.append((caller, callee))


def _fault_end(rng: np.random.Generator, onset: float) -> float:
    """A fault lasts 4-45 min (log-normal, median 12 min) until fixed or rolled back."""
    return onset + float(np.clip(rng.lognormal(np.log(720.0), 0.5), 240.0, 2700.0))


def _service_fault(world: _World, fault: Fault, settings: CascadeSettings) -> None:
    rng, root = world.rng, fault.root_service
    assert root is not None
    start = fault.onset_s + rng.uniform(*_FOR_S)
    end = _fault_end(rng, fault.onset_s)
    pods = world.pods[root]
    critical = "critical" if rng.random() < 0.5 else "warning"
    if fault.kind == "latency":
        world.emit(fault.id, start, end, world.service_labels("ServiceLatencyHigh", critical, root), "latency_p95")
        if rng.random() < 0.5:
            pod, node = pods[int(rng.integers(len(pods)))]
            world.emit(fault.id, start + rng.uniform(0, 60), end, world.pod_labels(
                "CPUThrottlingHigh", "info", root, pod, node), "cpu_throttling", pod)
    elif fault.kind == "errors":
        world.emit(fault.id, start, end, world.service_labels("ServiceErrorRateHigh", critical, root), "error_rate")
        if rng.random() < 0.6:
            for pod, node in pods[: int(rng.integers(1, 3))]:
                world.emit(fault.id, start + rng.uniform(0, 120), end, world.pod_labels(
                    "KubePodCrashLooping", "warning", root, pod, node), "restarts", pod)
    else:
        for pod, node in pods:
            world.emit(fault.id, start + rng.uniform(0, 60), end, world.pod_labels(
                "CPUThrottlingHigh", "info", root, pod, node), "cpu_throttling", pod)
        world.emit(fault.id, start + rng.uniform(30, 120), end,
                   world.service_labels("ServiceLatencyHigh", critical, root), "latency_p95")
        if rng.random() < 0.3:
            world.emit(fault.id, start, end, world.service_labels("KubeHpaMaxedOut", "warning", root), "replicas")
    _spread(world, fault, {root: (start, end)}, settings, errors=fault.kind == "errors")


def _node_fault(world: _World, fault: Fault, settings: CascadeSettings) -> None:
    rng, node = world.rng, fault.root_node
    start = fault.onset_s + rng.uniform(*_FOR_S)
    end = _fault_end(rng, fault.onset_s)
    world.emit(fault.id, start, end, {"alertname": "KubeNodeNotReady", "severity": "warning",
                                      "namespace": "monitoring", "node": str(node)}, "node_ready", node)
    hit: dict[str, tuple[float, float]] = {}
    for service, pods in world.pods.items():
        for pod, where in pods:
            if where != node:
                continue
            world.emit(fault.id, start + rng.uniform(0, 60), end + rng.exponential(60.0), world.pod_labels(
                "KubePodNotReady", "warning", service, pod, where), "pod_ready", pod)
            if service not in hit and rng.random() < 0.6:
                s_start = start + rng.uniform(30, 120)
                name, metric = ("ServiceErrorRateHigh", "error_rate") if rng.random() < 0.5 else (
                    "ServiceLatencyHigh", "latency_p95")
                world.emit(fault.id, s_start, end, world.service_labels(name, "warning", service), metric)
                hit[service] = (s_start, end)
    _spread(world, fault, hit, settings, errors=True)


def _spread(world: _World, fault: Fault, hit: dict[str, tuple[float, float]], settings: CascadeSettings,
            *, errors: bool) -> None:
    """Callers of failing services alert too, transitively upstream, each with the propagation
    chance, after a delay (the caller's own rule's ``for:``) and recovering a little after."""
    rng = world.rng
    frontier = sorted(hit)
    seen = set(hit)
    while frontier:
        callee = frontier.pop(0)
        c_start, c_end = hit[callee]
        for caller in world.callers.get(callee, []):
            if caller in seen or rng.random() >= settings.propagation:
                continue
            seen.add(caller)
            start = c_start + rng.exponential(30.0) + rng.uniform(0.0, 60.0)
            end = c_end + rng.exponential(30.0)
            if start >= end:
                continue
            severity = "critical" if rng.random() < 0.2 else "warning"
            if errors and rng.random() < 0.7:
                world.emit(fault.id, start, end, world.service_labels("ServiceErrorRateHigh", severity, caller),
                           "error_rate")
            else:
                world.emit(fault.id, start, end, world.service_labels("ServiceLatencyHigh", severity, caller),
                           "latency_p95")
            hit[caller] = (start, end)
            frontier.append(caller)


def _noise(world: _World, faults: dict[str, Fault], settings: CascadeSettings, duration: float) -> None:
    """Unrelated alerts uniformly over the run, each its own incident (skipped when its label set fires)."""
    rng = world.rng
    services = sorted(world.pods)
    for _ in range(round(settings.noise_per_incident * settings.incidents)):
        t = float(rng.uniform(0.0, duration - 3600.0))
        service = services[int(rng.integers(len(services)))]
        name, severity, metric, on_pod = _NOISE[int(rng.integers(len(_NOISE)))]
        start, end = t, t + float(np.clip(rng.lognormal(np.log(360.0), 0.6), 120.0, 3600.0))
        noise_id = f"noise-{len(faults):04d}"
        if on_pod:
            pod, node = world.pods[service][int(rng.integers(len(world.pods[service])))]
            added = world.emit(noise_id, start, end, world.pod_labels(name, severity, service, pod, node), metric, pod)
        else:
            added = world.emit(noise_id, start, end, world.service_labels(name, severity, service), metric)
        if added:
            faults[noise_id] = Fault(noise_id, "noise", start, service)
