"""The self-healing controller: read pods' memory and restarts, predict, plan under the HealingPolicies, act, audit.

Every ``period_s`` it reads the last ``window_s`` of every container's working set and CPU use against
its limits, its restart counter and, for a container using GPUs, the framebuffer of its fullest GPU
against the GPU's size (:data:`foresight.heal.plan.QUERIES`: cAdvisor, kube-state-metrics and
dcgm-exporter, from Prometheus or the simulator), every node's memory, root filesystem and tasks
against the kubelet's hard eviction thresholds and the PID limit (node-exporter), with each pod's
node and owning workload (``kube_pod_info``), and runs Foresight's predictor (:class:`~foresight.heal.TrendGuard`, the
setting ``foresight bench heal`` measures). Each alarm becomes a
:class:`~foresight.heal.plan.Prediction` linked to the open incident of its workload when there is
one; the :class:`~foresight.heal.plan.Planner` decides under the policies; what it lets act is
carried out through the :class:`~foresight.heal.plan.Remediator` (the Kubernetes adapter, or the
simulator's twin) unless the policy is dry-run or this replica does not lead. Every step is audited
(controller ``heal``) with its reason, the prediction (failure, time to failure and interval,
evidence) and the incident; a paused round (too many predictions at once) is audited and alerted.

A container without a memory limit is read and told "no limit: nothing to exhaust"; its restarts
are still watched. Pods that come and go, and gaps, are NaN in the window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from foresight.control.audit import AuditRecord, AuditSink
from foresight.heal import EventKind, Predictor, Resource, Signals, TrendGuard
from foresight.heal.plan import QUERIES, Action, Outcome, Plan, Planner, Prediction, Remediator, Rules, Step, Target
from foresight.ports import MetricsSource
from foresight.series import Series
from foresight.specs.healing import HealingPolicy

__all__ = ["HealController", "rules_of"]

#: the predictor's window and horizon: what ``foresight bench heal`` runs (90 min read, act within 15 min)
WINDOW_S, HORIZON_S = 5400.0, 900.0
MIB = 2.0**20


def rules_of(policy: HealingPolicy) -> Rules:
    """A HealingPolicy as the planner reads it."""
    s = policy.spec
    return Rules(policy.metadata.namespace, frozenset(s.workloads), frozenset(Action(a) for a in s.actions),
                 s.dry_run, s.rate_limits.per_workload, s.rate_limits.per_namespace,
                 f"{policy.metadata.namespace}/{policy.metadata.name}")


@dataclass(frozen=True)
class _Pod:
    node: str
    workload: str
    kind: str  # the owner's kind: a drain leaves DaemonSet and mirror (Node) pods


#: the kubelet's hard eviction thresholds (memory.available < 100Mi, nodefs.available < 10%): a node's failure points
EVICTION_MEMORY_BYTES, EVICTION_NODEFS_FREE = 100 * MIB, 0.10


def _workload(labels: Mapping[str, str]) -> str:
    """The workload a pod belongs to: a ReplicaSet's Deployment (its name less the pod-template hash), else its owner."""
    name, kind = labels.get("created_by_name", ""), labels.get("created_by_kind", "")
    if kind == "ReplicaSet" and "-" in name:
        return name.rsplit("-", 1)[0]
    return name or labels.get("pod", "")


class HealController:
    """Predicts pod failures and heals them under the policies (module docstring)."""

    name = "heal"

    def __init__(self, source: MetricsSource, audit: AuditSink, remediator: Remediator | None, *,
                 predictor: Predictor | None = None, period_s: float = 60.0, step_s: float = 30.0,
                 cluster_per_hour: int = 10, pause_at: int = 5, resize_factor: float = 1.5,
                 incident_of: Callable[[str, str], str | None] | None = None,
                 alert: Callable[[str], None] | None = None, run_id: str = "", background: bool = False) -> None:
        self.source, self.audit, self.remediator = source, audit, remediator
        self.predictor = predictor or TrendGuard()
        self.period_s, self.step_s, self.resize_factor = period_s, step_s, resize_factor
        self.planner = Planner([], cluster_per_window=cluster_per_hour, pause_at=pause_at)
        self.incident_of = incident_of or (lambda namespace, workload: None)
        self.alert, self.run_id = alert, run_id
        self._next = -math.inf
        self._paused = False
        self._said: dict[tuple[str, str], float] = {}
        #: ``background``: actions run one at a time on a worker thread (live serve), else inline (the twin's time)
        # (the simulator's twin moves its own clock while it acts: its actions run inline, or they would race it)
        inline = getattr(remediator, "steps_own_clock", False)
        self._pool = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="foresight-heal")
                      if background and not inline else None)
        self._running: dict[str, tuple[Future[Outcome], Step, dict[str, object], str]] = {}  # (target, kind of refusal) -> when it was last audited
        self.last: list[dict[str, object]] = []  # the latest round's steps, for the API and the dashboard

    def set_policies(self, policies: Iterable[HealingPolicy]) -> None:
        """The HealingPolicies now in the cluster (level-based; the rate-limit memory is kept)."""
        self.planner.policies = [rules_of(p) for p in policies]

    def due(self, now: float) -> bool:
        return now >= self._next

    def read(self, now: float) -> tuple[Signals, list[tuple[Target, tuple[Target, ...]]]] | None:
        """Every container's memory and CPU against their limits, its fullest GPU's memory against that GPU's
        size, and its restarts (on the memory row: one crash loop is one prediction), and every node's memory,
        root filesystem and tasks against the kubelet's eviction thresholds and the PID limit, on one grid
        over the window; None when nothing runs. Each row's target (a node's has no pod) and, for a node,
        the pods draining it would evict."""
        start = now - WINDOW_S
        grid = np.arange(math.floor(start / self.step_s) + 1, math.floor(now / self.step_s) + 1) * self.step_s
        if grid.size < 2:
            return None
        found = {k: self.source.query_range(q, grid[0], grid[-1], self.step_s) for k, q in QUERIES.items()}
        pods = {(s.labels.get("namespace", ""), s.labels.get("pod", "")):
                _Pod(s.labels.get("node", ""), _workload(s.labels), s.labels.get("created_by_kind", ""))
                for s in found["info"]}
        gpus = _fullest_gpus(found["gpu_used"], found["gpu_free"], grid, self.step_s)
        rows = [(k, r) for r, keys in ((Resource.MEMORY, {_key(s.labels) for s in found["memory"]}),
                                       (Resource.CPU, {_key(s.labels) for s in found["cpu"]}),
                                       (Resource.GPU_MEMORY, set(gpus)))
                for k in sorted(keys) if k[:2] in pods]
        nodes = _node_usage(found, grid, self.step_s, {p.node for p in pods.values()})
        if not rows and not nodes:
            return None
        index = {(k, r): i for i, (k, r) in enumerate(rows)}
        usage, events = np.full((len(rows), grid.size), np.nan), np.zeros((len(rows), grid.size))
        limit = np.full(len(rows), np.nan)
        for name, resource, into in (("memory", Resource.MEMORY, usage), ("cpu", Resource.CPU, usage),
                                     ("restarts", Resource.MEMORY, events)):
            for s in found[name]:
                row = index.get((_key(s.labels), resource))
                if row is None:
                    continue
                cols, ok = _columns(s, grid, self.step_s)
                into[row, cols[ok]] = np.asarray(s.values)[ok]
        for name, resource in (("limit", Resource.MEMORY), ("cpu_limit", Resource.CPU)):
            for s in found[name]:
                row = index.get((_key(s.labels), resource))
                if row is not None and len(s.values) and np.isfinite(s.values[-1]) and s.values[-1] > 0:
                    limit[row] = float(s.values[-1])
        for key, (used, total) in gpus.items():
            row = index.get((key, Resource.GPU_MEMORY))
            if row is not None:
                usage[row], limit[row] = used, total
        node_keys = sorted(nodes)
        if node_keys:
            usage = np.vstack([usage, *(nodes[k][0][None, :] for k in node_keys)])
            limit = np.concatenate([limit, [nodes[k][1] for k in node_keys]])
            events = np.vstack([events, np.zeros((len(node_keys), grid.size))])
        names = [f"{ns}/{pod}/{c}/{r.value}" for (ns, pod, c), r in rows] + [f"node/{n}/{r.value}" for n, r in node_keys]
        signals = Signals(tuple(names), tuple(r for _, r in rows) + tuple(r for _, r in node_keys),
                          (EventKind.RESTARTS,) * len(names), grid, usage, limit, events)
        targets: list[tuple[Target, tuple[Target, ...]]] = []
        for (ns, pod, container), _ in rows:
            info = pods[(ns, pod)]
            targets.append((Target(ns, info.workload, pod, info.node, container), ()))
        for node, _ in node_keys:
            evicts = tuple(Target(ns, info.workload, pod, node) for (ns, pod), info in sorted(pods.items())
                           if info.node == node and info.kind not in ("DaemonSet", "Node"))
            targets.append((Target("", "", "", node), evicts))
        return signals, targets

    def step(self, now: float, *, acting: bool = True) -> Plan | None:
        """One round: read, predict, plan, act where allowed, audit every step; None when nothing runs."""
        self._next = (math.floor(now / self.period_s + 1e-9) + 1) * self.period_s
        self.collect(now)
        read = self.read(now)
        if read is None:
            self.last = []
            return None
        signals, targets = read
        verdicts = self.predictor.predict(signals, HORIZON_S)
        predictions = []
        for i in np.flatnonzero(verdicts.alarm):
            target, evicts = targets[i]
            predictions.append(Prediction(target, verdicts.failure[i], float(verdicts.ttf_s[i]),
                                          float(verdicts.ttf_low_s[i]), float(verdicts.ttf_high_s[i]),
                                          verdicts.evidence[i],
                                          None if target.is_node else self.incident_of(target.namespace, target.workload),
                                          evicts))
        self.last = []
        busy = [(p, running) for p in predictions if (running := [k for k in _touches(p) if k in self._running])]
        for p, running in busy:  # shown, not planned nor audited: the action running there is audited when done
            self.last.append({**_inputs(p, None, ""), "target": _name(p.target),
                              "reason": f"waiting: an action on {', '.join(running)} is running",
                              "applied": False, "dry_run": False, "time": now})
        waiting = {id(p) for p, _ in busy}
        plan = self.planner.plan([p for p in predictions if id(p) not in waiting], now)
        if plan.paused and not self._paused and self.alert is not None and acting:
            self.alert(plan.paused)
        self._paused = plan.paused is not None
        for s in plan.steps:
            self._carry_out(s, now, acting)
        return plan

    def _carry_out(self, s: Step, now: float, acting: bool) -> None:
        p, t = s.prediction, s.prediction.target
        inputs = _inputs(p, s.action, s.policy)
        target = f"node/{t.node}" if s.action is Action.DRAIN else _name(t)
        if s.act and not s.dry_run and acting and self.remediator is not None and s.action is not None:
            if self._pool is not None:  # a restart waits minutes for Ready and PDBs: serve's loop goes on meanwhile
                self._running[_touches(p)[0]] = (self._pool.submit(self._do, s), s, inputs, target)
                self.last.append({**inputs, "target": target, "reason": f"{s.reason}; started", "applied": False,
                                  "dry_run": False, "time": now})
                return
            try:
                out: Outcome | Exception = self._do(s)
            except Exception as exc:  # noqa: BLE001 - one failed action is audited, the round goes on
                out = exc
            self._finish(s, inputs, target, out, now)
            return
        reason = s.reason
        if s.act:
            reason = f"{reason}; " + ("dry run: nothing changed" if s.dry_run else
                                      "standby: the leader acts" if not acting else "no Kubernetes access")
        inputs["paused"] = reason.startswith("paused")
        self.last.append({**inputs, "target": target, "reason": reason, "applied": False, "dry_run": s.dry_run,
                          "time": now})
        if not s.act:  # a refusal repeats every round while the prediction stands: audited once an hour
            kind = (target, ":".join(reason.split(":")[:2]))  # "refused: rate limit of workload shop/cart"
            if now - self._said.get(kind, -math.inf) < self.planner.window_s:
                return
            self._said[kind] = now
        self.audit.record(AuditRecord(now, self.run_id, self.name, target, inputs, _decision(p, False), reason, False,
                                      s.dry_run, None))

    def _finish(self, s: Step, inputs: dict[str, object], target: str, out: Outcome | Exception, now: float) -> None:
        """Audit an action carried out (at ``now``, when it ended): what it did, or why it did not."""
        if isinstance(out, Exception):
            applied, error = False, f"{type(out).__name__}: {out}"
            reason = f"{s.reason}; failed: {error}"
        else:
            applied, error = out.done, None if out.done else out.detail
            reason = f"{s.reason}; {out.action.value}: {out.detail}"
        self.last.append({**inputs, "target": target, "reason": reason, "applied": applied, "dry_run": False,
                          "time": now})
        self.audit.record(AuditRecord(now, self.run_id, self.name, target, inputs, _decision(s.prediction, applied),
                                      reason, applied, False, error))

    def collect(self, now: float) -> None:
        """Audit the background actions that have ended."""
        for key, (future, s, inputs, target) in list(self._running.items()):
            if future.done():
                del self._running[key]
                if future.cancelled():
                    self._finish(s, inputs, target, RuntimeError("cancelled: Foresight stopped before it began"), now)
                    continue
                exc = future.exception()
                self._finish(s, inputs, target, exc if isinstance(exc, Exception) else future.result(), now)

    def close(self, now: float) -> None:
        """Stop the waits of running actions (an eviction not yet granted is not made) and audit them."""
        if self._pool is None:
            return
        stop = getattr(self.remediator, "stop", None)
        if callable(stop):
            stop()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.collect(now)

    def _do(self, s: Step) -> Outcome:
        assert self.remediator is not None and s.action is not None
        t = s.prediction.target
        if s.action is Action.RESTART:
            return self.remediator.restart(t)
        if s.action is Action.RESIZE:
            return self.remediator.resize(t, s.resource or Resource.MEMORY, self.resize_factor)
        if s.action is Action.SCALE_OUT:
            return self.remediator.scale_out(t, f"{s.prediction.failure.value} predicted")
        return self.remediator.drain(t.node)


def _name(t: Target) -> str:
    """How the audit names a target: ``node/<name>`` for a node's own failure, else ``namespace/pod``."""
    return f"node/{t.node}" if t.is_node else f"{t.namespace}/{t.pod}"


def _touches(p: Prediction) -> list[str]:
    """What an action on ``p`` occupies while it runs: its workload, or a drained node and the
    workloads of the pods it evicts (the first is the key its running action is kept under)."""
    if p.target.is_node:
        return [f"node/{p.target.node}", *sorted({t.workload_key for t in p.evicts})]
    return [p.target.workload_key]


def _key(labels: Mapping[str, str]) -> tuple[str, str, str]:
    return labels.get("namespace", ""), labels.get("pod", ""), labels.get("container", "")


def _gpu_key(labels: Mapping[str, str]) -> tuple[str, str, str]:
    """The container using a GPU, from dcgm-exporter's pod labels: renamed ``exported_*`` when Prometheus
    scraped the exporter without ``honor_labels`` (the exporter's own pod then holds ``pod``)."""
    return tuple(labels.get(f"exported_{name}") or labels.get(name, "")  # type: ignore[return-value]
                 for name in ("namespace", "pod", "container"))


def _columns(s: Series, grid: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``s``'s samples falls on ``grid``, and which fall on it at all."""
    cols = np.round((np.asarray(s.timestamps) - grid[0]) / step_s).astype(int)
    return cols, (cols >= 0) & (cols < grid.size)


def _by_node(series: Iterable[Series], grid: np.ndarray, step_s: float) -> dict[str, np.ndarray]:
    """node-exporter's series on ``grid`` per node: its ``node`` label, else ``instance`` (which
    kube-prometheus relabels to the node's name); a node with several series keeps the last."""
    out: dict[str, np.ndarray] = {}
    for s in series:
        node = s.labels.get("node") or s.labels.get("instance", "")
        values = np.full(grid.size, np.nan)
        cols, ok = _columns(s, grid, step_s)
        values[cols[ok]] = np.asarray(s.values)[ok]
        out[node] = values
    return out


def _node_usage(found: Mapping[str, list[Series]], grid: np.ndarray, step_s: float, known: set[str]
                ) -> dict[tuple[str, Resource], tuple[np.ndarray, float]]:
    """Per node that runs a known pod and resource: its use on ``grid`` and its failure point now.

    Memory and the root filesystem fail where the kubelet's hard eviction starts (its memory.available
    is the cgroup's view, MemAvailable's is the kernel's: close, not equal); tasks (every thread takes a
    PID) fail at the PID limit, where the kubelet can no longer start anything.
    """
    out: dict[tuple[str, Resource], tuple[np.ndarray, float]] = {}
    pairs = (
        (Resource.NODE_MEMORY, "node_memory_total", "node_memory_available",
         lambda total, free: total - free, lambda total: total - EVICTION_MEMORY_BYTES),
        (Resource.NODE_DISK, "node_fs_size", "node_fs_available",
         lambda size, free: size - free, lambda size: size * (1.0 - EVICTION_NODEFS_FREE)),
        (Resource.NODE_PID, "node_pid_max", "node_tasks", lambda _, tasks: tasks, lambda pid_max: pid_max),
    )
    for resource, size_name, use_name, used_of, point_of in pairs:
        sizes, uses = _by_node(found[size_name], grid, step_s), _by_node(found[use_name], grid, step_s)
        for node in sorted(known & sizes.keys() & uses.keys()):
            size, use = sizes[node], uses[node]
            latest = size[np.isfinite(size)]
            if not latest.size or not point_of(float(latest[-1])) > 0:
                continue
            out[(node, resource)] = (used_of(size, use), point_of(float(latest[-1])))
    return out


def _fullest_gpus(used: Iterable[Series], free: Iterable[Series], grid: np.ndarray, step_s: float
                  ) -> dict[tuple[str, str, str], tuple[np.ndarray, float]]:
    """Per container using GPUs, the framebuffer use (bytes, on ``grid``) and size of its fullest GPU now.

    A CUDA allocation fails when one device's memory is full, whatever the others hold, so a container
    with several GPUs is watched on the one nearest its end (used over used + free at its latest
    sample). dcgm-exporter reports MiB; a GPU without a free series, or no pod, is left out.
    """
    def device(s: Series) -> tuple[tuple[str, str, str], str]:
        return _gpu_key(s.labels), s.labels.get("UUID") or f"{s.labels.get('Hostname', '')}/{s.labels.get('gpu', '')}"

    free_now = {device(s): float(s.values[-1]) for s in free if len(s.values) and np.isfinite(s.values[-1])}
    out: dict[tuple[str, str, str], tuple[np.ndarray, float]] = {}
    fullest: dict[tuple[str, str, str], float] = {}
    for s in used:
        key, gpu = device(s)
        finite = np.isfinite(s.values)
        if not key[1] or (key, gpu) not in free_now or not finite.any():
            continue
        now = float(s.values[finite][-1])
        total = now + free_now[(key, gpu)]
        if total <= 0 or now / total <= fullest.get(key, -1.0):
            continue
        grid_used = np.full(grid.size, np.nan)
        cols, ok = _columns(s, grid, step_s)
        grid_used[cols[ok]] = np.asarray(s.values)[ok] * MIB
        out[key], fullest[key] = (grid_used, total * MIB), now / total
    return out


def _inputs(p: Prediction, action: Action | None, policy: str) -> dict[str, object]:
    """What the audit keeps of a prediction: the failure, its time to failure and interval, the evidence, the incident."""
    t = p.target
    return {"failure": p.failure.value, "ttf_s": _finite(p.ttf_s), "ttf_low_s": _finite(p.ttf_low_s),
            "ttf_high_s": _finite(p.ttf_high_s), "evidence": p.evidence, "incident": p.incident,
            "namespace": t.namespace, "workload": t.workload, "pod": t.pod, "node": t.node, "container": t.container,
            "policy": policy, "action": action.value if action else None, "paused": False}


def _decision(p: Prediction, applied: bool) -> dict[str, int | None]:
    return {"acted": int(applied), "ttf_s": int(p.ttf_s) if math.isfinite(p.ttf_s) else None}


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None

