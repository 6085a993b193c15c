"""The simulator's twin of a cluster that heals: pods whose memory leaks, their metrics, and the actions.

:class:`HealingCluster` is both a :class:`~foresight.ports.MetricsSource` (the kube-state-metrics and
cAdvisor series the live controller reads, :data:`foresight.heal.plan.QUERIES`) and a
:class:`~foresight.heal.plan.Remediator` with the Kubernetes adapter's semantics
(:mod:`foresight.adapters.kube_heal`): a restart surges one replica and waits ``startup_s`` of
simulated time for it to be Ready (the old pod keeps leaking meanwhile and may still be
OOMKilled), then evicts the old pod only if its PodDisruptionBudget (``min_available``) allows,
retrying every ``retry_s`` up to ``pdb_timeout_s``, never forcing; a resize raises the container's
memory in place when its node has room (else one more replica); a drain cordons a node and evicts
its pods one at a time under the same PDB rule.

A pod's working set is ``base + leak * age`` plus noise; at its limit it is OOMKilled (counted),
its restart counter goes up and it starts again from ``base`` (the leak is in the code, so it
leaks again). What reactive Kubernetes does is the same run without a controller.

>>> c = HealingCluster(seed=0)
>>> c.add_workload("shop", "cart", replicas=2, node="node-a", limit=512 * MIB, base=0.4, leak_per_min=(0.025, 0.0))
>>> c.advance(1800.0)
>>> c.oomkills, sorted(p.name for p in c.pods.values())
(1, ['cart-0', 'cart-1'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from foresight.errors import InputError
from foresight.heal.plan import QUERIES, Action, Outcome, Target, resize_fits
from foresight.heal.signals import Resource
from foresight.series import Series

__all__ = ["MIB", "HealingCluster", "SimPod"]

MIB = 2.0**20


@dataclass
class SimPod:
    """One pod of a workload: its memory limit and request, how it leaks, when it started and became Ready."""

    name: str
    namespace: str
    workload: str
    node: str
    limit: float
    request: float
    base: float
    leak_per_s: float
    started: float
    ready_at: float
    restarts: int = 0
    container: str = "app"
    cpu_limit: float = 1.0
    cpu_request: float = 1.0
    cpu_base: float = 0.3
    cpu_ramp_per_s: float = 0.0


@dataclass
class _Record:
    t: list[float] = field(default_factory=list)
    memory: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    restarts: list[float] = field(default_factory=list)


class HealingCluster:
    """A few workloads on a few nodes, stepped every ``step_s`` (module docstring)."""

    #: its actions advance its own simulated time (a restart waits ``startup_s``): callers run them inline
    steps_own_clock = True

    def __init__(self, *, seed: int = 0, step_s: float = 30.0, startup_s: float = 40.0, retry_s: float = 10.0,
                 pdb_timeout_s: float = 600.0, node_memory: float = 64 * 1024 * MIB, start_s: float = 0.0) -> None:
        self.rng = np.random.default_rng(seed)
        self.now, self.step_s, self.startup_s = float(start_s), step_s, startup_s
        self.retry_s, self.pdb_timeout_s = retry_s, pdb_timeout_s
        self.pods: dict[tuple[str, str], SimPod] = {}
        self.replicas: dict[tuple[str, str], int] = {}
        self.min_available: dict[tuple[str, str], int] = {}
        self.nodes: dict[str, float] = {}
        self.node_memory = node_memory
        self.node_cpu = 8.0
        self.cordoned: set[str] = set()
        self.history: dict[tuple[str, str], _Record] = {}
        self.oomkills = 0
        self.killed: list[tuple[float, str]] = []  # (time, pod) of every OOMKill
        self.evictions: list[tuple[float, str]] = []
        self._serial: dict[tuple[str, str], int] = {}
        self._carry = 0.0  # simulated seconds passed since the last step

    # -- building and stepping ----------------------------------------------------------------------

    def add_workload(self, namespace: str, name: str, *, replicas: int, node: str, limit: float, base: float,
                     leak_per_min: Sequence[float] = (), min_available: int | None = None,
                     cpu_ramp_per_min: Sequence[float] = ()) -> None:
        """``replicas`` pods on ``node`` at ``base`` (a fraction of ``limit``), pod i leaking
        ``leak_per_min[i]`` of the limit per minute (0 beyond the list), its CPU use (30% of a 1-core
        limit) growing by ``cpu_ramp_per_min[i]`` of a core per minute until throttled at the limit;
        PDB ``min_available`` (default: all but one)."""
        key = (namespace, name)
        self.replicas[key] = replicas
        self.min_available[key] = replicas - 1 if min_available is None else min_available
        self.nodes.setdefault(node, self.node_memory)
        for i in range(replicas):
            leak = leak_per_min[i] if i < len(leak_per_min) else 0.0
            pod = self._start(namespace, name, node, limit, base * limit, leak * limit / 60.0, ready_at=self.now)
            pod.cpu_ramp_per_s = (cpu_ramp_per_min[i] if i < len(cpu_ramp_per_min) else 0.0) / 60.0

    def _start(self, namespace: str, workload: str, node: str, limit: float, base: float, leak_per_s: float,
               ready_at: float) -> SimPod:
        n = self._serial.get((namespace, workload), 0)
        self._serial[(namespace, workload)] = n + 1
        pod = SimPod(f"{workload}-{n}", namespace, workload, node, limit, limit, base, leak_per_s, self.now, ready_at)
        self.pods[(namespace, pod.name)] = pod
        self.history[(namespace, pod.name)] = _Record()
        return pod

    def advance_to(self, t: float) -> None:
        """Let simulated time pass until ``t`` (a caller on its own clock: the time carried counts)."""
        self.advance(max(t - self.now - self._carry, 0.0))

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass, a sample every ``step_s``. Time short of a step is
        carried to the next call, so waits shorter than a step (an eviction retried every 10 s) add up
        and end, on the step grid."""
        self._carry += seconds
        while self._carry + 1e-9 >= self.step_s:
            self._carry -= self.step_s
            self.now += self.step_s
            for key, pod in list(self.pods.items()):
                used = pod.base + pod.leak_per_s * (self.now - pod.started) + self.rng.normal(0, 0.004) * pod.request
                if used >= pod.limit:  # the kernel's OOM killer: the container restarts from its base
                    self.oomkills += 1
                    self.killed.append((self.now, pod.name))
                    pod.restarts, pod.started = pod.restarts + 1, self.now
                    used = pod.base
                rec = self.history[key]
                rec.t.append(self.now)
                rec.memory.append(used)
                cpu = pod.cpu_base + pod.cpu_ramp_per_s * (self.now - pod.started) + self.rng.normal(0, 0.01)
                rec.cpu.append(float(min(max(cpu, 0.0), pod.cpu_limit)))  # CFS throttles it at the limit
                rec.restarts.append(float(pod.restarts))

    # -- the metrics source -------------------------------------------------------------------------

    def query_range(self, query: str, start: float, end: float, step_s: float) -> list[Series]:
        """The live controller's series (:data:`QUERIES`) over ``[start, end]``, one per existing pod."""
        if query not in QUERIES.values():
            raise InputError(f"the healing simulator serves {', '.join(QUERIES.values())}, not {query!r}")
        if query in (QUERIES[k] for k in QUERIES if k.startswith(("gpu_", "node_"))):
            return []  # no GPU and no node-exporter here: the twin's failures are its pods' leaks
        out = []
        for (ns, name), rec in self.history.items():
            pod = self.pods.get((ns, name))
            t = np.asarray(rec.t)
            use = (t >= start) & (t <= end)
            if pod is None or not use.any():
                continue
            labels = {"namespace": ns, "pod": name}
            if query == QUERIES["info"]:
                out.append(Series({**labels, "node": pod.node, "created_by_kind": "ReplicaSet",
                                   "created_by_name": f"{pod.workload}-5d8f7"}, t[use], np.ones(int(use.sum()))))
                continue
            labels["container"] = pod.container
            if query == QUERIES["limit"] and not np.isfinite(pod.limit):  # no limit: kube-state-metrics has no series
                continue
            values = {QUERIES["memory"]: np.asarray(rec.memory), QUERIES["restarts"]: np.asarray(rec.restarts),
                      QUERIES["limit"]: np.full(t.size, pod.limit), QUERIES["cpu"]: np.asarray(rec.cpu),
                      QUERIES["cpu_limit"]: np.full(t.size, pod.cpu_limit)}[query]
            out.append(Series(labels, t[use], values[use]))
        return out

    # -- the actions --------------------------------------------------------------------------------

    def restart(self, target: Target) -> Outcome:
        pod = self.pods.get((target.namespace, target.pod))
        if pod is None:
            return Outcome(True, f"pod {target.namespace}/{target.pod} is already gone", Action.RESTART)
        key = (pod.namespace, pod.workload)
        self.replicas[key] += 1
        self._start(pod.namespace, pod.workload, self._schedulable(pod.node), pod.limit, pod.base, pod.leak_per_s,
                    ready_at=self.now + self.startup_s)
        self.advance(self.startup_s)  # the old pod keeps running (and leaking) until its replacement is Ready
        evicted, detail = self._evict(pod)
        self.replicas[key] -= 1
        return Outcome(evicted, f"replacement Ready after {self.startup_s:.0f} s; {detail}", Action.RESTART)

    def resize(self, target: Target, resource: Resource, factor: float) -> Outcome:
        pod = self.pods.get((target.namespace, target.pod))
        if pod is None:
            return Outcome(False, f"pod {target.namespace}/{target.pod} is gone: nothing to resize", Action.RESIZE)
        cpu = resource is Resource.CPU
        requested = sum(p.cpu_request if cpu else p.request for p in self.pods.values() if p.node == pod.node)
        fits, why = resize_fits(self.node_cpu if cpu else self.nodes[pod.node], requested,
                                pod.cpu_request if cpu else pod.request, factor)
        if not fits:
            return self.scale_out(target, f"no room to resize {resource.value} on node {pod.node}: {why}")
        if cpu:
            pod.cpu_limit, pod.cpu_request = pod.cpu_limit * factor, pod.cpu_request * factor
        else:
            pod.limit, pod.request = pod.limit * factor, pod.request * factor
        return Outcome(True, f"{resource.value} of {pod.name} resized in place x{factor:g}: {why}", Action.RESIZE)

    def scale_out(self, target: Target, why: str) -> Outcome:
        key = (target.namespace, target.workload)
        template = next((p for p in self.pods.values() if (p.namespace, p.workload) == key), None)
        if template is None:
            return Outcome(False, f"workload {target.workload} has no pods", Action.SCALE_OUT)
        self.replicas[key] += 1
        self._start(template.namespace, template.workload, self._schedulable(template.node), template.limit,
                    template.base, template.leak_per_s, ready_at=self.now + self.startup_s)
        return Outcome(True, f"{target.workload} scaled out to {self.replicas[key]}: {why}", Action.SCALE_OUT)

    def drain(self, node: str) -> Outcome:
        self.cordoned.add(node)
        on = sorted((p for p in self.pods.values() if p.node == node), key=lambda p: p.name)
        blocked = []
        for pod in on:
            evicted, detail = self._evict(pod)
            if evicted:
                self._start(pod.namespace, pod.workload, self._schedulable(node), pod.limit, pod.base, pod.leak_per_s,
                            ready_at=self.now + self.startup_s)
            else:
                blocked.append(detail)
        return Outcome(not blocked, f"node {node} cordoned; {len(on) - len(blocked)} of {len(on)} pods evicted"
                       + (f"; {'; '.join(blocked)}" if blocked else ""), Action.DRAIN)

    def _ready(self, namespace: str, workload: str) -> int:
        return sum(1 for p in self.pods.values() if (p.namespace, p.workload) == (namespace, workload)
                   and p.ready_at <= self.now)

    def _evict(self, pod: SimPod) -> tuple[bool, str]:
        """The Eviction API's PDB rule: refused (429) while it would leave fewer Ready than ``min_available``."""
        waited = 0.0
        while self._ready(pod.namespace, pod.workload) - 1 < self.min_available[(pod.namespace, pod.workload)]:
            if waited + self.retry_s > self.pdb_timeout_s:
                return False, f"eviction of {pod.name} refused (429: its PodDisruptionBudget) for {waited:.0f} s: not forced"
            self.advance(self.retry_s)
            waited += self.retry_s
        self.pods.pop((pod.namespace, pod.name), None)
        self.evictions.append((self.now, pod.name))
        return True, f"pod {pod.name} evicted" + (f" after {waited:.0f} s of PDB refusals" if waited else "")

    def _schedulable(self, preferred: str) -> str:
        if preferred not in self.cordoned:
            return preferred
        free = sorted(n for n in self.nodes if n not in self.cordoned)
        if not free:
            self.nodes["node-spare"] = self.node_memory
            return "node-spare"
        return free[0]
