"""Remediation planning: which predicted failures are acted on, by which action, and which are refused and why.

A prediction names a pod (its workload, namespace and node), the failure and its time to failure.
The planner turns one round of predictions into :class:`Step` s, each acted on or refused with a
reason that the audit log keeps beside the prediction and its incident. The order of the checks is
the order of the damage a wrong action does:

1. **pause**: ``pause_at`` or more predictions at once means the predictor or its metrics are wrong
   (a scrape that halved every working set, a broken exporter), not that the fleet is failing
   together: nothing is done, the round is reported for an alert, and the pause holds
   ``pause_hold_s`` after the last such round.
2. **policy**: a HealingPolicy in the pod's namespace must cover its workload and allow an action
   for the failure (:data:`REMEDIES`, in order of preference: a leak is restarted, not resized, as a
   larger limit only delays it; CPU saturation is resized, or scaled out).
3. **one at a time**: one action per workload per round, the most urgent first; a node is drained
   once however many of its pods are predicted.
4. **rate limits** over the last ``window_s``: per workload, per namespace (the policy's), per
   cluster. Dry-run steps count too, so a dry run shows what acting would have done.

The resize-or-scale-out choice (:func:`resize_fits`) is pure too: the adapter reads the node and
asks it.

>>> planner = Planner([Rules("shop")], cluster_per_window=10, pause_at=5)
>>> p = Prediction(Target("shop", "cart", "cart-7d9f-x2", "node-a"), Failure.OOM_KILL, 600.0, 540.0, 700.0,
...                "memory at 91% of its limit, growing 2%/10min")
>>> [(s.action.value if s.action else None, s.act, s.dry_run) for s in planner.plan([p], now=0.0).steps]
[('restart', True, True)]
>>> print(planner.plan([p], now=60.0).steps[0].reason)
refused: rate limit of workload shop/cart: 1 action(s) in the last 60 min (allowed 1)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from foresight.heal.signals import Failure, Resource

__all__ = ["QUERIES", "REMEDIES", "Action", "Outcome", "Plan", "Planner", "Prediction", "Remediator", "Rules", "Step", "Target",
           "resize_fits"]


#: the series a live planner's predictions are read from (cAdvisor's working set and CPU use, kube-state-metrics'
#: limits, pod placement and owners, restarts; NVIDIA dcgm-exporter's framebuffer used and free per GPU, in MiB,
#: for the pod using it; node-exporter's memory, root filesystem and tasks against the PID limit, its ``processes``
#: collector on), by Prometheus or by the simulator's twin
QUERIES = {
    "memory": 'container_memory_working_set_bytes{container!="",container!="POD"}',
    "limit": 'kube_pod_container_resource_limits{resource="memory"}',
    "cpu": 'rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[2m])',
    "cpu_limit": 'kube_pod_container_resource_limits{resource="cpu"}',
    "info": "kube_pod_info",
    "restarts": "kube_pod_container_status_restarts_total",
    "gpu_used": "DCGM_FI_DEV_FB_USED",
    "gpu_free": "DCGM_FI_DEV_FB_FREE",
    "node_memory_total": "node_memory_MemTotal_bytes",
    "node_memory_available": "node_memory_MemAvailable_bytes",
    "node_fs_size": 'node_filesystem_size_bytes{mountpoint="/"}',
    "node_fs_available": 'node_filesystem_avail_bytes{mountpoint="/"}',
    "node_tasks": "node_processes_threads",
    "node_pid_max": "node_processes_max_processes",
}


class Action(str, Enum):
    """What Foresight may do to a pod or a node predicted to fail."""

    RESTART = "restart"  # a replacement Ready first, then the pod evicted (Eviction API, PDB respected)
    RESIZE = "resize"  # the container's memory or CPU raised in place (pods/resize), else one more replica
    SCALE_OUT = "scale_out"  # one more replica of the workload
    DRAIN = "drain"  # the node cordoned, its pods evicted one at a time


#: the actions that remedy each failure, preferred first; the policy's allowed set picks among them
REMEDIES: dict[Failure, tuple[Action, ...]] = {
    Failure.OOM_KILL: (Action.RESTART, Action.RESIZE),
    Failure.GPU_OOM: (Action.RESTART,),
    Failure.CRASH_LOOP: (Action.RESTART,),
    Failure.SLO_BREACH: (Action.RESIZE, Action.SCALE_OUT),
    Failure.EVICTION: (Action.DRAIN,),
    Failure.NOT_READY: (Action.DRAIN,),
    Failure.GPU_FAILURE: (Action.DRAIN,),
}
#: what a resize raises for each failure
RESIZED: dict[Failure, Resource] = {Failure.OOM_KILL: Resource.MEMORY, Failure.SLO_BREACH: Resource.CPU}


@dataclass(frozen=True)
class Target:
    """The pod predicted to fail, where it runs and what owns it (``container``: the one whose resource fails)."""

    namespace: str
    workload: str
    pod: str
    node: str
    container: str = ""

    @property
    def workload_key(self) -> str:
        return f"{self.namespace}/{self.workload}"

    @property
    def is_node(self) -> bool:
        """A node's own failure (memory, disk or PIDs running out): no pod, only the node."""
        return not self.pod


@dataclass(frozen=True)
class Prediction:
    """A predictor's alarm on one target: the failure, its time to failure with the interval, the
    evidence sentence, and the incident it belongs to (None when no incident holds the workload)."""

    target: Target
    failure: Failure
    ttf_s: float
    ttf_low_s: float
    ttf_high_s: float
    evidence: str
    incident: str | None = None
    #: a node's failure: the pods draining it would evict (DaemonSet and mirror pods stay)
    evicts: tuple[Target, ...] = ()


@dataclass(frozen=True)
class Rules:
    """One HealingPolicy as the planner reads it: its namespace, the workloads it covers (empty: all of
    the namespace), the actions it allows, dry-run, and its rate limits per ``window_s``."""

    namespace: str
    workloads: frozenset[str] = frozenset()
    actions: frozenset[Action] = frozenset(Action)
    dry_run: bool = True
    per_workload: int = 1
    per_namespace: int = 5
    name: str = ""

    def covers(self, target: Target) -> bool:
        return target.namespace == self.namespace and (not self.workloads or target.workload in self.workloads)


@dataclass(frozen=True)
class Step:
    """One prediction's fate: the action chosen (None: none allowed), whether it is carried out now
    (``act``; with ``dry_run`` it is only recorded), and the reason, in one sentence."""

    prediction: Prediction
    action: Action | None
    act: bool
    dry_run: bool
    reason: str
    policy: str = ""
    resource: Resource | None = None


@dataclass(frozen=True)
class Plan:
    """One round: every prediction's step, and the reason the round is paused (None: not paused)."""

    steps: tuple[Step, ...]
    paused: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What an action did: ``done`` when it took effect, else why not (a PDB that never allowed the
    eviction, a node with no room) in ``detail``; ``action`` the one really taken (a resize that fell
    back to a scale-out says so)."""

    done: bool
    detail: str
    action: Action


class Remediator(Protocol):
    """The actions on a cluster: the Kubernetes API (:mod:`foresight.adapters.kube_heal`) or the simulator's twin."""

    def restart(self, target: Target) -> Outcome: ...

    def resize(self, target: Target, resource: Resource, factor: float) -> Outcome: ...

    def scale_out(self, target: Target, why: str) -> Outcome: ...

    def drain(self, node: str) -> Outcome: ...


def resize_fits(allocatable: float, requested: float, current: float, factor: float) -> tuple[bool, str]:
    """Whether raising a container's request from ``current`` to ``current * factor`` fits its node
    (``allocatable`` minus what every pod on it, this one included, ``requested``), and why.

    >>> resize_fits(8.0, 6.0, 1.0, 1.5)
    (True, 'the node has 2 free, the resize needs 0.5 more')
    >>> resize_fits(8.0, 7.8, 1.0, 1.5)[1]
    'the node has 0.2 free, the resize needs 0.5 more: scale out instead'
    """
    need, free = current * (factor - 1.0), allocatable - requested
    fits = need <= free
    return fits, f"the node has {free:.3g} free, the resize needs {need:.3g} more" + ("" if fits else ": scale out instead")


@dataclass
class Planner:
    """Plans rounds under the policies, remembering the actions of the last ``window_s`` for the rate limits."""

    policies: Sequence[Rules]
    cluster_per_window: int = 10
    pause_at: int = 5
    window_s: float = 3600.0
    #: a pause holds this long after the last round with too many predictions (the metrics must stay sane)
    pause_hold_s: float = 900.0
    _paused_until: float = float("-inf")
    _why: str = ""
    #: (time, namespaces, workload keys) of each action: a drain touches the namespaces and workloads of its pods
    _done: deque[tuple[float, frozenset[str], frozenset[str]]] = field(default_factory=deque)

    def plan(self, predictions: Iterable[Prediction], now: float) -> Plan:
        """The steps of one round (most urgent first); acting steps are counted against the limits at once."""
        ranked = sorted(predictions, key=lambda p: (p.ttf_s, p.target.workload_key, p.target.pod))
        while self._done and self._done[0][0] <= now - self.window_s:
            self._done.popleft()
        if len(ranked) >= self.pause_at:
            self._paused_until = now + self.pause_hold_s
            self._why = (f"paused: {len(ranked)} predictions at once (pause at {self.pause_at}): the predictor or its "
                         "metrics look wrong, nothing is done")
        if now < self._paused_until:
            why = self._why + (f" (held until {self.pause_hold_s / 60:.0f} min after the last such round)"
                               if len(ranked) < self.pause_at else "")
            return Plan(tuple(Step(p, None, False, True, why) for p in ranked), why)
        steps: list[Step] = []
        busy_workloads: set[str] = set()
        drained: set[str] = set()
        for p in ranked:
            steps.append(self._step(p, now, busy_workloads, drained))
        return Plan(tuple(steps))

    def _step(self, p: Prediction, now: float, busy: set[str], drained: set[str]) -> Step:
        t = p.target
        if t.is_node:
            return self._node_step(p, now, busy, drained)
        rules = next((r for r in self.policies if r.covers(t)), None)
        if rules is None:
            return Step(p, None, False, True, f"refused: no HealingPolicy covers {t.workload_key}")
        allowed = [a for a in REMEDIES.get(p.failure, ()) if a in rules.actions]
        if not allowed:
            wanted = ", ".join(a.value for a in REMEDIES.get(p.failure, ())) or "none"
            return Step(p, None, False, rules.dry_run, f"refused: HealingPolicy {rules.name or rules.namespace} allows "
                        f"no action for {p.failure.value} (it would take: {wanted})", rules.name)
        action = allowed[0]
        resource = RESIZED.get(p.failure) if action is Action.RESIZE else None
        base = dict(prediction=p, action=action, dry_run=rules.dry_run, policy=rules.name, resource=resource)
        if action is Action.DRAIN and t.node in drained:
            return Step(**base, act=False, reason=f"covered: node {t.node} is drained this round")
        if t.workload_key in busy:
            return Step(**base, act=False, reason=f"waiting: one action at a time per workload ({t.workload_key} "
                        "has one this round)")
        refused = self._rate_limited([rules], {t.workload_key}, rules.per_workload)
        if refused:
            return Step(**base, act=False, reason=refused)
        busy.add(t.workload_key)
        if action is Action.DRAIN:
            drained.add(t.node)
        self._done.append((now, frozenset({t.namespace}), frozenset({t.workload_key})))
        what = f"node {t.node}" if action is Action.DRAIN else f"pod {t.namespace}/{t.pod}"
        return Step(**base, act=True, reason=f"{action.value} {what}: {p.failure.value} predicted in "
                    f"{_minutes(p.ttf_s)} ({_minutes(p.ttf_low_s)}-{_minutes(p.ttf_high_s)}); {p.evidence}")

    def _node_step(self, p: Prediction, now: float, busy: set[str], drained: set[str]) -> Step:
        """A node's own failure: drained only if every pod the drain evicts is under a HealingPolicy that
        allows draining (a namespace's policy cannot consent for another's pods); dry-run if any of those
        policies is; within the rate limits of each namespace touched, of each workload, and of the cluster."""
        t = p.target
        if Action.DRAIN not in REMEDIES.get(p.failure, ()):
            return Step(p, None, False, True, f"refused: {p.failure.value} of node {t.node} has no node remedy")
        covering = [(pod, next((r for r in self.policies if r.covers(pod)), None)) for pod in p.evicts]
        outside = sorted(f"{pod.namespace}/{pod.pod}" for pod, r in covering if r is None or Action.DRAIN not in r.actions)
        if outside:
            more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
            return Step(p, None, False, True, f"refused: draining node {t.node} would evict pods no HealingPolicy lets "
                        f"Foresight drain: {', '.join(outside[:5])}{more}")
        rules = {r.name or r.namespace: r for _, r in covering if r is not None}
        if not rules:
            return Step(p, None, False, True, f"refused: node {t.node} runs no pod under a HealingPolicy")
        dry_run = any(r.dry_run for r in rules.values())
        base = dict(prediction=p, action=Action.DRAIN, dry_run=dry_run, policy=", ".join(sorted(rules)))
        if t.node in drained:
            return Step(**base, act=False, reason=f"covered: node {t.node} is drained this round")
        workloads = {pod.workload_key for pod in p.evicts}
        if workloads & busy:
            return Step(**base, act=False, reason=f"waiting: one action at a time per workload ({', '.join(sorted(workloads & busy))} "
                        "has one this round)")
        refused = self._rate_limited(list(rules.values()), workloads, min(r.per_workload for r in rules.values()))
        if refused:
            return Step(**base, act=False, reason=refused)
        busy.update(workloads)
        drained.add(t.node)
        self._done.append((now, frozenset(r.namespace for r in rules.values()), frozenset(workloads)))
        return Step(**base, act=True, reason=f"drain node {t.node} ({len(p.evicts)} pods): {p.failure.value} predicted "
                    f"in {_minutes(p.ttf_s)} ({_minutes(p.ttf_low_s)}-{_minutes(p.ttf_high_s)}); {p.evidence}")

    def _rate_limited(self, rules: Sequence[Rules], workloads: set[str], per_workload: int) -> str | None:
        """Why an action touching ``workloads`` in the namespaces of ``rules`` is over a rate limit (None: it is not)."""
        limits: list[tuple[str, str, int, Callable[[tuple[float, frozenset[str], frozenset[str]]], bool]]] = []
        limits += [("workload", w, per_workload, lambda d, w=w: w in d[2]) for w in sorted(workloads)]
        limits += [("namespace", r.namespace, r.per_namespace, lambda d, ns=r.namespace: ns in d[1]) for r in rules]
        limits.append(("cluster", "", self.cluster_per_window, lambda d: True))
        for scope, name, allowed_n, match in limits:
            used = sum(1 for d in self._done if match(d))
            if used >= allowed_n:
                return (f"refused: rate limit of {scope}{' ' + name if name else ''}: {used} action(s) in the last "
                        f"{self.window_s / 60:.0f} min (allowed {allowed_n})")
        return None


def _minutes(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{max(seconds, 0.0):.0f} s"
