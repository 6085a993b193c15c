"""What a simulated cluster is made of: services with their call graph, node pools, faults, traffic.

Every model is frozen and documented per field. Per-field limits are pydantic constraints (the
error names the field); checks that span fields or models raise :class:`ConfigError` with a
message naming the service, node pool or fault and the field at fault, e.g. a call graph with a
cycle names the cycle (``a -> b -> a``).

The call graph is a DAG: ``calls`` maps a downstream service to the number of calls one request
makes to it (the fan-out; 0.3 means 30 % of requests call it once). Services that nobody calls
are the *entry* services; the external traffic is split between them by ``traffic_share``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from foresight.capacity import DEFAULT_TIMEOUT_S, SloModel
from foresight.errors import ConfigError
from foresight.sim.faults import (
    Fault,
    LatencyRegression,
    MemoryLeak,
    NodeLoss,
    SpotPreemption,
)
from foresight.sim.traffic import SyntheticTraffic, TrafficSpec

__all__ = ["ClusterSpec", "NodePoolSpec", "ServiceSpec", "find_cycle", "topological_order"]

_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class ServiceSpec(BaseModel):
    """One service (a Deployment): its per-replica capacity, latency, pod size, SLO and calls."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME, max_length=63, description="DNS-1123 label, unique in the cluster.")
    capacity_rps: float = Field(gt=0, description="Requests per second one ready replica serves at full load.")
    base_latency_s: float = Field(gt=0, description="Service time of one request at zero load.")
    startup_delay_s: float = Field(30.0, ge=0, description="From pod creation to ready (image pull, model load).")
    min_replicas: int = Field(1, ge=0, description="Lower replica limit a controller should respect.")
    max_replicas: int = Field(10, ge=1, description="Upper replica limit a controller should respect.")
    initial_replicas: int = Field(1, ge=0, description="Replicas (desired and ready) at the start of a run.")
    cpu_cores: float = Field(0.5, gt=0, description="CPU requested per pod, in cores.")
    memory_mib: float = Field(512.0, gt=0, description="Memory requested per pod (also its limit), MiB.")
    gpus: int = Field(0, ge=0, description="GPUs requested per pod; such pods only run on GPU nodes.")
    slo_latency_p95_s: float = Field(gt=0, description="SLO on the end-to-end p95 latency.")
    slo_error_ratio: float = Field(0.01, gt=0, lt=1, description="SLO on the end-to-end failed fraction.")
    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, description="A request queued longer than this fails.")
    traffic_share: float = Field(1.0, ge=0, description="Share of external traffic (entry services only).")
    calls: dict[str, float] = Field(
        default_factory=dict, description="Downstream service -> calls per request (the fan-out, > 0)."
    )

    @model_validator(mode="after")
    def _check(self) -> ServiceSpec:
        if not self.min_replicas <= self.initial_replicas <= self.max_replicas:
            raise ConfigError(
                f"service {self.name!r}: need min_replicas <= initial_replicas <= max_replicas, got "
                f"min_replicas={self.min_replicas}, initial_replicas={self.initial_replicas}, "
                f"max_replicas={self.max_replicas}"
            )
        for target, fanout in self.calls.items():
            if not fanout > 0:
                raise ConfigError(f"service {self.name!r}: calls[{target!r}] must be > 0, got {fanout}")
        return self

    @property
    def slo(self) -> SloModel:
        """This service's SLO in the one model every policy sizes for (and the simulator scores)."""
        return SloModel(base_latency_s=self.base_latency_s, slo_latency_p95_s=self.slo_latency_p95_s,
                        slo_error_ratio=self.slo_error_ratio, timeout_s=self.timeout_s)


class NodePoolSpec(BaseModel):
    """``count`` identical nodes named ``<name>-0``, ``<name>-1``, ...; spot nodes can be pre-empted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME, max_length=50)
    count: int = Field(ge=1, description="Nodes in the pool.")
    cpu_cores: float = Field(gt=0, description="Allocatable CPU per node, cores.")
    memory_mib: float = Field(gt=0, description="Allocatable memory per node, MiB.")
    gpus: int = Field(0, ge=0, description="GPUs per node; GPU nodes only accept pods that request GPUs.")
    spot: bool = Field(False, description="Spot capacity: can be pre-empted (see SpotPreemption).")

    def node_names(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(self.count)]


def find_cycle(calls: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle in the call graph as a closed path of names, or ``None`` when it is a DAG.

    >>> find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]})
    ['a', 'b', 'c', 'a']
    >>> find_cycle({"a": ["b"], "b": []}) is None
    True
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in calls:
        if state.get(root):
            continue
        path, stack = [root], [iter(calls.get(root, ()))]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append(iter(calls.get(child, ())))
    return None


def topological_order(services: Sequence[ServiceSpec]) -> tuple[list[str], list[int]]:
    """Names sorted by level (callers before callees) and each one's level.

    A service's level is the longest call chain from an entry service to it, so every caller sits
    on a lower level than its callees; ties keep the spec's order.

    >>> s = lambda n, **c: ServiceSpec(name=n, capacity_rps=1, base_latency_s=1, slo_latency_p95_s=1, calls=c)
    >>> topological_order([s("db"), s("api", db=1.0), s("web", api=2.0, db=1.0)])
    (['web', 'api', 'db'], [0, 1, 2])
    """
    level = {s.name: 0 for s in services}
    waiting = {s.name: 0 for s in services}  # callers not yet levelled
    for s in services:
        for target in s.calls:
            waiting[target] += 1
    by_name = {s.name: s for s in services}
    todo = [s.name for s in services if waiting[s.name] == 0]
    while todo:
        name = todo.pop()
        for target in by_name[name].calls:
            level[target] = max(level[target], level[name] + 1)
            waiting[target] -= 1
            if waiting[target] == 0:
                todo.append(target)
    position = {s.name: i for i, s in enumerate(services)}
    names = sorted(level, key=lambda n: (level[n], position[n]))
    return names, [level[n] for n in names]


class ClusterSpec(BaseModel):
    """A whole simulated platform: services, node pools, a fault schedule and the external traffic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    services: tuple[ServiceSpec, ...] = Field(min_length=1)
    node_pools: tuple[NodePoolSpec, ...] = Field(min_length=1)
    faults: tuple[Fault, ...] = Field((), description="Faults injected at their times (see faults).")
    traffic: TrafficSpec = Field(default_factory=SyntheticTraffic, description="External load on entry services.")

    @model_validator(mode="after")
    def _check(self) -> ClusterSpec:
        names = [s.name for s in self.services]
        _unique(names, "service")
        nodes = [n for p in self.node_pools for n in p.node_names()]
        _unique([p.name for p in self.node_pools], "node pool")
        _unique(nodes, "node")
        known = set(names)
        for s in self.services:
            unknown = sorted(set(s.calls) - known)
            if unknown:
                raise ConfigError(f"service {s.name!r}: calls unknown service(s) {unknown}")
        cycle = find_cycle({s.name: list(s.calls) for s in self.services})
        if cycle is not None:
            raise ConfigError("the call graph has a cycle: " + " -> ".join(cycle))
        called = {t for s in self.services for t in s.calls}
        if sum(s.traffic_share for s in self.services if s.name not in called) <= 0:
            raise ConfigError("entry services (nobody calls them) need a total traffic_share > 0")
        spot = {n for p in self.node_pools if p.spot for n in p.node_names()}
        for i, fault in enumerate(self.faults):
            _check_fault(i, fault, known, set(nodes), spot)
        return self

    @property
    def service_names(self) -> list[str]:
        return [s.name for s in self.services]


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{what} name {name!r} is used more than once")
        seen.add(name)


def _check_fault(i: int, fault: Fault, services: set[str], nodes: set[str], spot: set[str]) -> None:
    where = f"faults[{i}] ({fault.kind})"
    if isinstance(fault, (NodeLoss, SpotPreemption)) and fault.node not in nodes:
        raise ConfigError(f"{where}: node {fault.node!r} is not in any node pool")
    if isinstance(fault, SpotPreemption) and fault.node not in spot:
        raise ConfigError(f"{where}: node {fault.node!r} is not a spot node")
    if isinstance(fault, (MemoryLeak, LatencyRegression)):
        if fault.service not in services:
            raise ConfigError(f"{where}: service {fault.service!r} is not in the cluster")
        if fault.until_s is not None and fault.until_s <= fault.at_s:
            raise ConfigError(f"{where}: until_s ({fault.until_s}) must be after at_s ({fault.at_s})")
